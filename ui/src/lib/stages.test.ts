import { describe, expect, it } from 'vitest';
import { change } from '../test/fixtures';
import { lastStage, stageOf, stageSteps, timeline } from './stages';

const statuses = (steps: ReturnType<typeof stageSteps>) => steps.map((s) => s.status);

describe('stageSteps', () => {
  it('marks earlier stages done and the current one', () => {
    expect(statuses(stageSteps('uploading'))).toEqual(['done', 'done', 'current', 'pending', 'pending']);
    expect(statuses(stageSteps('probing'))).toEqual(['done', 'current', 'pending', 'pending', 'pending']);
  });

  it('has nothing started while queued and everything done when done', () => {
    expect(statuses(stageSteps('queued'))).toEqual(Array(5).fill('pending'));
    expect(statuses(stageSteps('done'))).toEqual(Array(5).fill('done'));
  });

  it('keeps a job short of replicas in the pin stage', () => {
    expect(stageOf('awaiting_replicas')).toBe('pin');
    expect(statuses(stageSteps('awaiting_replicas'))).toEqual(['done', 'done', 'done', 'current', 'pending']);
  });

  it('keeps a job waiting to retry in the stage it stopped in', () => {
    expect(stageOf('awaiting_retry')).toBeNull();
    expect(statuses(stageSteps('awaiting_retry', 'upload'))).toEqual(['done', 'done', 'current', 'pending', 'pending']);
  });

  it('shows where a failed job stopped', () => {
    expect(statuses(stageSteps('failed', 'encode'))).toEqual(['done', 'failed', 'pending', 'pending', 'pending']);
    expect(statuses(stageSteps('failed'))).toEqual(Array(5).fill('pending'));
  });
});

describe('lastStage', () => {
  it('is the stage of the last working state', () => {
    const history = [change('queued', 't0'), change('encoding', 't1'), change('uploading', 't2'), change('failed', 't3')];
    expect(lastStage(history)).toBe('upload');
    expect(lastStage([change('queued', 't0'), change('cancelled', 't1')])).toBeNull();
  });
});

describe('timeline', () => {
  const now = Date.parse('2024-05-01T10:10:00Z');

  it('times each state until the next one', () => {
    const entries = timeline(
      [
        change('queued', '2024-05-01T10:00:00Z'),
        change('encoding', '2024-05-01T10:00:02Z'),
        change('done', '2024-05-01T10:03:02Z'),
      ],
      now,
    );
    expect(entries.map((e) => e.durationMs)).toEqual([2_000, 180_000, null]);
    expect(entries.map((e) => e.current)).toEqual([false, false, true]);
  });

  it('times the state a working job is in until now', () => {
    const entries = timeline([change('queued', '2024-05-01T10:00:00Z'), change('pinning', '2024-05-01T10:09:00Z', 'on 2 nodes')], now);
    expect(entries[1]).toEqual({ state: 'pinning', at: '2024-05-01T10:09:00Z', detail: 'on 2 nodes', durationMs: 60_000, current: true });
  });
});
