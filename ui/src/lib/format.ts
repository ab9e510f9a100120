// How numbers and times read in the window. Pure, so they are tested
// without a DOM.

import type { EncodeProgress } from '../bindings';

/** `850 ms`, `4.2 s`, `42 s`, `3 min 05 s`, `1 h 02 min`, `2 d 3 h`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const secs = ms / 1000;
  if (secs < 10) return `${secs.toFixed(1)} s`;
  if (secs < 60) return `${Math.floor(secs)} s`;
  const totalSecs = Math.floor(secs);
  const minutes = Math.floor(totalSecs / 60);
  if (minutes < 60) return `${minutes} min ${pad2(totalSecs % 60)} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${pad2(minutes % 60)} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** Binary units, one decimal from KiB up: `512 B`, `1.5 KiB`, `20.0 GiB`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '–';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${BYTE_UNITS[unit]}`;
}

/** `14:05:09` in local time. */
export function formatClock(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}`;
}

/** `2024-01-02 14:05` in local time: sortable and the same on every locale. */
export function formatDateTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const day = `${date.getFullYear()}-${pad2(date.getMonth() + 1)}-${pad2(date.getDate())}`;
  return `${day} ${pad2(date.getHours())}:${pad2(date.getMinutes())}`;
}

/** `just now`, `5 min ago`, `3 h ago`, `2 d ago`; a future time reads `just now`. */
export function timeAgo(iso: string, now: number): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const secs = Math.max(0, (now - at) / 1000);
  if (secs < 60) return 'just now';
  if (secs < 3600) return `${Math.floor(secs / 60)} min ago`;
  if (secs < 86400) return `${Math.floor(secs / 3600)} h ago`;
  return `${Math.floor(secs / 86400)} d ago`;
}

/**
 * What a person recognises an input by: a file's name, a URL's last path
 * segment (else its host), an IPFS input as `ipfs://` and a shortened CID.
 */
export function inputLabel(input: string): string {
  if (input.startsWith('ipfs://')) {
    const [cid, ...rest] = input.slice('ipfs://'.length).split('/');
    const path = rest.filter(Boolean).pop();
    return path ?? `ipfs://${shortCid(cid)}`;
  }
  if (/^https?:\/\//i.test(input)) {
    try {
      const url = new URL(input);
      const segment = url.pathname.split('/').filter(Boolean).pop();
      return segment ? decodeURIComponent(segment) : url.host;
    } catch {
      return input;
    }
  }
  return input.split(/[\\/]/).filter(Boolean).pop() ?? input;
}

/** `bafybeig…55fbzdi`: enough to tell CIDs apart at a glance. */
export function shortCid(cid: string): string {
  return cid.length <= 16 ? cid : `${cid.slice(0, 8)}…${cid.slice(-6)}`;
}

export interface EncodeStats {
  percent: number | null;
  fps: number;
  speed: number;
  /** Seconds until the encode ends, when it can be told. */
  etaSecs: number | null;
}

/**
 * ETA from what ffmpeg reports: the source is `encoded_secs / (percent/100)`
 * long, and what is left of it goes by at `speed` seconds per second.
 */
export function encodeStats(progress: EncodeProgress): EncodeStats {
  const { percent, fps, speed, encoded_secs } = progress;
  let etaSecs: number | null = null;
  if (percent !== null && percent > 0 && speed > 0) {
    const total = encoded_secs / (percent / 100);
    etaSecs = Math.max(0, (total - encoded_secs) / speed);
  }
  return { percent, fps, speed, etaSecs };
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}
