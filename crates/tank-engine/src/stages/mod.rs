//! The work of each job state. A stage reads what earlier stages committed
//! (the job row), does its work, and says what to commit next: the next
//! state with the fields it produced, or a failure. Stages never write job
//! state themselves; the runner commits their outcome before the next stage
//! starts, which is what makes every stage safe to redo after a crash.

pub(crate) mod download;
pub(crate) mod encode;
mod public_address;
pub(crate) mod upload;
pub(crate) mod verify;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use tank_media::Tools;

use crate::events::Events;
use crate::nodes::Node;
use crate::pinning::recorder::Recorder;
use tank_config::Config;
use tank_store::{Field, JobRow, Store};

/// What a stage can see.
pub(crate) struct Stage<'a> {
    pub config: &'a Config,
    /// In work order, the local node's address as it is now.
    pub nodes: Vec<Node>,
    pub tools: &'a Tools,
    /// The data directory's disk, for what a full one says.
    pub disk: &'a crate::disk::Disk,
    pub store: &'a Store,
    pub events: &'a Events,
    pub recorder: Recorder,
    /// The local node, when enabled: a download source.
    pub local_node: Option<&'a tank_node::LocalNode>,
    pub job: JobRow,
    /// Set when the job must stop (the runner was dropped or cancelled).
    pub cancel: Arc<AtomicBool>,
    /// The run's job lock. Work that can outlive a dropped run (FFmpeg on
    /// its blocking thread, until it sees `cancel`) holds a clone, so the
    /// lock is free only once nothing writes the job's folder any more.
    pub job_lock: Option<Arc<crate::lock::JobLock>>,
}

/// How one step on a node can fail, as recorded in the attempt history.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StepError {
    #[error(transparent)]
    Ipfs(#[from] tank_ipfs::IpfsError),
    #[error("the node reported CID {got}, but the folder's CID is {expected}")]
    WrongCid { expected: String, got: String },
    #[error("pin/add answered OK but pin/ls does not list {cid}: the node does not hold the pin")]
    NotPinned { cid: String },
    #[error("the node served a manifest.m3u8 that differs from ours")]
    ManifestDiffers,
    #[error("the gateway served a manifest.m3u8 that differs from ours")]
    GatewayDiffers,
    #[error("{0}")]
    Skipped(String),
    #[error("the pinning service reports the pin failed: {0}")]
    ServiceFailed(String),
    #[error("no cluster peer pinned it: {0}")]
    ClusterFailed(String),
    #[error("still not pinned after {0}")]
    StillPending(String),
}

impl StepError {
    /// Retrying on the same node cannot help.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            StepError::Skipped(_) | StepError::Ipfs(tank_ipfs::IpfsError::Unauthorized { .. })
        )
    }
}

impl crate::pinning::recorder::AttemptError for StepError {
    fn http_status(&self) -> Option<u16> {
        match self {
            StepError::Ipfs(e) => e.http_status(),
            _ => None,
        }
    }

    fn counts_against_node(&self) -> bool {
        match self {
            StepError::Ipfs(e) => e.counts_against_node(),
            _ => false,
        }
    }
}

/// What a stage says should be committed.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The stage's work is done: these outputs are committed with the move
    /// to the state the transition table says comes next.
    Done(Vec<Field>),
    Fail {
        error: String,
        retryable: bool,
    },
    /// The job was asked to stop: nothing to commit, it resumes from here.
    Stopped,
    /// The quorum cannot be met now: park the job for the pin queue, with
    /// the replicas verified so far.
    Park {
        reason: String,
        fields: Vec<Field>,
    },
    /// What the encode wrote is not all there any more: encode again.
    Reencode {
        reason: String,
    },
}

impl Outcome {
    pub fn bad_input(error: impl ToString) -> Outcome {
        Outcome::Fail {
            error: error.to_string(),
            retryable: false,
        }
    }

    pub fn infrastructure(error: impl ToString) -> Outcome {
        Outcome::Fail {
            error: error.to_string(),
            retryable: true,
        }
    }
}

impl Stage<'_> {
    /// The nodes in work order (the engine keeps them in the order
    /// [`policy::in_work_order`](crate::pinning::policy::in_work_order) gave).
    pub fn ordered_nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter()
    }

    /// [`Self::ordered_nodes`], with the nodes that failed a call earlier
    /// in this job moved behind the others
    /// ([`policy::troubled`](crate::pinning::policy::troubled)).
    pub fn healthy_first(&self) -> Vec<&Node> {
        let history = self.store.attempts(self.job.id).unwrap_or_else(|e| {
            // Only the order suffers: every node is still tried.
            tracing::warn!(job = self.job.id, %e, "cannot read the job's history");
            Vec::new()
        });
        let troubled = crate::pinning::policy::troubled(&history);
        let mut nodes: Vec<&Node> = self.ordered_nodes().collect();
        // Stable: within each group, work order.
        nodes.sort_by_key(|n| troubled.contains(n.name()));
        nodes
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name() == name)
    }

    /// A field the runner committed earlier; its absence is a bug.
    pub fn committed<'s, T>(&self, field: &'s Option<T>, what: &str) -> &'s T {
        field.as_ref().unwrap_or_else(|| {
            panic!(
                "job {} reached {} without its {what}",
                self.job.id, self.job.state
            )
        })
    }
}
