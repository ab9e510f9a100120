// One colour vocabulary for job states and node health (see app.css).

import type { JobState } from '../bindings';

export type Tone = 'ok' | 'bad' | 'warn' | 'busy' | 'idle' | 'off';

export function jobTone(state: JobState): Tone {
  switch (state) {
    case 'done':
      return 'ok';
    case 'failed':
      return 'bad';
    case 'awaiting_replicas':
      return 'warn';
    case 'cancelled':
      return 'off';
    case 'queued':
      return 'idle';
    default:
      return 'busy';
  }
}

/** `healthy`, `degraded`, `down`; anything else (`unknown`) is grey. */
export function healthTone(state: string): Tone {
  switch (state) {
    case 'healthy':
      return 'ok';
    case 'degraded':
      return 'warn';
    case 'down':
      return 'bad';
    default:
      return 'off';
  }
}
