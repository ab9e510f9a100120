import { describe, expect, it } from 'vitest';
import type { HealthSample } from '../bindings';
import { localNodeReport, nodeReport } from '../test/fixtures';
import { applyNodeHealth, breakerOpen, latencySeries, localActions, localHealth, localState, repoUsage, usageOf } from './nodes';

function sample(overrides: Partial<HealthSample>): HealthSample {
  return { at: '2024-05-01T10:00:00Z', probe: 'liveness', ok: true, latency_ms: 10, detail: null, repo_size: null, storage_max: null, ...overrides };
}

describe('applyNodeHealth', () => {
  it('sets the state of the node the event names', () => {
    const nodes = [nodeReport({ name: 'a' }), nodeReport({ name: 'b' })];
    const next = applyNodeHealth(nodes, { kind: 'node_health', node: 'b', state: 'down', detail: 'timeout' });
    expect(next.map((n) => n.state)).toEqual(['healthy', 'down']);
    expect(next[0]).toBe(nodes[0]);
    expect(applyNodeHealth(nodes, { kind: 'node_health', node: 'zz', state: 'down', detail: null })).toBe(nodes);
  });
});

describe('latencySeries', () => {
  it('is the liveness latencies oldest first, failures as gaps', () => {
    // Newest first, as the engine sends them.
    const history = [
      sample({ latency_ms: 30 }),
      sample({ probe: 'repo', latency_ms: 999 }),
      sample({ ok: false, latency_ms: 5000 }),
      sample({ latency_ms: 10 }),
    ];
    expect(latencySeries(history)).toEqual([10, null, 30]);
  });
});

describe('repoUsage', () => {
  it('reads the newest repo sample', () => {
    const history = [
      sample({}),
      sample({ probe: 'repo', repo_size: 25, storage_max: 100 }),
      sample({ probe: 'repo', repo_size: 90, storage_max: 100 }),
    ];
    expect(repoUsage(history)).toEqual({ used: 25, max: 100, fraction: 0.25 });
  });

  it('has no usage without a limit', () => {
    expect(repoUsage([sample({ probe: 'repo', repo_size: 25, storage_max: null })])).toBeNull();
    expect(repoUsage([])).toBeNull();
    expect(usageOf(25, 0)).toBeNull();
    expect(usageOf(null, 100)).toBeNull();
  });

  it('is full at most', () => {
    expect(usageOf(150, 100)).toEqual({ used: 150, max: 100, fraction: 1 });
  });
});

describe('the local node', () => {
  const running = localNodeReport();
  const crashed = localNodeReport({ wanted_running: true }, { running: null });
  const stopped = localNodeReport({ wanted_running: false }, { running: null });
  const stopping = localNodeReport({ wanted_running: false });

  it('is running, stopped or off', () => {
    expect([running, crashed, stopped, null].map(localState)).toEqual(['running', 'stopped', 'stopped', 'off']);
  });

  it('is down only when it should run and does not', () => {
    expect([running, crashed, stopped, null].map(localHealth)).toEqual(['healthy', 'down', 'unknown', 'unknown']);
  });

  it('offers Start and Stop only when they change something', () => {
    expect(localActions(running)).toEqual({ start: false, stop: true });
    expect(localActions(crashed)).toEqual({ start: true, stop: true });
    expect(localActions(stopped)).toEqual({ start: true, stop: false });
    expect(localActions(stopping)).toEqual({ start: true, stop: true });
  });
});

describe('breakerOpen', () => {
  it('is open only until its time', () => {
    const now = Date.parse('2024-05-01T10:00:00Z');
    expect(breakerOpen('2024-05-01T10:01:00Z', now)).toBe(true);
    expect(breakerOpen('2024-05-01T09:59:00Z', now)).toBe(false);
    expect(breakerOpen(null, now)).toBe(false);
  });
});
