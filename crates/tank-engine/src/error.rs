use std::path::PathBuf;

use tank_config::ConfigError;
use tank_model::{InputError, JobId, JobState};
use tank_store::StoreError;

/// Why the engine could not do what it was asked (as opposed to a job that
/// ran and failed, which is recorded on the job).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("cannot use data directory {}: {source}", path.display())]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no IPFS nodes are configured: add [[nodes]] to the config file or set THREESPEAK_IPFS_ENDPOINT")]
    NoNodes,
    #[error("job {0} is being worked on by another tank process")]
    JobBusy(JobId),
    #[error("job {id} is {state}; only a failed job can be retried")]
    NotFailed { id: JobId, state: JobState },
    #[error(
        "job {0} failed on its input; retrying cannot help (submit a corrected input as a new job)"
    )]
    NotRetryable(JobId),
    #[error("job {id} is already {state}; it can no longer be paused or cancelled")]
    NotRunning { id: JobId, state: JobState },
    #[error("job {id} is {state}; only a finished job can be audited")]
    NotDone { id: JobId, state: JobState },
    #[error("job {id} cannot move from {from} to {to}")]
    IllegalMove {
        id: JobId,
        from: JobState,
        to: JobState,
    },
    #[error("job {0} was stopped before it finished; `tank resume` continues it")]
    Stopped(JobId),
}

impl EngineError {
    /// The job asked about does not exist.
    pub fn is_no_such_job(&self) -> bool {
        matches!(self, EngineError::Store(StoreError::NoSuchJob(_)))
    }
}
