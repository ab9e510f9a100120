//! What the engine tells its watchers (the CLI's progress line, the
//! desktop window) about jobs and nodes: typed events on a broadcast channel. Watching is
//! optional and lossy (a slow watcher misses progress ticks); the job store
//! is the record.

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::job::{Attempt, JobId, JobState};

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
    /// Encoding progress.
    Encode {
        job: JobId,
        progress: tank_media::EncodeProgress,
    },
    /// A call to a node finished (already recorded).
    Attempt { job: JobId, attempt: Attempt },
    /// The health monitor saw a node change state (already recorded):
    /// `healthy`, `degraded` or `down`.
    NodeHealth {
        node: String,
        state: String,
        detail: Option<String>,
    },
}

/// Sends events to whoever is watching; nobody watching is fine.
#[derive(Debug, Clone)]
pub struct Events {
    sender: broadcast::Sender<JobEvent>,
}

impl Events {
    pub fn new() -> Events {
        Events {
            sender: broadcast::channel(1024).0,
        }
    }

    pub fn send(&self, event: JobEvent) {
        let _ = self.sender.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<JobEvent> {
        self.sender.subscribe()
    }
}

impl Default for Events {
    fn default() -> Self {
        Self::new()
    }
}
