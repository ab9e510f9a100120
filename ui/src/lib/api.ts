// Every command of the Rust side, typed with the generated bindings. Views
// call these, never `invoke` directly. Each rejects with an `AppError`
// (see errors.ts for the odd one that is not).

import { Channel, invoke } from '@tauri-apps/api/core';
import type {
  AppStatus,
  DiskUsage,
  GatewayStatus,
  JobEvent,
  JobLogLine,
  JobReport,
  JobSummary,
  LocalNodeAction,
  LocalNodeReport,
  NodeReport,
  NodeSettings,
  NodeStatus,
  Purpose,
  SecretUpdate,
  Settings,
} from '../bindings';
import { toAppError } from './errors';

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (error) {
    throw toAppError(error);
  }
}

// The app
export const appStatus = () => call<AppStatus>('app_status');
export const setPaused = (paused: boolean) => call<AppStatus>('set_paused', { paused });
export const gatewayStatus = () => call<GatewayStatus>('gateway_status');
/** The first run's answer; a managed encoder's key goes to the keyring. */
export const setUp = (purpose: Purpose, directApiKey: string | null) =>
  call<AppStatus>('set_up', { purpose, directApiKey });

/** Streams job and node events to `onEvent` for as long as the window lives. */
export function watchEvents(onEvent: (event: JobEvent) => void): Promise<void> {
  const channel = new Channel<JobEvent>();
  channel.onmessage = onEvent;
  return call<void>('watch_events', { channel });
}

// Jobs
export const listJobs = () => call<JobSummary[]>('list_jobs');
export const jobReport = (id: number) => call<JobReport>('job_report', { id });
/** Each job folder's size, the total, and the disk's free space. */
export const diskUsage = () => call<DiskUsage>('disk_usage');
export const addJobs = (inputs: string[]) => call<number[]>('add_jobs', { inputs });
export const pauseJob = (id: number) => call<void>('pause_job', { id });
export const resumeJob = (id: number) => call<void>('resume_job', { id });
export const cancelJob = (id: number) => call<void>('cancel_job', { id });
export const retryJob = (id: number) => call<void>('retry_job', { id });
export const openOutput = (id: number) => call<void>('open_output', { id });
/** The job's log, oldest line first. */
export const jobLog = (id: number) => call<JobLogLine[]>('job_log', { id });
/** Writes the whole log to a file in the job's folder and opens it. */
export const openJobLog = (id: number) => call<void>('open_job_log', { id });
export const openInGateway = (id: number) => call<void>('open_in_gateway', { id });

// Nodes
export const nodeReports = () => call<NodeReport[]>('node_reports');
export const testNode = (node: NodeSettings, index: number, secret: string | null) =>
  call<NodeStatus>('test_node', { node, index, secret });
/** `null` when the local node is not enabled in Settings. */
export const localNode = () => call<LocalNodeReport | null>('local_node');
/** Returns once asked; the node changes in the background, within seconds. */
export const localNodeAction = (action: LocalNodeAction) => call<void>('local_node_action', { action });

// Settings
export const getSettings = () => call<Settings>('get_settings');
export const saveSettings = (settings: Settings, secrets: SecretUpdate[]) =>
  call<Settings>('save_settings', { settings, secrets });
export const launchAtLogin = () => call<boolean>('launch_at_login');
export const setLaunchAtLogin = (enabled: boolean) => call<boolean>('set_launch_at_login', { enabled });
