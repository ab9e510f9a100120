import { describe, expect, it } from 'vitest';
import { barLayout, groupBy, linePath, lineX, niceMax } from './charts';

describe('niceMax', () => {
  it.each([
    [0, 1],
    [1, 1],
    [3, 3],
    [12, 15],
    [180, 200],
    [501, 750],
    [1000, 1000],
    [30_000, 30_000],
  ])('%d rounds up to %d', (value, top) => {
    expect(niceMax(value)).toBe(top);
  });
});

describe('barLayout', () => {
  it('spreads bars across the width and scales them to the height', () => {
    expect(barLayout([0, 5, 10], 30, 20, 10, 2)).toEqual([
      { x: 0, y: 20, width: 8, height: 0 },
      { x: 10, y: 10, width: 8, height: 10 },
      { x: 20, y: 0, width: 8, height: 20 },
    ]);
  });

  it('clips values above the scale', () => {
    expect(barLayout([50], 10, 20, 10)[0].height).toBe(20);
  });
});

describe('linePath', () => {
  it('draws through the values, y down from the top', () => {
    expect(linePath([0, 50, 100], 200, 100, 100)).toBe('M0 100 L100 50 L200 0');
  });

  it('breaks the line where a probe failed', () => {
    expect(linePath([10, null, 10, 20], 30, 20, 20)).toBe('M0 10 M20 10 L30 0');
    expect(lineX(1, 4, 30)).toBe(10);
  });

  it('draws nothing without values', () => {
    expect(linePath([null, null], 10, 10, 1)).toBe('');
  });
});

describe('groupBy', () => {
  it('keeps groups in order of first appearance', () => {
    const groups = groupBy(['b1', 'a1', 'b2'], (s) => s[0]);
    expect(groups).toEqual([
      { key: 'b', items: ['b1', 'b2'] },
      { key: 'a', items: ['a1'] },
    ]);
  });
});
