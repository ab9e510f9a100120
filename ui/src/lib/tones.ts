// One colour vocabulary for job states and node health (see app.css).

import type { HealthState, JobState } from '../bindings';

export type Tone = 'ok' | 'bad' | 'warn' | 'busy' | 'idle' | 'off';

export function jobTone(state: JobState): Tone {
  switch (state) {
    case 'done':
      return 'ok';
    case 'failed':
      return 'bad';
    case 'awaiting_replicas':
    case 'awaiting_retry':
      return 'warn';
    case 'cancelled':
      return 'off';
    case 'queued':
      return 'idle';
    default:
      return 'busy';
  }
}

/** Node health in the colour vocabulary; `unknown` is grey. */
export function healthTone(state: HealthState): Tone {
  switch (state) {
    case 'healthy':
      return 'ok';
    case 'degraded':
      return 'warn';
    case 'down':
      return 'bad';
    case 'unknown':
      return 'off';
  }
}
