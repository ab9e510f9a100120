//! What is recorded about a job and shown to people and scripts: its
//! report, its attempts on nodes, its replicas and history.

use serde::{Deserialize, Serialize};

use crate::audit::AuditRecord;
use crate::claim::GatewayClaim;
use crate::embed::{EmbedClaim, OutboxEntry};
use crate::job::JobId;
use crate::state::{JobState, StageKind};

/// One call to a node on behalf of a job, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Attempt {
    pub node: String,
    /// The RPC command: `add`, `pin/add`, `pin/ls`, `swarm/connect`, `cat`, `id`.
    pub op: String,
    /// Which attempt on this node it belongs to, from 1.
    pub attempt: u32,
    pub ok: bool,
    pub error: Option<String>,
    /// How long the call took.
    pub ms: u64,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// The node's HTTP status, when it answered with an error.
    pub http_status: Option<u16>,
}

/// Where one copy of a job's content is: a configured node and, on an IPFS
/// Cluster, the cluster peer that pinned it (each peer is one replica).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Replica {
    /// The node's name in the config.
    pub node: String,
    /// The cluster peer holding it; `None` on a kubo node or pinning service.
    pub peer: Option<String>,
}

impl Replica {
    /// The copy a kubo node or pinning service holds itself.
    pub fn on_node(node: &str) -> Replica {
        Replica {
            node: node.to_owned(),
            peer: None,
        }
    }

    /// The copy one peer of the cluster `node` holds.
    pub fn on_peer(node: &str, peer: &str) -> Replica {
        Replica {
            node: node.to_owned(),
            peer: Some(peer.to_owned()),
        }
    }
}

/// `node`, or `cluster/peer`: how people read a replica.
impl std::fmt::Display for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `pad`, so that tables can align replicas with `{:24}`.
        match &self.peer {
            Some(peer) => f.pad(&format!("{}/{peer}", self.node)),
            None => f.pad(&self.node),
        }
    }
}

/// A replica in a job's report: where, and when it was last verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VerifiedReplica {
    #[serde(flatten)]
    pub replica: Replica,
    /// Always true for a listed replica: it was verified.
    pub verified: bool,
    /// When the pin was verified (RFC 3339).
    pub verified_at: String,
}

/// A state the job entered, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StateChange {
    pub state: JobState,
    pub at: String,
    pub detail: Option<String>,
}

/// Everything known about a job: what `tank job <ID> --json` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct JobReport {
    pub id: JobId,
    pub state: JobState,
    pub input: String,
    pub cid: Option<String>,
    /// Absolute path of the HLS folder; kept after the job.
    pub output_dir: Option<String>,
    /// Rung names, largest first.
    pub renditions: Vec<String>,
    /// Rungs with their real sizes.
    pub rendition_sizes: Vec<tank_media::Rendition>,
    pub encoder: Option<String>,
    pub replicas: Vec<VerifiedReplica>,
    pub attempts: Vec<Attempt>,
    pub error: Option<String>,
    /// Whether retrying can help (infrastructure failures), when failed.
    pub retryable: Option<bool>,
    /// Parked (`awaiting_replicas`, `awaiting_retry`): when it is tried
    /// again (RFC 3339).
    pub next_try_at: Option<String>,
    pub paused: bool,
    pub progress: Option<tank_media::EncodeProgress>,
    pub history: Vec<StateChange>,
    /// Re-verifications of the replicas after the job was done.
    pub audits: Vec<AuditRecord>,
    /// For a job taken from the 3Speak gateway: its claim and report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewayClaim>,
    /// For a job taken from 3Speak's embed system: its video and where its
    /// calls stand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embed: Option<EmbedClaim>,
    /// Its report to the embed system's webhook, once committed: sent or
    /// waiting, tries, the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embed_report: Option<OutboxEntry>,
    pub created_at: String,
    pub updated_at: String,
}

/// Which attempts `tank attempts` lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttemptFilter {
    pub job: Option<JobId>,
    pub node: Option<String>,
    pub failed_only: bool,
    pub limit: u32,
}

/// An attempt with the job it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct JobAttempt {
    pub job: JobId,
    #[serde(flatten)]
    pub attempt: Attempt,
}

/// What the job folders take on disk: each job's, the total, and what
/// the disk has left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DiskUsage {
    /// Every job's folder, by job (jobs whose folder is gone are left out).
    pub jobs: Vec<JobFolderSize>,
    pub total_bytes: u64,
    /// Free on the disk holding the data directory, when the OS says.
    pub free_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct JobFolderSize {
    pub job: JobId,
    pub bytes: u64,
}

/// A line of `tank jobs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct JobSummary {
    pub id: JobId,
    pub state: JobState,
    pub input: String,
    pub cid: Option<String>,
    pub error: Option<String>,
    pub retryable: Option<bool>,
    pub updated_at: String,
    /// Paused by the operator: not run until resumed.
    pub paused: bool,
    /// The latest encoding progress, while it encodes.
    pub progress: Option<tank_media::EncodeProgress>,
    /// The stage a failed or parked job stopped in: where a retry, or the
    /// end of its wait, goes on.
    pub stopped_in: Option<JobState>,
    /// Its stage waits for a free slot of this kind (the others' jobs hold
    /// them all), rather than running. Known to the process running it.
    pub waiting_for_slot: Option<StageKind>,
}

#[cfg(test)]
mod tests {
    use super::Replica;

    #[test]
    fn a_replica_reads_as_its_node_or_cluster_and_peer_and_lines_up_in_tables() {
        assert_eq!(Replica::on_node("supernode").to_string(), "supernode");
        assert_eq!(
            Replica::on_peer("cluster", "12D3a").to_string(),
            "cluster/12D3a"
        );
        assert_eq!(
            format!("{:12}|", Replica::on_peer("c", "p")),
            "c/p         |"
        );
    }

    #[test]
    fn in_a_report_a_replica_is_its_node_and_peer_beside_when_it_was_verified() {
        let verified = super::VerifiedReplica {
            replica: Replica::on_peer("cluster", "peer-a"),
            verified: true,
            verified_at: "2026-12-02T10:00:00Z".into(),
        };
        assert_eq!(
            serde_json::to_value(&verified).unwrap(),
            serde_json::json!({
                "node": "cluster",
                "peer": "peer-a",
                "verified": true,
                "verified_at": "2026-12-02T10:00:00Z"
            })
        );
    }
}
