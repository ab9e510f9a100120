//! `[gateway]`: where jobs come from, the 3Speak encoder gateway.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// Take jobs from the gateway (`tank daemon` and the desktop app).
    pub enabled: bool,
    pub url: Url,
    /// `legacy`: poll `getJob` and claim with `acceptJob`. `v2` (2026
    /// gateways): the gateway assigns jobs, fetched with `myJob`, and wants
    /// a `heartbeat`.
    pub mode: GatewayMode,
    /// How often to ask for work, when below the concurrency limit.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// Each poll waits up to this much longer, at random, so encoders do not
    /// ask in lockstep.
    #[serde(with = "humantime_serde")]
    pub poll_jitter: Duration,
    /// How often a claimed job's progress is sent. The gateway gives away
    /// jobs whose pings stop for a minute, so at most 30 s.
    #[serde(with = "humantime_serde")]
    pub ping_interval: Duration,
    /// Timeout of each call to the gateway.
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum GatewayMode {
    #[default]
    Legacy,
    V2,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            enabled: false,
            url: Url::parse("https://encoder-gateway.infra.3speak.tv").expect("valid URL"),
            mode: GatewayMode::Legacy,
            poll_interval: Duration::from_secs(60),
            poll_jitter: Duration::from_secs(15),
            ping_interval: Duration::from_secs(25),
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
        if self.ping_interval.is_zero() || self.ping_interval > Duration::from_secs(30) {
            return Some(
                "ping_interval must be between 1s and 30s: the gateway gives away jobs whose pings stop".into(),
            );
        }
        if self.poll_interval.is_zero() || self.timeout.is_zero() {
            return Some("poll_interval and timeout must be more than zero".into());
        }
        let hive = self.hive_username.as_deref().unwrap_or("").trim();
        if self.enabled && hive.is_empty() {
            return Some(
                "hive_username is needed when the gateway is enabled (or set HIVE_USERNAME)".into(),
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
