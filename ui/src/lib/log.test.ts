import { describe, expect, it } from 'vitest';
import { attempt, change } from '../test/fixtures';
import { logTail } from './log';

describe('logTail', () => {
  it('merges state changes and node calls in time order', () => {
    const lines = logTail({
      history: [change('pinning', '2024-05-01T10:00:00Z'), change('failed', '2024-05-01T10:00:09Z', 'no node holds it')],
      attempts: [
        attempt({ node: 'b', started_at: '2024-05-01T10:00:05Z', ok: false, ms: 3000, http_status: 500, error: 'boom' }),
        attempt({ node: 'a', started_at: '2024-05-01T10:00:01Z', ms: 80 }),
      ],
    });
    expect(lines.map((l) => l.text)).toEqual([
      '→ pinning',
      'a pin/add #1 ok in 80 ms',
      'b pin/add #1 failed after 3000 ms (HTTP 500): boom',
      '→ failed: no node holds it',
    ]);
    expect(lines.map((l) => l.tone)).toEqual(['info', 'ok', 'error', 'error']);
  });

  it('keeps only the last lines', () => {
    const history = Array.from({ length: 80 }, (_, i) => change('pinning', new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString(), `round ${i}`));
    const lines = logTail({ history, attempts: [] }, 50);
    expect(lines).toHaveLength(50);
    expect(lines[0].text).toBe('→ pinning: round 30');
    expect(lines[49].text).toBe('→ pinning: round 79');
  });
});
