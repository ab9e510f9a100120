//! Node health as the monitor sees it: a node's state, its row and its
//! probe samples.

use serde::{Deserialize, Serialize};

/// Where a node (or the 3Speak gateway) stands, as the health monitor last
/// saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum HealthState {
    /// Not probed yet.
    Unknown,
    Healthy,
    /// Answers, but slowly, with a nearly full repo, a failing canary, or
    /// after failures too few to call it down.
    Degraded,
    /// Failed `down_after` probes in a row; its breaker is open.
    Down,
}

impl HealthState {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Unknown => "unknown",
            HealthState::Healthy => "healthy",
            HealthState::Degraded => "degraded",
            HealthState::Down => "down",
        }
    }

    /// Reads back [`Self::as_str`]; anything else is `unknown`.
    pub fn parse(text: &str) -> HealthState {
        [
            HealthState::Healthy,
            HealthState::Degraded,
            HealthState::Down,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
        .unwrap_or(HealthState::Unknown)
    }
}

impl std::fmt::Display for HealthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A node's monitored state changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthChange {
    pub node: String,
    pub from: HealthState,
    pub to: HealthState,
    /// Why, in a few words (the failing probe's error, "slow", "repo full").
    pub detail: Option<String>,
}

/// A node's row: monitor state and breaker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HealthRow {
    pub node: String,
    pub state: HealthState,
    /// When the node entered that state (RFC 3339).
    pub since: Option<String>,
    pub ok_streak: u32,
    pub fail_streak: u32,
    /// Until when the breaker keeps the node out (RFC 3339), if open.
    pub breaker_open_until: Option<String>,
    pub last_canary_at: Option<String>,
}

/// One probe of a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HealthSample {
    pub at: String,
    /// `liveness`, `canary` or `repo`.
    pub probe: String,
    pub ok: bool,
    pub latency_ms: Option<u64>,
    pub detail: Option<String>,
    pub repo_size: Option<u64>,
    pub storage_max: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_states_round_trip_through_their_names() {
        for state in [
            HealthState::Unknown,
            HealthState::Healthy,
            HealthState::Degraded,
            HealthState::Down,
        ] {
            assert_eq!(HealthState::parse(state.as_str()), state);
        }
        assert_eq!(HealthState::parse("sideways"), HealthState::Unknown);
    }
}
