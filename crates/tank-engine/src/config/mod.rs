//! The operator's settings: a TOML file, then the environment variables the
//! 3Speak encoder already uses, then validation. A mistake is reported with
//! the file, the line and the key, before any work starts.

mod gateway;
mod settings;
mod watch;

pub use gateway::{GatewayConfig, GatewayMode};
pub use settings::{AlertSettings, FieldError, NodeSettings, Settings};
pub use watch::WatchConfig;

use std::path::{Path, PathBuf};
use std::time::Duration;

use humantime_serde::Serde;
use serde::{Deserialize, Serialize};
use tank_media::{default_ladder, CodecChoice, Rung};
use url::Url;

/// Everything configurable, with defaults for what the file leaves out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub jobs: JobsConfig,
    pub encoding: EncodingConfig,
    pub pinning: PinningConfig,
    pub health: HealthConfig,
    pub audit: AuditConfig,
    pub alerting: AlertingConfig,
    pub secrets: SecretsConfig,
    pub downloads: DownloadsConfig,
    pub local_node: tank_node::LocalNodeConfig,
    pub gateway: GatewayConfig,
    pub watch: WatchConfig,
    pub nodes: Vec<NodeConfig>,
    pub alerts: Vec<AlertTarget>,
}

/// Where inputs given as `ipfs://<cid>` (or a bare CID) come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DownloadsConfig {
    /// Gateways tried in order; then the local node, when enabled.
    pub gateways: Vec<Url>,
    /// Tries per source; an interrupted download resumes where it broke off.
    pub attempts: u32,
}

impl Default for DownloadsConfig {
    fn default() -> Self {
        DownloadsConfig {
            gateways: ["https://ipfs.io", "https://dweb.link"]
                .iter()
                .map(|u| Url::parse(u).expect("valid URL"))
                .collect(),
            attempts: 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobsConfig {
    /// Jobs run at once by `tank resume` and the daemon.
    pub max_concurrent: u32,
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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EncodingConfig {
    /// `libx264` (default), `auto` (first working hardware encoder), or an
    /// FFmpeg encoder name such as `h264_nvenc`.
    pub codec: String,
    /// x264 preset.
    pub preset: String,
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
            work_dir: None,
            max_input_size: 20 * 1024 * 1024 * 1024,
            download_stall_timeout: Duration::from_secs(60),
            keep_output: true,
        }
    }
}

impl Default for EncodingConfig {
    fn default() -> Self {
        EncodingConfig {
            codec: "libx264".into(),
            preset: "veryfast".into(),
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

/// A configuration that cannot be used, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {}, line {line}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("environment variable {name}={value:?}: {message}")]
    Environment {
        name: &'static str,
        value: String,
        message: String,
    },
    #[error("config{}: {message}", source_of(.path))]
    Inconsistent {
        path: Option<PathBuf>,
        message: String,
    },
}

fn source_of(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| format!(" file {}", p.display()))
        .unwrap_or_default()
}

impl Config {
    /// Reads `path` (a missing file at the default location means all
    /// defaults), applies the environment, validates.
    pub fn load(path: &Path, required: bool) -> Result<Config, ConfigError> {
        let mut config = Self::read_file(path, required)?;
        config.apply_env(|name| std::env::var(name).ok())?;
        config.validate(Some(path))?;
        Ok(config)
    }

    /// The file alone, without the environment: what an editor of the file
    /// (the desktop app's Settings) starts from and writes back.
    pub fn read_file(path: &Path, required: bool) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                Ok(Config::default())
            }
            Err(source) => Err(ConfigError::Unreadable {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Parses TOML text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.to_owned(),
            line: e.span().map_or(1, |span| line_of(text, span.start)),
            message: e.message().trim().replace("unknown field", "unknown key"),
        })
    }

    /// Environment variables of the 3Speak encoder that map onto ours:
    /// `THREESPEAK_IPFS_ENDPOINT` (or `IPFS_PRIMARY_API`) is the primary
    /// node, `IPFS_BACKUP_APIS` (comma-separated) the kubo backups,
    /// `USE_CLUSTER_FOR_PINS=true` with `IPFS_CLUSTER_ENDPOINT` adds an IPFS
    /// Cluster, `MAX_CONCURRENT_JOBS`, `TEMP_DIR`; for the gateway
    /// `GATEWAY_URL`, `REMOTE_GATEWAY_ENABLED`, `HIVE_USERNAME`, `NODE_NAME`.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        for name in ["THREESPEAK_IPFS_ENDPOINT", "IPFS_PRIMARY_API"] {
            if let Some(value) = var(name).filter(|v| !v.trim().is_empty()) {
                let api = env_url(name, &value)?;
                match self.nodes.iter_mut().find(|n| n.role == NodeRole::Primary) {
                    Some(primary) => primary.api = api,
                    None => self
                        .nodes
                        .insert(0, NodeConfig::kubo("supernode", api, NodeRole::Primary)),
                }
                break;
            }
        }
        if let Some(value) = var("IPFS_BACKUP_APIS").filter(|v| !v.trim().is_empty()) {
            self.nodes
                .retain(|n| n.role == NodeRole::Primary || n.kind != NodeKind::Kubo);
            for (i, item) in value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .enumerate()
            {
                self.nodes.push(NodeConfig::kubo(
                    &format!("backup-{}", i + 1),
                    env_url("IPFS_BACKUP_APIS", item)?,
                    NodeRole::Backup,
                ));
            }
        }
        let use_cluster =
            var("USE_CLUSTER_FOR_PINS").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        if let (true, Some(value)) = (use_cluster, var("IPFS_CLUSTER_ENDPOINT")) {
            let mut cluster = NodeConfig::kubo(
                "cluster",
                env_url("IPFS_CLUSTER_ENDPOINT", &value)?,
                NodeRole::Backup,
            );
            cluster.kind = NodeKind::Cluster;
            self.nodes.retain(|n| n.name != "cluster");
            self.nodes.push(cluster);
        }
        if let Some(value) = var("MAX_CONCURRENT_JOBS") {
            self.jobs.max_concurrent =
                value.trim().parse().map_err(|_| ConfigError::Environment {
                    name: "MAX_CONCURRENT_JOBS",
                    value: value.clone(),
                    message: "must be a whole number of jobs".into(),
                })?;
        }
        if let Some(value) = var("TEMP_DIR").filter(|v| !v.trim().is_empty()) {
            self.jobs.work_dir = Some(PathBuf::from(value));
        }
        if let Some(value) = var("GATEWAY_URL").filter(|v| !v.trim().is_empty()) {
            self.gateway.url = env_url("GATEWAY_URL", &value)?;
        }
        if let Some(value) = var("REMOTE_GATEWAY_ENABLED").filter(|v| !v.trim().is_empty()) {
            self.gateway.enabled = match value.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                _ => {
                    return Err(ConfigError::Environment {
                        name: "REMOTE_GATEWAY_ENABLED",
                        value,
                        message: "must be true or false".into(),
                    })
                }
            };
        }
        if let Some(value) = var("HIVE_USERNAME").filter(|v| !v.trim().is_empty()) {
            self.gateway.hive_username = Some(value.trim().to_owned());
        }
        if let Some(value) = var("NODE_NAME").filter(|v| !v.trim().is_empty()) {
            self.gateway.node_name = Some(value.trim().to_owned());
        }
        Ok(())
    }

    /// Checks what the types cannot: names, counts, ranges.
    pub fn validate(&self, path: Option<&Path>) -> Result<(), ConfigError> {
        let fail = |message: String| {
            Err(ConfigError::Inconsistent {
                path: path.map(Path::to_owned),
                message,
            })
        };
        let mut names = std::collections::HashSet::new();
        for node in &self.nodes {
            if node.name.trim().is_empty() {
                return fail("a node has an empty name".into());
            }
            if !names.insert(node.name.as_str()) {
                return fail(format!("two nodes are named {:?}", node.name));
            }
            if !matches!(node.api.scheme(), "http" | "https") {
                return fail(format!(
                    "node {:?}: api must be an http(s) URL, got {}",
                    node.name,
                    tank_ipfs::redacted(&node.api)
                ));
            }
            if let Some(problem) = node.problem() {
                return fail(format!("node {:?}: {problem}", node.name));
            }
        }
        if !self.nodes.is_empty() && !self.nodes.iter().any(|n| n.kind == NodeKind::Kubo) {
            return fail(
                "at least one node must be kind = \"kubo\": uploads go to kubo nodes".into(),
            );
        }
        let primaries = self
            .nodes
            .iter()
            .filter(|n| n.role == NodeRole::Primary)
            .count();
        if primaries > 1 {
            return fail(format!(
                "{primaries} nodes have role = \"primary\"; at most one may"
            ));
        }
        if let Some(quorum) = self.pinning.quorum {
            if quorum == 0 {
                return fail("[pinning] quorum must be at least 1".into());
            }
            // A cluster brings one replica per peer: its size is unknown here.
            let has_cluster = self.nodes.iter().any(|n| n.kind == NodeKind::Cluster);
            let holders = self.replica_holders();
            if !self.nodes.is_empty() && !has_cluster && quorum as usize > holders {
                return fail(format!(
                    "[pinning] quorum = {quorum} but only {holders} node(s) can hold replicas"
                ));
            }
        }
        if self.pinning.retries == 0 {
            return fail("[pinning] retries must be at least 1".into());
        }
        if self.pinning.backoff.is_empty() {
            return fail("[pinning] backoff needs at least one wait".into());
        }
        if self.jobs.max_concurrent == 0 {
            return fail("[jobs] max_concurrent must be at least 1".into());
        }
        if CodecChoice::parse(&self.encoding.codec).is_none() {
            return fail(format!(
                "[encoding] codec {:?} is not one of libx264, auto, h264_nvenc, h264_qsv, h264_vaapi, h264_videotoolbox",
                self.encoding.codec
            ));
        }
        if self.encoding.rungs.is_empty() {
            return fail("[encoding] needs at least one rung".into());
        }
        if self.encoding.segment_seconds == 0 {
            return fail("[encoding] segment_seconds must be at least 1".into());
        }
        let mut alert_names = std::collections::HashSet::new();
        for alert in &self.alerts {
            if !alert_names.insert(alert.name.as_str()) {
                return fail(format!("two alerts are named {:?}", alert.name));
            }
        }
        if !(0.0..=1.0).contains(&self.pinning.jitter) {
            return fail("[pinning] jitter must be between 0 and 1".into());
        }
        if self.pinning.breaker_failures == 0 {
            return fail("[pinning] breaker_failures must be at least 1".into());
        }
        if self.pinning.park_backoff.is_empty() {
            return fail("[pinning] park_backoff needs at least one wait".into());
        }
        if self.secrets.service.trim().is_empty() {
            return fail("[secrets] service must not be empty".into());
        }
        if let Some(gateway) = self
            .downloads
            .gateways
            .iter()
            .find(|g| !matches!(g.scheme(), "http" | "https"))
        {
            return fail(format!(
                "[downloads] gateways must be http(s) URLs, got {gateway}"
            ));
        }
        if self.downloads.attempts == 0 {
            return fail("[downloads] attempts must be at least 1".into());
        }
        if self.local_node.restart_backoff.is_empty() {
            return fail("[local_node] restart_backoff needs at least one wait".into());
        }
        if let Some(problem) = self.gateway.problem() {
            return fail(format!("[gateway] {problem}"));
        }
        if let Some(problem) = self.watch.problem() {
            return fail(format!("[watch] {problem}"));
        }
        Ok(())
    }

    /// The nodes in the order work goes to them: by tier, then as listed.
    pub fn ordered_nodes(&self) -> Vec<NodeConfig> {
        let mut nodes = self.nodes.clone();
        nodes.sort_by_key(NodeConfig::tier_rank);
        nodes
    }

    /// The quorum in effect: as configured, else 2 with two or more nodes
    /// that can hold replicas.
    pub fn quorum(&self) -> usize {
        match self.pinning.quorum {
            Some(q) => q as usize,
            None if self.replica_holders() >= 2 => 2,
            None => 1,
        }
    }

    /// Configured nodes, plus the local node when it counts toward the quorum.
    fn replica_holders(&self) -> usize {
        let local = self.local_node.enabled && self.local_node.counts_toward_quorum;
        self.nodes.len() + usize::from(local)
    }

    /// The encoder setting, already validated.
    pub fn codec(&self) -> CodecChoice {
        CodecChoice::parse(&self.encoding.codec).expect("validated")
    }

    /// The wait after failed attempt `attempt` (1-based), before jitter.
    pub fn backoff_after(&self, attempt: u32) -> Duration {
        let waits = &self.pinning.backoff;
        *waits[(attempt as usize - 1).min(waits.len() - 1)]
    }

    /// The wait after failed attempt `attempt`, stretched or shrunk at
    /// random by up to `jitter`.
    pub fn retry_wait(&self, attempt: u32) -> Duration {
        let spread = self.pinning.jitter * (fastrand::f64() * 2.0 - 1.0);
        self.backoff_after(attempt).mul_f64(1.0 + spread)
    }

    /// The wait before round `round` (1-based) of a parked job.
    pub fn park_wait(&self, round: u32) -> Duration {
        let waits = &self.pinning.park_backoff;
        *waits[(round.max(1) as usize - 1).min(waits.len() - 1)]
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

    fn problem(&self) -> Option<String> {
        if self.api.password().is_some() || !self.api.username().is_empty() {
            return Some(format!(
                "api must not contain credentials: set auth and put the secret in the keyring (`tank secret set {}`)",
                self.secret_key()
            ));
        }
        if self.role == NodeRole::Primary && self.kind != NodeKind::Kubo {
            return Some("the primary must be a kubo node (uploads go to it)".into());
        }
        match (self.kind, self.effective_auth()) {
            (NodeKind::PinningService, Some(AuthKind::Basic | AuthKind::Jwt)) => {
                return Some("a pinning service takes auth = \"bearer\"".into())
            }
            (NodeKind::Kubo, Some(AuthKind::Jwt)) => {
                return Some("auth = \"jwt\" is for IPFS Cluster nodes".into())
            }
            (_, Some(AuthKind::Basic | AuthKind::Jwt)) if self.username.is_none() => {
                return Some("basic and jwt auth need a username".into())
            }
            _ => {}
        }
        if self.kind != NodeKind::Cluster
            && (self.replication_min.is_some() || self.replication_max.is_some())
        {
            return Some("replication_min and replication_max are for cluster nodes".into());
        }
        None
    }
}

fn env_url(name: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value.trim()).map_err(|e| ConfigError::Environment {
        name,
        value: value.to_owned(),
        message: format!("not a URL ({e})"),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigError::Environment {
            name,
            value: value.to_owned(),
            message: "must be an http(s) URL".into(),
        });
    }
    Ok(url)
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Byte sizes: a number of bytes, or text like `"20 GiB"` / `"500MB"`.
mod size {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(*bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Size {
            Bytes(u64),
            Text(String),
        }
        match Size::deserialize(d)? {
            Size::Bytes(b) => Ok(b),
            Size::Text(t) => parse(&t).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "{t:?} is not a size (examples: 500MB, 20 GiB, 1048576)"
                ))
            }),
        }
    }

    pub fn parse(text: &str) -> Option<u64> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let number: f64 = number.parse().ok()?;
        let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1.0,
            "kb" => 1e3,
            "mb" => 1e6,
            "gb" => 1e9,
            "tb" => 1e12,
            "kib" => 1024.0,
            "mib" => 1024.0 * 1024.0,
            "gib" => 1024.0 * 1024.0 * 1024.0,
            "tib" => 1024.0f64.powi(4),
            _ => return None,
        };
        Some((number * scale) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/tank/config.toml"))
            .and_then(|c| c.validate(None).map(|_| c))
    }

    #[test]
    fn the_documented_example_parses() {
        let config = parse(
            r#"
            [pinning]
            quorum = 2
            retries = 5
            backoff = ["2s", "4s", "8s", "16s", "30s"]
            attempt_timeout = "60s"
            [[nodes]]
            name = "supernode"
            api = "http://127.0.0.1:5002"
            role = "primary"
            [[nodes]]
            name = "backup"
            api = "http://127.0.0.1:5003"
            "#,
        )
        .unwrap();
        assert_eq!(config.quorum(), 2);
        assert_eq!(config.backoff_after(1), Duration::from_secs(2));
        assert_eq!(config.backoff_after(9), Duration::from_secs(30));
        assert_eq!(config.nodes[1].role, NodeRole::Backup);
    }

    #[test]
    fn an_unknown_key_names_the_file_the_line_and_the_key() {
        let err = parse("[pinning]\nquorum = 1\nretrys = 3\n").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("config file /etc/tank/config.toml, line 3: unknown key `retrys`"),
            "{text}"
        );
    }

    #[test]
    fn malformed_toml_names_the_line() {
        let err = parse("[jobs]\nmax_concurrent = \n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn a_bad_duration_is_refused() {
        let err = parse("[pinning]\nattempt_timeout = \"soon\"\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn the_quorum_defaults_to_two_with_two_nodes_and_cannot_exceed_them() {
        let one = parse("[[nodes]]\nname = \"a\"\napi = \"http://127.0.0.1:1\"\n").unwrap();
        assert_eq!(one.quorum(), 1);
        let err =
            parse("[pinning]\nquorum = 3\n[[nodes]]\nname = \"a\"\napi = \"http://127.0.0.1:1\"\n")
                .unwrap_err();
        assert!(
            err.to_string().contains("quorum = 3 but only 1 node"),
            "{err}"
        );
    }

    #[test]
    fn the_3speak_environment_maps_onto_nodes_and_jobs() {
        let mut config = Config::default();
        let env = |name: &str| match name {
            "THREESPEAK_IPFS_ENDPOINT" => Some("http://65.21.201.94:5002".to_owned()),
            "IPFS_BACKUP_APIS" => Some("http://b1:5001, https://b2:5001".to_owned()),
            "MAX_CONCURRENT_JOBS" => Some("3".to_owned()),
            "TEMP_DIR" => Some("/var/tmp/tank".to_owned()),
            _ => None,
        };
        config.apply_env(env).unwrap();
        let nodes: Vec<_> = config
            .ordered_nodes()
            .into_iter()
            .map(|n| (n.name, n.api.to_string(), n.role))
            .collect();
        assert_eq!(
            nodes,
            [
                (
                    "supernode".into(),
                    "http://65.21.201.94:5002/".into(),
                    NodeRole::Primary
                ),
                (
                    "backup-1".into(),
                    "http://b1:5001/".into(),
                    NodeRole::Backup
                ),
                (
                    "backup-2".into(),
                    "https://b2:5001/".into(),
                    NodeRole::Backup
                ),
            ]
        );
        assert_eq!(config.jobs.max_concurrent, 3);
        assert_eq!(config.jobs.work_dir, Some(PathBuf::from("/var/tmp/tank")));
    }

    #[test]
    fn a_bad_environment_value_names_the_variable() {
        let err = Config::default()
            .apply_env(|n| (n == "MAX_CONCURRENT_JOBS").then(|| "many".to_owned()))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable MAX_CONCURRENT_JOBS=\"many\": must be a whole number of jobs"
        );
    }

    #[test]
    fn the_3speak_gateway_environment_fills_in_the_gateway_settings() {
        let mut config = Config::default();
        let env = |name: &str| match name {
            "GATEWAY_URL" => Some("https://encoder.3speak.tv".to_owned()),
            "REMOTE_GATEWAY_ENABLED" => Some("true".to_owned()),
            "HIVE_USERNAME" => Some(" alice ".to_owned()),
            "NODE_NAME" => Some("alice-encoder".to_owned()),
            _ => None,
        };
        config.apply_env(env).unwrap();
        config.validate(None).unwrap();
        assert!(config.gateway.enabled);
        assert_eq!(config.gateway.url.as_str(), "https://encoder.3speak.tv/");
        assert_eq!(config.gateway.hive_username.as_deref(), Some("alice"));
        assert_eq!(config.gateway.node_name(), "alice-encoder");
    }

    #[test]
    fn an_enabled_gateway_needs_a_hive_account_and_pings_often_enough() {
        let err = parse("[gateway]\nenabled = true\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("[gateway] hive_username is needed"),
            "{err}"
        );
        let err = parse("[gateway]\nhive_username = \"a\"\nping_interval = \"2m\"\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("ping_interval must be between 1s and 30s"),
            "{err}"
        );
        let err = Config::default()
            .apply_env(|n| (n == "REMOTE_GATEWAY_ENABLED").then(|| "maybe".to_owned()))
            .unwrap_err();
        assert!(err.to_string().contains("REMOTE_GATEWAY_ENABLED"), "{err}");
    }

    #[test]
    fn retry_waits_stay_within_the_jitter() {
        let config = Config::default();
        for attempt in 1..=6 {
            let base = config.backoff_after(attempt).as_secs_f64();
            let wait = config.retry_wait(attempt).as_secs_f64();
            assert!(
                wait >= base * 0.8 - 1e-9 && wait <= base * 1.2 + 1e-9,
                "{wait} vs {base}"
            );
        }
    }

    #[test]
    fn credentials_never_go_in_the_config_file() {
        let err = parse("[[nodes]]\nname = \"a\"\napi = \"http://tank:secret@127.0.0.1:1\"\n")
            .unwrap_err();
        assert!(
            err.to_string().contains("must not contain credentials"),
            "{err}"
        );
        assert!(!err.to_string().contains("secret@"), "{err}");
    }

    #[test]
    fn node_kinds_take_the_auth_they_support() {
        let service = "[[nodes]]\nname = \"k\"\napi = \"http://127.0.0.1:1\"\n[[nodes]]\nname = \"pinata\"\nkind = \"pinning-service\"\napi = \"https://api.pinata.cloud/psa\"\n";
        let config = parse(service).unwrap();
        assert_eq!(config.nodes[1].effective_auth(), Some(AuthKind::Bearer));
        let jwt_on_kubo = "[[nodes]]\nname = \"k\"\napi = \"http://127.0.0.1:1\"\nauth = \"jwt\"\nusername = \"u\"\n";
        assert!(parse(jwt_on_kubo).unwrap_err().to_string().contains("jwt"));
        let basic_without_user =
            "[[nodes]]\nname = \"k\"\napi = \"http://127.0.0.1:1\"\nauth = \"basic\"\n";
        assert!(parse(basic_without_user)
            .unwrap_err()
            .to_string()
            .contains("username"));
    }

    #[test]
    fn tiers_order_the_nodes() {
        let config = parse(
            "[[nodes]]\nname = \"svc\"\nkind = \"pinning-service\"\napi = \"https://s\"\ntier = 2\n\
             [[nodes]]\nname = \"b\"\napi = \"http://b:1\"\n\
             [[nodes]]\nname = \"p\"\napi = \"http://p:1\"\nrole = \"primary\"\n",
        )
        .unwrap();
        let order: Vec<_> = config.ordered_nodes().into_iter().map(|n| n.name).collect();
        assert_eq!(order, ["p", "b", "svc"]);
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(size::parse("20 GiB"), Some(20 * 1024 * 1024 * 1024));
        assert_eq!(size::parse("500MB"), Some(500_000_000));
        assert_eq!(size::parse("12"), Some(12));
        assert_eq!(size::parse("lots"), None);
    }
}
