// Small, valid values of the bindings' types for tests; each takes
// overrides for what a test is about.

import type {
  Attempt,
  EmbedClaim,
  JobReport,
  JobSummary,
  LocalNodeReport,
  LocalStatus,
  NodeReport,
  OutboxEntry,
  Settings,
  StateChange,
} from '../bindings';

export function jobSummary(overrides: Partial<JobSummary> = {}): JobSummary {
  return {
    id: 1,
    state: 'queued',
    input: '/videos/talk.mp4',
    cid: null,
    error: null,
    retryable: null,
    updated_at: '2024-05-01T10:00:00Z',
    paused: false,
    progress: null,
    stopped_in: null,
    waiting_for_slot: null,
    ...overrides,
  };
}

export function attempt(overrides: Partial<Attempt> = {}): Attempt {
  return {
    node: 'primary',
    op: 'pin/add',
    attempt: 1,
    ok: true,
    error: null,
    ms: 120,
    started_at: '2024-05-01T10:00:05Z',
    http_status: null,
    ...overrides,
  };
}

export function change(state: StateChange['state'], at: string, detail: string | null = null): StateChange {
  return { state, at, detail };
}

export function jobReport(overrides: Partial<JobReport> = {}): JobReport {
  return {
    id: 1,
    state: 'done',
    input: '/videos/talk.mp4',
    cid: 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi',
    output_dir: '/data/jobs/1/hls',
    renditions: ['720p'],
    rendition_sizes: [{ name: '720p', width: 1280, height: 720 }],
    encoder: 'libx264',
    replicas: [],
    attempts: [],
    error: null,
    retryable: null,
    next_try_at: null,
    paused: false,
    progress: null,
    history: [change('queued', '2024-05-01T10:00:00Z'), change('done', '2024-05-01T10:05:00Z')],
    audits: [],
    created_at: '2024-05-01T10:00:00Z',
    updated_at: '2024-05-01T10:05:00Z',
    ...overrides,
  };
}

export function settings(overrides: Partial<Settings> = {}): Settings {
  const node = {
    kind: 'kubo',
    tier: null,
    auth: null,
    username: null,
    gateway: null,
    has_secret: false,
  } as const;
  return {
    nodes: [
      { ...node, name: 'primary', api: 'http://127.0.0.1:5001/', role: 'primary' },
      { ...node, name: 'backup', api: 'http://127.0.0.1:5002/', role: 'backup', auth: 'basic', username: 'op', has_secret: true },
    ],
    quorum: null,
    retries: 3,
    backoff: ['1s', '2s', '4s'],
    attempt_timeout: '1m',
    max_concurrent: 1,
    codec: 'libx264',
    preset: 'veryfast',
    rungs: [{ name: '720p', size: 720, video_kbps: 2500, max_video_kbps: 3000, audio_kbps: 128 }],
    alerts: [{ name: 'ops', kind: 'discord', has_secret: true }],
    watch_folders: ['/videos/incoming'],
    local_node: false,
    threespeak: {
      source: 'off',
      url: 'https://embed.3speak.tv/',
      hive_username: '',
      direct_api: false,
      direct_api_listen: '127.0.0.1:3002',
      has_direct_api_key: false,
    },
    ...overrides,
  };
}

export function nodeReport(overrides: Partial<NodeReport> = {}): NodeReport {
  return {
    name: 'primary',
    kind: 'kubo',
    role: 'primary',
    tier: 0,
    api: 'http://127.0.0.1:5001/',
    reachable: true,
    version: '0.30.0',
    peer_id: null,
    latency_ms: 12,
    error: null,
    state: 'healthy',
    health: null,
    history: [],
    ...overrides,
  };
}

/** A local node running as wanted; `status` overrides parts of its status. */
export function localNodeReport(
  overrides: Partial<LocalNodeReport> = {},
  status: Partial<LocalStatus> = {},
): LocalNodeReport {
  return {
    wanted_running: true,
    status: {
      repo: '/data/ipfs',
      log: '/data/local-node/kubo.log',
      binary: '/usr/local/bin/ipfs',
      version: '0.30.0',
      running: { pid: 4242, api: 'http://127.0.0.1:5001', gateway: 'http://127.0.0.1:8080', peer_id: '12D3KooWLocalPeer' },
      repo_size: 2 * 1024 ** 3,
      storage_max: 10 * 1024 ** 3,
      problem: null,
      ...status,
    },
    events: [{ at: '2024-05-01T10:00:00Z', description: 'started (pid 4242)', alarm: false }],
    log: ['Daemon is ready'],
    ...overrides,
  };
}

export function embedClaim(overrides: Partial<EmbedClaim> = {}): EmbedClaim {
  return {
    id: 1,
    job_id: 7,
    job_state: 'encoding',
    via: 'community',
    owner: 'alice',
    permlink: 'first',
    input_cid: 'https://ipfs.3speak.tv/ipfs/QmInput',
    short: false,
    premium: false,
    webhook_url: 'https://embed.3speak.tv/webhook',
    frontend_app: null,
    original_filename: null,
    claimed_at: '2026-12-02T10:01:00Z',
    last_progress_at: '2026-12-02T10:02:00Z',
    last_progress: 40,
    progress_error: null,
    closed_at: null,
    ...overrides,
  };
}

export function outboxEntry(overrides: Partial<OutboxEntry> = {}): OutboxEntry {
  return {
    id: 3,
    embed_id: 1,
    job_id: 7,
    owner: 'alice',
    permlink: 'first',
    status_reported: 'complete',
    body: {},
    status: 'waiting',
    tries: 4,
    last_error: '3Speak webhook failed with HTTP 503: Service unavailable',
    answer: null,
    created_at: '2026-12-02T10:05:00Z',
    delivered_at: null,
    ...overrides,
  };
}
