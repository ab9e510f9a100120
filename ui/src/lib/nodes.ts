// Node reports as the Nodes view and the top bar's health dot read them.

import type { HealthSample, HealthState, JobEvent, LocalNodeReport, NodeReport } from '../bindings';

/** `nodes` with the monitored state a `NodeHealth` event announced. */
export function applyNodeHealth(nodes: NodeReport[], event: JobEvent): NodeReport[] {
  if (event.kind !== 'node_health') return nodes;
  const index = nodes.findIndex((node) => node.name === event.node);
  if (index < 0 || nodes[index].state === event.state) return nodes;
  const next = nodes.slice();
  next[index] = { ...nodes[index], state: event.state };
  return next;
}

/** Liveness latencies, oldest first, `null` for a failed probe (a gap in the line). */
export function latencySeries(history: HealthSample[]): (number | null)[] {
  return history
    .filter((sample) => sample.probe === 'liveness')
    .reverse()
    .map((sample) => (sample.ok ? sample.latency_ms : null));
}

export interface RepoUsage {
  used: number;
  max: number;
  /** 0 to 1. */
  fraction: number;
}

/** `used` of `max`, when both are known (and the maximum is not 0). */
export function usageOf(used: number | null, max: number | null): RepoUsage | null {
  if (used === null || !max) return null;
  return { used, max, fraction: Math.min(1, used / max) };
}

/** The newest repo sample's usage, when it has both numbers. */
export function repoUsage(history: HealthSample[]): RepoUsage | null {
  const sample = history.find((s) => s.probe === 'repo' && s.repo_size !== null);
  return sample ? usageOf(sample.repo_size, sample.storage_max) : null;
}

/** Whether the breaker still keeps the node out at `now`. */
export function breakerOpen(openUntil: string | null | undefined, now: number): boolean {
  return !!openUntil && Date.parse(openUntil) > now;
}

/** The local node's card state; `null` (not enabled in Settings) is `off`. */
export type LocalState = 'running' | 'stopped' | 'off';

export function localState(report: LocalNodeReport | null): LocalState {
  if (report === null) return 'off';
  return report.status.running ? 'running' : 'stopped';
}

/** The local node in the health dot's words: `down` when it should run and does not. */
export function localHealth(report: LocalNodeReport | null): HealthState {
  if (report?.status.running) return 'healthy';
  return report?.wanted_running ? 'down' : 'unknown';
}

/**
 * Which of Start and Stop would change anything: a node that crashed is
 * still wanted (Stop tells the supervisor to give up), one stopped by the
 * operator may still be shutting down (Start brings it back). Restart
 * always can.
 */
export function localActions(report: LocalNodeReport): { start: boolean; stop: boolean } {
  const running = report.status.running !== null;
  return {
    start: !(running && report.wanted_running),
    stop: running || report.wanted_running,
  };
}
