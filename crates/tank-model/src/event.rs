//! What the engine tells its watchers (the CLI's progress line, the
//! desktop window) about jobs and nodes. Watching is optional and lossy (a
//! slow watcher misses progress ticks); the job store is the record.

use serde::{Deserialize, Serialize};

use crate::health::HealthState;
use crate::job::JobId;
use crate::report::Attempt;
use crate::state::{JobState, StageKind};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum JobEvent {
    /// The job entered a state (already committed).
    State {
        job: JobId,
        state: JobState,
        detail: Option<String>,
    },
    /// Bytes of the input downloaded so far.
    Download {
        job: JobId,
        bytes: u64,
        total: Option<u64>,
    },
    /// The job's stage waits for a slot of `waiting_for` (all are
    /// taken), or, with `None`, has its slot and runs.
    Slot {
        job: JobId,
        waiting_for: Option<StageKind>,
    },
    /// Encoding progress.
    Encode {
        job: JobId,
        progress: tank_media::EncodeProgress,
    },
    /// A call to a node finished (already recorded).
    Attempt { job: JobId, attempt: Attempt },
    /// The health monitor saw a node change state (already recorded).
    NodeHealth {
        node: String,
        state: HealthState,
        detail: Option<String>,
    },
}
