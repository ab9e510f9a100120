//! Claims of jobs taken from the 3Speak gateway, and the report each owes.

use serde::{Deserialize, Serialize};

use crate::job::JobId;
use crate::state::JobState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum GatewayPhase {
    /// About to ask for the job; whether we got it is not known yet.
    Claiming,
    /// Ours: a local job works on it.
    Claimed,
    /// The local job ended; its report is committed and being sent.
    Reporting,
    /// The gateway has the report.
    Reported,
    /// Being given back to the gateway (shutdown before encoding started).
    Releasing,
    Released,
    /// Another encoder has it.
    Lost,
}

impl GatewayPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            GatewayPhase::Claiming => "claiming",
            GatewayPhase::Claimed => "claimed",
            GatewayPhase::Reporting => "reporting",
            GatewayPhase::Reported => "reported",
            GatewayPhase::Releasing => "releasing",
            GatewayPhase::Released => "released",
            GatewayPhase::Lost => "lost",
        }
    }

    pub fn parse(text: &str) -> Option<GatewayPhase> {
        [
            GatewayPhase::Claiming,
            GatewayPhase::Claimed,
            GatewayPhase::Reporting,
            GatewayPhase::Reported,
            GatewayPhase::Releasing,
            GatewayPhase::Released,
            GatewayPhase::Lost,
        ]
        .into_iter()
        .find(|p| p.as_str() == text)
    }
}

/// What we tell the gateway about a job's end, fixed before it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Report {
    /// `finishJob`: durable at this CID.
    Finish { cid: String },
    /// `failJob`.
    Fail {
        error: String,
        retryable: bool,
        /// RFC 3339, when the failure was decided.
        at: String,
    },
}

/// One claim of a gateway job (the same job may be claimed again after it
/// came back to the queue).
pub type ClaimId = i64;

/// A claim as stored, with the state of its local job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GatewayClaim {
    pub claim: ClaimId,
    pub gateway_id: String,
    pub job_id: Option<JobId>,
    pub job_state: Option<JobState>,
    pub phase: GatewayPhase,
    /// The job as the gateway described it.
    pub job: serde_json::Value,
    pub report: Option<Report>,
    pub report_tries: u32,
    /// The gateway's answer to the report or release, or why the job was lost.
    pub answer: Option<String>,
    pub seen_at: String,
    pub claimed_at: Option<String>,
    pub reported_at: Option<String>,
    pub last_ping_at: Option<String>,
    /// Why the last ping failed, when it did.
    pub ping_error: Option<String>,
    /// When a failed report may be sent again (ms since the epoch).
    #[serde(skip)]
    pub next_try_at: Option<i64>,
}
