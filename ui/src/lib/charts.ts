// Geometry of the small SVG charts: bars and lines in a box of the given
// size, y growing downwards as SVG's does.

export interface Bar {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * A readable top of scale at or above `value` (at least 1): 1, 1.5, 2, 3,
 * 5 or 7.5 × 10ⁿ, close enough above that the tallest mark stays tall.
 */
export function niceMax(value: number): number {
  if (!(value > 1)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 1.5, 2, 3, 5, 7.5, 10].find((s) => s * magnitude >= value) ?? 10;
  return step * magnitude;
}

/** One bar per value, side by side across `width`, scaled so `max` fills `height`. */
export function barLayout(values: number[], width: number, height: number, max: number, gap = 1): Bar[] {
  if (values.length === 0) return [];
  const slot = width / values.length;
  const barWidth = Math.max(slot - gap, 1);
  return values.map((value, i) => {
    const barHeight = max > 0 ? (Math.min(Math.max(value, 0), max) / max) * height : 0;
    return { x: i * slot, y: height - barHeight, width: barWidth, height: barHeight };
  });
}

/**
 * An SVG path through `values` spread evenly across `width`; a `null` (a
 * failed probe) breaks the line so no latency is drawn where none was seen.
 */
export function linePath(values: (number | null)[], width: number, height: number, max: number): string {
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  let path = '';
  let drawing = false;
  values.forEach((value, i) => {
    if (value === null) {
      drawing = false;
      return;
    }
    const x = round(i * step);
    const y = round(height - (Math.min(value, max) / max) * height);
    path += `${path ? ' ' : ''}${drawing ? 'L' : 'M'}${x} ${y}`;
    drawing = true;
  });
  return path;
}

/** x of value `i` of `count` in a line drawn by {@link linePath}. */
export function lineX(i: number, count: number, width: number): number {
  return count > 1 ? round((i * width) / (count - 1)) : 0;
}

/** Items grouped by `key`, groups in order of first appearance. */
export function groupBy<T>(items: T[], key: (item: T) => string): { key: string; items: T[] }[] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const name = key(item);
    const group = groups.get(name);
    if (group) group.push(item);
    else groups.set(name, [item]);
  }
  return [...groups].map(([name, grouped]) => ({ key: name, items: grouped }));
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
