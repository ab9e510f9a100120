// The Settings form's model. The form edits text (numbers too, so a
// half-typed value is never lost or coerced); `toSettings` turns it into
// the `Settings` the engine checks, and the engine's field errors come back
// with paths (`nodes.2.api`) that find their input here.

import type {
  AlertSettings,
  AuthKind,
  FieldError,
  NodeKind,
  NodeRole,
  NodeSettings,
  Rung,
  SecretUpdate,
  Settings,
  ThreeSpeakSettings,
  ThreeSpeakSource,
} from '../bindings';

export const NODE_KINDS: NodeKind[] = ['kubo', 'cluster', 'pinning-service'];
export const NODE_ROLES: NodeRole[] = ['primary', 'backup'];
export type AuthChoice = AuthKind | 'none';
export const AUTH_CHOICES: AuthChoice[] = ['none', 'basic', 'bearer', 'jwt'];
export const ALERT_KINDS: AlertSettings['kind'][] = ['discord', 'slack', 'json'];
export const CODECS = ['libx264', 'auto', 'h264_nvenc', 'h264_qsv', 'h264_vaapi', 'h264_videotoolbox'];

/** A node as typed; `key` keeps its editor when nodes are moved. */
export type NodeDraft = Pick<NodeSettings, 'name' | 'api' | 'kind' | 'role' | 'has_secret'> & {
  key: number;
  tier: string;
  auth: AuthChoice;
  username: string;
  gateway: string;
  /** A new password or token; empty keeps the keyring's. */
  secret: string;
};

export type RungDraft = { [field in keyof Rung]: string } & { key: number };

export type AlertDraft = AlertSettings & {
  key: number;
  /** A new webhook URL; empty keeps the keyring's. */
  secret: string;
};

/** A watch folder's path as typed or picked; `key` keeps its row when others go. */
export const THREESPEAK_SOURCES: ThreeSpeakSource[] = ['off', 'community', 'legacy'];

/** The 3Speak section: the settings, and the Direct API key typed (empty: keep). */
export type ThreeSpeakDraft = ThreeSpeakSettings & { direct_api_key: string };

export interface WatchFolderDraft {
  key: number;
  path: string;
}

export interface SettingsDraft {
  nodes: NodeDraft[];
  /** Empty: automatic. */
  quorum: string;
  retries: string;
  /** Comma-separated durations, e.g. `1s, 2s, 4s`. */
  backoff: string;
  attempt_timeout: string;
  max_concurrent: string;
  codec: string;
  preset: string;
  rungs: RungDraft[];
  alerts: AlertDraft[];
  watch_folders: WatchFolderDraft[];
  local_node: boolean;
  threespeak: ThreeSpeakDraft;
}

let lastKey = 0;
function nextKey(): number {
  lastKey += 1;
  return lastKey;
}

export function fromSettings(settings: Settings): SettingsDraft {
  return {
    nodes: settings.nodes.map(nodeDraft),
    quorum: settings.quorum === null ? '' : String(settings.quorum),
    retries: String(settings.retries),
    backoff: backoffText(settings.backoff),
    attempt_timeout: settings.attempt_timeout,
    max_concurrent: String(settings.max_concurrent),
    codec: settings.codec,
    preset: settings.preset,
    rungs: settings.rungs.map(rungDraft),
    alerts: settings.alerts.map((alert) => ({ ...alert, key: nextKey(), secret: '' })),
    watch_folders: settings.watch_folders.map(newWatchFolder),
    local_node: settings.local_node,
    threespeak: { ...settings.threespeak, direct_api_key: '' },
  };
}

function nodeDraft(node: NodeSettings): NodeDraft {
  return {
    key: nextKey(),
    name: node.name,
    api: node.api,
    kind: node.kind,
    role: node.role,
    tier: node.tier === null ? '' : String(node.tier),
    auth: node.auth ?? 'none',
    username: node.username ?? '',
    gateway: node.gateway ?? '',
    has_secret: node.has_secret,
    secret: '',
  };
}

function rungDraft(rung: Rung): RungDraft {
  return {
    key: nextKey(),
    name: rung.name,
    size: String(rung.size),
    video_kbps: String(rung.video_kbps),
    max_video_kbps: String(rung.max_video_kbps),
    audio_kbps: String(rung.audio_kbps),
  };
}

export function newNodeDraft(): NodeDraft {
  return nodeDraft({
    name: '',
    api: '',
    kind: 'kubo',
    role: 'backup',
    tier: null,
    auth: null,
    username: null,
    gateway: null,
    has_secret: false,
  });
}

export function newRungDraft(): RungDraft {
  return { key: nextKey(), name: '', size: '', video_kbps: '', max_video_kbps: '', audio_kbps: '' };
}

export function newAlertDraft(): AlertDraft {
  return { key: nextKey(), name: '', kind: 'discord', has_secret: false, secret: '' };
}

export function newWatchFolder(path: string): WatchFolderDraft {
  return { key: nextKey(), path };
}

/** `["1s", "2s"]` → `1s, 2s`. */
export function backoffText(backoff: string[]): string {
  return backoff.join(', ');
}

/** `1s, 2s,, 4s ` → `["1s", "2s", "4s"]`: commas separate, blanks are dropped. */
export function parseBackoff(text: string): string[] {
  return text
    .split(',')
    .map((wait) => wait.trim())
    .filter((wait) => wait !== '');
}

const U32_MAX = 4_294_967_295;

/** A whole number typed in `field`, or `null` when left empty and `optional`. */
function wholeNumber(
  text: string,
  field: string,
  errors: FieldError[],
  optional = false,
): number | null {
  const trimmed = text.trim();
  if (trimmed === '') {
    if (!optional) errors.push({ field, message: 'enter a number' });
    return null;
  }
  if (!/^\d+$/.test(trimmed) || Number(trimmed) > U32_MAX) {
    errors.push({ field, message: `${JSON.stringify(trimmed)} is not a whole number` });
    return null;
  }
  return Number(trimmed);
}

type Checked<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

function checked<T>(value: T, errors: FieldError[]): Checked<T> {
  return errors.length === 0 ? { ok: true, value } : { ok: false, errors };
}

/** Node `index` as the engine takes it (for saving, or testing the connection). */
export function toNodeSettings(node: NodeDraft, index: number): Checked<NodeSettings> {
  const errors: FieldError[] = [];
  const optionalText = (text: string) => (text.trim() === '' ? null : text.trim());
  const value: NodeSettings = {
    name: node.name,
    api: node.api,
    kind: node.kind,
    role: node.role,
    tier: wholeNumber(node.tier, `nodes.${index}.tier`, errors, true),
    auth: node.auth === 'none' ? null : node.auth,
    username: optionalText(node.username),
    gateway: optionalText(node.gateway),
    has_secret: node.has_secret,
  };
  return checked(value, errors);
}

/**
 * The `Settings` to save, or the fields that are not even numbers. Names,
 * URLs, durations and folders are the engine's to judge.
 */
export function toSettings(draft: SettingsDraft): Checked<Settings> {
  const errors: FieldError[] = [];
  const nodes = draft.nodes.flatMap((node, i) => {
    const result = toNodeSettings(node, i);
    if (result.ok) return [result.value];
    errors.push(...result.errors);
    return [];
  });
  const whole = (text: string, field: string) => wholeNumber(text, field, errors) ?? 0;
  const value: Settings = {
    nodes,
    quorum: wholeNumber(draft.quorum, 'quorum', errors, true),
    retries: whole(draft.retries, 'retries'),
    backoff: parseBackoff(draft.backoff),
    attempt_timeout: draft.attempt_timeout.trim(),
    max_concurrent: whole(draft.max_concurrent, 'max_concurrent'),
    codec: draft.codec,
    preset: draft.preset,
    rungs: draft.rungs.map((rung, i) => ({
      name: rung.name.trim(),
      size: whole(rung.size, `rungs.${i}.size`),
      video_kbps: whole(rung.video_kbps, `rungs.${i}.video_kbps`),
      max_video_kbps: whole(rung.max_video_kbps, `rungs.${i}.max_video_kbps`),
      audio_kbps: whole(rung.audio_kbps, `rungs.${i}.audio_kbps`),
    })),
    alerts: draft.alerts.map(({ name, kind, has_secret }) => ({ name, kind, has_secret })),
    watch_folders: draft.watch_folders.map((folder) => folder.path),
    local_node: draft.local_node,
    threespeak: {
      source: draft.threespeak.source,
      url: draft.threespeak.url.trim(),
      hive_username: draft.threespeak.hive_username.trim(),
      direct_api: draft.threespeak.direct_api,
      direct_api_listen: draft.threespeak.direct_api_listen.trim(),
      has_direct_api_key: draft.threespeak.has_direct_api_key,
    },
  };
  return checked(value, errors);
}

/** Secrets typed into the form, each under the keyring key of its node, webhook or the Direct API. */
export function secretUpdates(draft: SettingsDraft): SecretUpdate[] {
  return [
    ...draft.nodes.map((node) => ({ key: `node:${node.name.trim()}`, value: node.secret })),
    ...draft.alerts.map((alert) => ({ key: `alert:${alert.name.trim()}`, value: alert.secret })),
    { key: 'direct-api', value: draft.threespeak.direct_api ? draft.threespeak.direct_api_key : '' },
  ].filter((update) => update.value !== '');
}

/** The errors for the input at `path`; with `items`, also those of its list items (`backoff.1`). */
export function errorsAt(errors: FieldError[], path: string, items = false): FieldError[] {
  return errors.filter(
    (error) => error.field === path || (items && error.field.startsWith(`${path}.`)),
  );
}

const NODE_FIELDS = ['name', 'api', 'kind', 'role', 'tier', 'auth', 'username', 'gateway', 'secret'];
const ALERT_FIELDS = ['name', 'kind', 'secret'];
const TOP_FIELDS = ['quorum', 'retries', 'attempt_timeout', 'max_concurrent', 'codec', 'preset'];
const THREESPEAK_FIELDS = ['threespeak.url', 'threespeak.hive_username', 'threespeak.direct_api_listen', 'threespeak.direct_api_key'];

/** Whether the form has an input that shows errors of `field`. */
export function hasInputFor(field: string, draft: SettingsDraft): boolean {
  const [section, index, name] = field.split('.');
  if (TOP_FIELDS.includes(field) || THREESPEAK_FIELDS.includes(field)) return true;
  // The backoff and ladder inputs show their items' errors too.
  if (section === 'backoff' || section === 'rungs') return true;
  const position = Number(index);
  if (section === 'nodes') return NODE_FIELDS.includes(name) && position < draft.nodes.length;
  if (section === 'alerts') return ALERT_FIELDS.includes(name) && position < draft.alerts.length;
  if (section === 'watch_folders') return name === undefined && position < draft.watch_folders.length;
  return false;
}

/** Errors no input shows (the whole config's, or of a field the form lacks): for the banner. */
export function unplacedErrors(errors: FieldError[], draft: SettingsDraft): FieldError[] {
  return errors.filter((error) => !hasInputFor(error.field, draft));
}

/** `list` with item `from` moved to `to`; the same list when `to` is out of range. */
export function moveItem<T>(list: T[], from: number, to: number): T[] {
  if (to < 0 || to >= list.length || from === to) return list;
  const next = list.slice();
  const [item] = next.splice(from, 1);
  next.splice(to, 0, item);
  return next;
}
