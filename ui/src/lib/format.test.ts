import { describe, expect, it } from 'vitest';
import { encodeStats, formatBytes, formatClock, formatDateTime, formatDuration, inputLabel, shortCid, timeAgo } from './format';

describe('formatDuration', () => {
  it.each([
    [0, '0 ms'],
    [850, '850 ms'],
    [4_200, '4.2 s'],
    [42_900, '42 s'],
    [185_000, '3 min 05 s'],
    [3_720_000, '1 h 02 min'],
    [2 * 86_400_000 + 3 * 3_600_000, '2 d 3 h'],
  ])('%d ms reads %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('has no reading for negative or unknown durations', () => {
    expect(formatDuration(-1)).toBe('–');
    expect(formatDuration(Number.NaN)).toBe('–');
  });
});

describe('formatBytes', () => {
  it.each([
    [512, '512 B'],
    [1536, '1.5 KiB'],
    [20 * 1024 ** 3, '20.0 GiB'],
    [3 * 1024 ** 4, '3.0 TiB'],
  ])('%d bytes read %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});

describe('times', () => {
  const local = new Date(2024, 0, 2, 3, 4, 5).toISOString();

  it('shows clock and date in local time', () => {
    expect(formatClock(local)).toBe('03:04:05');
    expect(formatDateTime(local)).toBe('2024-01-02 03:04');
  });

  it('keeps text that is no time', () => {
    expect(formatClock('soon')).toBe('soon');
  });

  it('says how long ago', () => {
    const now = Date.parse('2024-05-01T12:00:00Z');
    expect(timeAgo('2024-05-01T11:59:30Z', now)).toBe('just now');
    expect(timeAgo('2024-05-01T11:55:00Z', now)).toBe('5 min ago');
    expect(timeAgo('2024-05-01T09:00:00Z', now)).toBe('3 h ago');
    expect(timeAgo('2024-04-29T12:00:00Z', now)).toBe('2 d ago');
    expect(timeAgo('2024-05-01T12:10:00Z', now)).toBe('just now');
  });
});

describe('inputLabel', () => {
  it('names files by their file name, on any OS', () => {
    expect(inputLabel('/home/op/videos/talk.mp4')).toBe('talk.mp4');
    expect(inputLabel('C:\\Users\\op\\talk.mov')).toBe('talk.mov');
  });

  it('names URLs by their last path segment, else their host', () => {
    expect(inputLabel('https://cdn.example/v/my%20clip.mp4?sig=1')).toBe('my clip.mp4');
    expect(inputLabel('https://cdn.example/')).toBe('cdn.example');
  });

  it('names IPFS inputs by their path, else a short CID', () => {
    const cid = 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi';
    expect(inputLabel(`ipfs://${cid}/talk.mp4`)).toBe('talk.mp4');
    expect(inputLabel(`ipfs://${cid}`)).toBe('ipfs://bafybeig…5fbzdi');
    expect(shortCid('QmShort')).toBe('QmShort');
  });
});

describe('encodeStats', () => {
  it('computes the ETA from the encoded share and the speed', () => {
    // 30 s encoded is 25%: 120 s in all, 90 s left at 2× → 45 s.
    const stats = encodeStats({ percent: 25, fps: 48, speed: 2, encoded_secs: 30 });
    expect(stats).toEqual({ percent: 25, fps: 48, speed: 2, etaSecs: 45 });
  });

  it('has no ETA without a percentage or while stalled', () => {
    expect(encodeStats({ percent: null, fps: 30, speed: 1, encoded_secs: 10 }).etaSecs).toBeNull();
    expect(encodeStats({ percent: 0, fps: 30, speed: 1, encoded_secs: 0 }).etaSecs).toBeNull();
    expect(encodeStats({ percent: 50, fps: 0, speed: 0, encoded_secs: 10 }).etaSecs).toBeNull();
  });
});
