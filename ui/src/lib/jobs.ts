// The jobs list as events change it, what a person may do with a job, and
// the throughput chart's numbers. Lists are replaced, never mutated, so a
// view redraws only the rows whose job object changed.

import type { HealthState, JobEvent, JobState, JobSummary, Replica } from '../bindings';
import { isFinished } from './stages';

export interface DownloadProgress {
  bytes: number;
  total: number | null;
}

/** `jobs` after `event`; the same list when the event changes none of them. */
export function applyJobEvent(jobs: JobSummary[], event: JobEvent, now: Date): JobSummary[] {
  switch (event.kind) {
    case 'state':
      return replaceJob(jobs, event.job, (job) => ({
        ...job,
        state: event.state,
        // Progress is only shown while encoding.
        progress: event.state === 'encoding' ? job.progress : null,
        // A failed, cancelled or retry-waiting job says why; any other
        // state has no error.
        error:
          event.state === 'failed' || event.state === 'cancelled' || event.state === 'awaiting_retry'
            ? (event.detail ?? job.error)
            : null,
        // A new state's stage has not asked for its slot yet.
        waiting_for_slot: null,
        updated_at: now.toISOString(),
      }));
    case 'slot':
      return replaceJob(jobs, event.job, (job) => ({ ...job, waiting_for_slot: event.waiting_for }));
    case 'encode':
      return replaceJob(jobs, event.job, (job) => ({ ...job, progress: event.progress }));
    default:
      return jobs;
  }
}

/** Download progress per job, kept apart: job summaries do not carry it. */
export function applyDownloadEvent(
  downloads: ReadonlyMap<number, DownloadProgress>,
  event: JobEvent,
): ReadonlyMap<number, DownloadProgress> {
  if (event.kind === 'download') {
    return new Map(downloads).set(event.job, { bytes: event.bytes, total: event.total });
  }
  if (event.kind === 'state' && event.state !== 'downloading' && downloads.has(event.job)) {
    const rest = new Map(downloads);
    rest.delete(event.job);
    return rest;
  }
  return downloads;
}

function replaceJob(
  jobs: JobSummary[],
  id: number,
  change: (job: JobSummary) => JobSummary,
): JobSummary[] {
  const index = jobs.findIndex((job) => job.id === id);
  if (index < 0) return jobs;
  const next = jobs.slice();
  next[index] = change(jobs[index]);
  return next;
}

/**
 * `fresh` with each job that did not change kept as the object the view
 * already has, and the very same list when nothing changed: the slow safety
 * poll then costs no redraw at all.
 */
export function reconcileJobs(current: JobSummary[], fresh: JobSummary[]): JobSummary[] {
  const known = new Map(current.map((job) => [job.id, job]));
  let changed = current.length !== fresh.length;
  const next = fresh.map((job, i) => {
    const previous = known.get(job.id);
    if (previous && sameJob(previous, job)) {
      if (current[i] !== previous) changed = true;
      return previous;
    }
    changed = true;
    return job;
  });
  return changed ? next : current;
}

function sameJob(a: JobSummary, b: JobSummary): boolean {
  return (Object.keys(a) as (keyof JobSummary)[]).every((key) =>
    key === 'progress' ? JSON.stringify(a.progress) === JSON.stringify(b.progress) : a[key] === b[key],
  );
}

export interface JobActions {
  pause: boolean;
  resume: boolean;
  cancel: boolean;
  retry: boolean;
}

/** Which buttons a job shows: only what the engine would accept. */
export function jobActions(job: Pick<JobSummary, 'state' | 'paused' | 'retryable'>): JobActions {
  const unfinished = !isFinished(job.state);
  // A parked job has no run to stop: the engine refuses to pause it.
  const parked = job.state === 'awaiting_replicas' || job.state === 'awaiting_retry';
  return {
    pause: unfinished && !parked && !job.paused,
    resume: unfinished && job.paused,
    cancel: unfinished,
    // A parked job may be tried again now rather than at the end of its wait.
    retry:
      (job.state === 'failed' && job.retryable === true) ||
      job.state === 'awaiting_replicas' ||
      job.state === 'awaiting_retry',
  };
}

const HOUR_MS = 3_600_000;

/**
 * Jobs done in each of the last `hours` hours, oldest hour first; a job
 * counts in the hour it was last updated (when it became done).
 */
export function doneByHour(jobs: JobSummary[], now: number, hours = 24): number[] {
  const counts = new Array<number>(hours).fill(0);
  for (const job of jobs) {
    if (job.state !== 'done') continue;
    const age = now - Date.parse(job.updated_at);
    if (!(age >= 0 && age < hours * HOUR_MS)) continue;
    counts[hours - 1 - Math.floor(age / HOUR_MS)] += 1;
  }
  return counts;
}

/** How the whole set of nodes is, from each node's monitored state. */
export function overallHealth(states: HealthState[]): HealthState {
  if (states.length === 0) return 'unknown';
  if (states.every((s) => s === 'down')) return 'down';
  if (states.some((s) => s === 'down' || s === 'degraded')) return 'degraded';
  if (states.every((s) => s === 'healthy')) return 'healthy';
  return 'unknown';
}

/** A replica as people read it: its node, or `cluster/peer` (as `tank` prints it). */
export function replicaLabel(replica: Replica): string {
  return replica.peer === null ? replica.node : `${replica.node}/${replica.peer}`;
}

/** People read states with spaces. */
export function stateLabel(state: JobState | string): string {
  return state.replace(/_/g, ' ');
}
