//! Audits: re-verifications of a finished job's replicas.

use serde::{Deserialize, Serialize};

use crate::job::JobId;
use crate::report::Replica;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum AuditOutcome {
    /// The replica is there.
    Verified,
    /// It had vanished and was pinned again.
    Repaired,
    /// It had vanished and could not be restored.
    Missing,
}

impl AuditOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Verified => "verified",
            AuditOutcome::Repaired => "repaired",
            AuditOutcome::Missing => "missing",
        }
    }

    pub fn parse(text: &str) -> AuditOutcome {
        match text {
            "repaired" => AuditOutcome::Repaired,
            "missing" => AuditOutcome::Missing,
            _ => AuditOutcome::Verified,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AuditRecord {
    pub job: JobId,
    /// The replica checked.
    #[serde(flatten)]
    pub replica: Replica,
    pub at: String,
    pub outcome: AuditOutcome,
    pub detail: Option<String>,
}
