// The job detail's "log tail": state changes and node calls as one story,
// in the order they happened.

import type { Attempt, JobReport, StateChange } from '../bindings';
import { stateLabel } from './jobs';

export interface LogLine {
  at: string;
  text: string;
  tone: 'info' | 'ok' | 'error';
}

export function stateLine(change: StateChange): LogLine {
  const tone = change.state === 'failed' ? 'error' : change.state === 'done' ? 'ok' : 'info';
  const detail = change.detail ? `: ${change.detail}` : '';
  return { at: change.at, text: `→ ${stateLabel(change.state)}${detail}`, tone };
}

export function attemptLine(attempt: Attempt): LogLine {
  const outcome = attempt.ok
    ? `ok in ${attempt.ms} ms`
    : `failed after ${attempt.ms} ms` +
      (attempt.http_status !== null ? ` (HTTP ${attempt.http_status})` : '') +
      (attempt.error ? `: ${attempt.error}` : '');
  return {
    at: attempt.started_at,
    text: `${attempt.node} ${attempt.op} #${attempt.attempt} ${outcome}`,
    tone: attempt.ok ? 'ok' : 'error',
  };
}

/** The last `limit` lines of the job's history and attempts, oldest first. */
export function logTail(report: Pick<JobReport, 'history' | 'attempts'>, limit = 50): LogLine[] {
  const lines = [...report.history.map(stateLine), ...report.attempts.map(attemptLine)];
  // Stable: a state change and a call at the same instant keep their order.
  lines.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  return lines.slice(-limit);
}
