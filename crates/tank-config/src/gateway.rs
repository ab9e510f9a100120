//! `[gateway]`: 3Speak as a source of jobs, and where their results go.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// Take jobs from 3Speak (`tank daemon` and the desktop app).
    pub enabled: bool,
    pub url: Url,
    /// `embed` (3Speak since 2026): community jobs taken from the embed
    /// system with `myJob`, results sent by webhook. `legacy`: the old
    /// encoder gateway (getJob, acceptJob, pingJob, finishJob), which some
    /// private gateways still run.
    pub mode: GatewayMode,
    /// How often to ask for work, when a job slot is free.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// Each poll waits up to this much longer, at random, so encoders do not
    /// ask in lockstep.
    #[serde(with = "humantime_serde")]
    pub poll_jitter: Duration,
    /// Legacy gateway: how often a claimed job's progress is sent. It gives
    /// away jobs whose pings stop for a minute, so at most 30 s.
    #[serde(with = "humantime_serde")]
    pub ping_interval: Duration,
    /// Embed: how often this encoder says it is online (plus up to
    /// `poll_jitter`).
    #[serde(with = "humantime_serde")]
    pub heartbeat_interval: Duration,
    /// Embed: a job's progress is sent at least this often in every stage,
    /// so 3Speak's 30-minute stall reset never takes a job we work on. At
    /// most 5 minutes.
    #[serde(with = "humantime_serde")]
    pub progress_interval: Duration,
    /// Embed: while encoding, progress goes out on change, but no more
    /// often than this (at least 10 s).
    #[serde(with = "humantime_serde")]
    pub encode_progress_interval: Duration,
    /// Embed: a job whose quorum is not verified this long after pinning
    /// began is given up and reported `failed`, so 3Speak can requeue it;
    /// what was pinned stays pinned. Under 30 minutes, 3Speak's stall
    /// reset.
    #[serde(with = "humantime_serde")]
    pub replica_deadline: Duration,
    /// Embed: 3Speak's traffic director, which names the hotnode that
    /// takes a copy of each 3Speak job's result, so 3Speak's gateway serves
    /// it at once (as 3Speak's own encoder uploads). The hotnode keeps it
    /// only days: that copy never counts toward the quorum.
    pub traffic_director: Url,
    /// Timeout of each call to the gateway (and the traffic director).
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// After failed calls in a row, polls and reports wait longer, doubling
    /// up to this.
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
    /// The name this encoder announces (default: the host name).
    pub node_name: Option<String>,
    /// The operator's Hive account, announced with the node.
    pub hive_username: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum GatewayMode {
    #[default]
    Embed,
    Legacy,
}

/// Read by hand so that the retired `v2` names its replacement.
impl<'de> Deserialize<'de> for GatewayMode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.as_str() {
            "embed" => Ok(GatewayMode::Embed),
            "legacy" => Ok(GatewayMode::Legacy),
            "v2" => Err(serde::de::Error::custom(
                "mode \"v2\" is gone: 3Speak's 2026 system is mode = \"embed\"",
            )),
            other => Err(serde::de::Error::custom(format!(
                "unknown mode {other:?}: use \"embed\" or \"legacy\""
            ))),
        }
    }
}

/// 3Speak's embed system, the default source of 3Speak jobs.
pub const EMBED_URL: &str = "https://embed.3speak.tv";

/// 3Speak's traffic director.
pub const TRAFFIC_DIRECTOR_URL: &str = "https://cdn.3speak.tv/api/hotnode";

/// 3Speak's stall reset: an `encoding` job whose last progress is older is
/// given to another encoder.
const STALL_RESET: Duration = Duration::from_secs(30 * 60);

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            enabled: false,
            url: Url::parse(EMBED_URL).expect("valid URL"),
            mode: GatewayMode::Embed,
            poll_interval: Duration::from_secs(60),
            poll_jitter: Duration::from_secs(15),
            ping_interval: Duration::from_secs(25),
            heartbeat_interval: Duration::from_secs(60),
            progress_interval: Duration::from_secs(60),
            encode_progress_interval: Duration::from_secs(10),
            replica_deadline: Duration::from_secs(20 * 60),
            traffic_director: Url::parse(TRAFFIC_DIRECTOR_URL).expect("valid URL"),
            timeout: Duration::from_secs(30),
            max_backoff: Duration::from_secs(600),
            node_name: None,
            hive_username: None,
        }
    }
}

impl GatewayConfig {
    /// What is wrong with these settings, if anything.
    pub(crate) fn problem(&self) -> Option<String> {
        if !matches!(self.url.scheme(), "http" | "https") {
            return Some(format!(
                "url must be an http(s) URL, got {}",
                tank_ipfs::redacted(&self.url)
            ));
        }
        if self.url.password().is_some() || !self.url.username().is_empty() {
            return Some("url must not contain credentials".into());
        }
        if !matches!(self.traffic_director.scheme(), "http" | "https") {
            return Some(format!(
                "traffic_director must be an http(s) URL, got {}",
                tank_ipfs::redacted(&self.traffic_director)
            ));
        }
        if self.ping_interval.is_zero() || self.ping_interval > Duration::from_secs(30) {
            return Some(
                "ping_interval must be between 1s and 30s: the gateway gives away jobs whose pings stop".into(),
            );
        }
        if self.poll_interval.is_zero()
            || self.timeout.is_zero()
            || self.heartbeat_interval.is_zero()
        {
            return Some(
                "poll_interval, heartbeat_interval and timeout must be more than zero".into(),
            );
        }
        if self.progress_interval.is_zero() || self.progress_interval > Duration::from_secs(300) {
            return Some("progress_interval must be between 1s and 5m: 3Speak resets jobs whose progress stops for 30 minutes".into());
        }
        if self.encode_progress_interval < Duration::from_secs(10) {
            return Some("encode_progress_interval must be at least 10s".into());
        }
        if self.replica_deadline.is_zero()
            || self.replica_deadline + self.progress_interval >= STALL_RESET
        {
            return Some(format!(
                "replica_deadline must be more than zero and, with progress_interval, under 3Speak's stall reset of {}",
                humantime::format_duration(STALL_RESET)
            ));
        }
        let hive = self.hive_username.as_deref().unwrap_or("").trim();
        if self.enabled && self.mode == GatewayMode::Legacy && hive.is_empty() {
            return Some(
                "hive_username is needed by the legacy gateway (or set HIVE_USERNAME)".into(),
            );
        }
        None
    }

    /// The name announced to the gateway.
    pub fn node_name(&self) -> String {
        self.node_name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .or_else(|| sysinfo::System::host_name().ok())
            .unwrap_or_else(|| "tank-encoder".into())
    }
}
