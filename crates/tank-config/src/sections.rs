//! The config file's sections, with their defaults.

use std::path::PathBuf;
use std::time::Duration;

use humantime_serde::Serde;
use serde::{Deserialize, Serialize};
use tank_media::{default_ladder, Rung};
use url::Url;

use crate::size;

/// Where inputs given as `ipfs://<cid>` (or a bare CID) come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DownloadsConfig {
    /// Gateways tried in order; then the local node, when enabled.
    pub gateways: Vec<Url>,
    /// Tries per source; an interrupted download resumes where it broke off.
    pub attempts: u32,
    /// Connections one large download is split over when the server
    /// takes ranges, each fetching its own part (at least 1 MiB): across
    /// continents each TCP connection gets only so much bandwidth. 1
    /// downloads in one stream.
    pub connections: u32,
    /// How long a connection to a source may take.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// How long a source may take to answer the request with its headers.
    #[serde(with = "humantime_serde")]
    pub header_timeout: Duration,
    /// The slowest average a whole download may take: each try must end
    /// within `header_timeout + size / min_average_speed` (the size from
    /// `Content-Length`, else `[jobs] max_input_size`), e.g. `"64KiB"` a
    /// second. A source that trickles forever is given up.
    #[serde(with = "size")]
    pub min_average_speed: u64,
    /// Hosts (names or addresses) on a private network that a platform's
    /// job may download from, e.g. a media server on the LAN. Without them
    /// a source URL from 3Speak may reach public addresses only (and the
    /// host of `[gateway] url`, the platform the operator chose).
    pub allow_private: Vec<String>,
}

impl Default for DownloadsConfig {
    fn default() -> Self {
        DownloadsConfig {
            gateways: ["https://ipfs.io", "https://dweb.link"]
                .iter()
                .map(|u| Url::parse(u).expect("valid URL"))
                .collect(),
            attempts: 3,
            connections: 8,
            connect_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(30),
            min_average_speed: 64 * 1024,
            allow_private: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobsConfig {
    /// Jobs probing or encoding at once (the CPU stages). With `pipeline`
    /// on, the other stages of a job never hold one of these slots.
    pub max_concurrent: u32,
    /// Jobs in a network stage (download, upload, pin, verify) at once.
    pub max_network: u32,
    /// Run a job's network stages apart from its encode, so the next job
    /// encodes while the last one uploads, pins or waits for replicas. Off:
    /// each of `max_concurrent` slots carries one job from start to end.
    pub pipeline: bool,
    /// The most unfinished jobs (parked ones included) the 3Speak sources
    /// hold: they claim a job only when an encode slot is free as well,
    /// and never past this.
    pub max_unfinished: u32,
    /// Where job folders (downloads, HLS output) go; default `<data dir>/jobs`.
    pub work_dir: Option<PathBuf>,
    /// The largest input accepted from a URL, e.g. `"20 GiB"`.
    #[serde(with = "size")]
    pub max_input_size: u64,
    /// How long an input download may receive nothing before it is abandoned.
    #[serde(with = "humantime_serde")]
    pub download_stall_timeout: Duration,
    /// Keep the HLS folder after the job is durable. When false it is
    /// deleted, and only once the quorum is verified.
    pub keep_output: bool,
    /// Keep a downloaded source after the encode is committed. When false
    /// (the default) it is deleted then: up to `max_input_size` per job
    /// that nothing reads again. A local file input is never touched.
    pub keep_source: bool,
    /// Before a download (its size known) and an encode (its size
    /// estimated from the rungs' rates and the length), check the disk has
    /// room, and fail (retryable) with how much is needed if not. Turn it
    /// off where a filesystem reports free space wrongly.
    pub free_space_check: bool,
    /// How often a download, encode, upload or verification that failed
    /// for a reason of our machine or the network (FFmpeg killed, nodes
    /// down, a connection cut) is tried again before the job fails
    /// (retryable). A fault of the input itself fails at once.
    pub retries: u32,
    /// The waits before those tries; the last repeats.
    pub retry_backoff: Vec<Serde<Duration>>,
    /// How long the folders of failed and cancelled jobs (a partial
    /// download or encode) are kept, e.g. `"7d"`. Then they are deleted,
    /// and a `tank retry` of a failed job starts over from its input.
    #[serde(with = "humantime_serde")]
    pub keep_failed_for: Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EncodingConfig {
    /// `libx264` (default), `auto` (first working hardware encoder), or an
    /// FFmpeg encoder name such as `h264_nvenc`.
    pub codec: String,
    /// x264 preset.
    pub preset: String,
    /// x264 preset for rungs at most half the source's size (a 1080p
    /// source's 480p), which are cheap to encode slower and lose the most
    /// to a fast preset at their capped rate. Set it to `preset` to use
    /// one preset for every rung.
    pub downscaled_preset: String,
    /// x264's constant rate factor (0–51, lower is better), capped by each
    /// rung's `max_video_kbps`. Hardware encoders use `video_kbps`.
    pub crf: u8,
    pub segment_seconds: u32,
    /// The ladder; defaults to 3Speak's 1080p/720p/480p.
    pub rungs: Vec<Rung>,
    /// FFmpeg binaries; default: next to our executable, else on PATH.
    pub ffmpeg: Option<PathBuf>,
    pub ffprobe: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PinningConfig {
    /// Verified replicas needed before a job is done; default 2 when two or
    /// more nodes are configured, else 1.
    pub quorum: Option<u32>,
    /// Attempts per node.
    pub retries: u32,
    /// Waits between attempts; the last one repeats if there are more attempts.
    pub backoff: Vec<Serde<Duration>>,
    /// Timeout of each call to a node (and of an upload that stops moving).
    #[serde(with = "humantime_serde")]
    pub attempt_timeout: Duration,
    /// How long a node may take to fetch and pin content it does not hold
    /// (over bitswap) before the folder is uploaded to it directly.
    #[serde(with = "humantime_serde")]
    pub fetch_timeout: Duration,
    /// Each wait is stretched or shrunk at random by up to this fraction, so
    /// many encoders do not retry a struggling node in lockstep.
    pub jitter: f64,
    /// A node whose attempt takes longer than this counts as struggling:
    /// the next candidate starts alongside it.
    #[serde(with = "humantime_serde")]
    pub hedge_after: Duration,
    /// How long a job may spend getting its quorum before it parks.
    #[serde(with = "humantime_serde")]
    pub deadline: Duration,
    /// Failed calls in a row that open a node's circuit breaker (as many as
    /// a job's retries: a node is "known down" once a whole retry budget
    /// failed, and only then skipped by later work).
    pub breaker_failures: u32,
    /// How long an open breaker keeps a node out before a trial call
    /// (doubling each time the trial fails, up to 32 times).
    #[serde(with = "humantime_serde")]
    pub breaker_cooldown: Duration,
    /// How often a cluster or pinning service is asked about a pending pin.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// Waits between tries of a parked job (the last repeats).
    pub park_backoff: Vec<Serde<Duration>>,
    /// How long a parked job keeps trying before it fails (retryable).
    #[serde(with = "humantime_serde")]
    pub park_for: Duration,
}

/// The health monitor run by `tank daemon`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthConfig {
    /// How often each node is probed.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// How often a kubo node gets the canary: add, pin and unpin a tiny block.
    #[serde(with = "humantime_serde")]
    pub canary_interval: Duration,
    /// Failed probes in a row before a node is `down`.
    pub down_after: u32,
    /// Good probes in a row before a `down` or `degraded` node is `healthy`.
    pub up_after: u32,
    /// A probe slower than this makes the node `degraded`.
    #[serde(with = "humantime_serde")]
    pub slow: Duration,
    /// A repo fuller than this fraction of its StorageMax makes the node `degraded`.
    pub repo_full: f64,
    /// How long probe samples are kept.
    #[serde(with = "humantime_serde")]
    pub keep_samples: Duration,
}

/// Re-verification of finished jobs' replicas, run by `tank daemon`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// Finished jobs checked per round, picked at random.
    pub sample: u32,
}

/// When alerts fire, and how often at most.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertingConfig {
    /// The same alert is sent at most once per this interval.
    #[serde(with = "humantime_serde")]
    pub min_interval: Duration,
    /// The window spikes are counted in.
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// Failed calls to nodes within the window that make a spike.
    pub retry_spike: u32,
    /// Failed verifications within the window that make a spike.
    pub verify_spike: u32,
}

/// Where secrets live: the OS keyring, under this service name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecretsConfig {
    pub service: String,
}

/// A webhook that receives alerts. Its URL is a secret (Discord and Slack
/// put a token in it): it lives in the OS keyring as `alert:<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertTarget {
    pub name: String,
    #[serde(default)]
    pub kind: AlertKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum AlertKind {
    Discord,
    Slack,
    /// A generic JSON body.
    #[default]
    Json,
}

/// One IPFS node: a kubo daemon, an IPFS Cluster, or a pinning service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    pub name: String,
    /// The API: kubo RPC (`http://127.0.0.1:5001`), IPFS Cluster REST
    /// (`http://host:9094`) or a Pinning Service API base
    /// (`https://api.pinata.cloud/psa`).
    pub api: Url,
    #[serde(default)]
    pub kind: NodeKind,
    #[serde(default)]
    pub role: NodeRole,
    /// Tiers are used in order; default 0 for the primary, 1 for backups.
    pub tier: Option<u32>,
    /// How the API authenticates. The secret (password or token) is in the
    /// OS keyring as `node:<name>`; never here.
    pub auth: Option<AuthKind>,
    /// The user name for `basic` and `jwt` auth.
    pub username: Option<String>,
    /// A path gateway serving this node's content; when set, a replica
    /// counts only once its manifest is retrievable through it.
    pub gateway: Option<Url>,
    /// Clusters: how many peers to pin on (default: all).
    pub replication_min: Option<i32>,
    pub replication_max: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum NodeKind {
    #[default]
    Kubo,
    Cluster,
    PinningService,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum AuthKind {
    /// `Authorization: Basic`: `username` here, password in the keyring.
    Basic,
    /// `Authorization: Bearer`: the token in the keyring.
    Bearer,
    /// IPFS Cluster: Basic credentials traded for a JWT at `POST /token`.
    Jwt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum NodeRole {
    Primary,
    #[default]
    Backup,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            max_concurrent: 1,
            max_network: 4,
            pipeline: true,
            max_unfinished: 4,
            work_dir: None,
            max_input_size: 20 * 1024 * 1024 * 1024,
            download_stall_timeout: Duration::from_secs(60),
            keep_output: true,
            keep_source: false,
            free_space_check: true,
            // 10 s, 30 s, 1 min, 2 min: a network outage of a few minutes
            // costs a job nothing.
            retries: 4,
            retry_backoff: [10, 30, 60, 120]
                .map(|s| Duration::from_secs(s).into())
                .to_vec(),
            keep_failed_for: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl Default for EncodingConfig {
    fn default() -> Self {
        EncodingConfig {
            codec: "libx264".into(),
            preset: "veryfast".into(),
            downscaled_preset: "faster".into(),
            crf: 18,
            segment_seconds: 6,
            rungs: default_ladder(),
            ffmpeg: None,
            ffprobe: None,
        }
    }
}

impl Default for PinningConfig {
    fn default() -> Self {
        PinningConfig {
            quorum: None,
            retries: 5,
            backoff: [2, 4, 8, 16, 30]
                .map(|s| Duration::from_secs(s).into())
                .to_vec(),
            attempt_timeout: Duration::from_secs(60),
            fetch_timeout: Duration::from_secs(600),
            jitter: 0.2,
            hedge_after: Duration::from_secs(20),
            deadline: Duration::from_secs(30 * 60),
            breaker_failures: 5,
            breaker_cooldown: Duration::from_secs(30),
            poll_interval: Duration::from_secs(2),
            park_backoff: [60, 300, 900, 3600]
                .map(|s| Duration::from_secs(s).into())
                .to_vec(),
            park_for: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
            canary_interval: Duration::from_secs(600),
            down_after: 3,
            up_after: 2,
            slow: Duration::from_secs(2),
            repo_full: 0.9,
            keep_samples: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            interval: Duration::from_secs(6 * 3600),
            sample: 20,
        }
    }
}

impl Default for AlertingConfig {
    fn default() -> Self {
        AlertingConfig {
            min_interval: Duration::from_secs(15 * 60),
            window: Duration::from_secs(10 * 60),
            retry_spike: 20,
            verify_spike: 5,
        }
    }
}

impl Default for SecretsConfig {
    fn default() -> Self {
        SecretsConfig {
            service: "tank-encoder".into(),
        }
    }
}

impl NodeConfig {
    /// A kubo node without auth or gateway.
    pub fn kubo(name: &str, api: Url, role: NodeRole) -> NodeConfig {
        NodeConfig {
            name: name.to_owned(),
            api,
            kind: NodeKind::Kubo,
            role,
            tier: None,
            auth: None,
            username: None,
            gateway: None,
            replication_min: None,
            replication_max: None,
        }
    }

    /// The tier this node is in: as configured, else 0 for the primary and
    /// 1 for a backup.
    pub fn tier_rank(&self) -> u32 {
        self.tier.unwrap_or(match self.role {
            NodeRole::Primary => 0,
            NodeRole::Backup => 1,
        })
    }

    /// The auth in effect: pinning services always take a bearer token.
    pub fn effective_auth(&self) -> Option<AuthKind> {
        match (self.kind, self.auth) {
            (NodeKind::PinningService, None) => Some(AuthKind::Bearer),
            (_, auth) => auth,
        }
    }

    /// The keyring entry of this node's password or token.
    pub fn secret_key(&self) -> String {
        format!("node:{}", self.name)
    }
}
