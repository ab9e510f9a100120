//! Which process works on a job.

use std::path::Path;

use crate::error::EngineError;

/// Who works on a job: an exclusive lock on `<job folder>/job.lock`, held
/// for as long as the job runs. The operating system releases it when the
/// process exits, however it exits, so a crashed job is free to resume at
/// once and a running one can never be taken twice.
pub(crate) struct JobLock {
    _file: std::fs::File,
}

impl JobLock {
    /// The lock, or `None` when another process holds it.
    pub fn try_take(work_dir: &Path) -> Result<Option<JobLock>, EngineError> {
        let io = |source| EngineError::DataDir {
            path: work_dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(work_dir).map_err(io)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(work_dir.join("job.lock"))
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(JobLock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
        }
    }
}
