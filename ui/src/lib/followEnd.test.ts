// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { followEnd } from './followEnd';

/** A 100 px high box whose content is `height` px high. */
function box(height: number): HTMLElement & { grow: (to: number) => Promise<void>; readAt: (top: number) => void } {
  const element = document.createElement('pre');
  let contentHeight = height;
  Object.defineProperty(element, 'clientHeight', { value: 100 });
  Object.defineProperty(element, 'scrollHeight', { get: () => contentHeight });
  return Object.assign(element, {
    async grow(to: number) {
      contentHeight = to;
      element.append('another line\n');
      await new Promise((resolve) => setTimeout(resolve));
    },
    readAt(top: number) {
      element.scrollTop = top;
      element.dispatchEvent(new Event('scroll'));
    },
  });
}

describe('followEnd', () => {
  it('keeps a log at its end as it grows', async () => {
    const log = box(500);
    followEnd(log);
    expect(log.scrollTop).toBe(500);
    await log.grow(600);
    expect(log.scrollTop).toBe(600);
  });

  it('leaves a reader who scrolled up where they are, until they are back at the end', async () => {
    const log = box(500);
    followEnd(log);
    log.readAt(100);
    await log.grow(600);
    expect(log.scrollTop).toBe(100);
    log.readAt(500);
    await log.grow(700);
    expect(log.scrollTop).toBe(700);
  });

  it('stops following once detached', async () => {
    const log = box(500);
    followEnd(log)();
    await log.grow(600);
    expect(log.scrollTop).toBe(500);
  });
});
