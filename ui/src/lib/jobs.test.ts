import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../bindings';
import { jobSummary } from '../test/fixtures';
import {
  applyDownloadEvent,
  applyJobEvent,
  doneByHour,
  jobActions,
  overallHealth,
  reconcileJobs,
  replicaLabel,
} from './jobs';

const now = new Date('2024-05-01T12:00:00Z');

describe('applyJobEvent', () => {
  const jobs = [jobSummary({ id: 2, state: 'encoding' }), jobSummary({ id: 1, state: 'done' })];

  it('moves a job to its new state and replaces only that job', () => {
    const next = applyJobEvent(jobs, { kind: 'state', job: 2, state: 'uploading', detail: null }, now);
    expect(next).not.toBe(jobs);
    expect(next[0]).toMatchObject({ id: 2, state: 'uploading', updated_at: now.toISOString() });
    expect(next[1]).toBe(jobs[1]);
  });

  it('keeps the failure detail as the error, and clears it on retry', () => {
    const failed = applyJobEvent(jobs, { kind: 'state', job: 2, state: 'failed', detail: 'ffmpeg exited 1' }, now);
    expect(failed[0].error).toBe('ffmpeg exited 1');
    const retried = applyJobEvent(failed, { kind: 'state', job: 2, state: 'queued', detail: null }, now);
    expect(retried[0].error).toBeNull();
    const cancelled = applyJobEvent(jobs, { kind: 'state', job: 2, state: 'cancelled', detail: 'given back to the gateway' }, now);
    expect(cancelled[0].error).toBe('given back to the gateway');
  });

  it('marks a job waiting for a slot until it has one or moves on', () => {
    const waiting = applyJobEvent(jobs, { kind: 'slot', job: 2, waiting_for: 'cpu' }, now);
    expect(waiting[0].waiting_for_slot).toBe('cpu');
    expect(waiting[1]).toBe(jobs[1]);
    const running = applyJobEvent(waiting, { kind: 'slot', job: 2, waiting_for: null }, now);
    expect(running[0].waiting_for_slot).toBeNull();
    const next = applyJobEvent(waiting, { kind: 'state', job: 2, state: 'uploading', detail: null }, now);
    expect(next[0].waiting_for_slot).toBeNull();
  });

  it('applies encode progress, and drops it when encoding ends', () => {
    const progress = { percent: 40, fps: 30, speed: 1.5, encoded_secs: 12 };
    const encoding = applyJobEvent(jobs, { kind: 'encode', job: 2, progress }, now);
    expect(encoding[0].progress).toEqual(progress);
    const uploading = applyJobEvent(encoding, { kind: 'state', job: 2, state: 'uploading', detail: null }, now);
    expect(uploading[0].progress).toBeNull();
  });

  it('returns the same list for events that change no listed job', () => {
    expect(applyJobEvent(jobs, { kind: 'state', job: 99, state: 'queued', detail: null }, now)).toBe(jobs);
    const attempt: JobEvent = {
      kind: 'attempt',
      job: 2,
      attempt: { node: 'a', op: 'add', attempt: 1, ok: true, error: null, ms: 5, started_at: 'x', http_status: null },
    };
    expect(applyJobEvent(jobs, attempt, now)).toBe(jobs);
  });
});

describe('applyDownloadEvent', () => {
  it('tracks bytes while downloading and forgets them after', () => {
    const empty = new Map();
    const downloading = applyDownloadEvent(empty, { kind: 'download', job: 3, bytes: 10, total: 100 });
    expect(downloading.get(3)).toEqual({ bytes: 10, total: 100 });
    expect(empty.size).toBe(0);
    const probing = applyDownloadEvent(downloading, { kind: 'state', job: 3, state: 'probing', detail: null });
    expect(probing.has(3)).toBe(false);
    expect(applyDownloadEvent(probing, { kind: 'state', job: 3, state: 'encoding', detail: null })).toBe(probing);
  });
});

describe('reconcileJobs', () => {
  const progress = { percent: 10, fps: 30, speed: 1, encoded_secs: 3 };
  const current = [jobSummary({ id: 2, state: 'encoding', progress }), jobSummary({ id: 1, state: 'done' })];
  const copy = () => current.map((job) => ({ ...job, progress: job.progress && { ...job.progress } }));

  it('keeps the same list when the engine says the same', () => {
    expect(reconcileJobs(current, copy())).toBe(current);
  });

  it('keeps unchanged jobs and takes changed and new ones', () => {
    const fresh = [jobSummary({ id: 3 }), ...copy()];
    fresh[1].progress = { ...progress, percent: 11 };
    const next = reconcileJobs(current, fresh);
    expect(next.map((job) => job.id)).toEqual([3, 2, 1]);
    expect(next[0]).toBe(fresh[0]);
    expect(next[1]).toBe(fresh[1]);
    expect(next[2]).toBe(current[1]);
  });

  it('notices jobs that went away', () => {
    expect(reconcileJobs(current, copy().slice(0, 1))).toEqual([current[0]]);
  });
});

describe('jobActions', () => {
  it('offers pause and cancel while a job works, resume once paused', () => {
    expect(jobActions(jobSummary({ state: 'encoding' }))).toEqual({ pause: true, resume: false, cancel: true, retry: false });
    expect(jobActions(jobSummary({ state: 'queued', paused: true }))).toEqual({ pause: false, resume: true, cancel: true, retry: false });
  });

  it('offers no pause for a parked job, which has no run to stop', () => {
    expect(jobActions(jobSummary({ state: 'awaiting_retry' }))).toEqual({ pause: false, resume: false, cancel: true, retry: true });
    expect(jobActions(jobSummary({ state: 'awaiting_replicas' })).pause).toBe(false);
  });

  it('offers retry only where it can help', () => {
    expect(jobActions(jobSummary({ state: 'failed', retryable: true })).retry).toBe(true);
    expect(jobActions(jobSummary({ state: 'failed', retryable: false })).retry).toBe(false);
    expect(jobActions(jobSummary({ state: 'awaiting_replicas' })).retry).toBe(true);
    expect(jobActions(jobSummary({ state: 'awaiting_retry' })).retry).toBe(true);
  });

  it('offers nothing for finished jobs', () => {
    expect(jobActions(jobSummary({ state: 'done' }))).toEqual({ pause: false, resume: false, cancel: false, retry: false });
    expect(jobActions(jobSummary({ state: 'cancelled' })).cancel).toBe(false);
  });
});

describe('doneByHour', () => {
  it('counts done jobs in the hour they finished, oldest hour first', () => {
    const jobs = [
      jobSummary({ id: 1, state: 'done', updated_at: '2024-05-01T11:30:00Z' }),
      jobSummary({ id: 2, state: 'done', updated_at: '2024-05-01T11:59:59Z' }),
      jobSummary({ id: 3, state: 'done', updated_at: '2024-05-01T09:15:00Z' }),
      jobSummary({ id: 4, state: 'failed', updated_at: '2024-05-01T11:30:00Z' }),
      jobSummary({ id: 5, state: 'done', updated_at: '2024-04-29T11:30:00Z' }),
    ];
    const counts = doneByHour(jobs, now.getTime());
    expect(counts).toHaveLength(24);
    expect(counts[23]).toBe(2);
    expect(counts[21]).toBe(1);
    expect(counts.reduce((a, b) => a + b)).toBe(3);
  });
});

describe('overallHealth', () => {
  it('is as bad as it gets without crying wolf', () => {
    expect(overallHealth([])).toBe('unknown');
    expect(overallHealth(['healthy', 'healthy'])).toBe('healthy');
    expect(overallHealth(['healthy', 'down'])).toBe('degraded');
    expect(overallHealth(['degraded', 'unknown'])).toBe('degraded');
    expect(overallHealth(['down', 'down'])).toBe('down');
    expect(overallHealth(['healthy', 'unknown'])).toBe('unknown');
  });
});

describe('replicaLabel', () => {
  it('names a kubo replica by its node and a cluster replica by cluster and peer', () => {
    expect(replicaLabel({ node: 'supernode', peer: null })).toBe('supernode');
    expect(replicaLabel({ node: 'cluster', peer: '12D3KooWa' })).toBe('cluster/12D3KooWa');
  });
});
