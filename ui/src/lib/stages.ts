// A job's life as the five stages a person follows (download → encode →
// upload → pin → verify), from its state alone (the list) or its recorded
// history (the detail).

import type { JobState, StateChange } from '../bindings';

export const STAGES = ['download', 'encode', 'upload', 'pin', 'verify'] as const;
export type Stage = (typeof STAGES)[number];

export type StageStatus = 'done' | 'current' | 'pending' | 'failed';

export interface StageStep {
  stage: Stage;
  status: StageStatus;
}

/** The stage a working state belongs to; none before and after the work. */
export function stageOf(state: JobState): Stage | null {
  switch (state) {
    case 'downloading':
      return 'download';
    // Probing reads the source to plan the encode.
    case 'probing':
    case 'encoding':
      return 'encode';
    case 'uploading':
      return 'upload';
    // Short of the quorum, the pin queue keeps pinning.
    case 'pinning':
    case 'awaiting_replicas':
      return 'pin';
    case 'verifying':
      return 'verify';
    // Its stage is the one it stopped in, which the state does not say.
    case 'awaiting_retry':
    case 'queued':
    case 'done':
    case 'failed':
    case 'cancelled':
      return null;
  }
}

/**
 * Each stage done, current or pending. A failed or cancelled job stopped
 * in `stoppedIn` (the stage of its last working state, when known), which
 * is shown as failed; a job waiting to retry a stage is still in it.
 */
export function stageSteps(state: JobState, stoppedIn: Stage | null = null): StageStep[] {
  if (state === 'done') return STAGES.map((stage) => ({ stage, status: 'done' }));
  const stopped = state === 'failed' || state === 'cancelled';
  const at = stopped || state === 'awaiting_retry' ? stoppedIn : stageOf(state);
  const atIndex = at === null ? -1 : STAGES.indexOf(at);
  return STAGES.map((stage, i) => ({
    stage,
    status:
      atIndex < 0 || i > atIndex
        ? 'pending'
        : i < atIndex
          ? 'done'
          : stopped
            ? 'failed'
            : 'current',
  }));
}

/** The stage of the last working state in `history` (oldest first). */
export function lastStage(history: StateChange[]): Stage | null {
  for (let i = history.length - 1; i >= 0; i--) {
    const stage = stageOf(history[i].state);
    if (stage !== null) return stage;
  }
  return null;
}

/** A job no one needs to act on for it to go on (or end). */
export function isFinished(state: JobState): boolean {
  return state === 'done' || state === 'failed' || state === 'cancelled';
}

export interface TimelineEntry {
  state: JobState;
  at: string;
  detail: string | null;
  /** Until the next state; for the current one, until `now`; none once finished. */
  durationMs: number | null;
  /** The job is in this state now. */
  current: boolean;
}

/** The states a job went through and how long each took; `history` oldest first. */
export function timeline(history: StateChange[], now: number): TimelineEntry[] {
  return history.map((change, i) => {
    const next = history[i + 1];
    const start = Date.parse(change.at);
    const current = next === undefined;
    let durationMs: number | null = null;
    if (next !== undefined) durationMs = Date.parse(next.at) - start;
    else if (!isFinished(change.state)) durationMs = Math.max(0, now - start);
    return { state: change.state, at: change.at, detail: change.detail, durationMs, current };
  });
}
