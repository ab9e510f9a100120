// Node reports as the Nodes view and the top bar's health dot read them.

import type { HealthSample, JobEvent, NodeReport } from '../bindings';

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

/** The newest repo sample's usage, when it has both numbers. */
export function repoUsage(history: HealthSample[]): RepoUsage | null {
  const sample = history.find((s) => s.probe === 'repo' && s.repo_size !== null);
  if (!sample || sample.repo_size === null || !sample.storage_max) return null;
  return {
    used: sample.repo_size,
    max: sample.storage_max,
    fraction: Math.min(1, sample.repo_size / sample.storage_max),
  };
}

/** Whether the breaker still keeps the node out at `now`. */
export function breakerOpen(openUntil: string | null | undefined, now: number): boolean {
  return !!openUntil && Date.parse(openUntil) > now;
}
