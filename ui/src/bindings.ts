// Generated from the Rust types by `UPDATE_BINDINGS=1 cargo test -p tank-desktop bindings`.
// Do not edit by hand.

export type JobState = "queued" | "downloading" | "probing" | "encoding" | "uploading" | "pinning" | "verifying" | "awaiting_replicas" | "awaiting_retry" | "done" | "failed" | "cancelled";

export type StageKind = "cpu" | "network";

export type JobSummary = { id: number, state: JobState, input: string, cid: string | null, error: string | null, retryable: boolean | null, updated_at: string, 
/**
 * Paused by the operator: not run until resumed.
 */
paused: boolean, 
/**
 * The latest encoding progress, while it encodes.
 */
progress: EncodeProgress | null, 
/**
 * The stage a failed or parked job stopped in: where a retry, or the
 * end of its wait, goes on.
 */
stopped_in: JobState | null, 
/**
 * Its stage waits for a free slot of this kind (the others' jobs hold
 * them all), rather than running. Known to the process running it.
 */
waiting_for_slot: StageKind | null, };

export type JobReport = { id: number, state: JobState, input: string, cid: string | null, 
/**
 * Absolute path of the HLS folder; kept after the job.
 */
output_dir: string | null, 
/**
 * Rung names, largest first.
 */
renditions: Array<string>, 
/**
 * Rungs with their real sizes.
 */
rendition_sizes: Array<Rendition>, encoder: string | null, replicas: Array<VerifiedReplica>, attempts: Array<Attempt>, error: string | null, 
/**
 * Whether retrying can help (infrastructure failures), when failed.
 */
retryable: boolean | null, 
/**
 * Parked (`awaiting_replicas`, `awaiting_retry`): when it is tried
 * again (RFC 3339).
 */
next_try_at: string | null, paused: boolean, progress: EncodeProgress | null, history: Array<StateChange>, 
/**
 * Re-verifications of the replicas after the job was done.
 */
audits: Array<AuditRecord>, 
/**
 * For a job taken from the 3Speak gateway: its claim and report.
 */
gateway?: GatewayClaim | null, 
/**
 * For a job taken from 3Speak's embed system: its video and where its
 * calls stand.
 */
embed?: EmbedClaim | null, 
/**
 * Its report to the embed system's webhook, once committed: sent or
 * waiting, tries, the answer.
 */
embed_report?: OutboxEntry | null, created_at: string, updated_at: string, };

export type Attempt = { node: string, 
/**
 * The RPC command: `add`, `pin/add`, `pin/ls`, `swarm/connect`, `cat`, `id`.
 */
op: string, 
/**
 * Which attempt on this node it belongs to, from 1.
 */
attempt: number, ok: boolean, error: string | null, 
/**
 * How long the call took.
 */
ms: number, 
/**
 * When it started (RFC 3339).
 */
started_at: string, 
/**
 * The node's HTTP status, when it answered with an error.
 */
http_status: number | null, };

export type Replica = { 
/**
 * The node's name in the config.
 */
node: string, 
/**
 * The cluster peer holding it; `None` on a kubo node or pinning service.
 */
peer: string | null, };

export type VerifiedReplica = { 
/**
 * Always true for a listed replica: it was verified.
 */
verified: boolean, 
/**
 * When the pin was verified (RFC 3339).
 */
verified_at: string, 
/**
 * The node's name in the config.
 */
node: string, 
/**
 * The cluster peer holding it; `None` on a kubo node or pinning service.
 */
peer: string | null, };

export type StateChange = { state: JobState, at: string, detail: string | null, };

export type AuditRecord = { job: number, at: string, outcome: AuditOutcome, detail: string | null, 
/**
 * The node's name in the config.
 */
node: string, 
/**
 * The cluster peer holding it; `None` on a kubo node or pinning service.
 */
peer: string | null, };

export type AuditOutcome = "verified" | "repaired" | "missing";

export type JobEvent = { "kind": "state", job: number, state: JobState, detail: string | null, } | { "kind": "download", job: number, bytes: number, total: number | null, } | { "kind": "slot", job: number, waiting_for: StageKind | null, } | { "kind": "encode", job: number, progress: EncodeProgress, } | { "kind": "attempt", job: number, attempt: Attempt, } | { "kind": "node_health", node: string, state: HealthState, detail: string | null, };

export type JobLogLine = { 
/**
 * RFC 3339.
 */
at: string, text: string, tone: LogTone, };

export type DiskUsage = { 
/**
 * Every job's folder, by job (jobs whose folder is gone are left out).
 */
jobs: Array<JobFolderSize>, total_bytes: number, 
/**
 * Free on the disk holding the data directory, when the OS says.
 */
free_bytes: number | null, };

export type JobFolderSize = { job: number, bytes: number, };

export type LogTone = "info" | "ok" | "error";

export type EncodeProgress = { 
/**
 * Percent of the source duration encoded, when the duration is known.
 */
percent: number | null, 
/**
 * Frames encoded per second.
 */
fps: number, 
/**
 * Seconds of video encoded per second of wall time.
 */
speed: number, 
/**
 * Seconds of video encoded so far.
 */
encoded_secs: number, };

export type Rendition = { name: string, width: number, height: number, };

export type GatewayClaim = { claim: number, gateway_id: string, job_id: number | null, job_state: JobState | null, phase: GatewayPhase, 
/**
 * The job as the gateway described it.
 */
job: JsonValue, report: Report | null, report_tries: number, 
/**
 * The gateway's answer to the report or release, or why the job was lost.
 */
answer: string | null, seen_at: string, claimed_at: string | null, reported_at: string | null, last_ping_at: string | null, 
/**
 * Why the last ping failed, when it did.
 */
ping_error: string | null, };

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]: JsonValue } | null;

export type GatewayPhase = "claiming" | "claimed" | "reporting" | "reported" | "releasing" | "released" | "lost";

export type Report = { "kind": "finish", cid: string, } | { "kind": "fail", error: string, retryable: boolean, 
/**
 * RFC 3339, when the failure was decided.
 */
at: string, };

export type GatewayStatus = { enabled: boolean, url: string, mode: GatewayMode, 
/**
 * This encoder's `did:key`; `None` when 3Speak work is off and no
 * identity could be read (a machine without a keyring): nothing that
 * is switched off reports an error.
 */
did: string | null, identity: IdentitySource | null, state: HealthState, health: HealthRow | null, 
/**
 * Latest calls, newest first.
 */
history: Array<HealthSample>, 
/**
 * Latest legacy claims, newest first.
 */
claims: Array<GatewayClaim>, 
/**
 * What the embed system last said of this encoder, and when.
 */
encoder: EncoderRecord | null, encoder_seen_at: string | null, 
/**
 * Latest embed jobs, newest first.
 */
embed_jobs: Array<EmbedClaim>, 
/**
 * Latest reports owed to webhooks, newest first: what is waiting, how
 * many tries, the last error.
 */
outbox: Array<OutboxEntry>, };

export type GatewayMode = "embed" | "legacy";

export type IdentitySource = "environment" | "keyring" | "generated";

export type EncoderRecord = { name: string, did: string, tier: string, access: string, enabled: boolean, };

export type EmbedClaim = { id: number, job_id: number, job_state: JobState | null, claimed_at: string, last_progress_at: string | null, 
/**
 * The last progress the receiver took, in percent.
 */
last_progress: number | null, 
/**
 * Why the last progress call failed, when it did.
 */
progress_error: string | null, 
/**
 * When its report was committed: no progress is sent after.
 */
closed_at: string | null, via: EmbedVia, owner: string, permlink: string, 
/**
 * As given: usually an IPFS HTTP gateway URL of the source.
 */
input_cid: string, short: boolean, premium: boolean, webhook_url: string, frontend_app: string | null, original_filename: string | null, };

export type EmbedVia = "community" | "managed";

export type OutboxEntry = { id: number, embed_id: number, job_id: number, owner: string, permlink: string, 
/**
 * `complete` or `failed`.
 */
status_reported: string, 
/**
 * The exact body sent, every time (JSON, without the key).
 */
body: JsonValue, status: OutboxStatus, tries: number, last_error: string | null, 
/**
 * What the receiver answered when it took the report.
 */
answer: string | null, created_at: string, delivered_at: string | null, };

export type OutboxStatus = "waiting" | "delivered" | "refused";

export type HealthState = "unknown" | "healthy" | "degraded" | "down";

export type NodeReport = { 
/**
 * As the daemon's monitor last saw it (`unknown` before its first probe).
 */
state: HealthState, health: HealthRow | null, 
/**
 * Latest samples, newest first.
 */
history: Array<HealthSample>, name: string, kind: NodeKind, role: NodeRole, tier: number, 
/**
 * The API address, without credentials.
 */
api: string, reachable: boolean, 
/**
 * The API's version, when it says.
 */
version: string | null, 
/**
 * kubo's peer id.
 */
peer_id: string | null, 
/**
 * Round trip of the liveness call, in milliseconds.
 */
latency_ms: number | null, error: string | null, };

export type NodeStatus = { name: string, kind: NodeKind, role: NodeRole, tier: number, 
/**
 * The API address, without credentials.
 */
api: string, reachable: boolean, 
/**
 * The API's version, when it says.
 */
version: string | null, 
/**
 * kubo's peer id.
 */
peer_id: string | null, 
/**
 * Round trip of the liveness call, in milliseconds.
 */
latency_ms: number | null, error: string | null, };

export type HealthRow = { node: string, state: HealthState, 
/**
 * When the node entered that state (RFC 3339).
 */
since: string | null, ok_streak: number, fail_streak: number, 
/**
 * Until when the breaker keeps the node out (RFC 3339), if open.
 */
breaker_open_until: string | null, last_canary_at: string | null, };

export type HealthSample = { at: string, 
/**
 * `liveness`, `canary` or `repo`.
 */
probe: string, ok: boolean, latency_ms: number | null, detail: string | null, repo_size: number | null, storage_max: number | null, };

export type NodeKind = "kubo" | "cluster" | "pinning-service";

export type NodeRole = "primary" | "backup";

export type AuthKind = "basic" | "bearer" | "jwt";

export type LocalNodeAction = "start" | "stop" | "restart";

export type LocalNodeReport = { 
/**
 * Whether the operator wants it running (false after Stop).
 */
wanted_running: boolean, status: LocalStatus, 
/**
 * The latest events, newest first.
 */
events: Array<LocalNodeEvent>, 
/**
 * The end of the daemon's own log.
 */
log: Array<string>, };

export type LocalNodeEvent = { at: string, description: string, 
/**
 * The supervisor gave up: the node is down until started again.
 */
alarm: boolean, };

export type LocalStatus = { repo: string, log: string, binary: string | null, version: string | null, running: Running | null, repo_size: number | null, storage_max: number | null, problem: string | null, };

export type Running = { pid: number, api: string, gateway: string | null, peer_id: string, };

export type Settings = { 
/**
 * In the order work goes to them: by tier, then as listed.
 */
nodes: Array<NodeSettings>, 
/**
 * Verified replicas before a job is done; `null`: 2 with two or more nodes.
 */
quorum: number | null, 
/**
 * Attempts per node.
 */
retries: number, 
/**
 * Waits between attempts, e.g. `["1s", "2s", "4s"]`.
 */
backoff: Array<string>, 
/**
 * Timeout of each call to a node, e.g. `"60s"`.
 */
attempt_timeout: string, max_concurrent: number, 
/**
 * `libx264`, `auto`, or a hardware encoder name.
 */
codec: string, preset: string, rungs: Array<Rung>, alerts: Array<AlertSettings>, 
/**
 * Folders whose new videos are queued (absolute paths).
 */
watch_folders: Array<string>, 
/**
 * Run and supervise a local kubo node.
 */
local_node: boolean, 
/**
 * 3Speak as a source of work.
 */
threespeak: ThreeSpeakSettings, };

export type NodeSettings = { name: string, api: string, kind: NodeKind, role: NodeRole, tier: number | null, auth: AuthKind | null, username: string | null, 
/**
 * A path gateway serving the node's content, or empty.
 */
gateway: string | null, 
/**
 * Whether the keyring holds this node's password or token (the secret
 * itself never leaves the engine).
 */
has_secret: boolean, };

export type AlertSettings = { name: string, kind: AlertKind, 
/**
 * Whether the keyring holds the webhook URL.
 */
has_secret: boolean, };

export type AlertKind = "discord" | "slack" | "json";

export type ThreeSpeakSettings = { source: ThreeSpeakSource, 
/**
 * The embed system's or the legacy gateway's URL.
 */
url: string, 
/**
 * The operator's Hive account (needed by a legacy gateway).
 */
hive_username: string, 
/**
 * Managed mode: serve the Direct API for jobs 3Speak pushes.
 */
direct_api: boolean, 
/**
 * Where the Direct API listens, e.g. `0.0.0.0:3002`.
 */
direct_api_listen: string, 
/**
 * Whether the keyring holds the Direct API's key (the key itself
 * never leaves the engine).
 */
has_direct_api_key: boolean, };

export type ThreeSpeakSource = "off" | "community" | "legacy";

export type Purpose = "community" | "managed" | "local_only";

export type FieldError = { field: string, message: string, };

export type Rung = { name: string, size: number, video_kbps: number, max_video_kbps: number, audio_kbps: number, };

export type SecretUpdate = { 
/**
 * `node:<name>` or `alert:<name>`, of a node or webhook in the
 * settings, or `direct-api`, the Direct API's key.
 */
key: string, value: string, };

export type AppStatus = { version: string, 
/**
 * All work paused (from the window or the tray).
 */
paused: boolean, 
/**
 * Why the engine is not running (a config file it cannot use).
 */
problem: string | null, 
/**
 * No config file yet: the window asks what this encoder is for.
 */
first_run: boolean, config_path: string, data_dir: string, };

export type AppError = { code: ErrorCode, message: string, fields: Array<FieldError>, };

export type ErrorCode = "config" | "invalid_settings" | "invalid_input" | "no_nodes" | "no_such_job" | "wrong_state" | "busy" | "keyring" | "storage" | "internal";
