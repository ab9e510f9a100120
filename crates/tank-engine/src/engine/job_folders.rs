//! Job folders on disk: what they take, and deleting those of jobs that
//! failed or were cancelled long enough ago (`[jobs] keep_failed_for`).
//! A done job's folder follows `keep_output`, in the lifecycle.

use std::path::Path;

use tank_model::{DiskUsage, JobFolderSize, JobId};
use tank_store::now_ms;

use super::Engine;
use crate::error::EngineError;
use crate::lock::JobLock;

impl Engine {
    /// Each job folder's size, their total, and the disk's free space.
    pub fn disk_usage(&self) -> Result<DiskUsage, EngineError> {
        let jobs: Vec<JobFolderSize> = self
            .inner
            .store
            .job_folders()?
            .into_iter()
            .filter_map(|(job, dir)| {
                let bytes = folder_bytes(Path::new(&dir))?;
                Some(JobFolderSize { job, bytes })
            })
            .collect();
        Ok(DiskUsage {
            total_bytes: jobs.iter().map(|j| j.bytes).sum(),
            jobs,
            free_bytes: crate::disk::free_bytes(&self.inner.data_dir),
        })
    }

    /// Deletes what is in the folders of jobs that failed or were
    /// cancelled more than `keep_failed_for` ago. A job being worked on
    /// (retried meanwhile, its lock held) is left for the next sweep.
    /// Returns the jobs whose folders were deleted.
    pub fn sweep_job_folders(&self) -> Result<Vec<JobId>, EngineError> {
        let keep = self.inner.config.jobs.keep_failed_for;
        let before = now_ms() - i64::try_from(keep.as_millis()).unwrap_or(i64::MAX);
        let mut swept = Vec::new();
        for (id, dir) in self.inner.store.ended_job_folders(before)? {
            let dir = Path::new(&dir);
            let Some(_lock) = JobLock::try_take(dir)? else {
                continue;
            };
            // Deleted before it is recorded: a crash in between leaves a
            // job whose retry finds its folder gone, which it survives (an
            // upload encodes again; an encode downloads again).
            if let Err(e) = empty_folder(dir) {
                tracing::warn!(job = id, dir = %dir.display(), %e, "cannot delete an ended job's folder");
                continue;
            }
            if self.inner.store.folder_swept(id)? {
                tracing::info!(job = id, dir = %dir.display(), "deleted an ended job's folder");
                swept.push(id);
            }
        }
        Ok(swept)
    }
}

/// Everything in `dir` but its lock file (open, so Windows cannot delete
/// it; it is empty anyway).
fn empty_folder(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name() == "job.lock" {
            continue;
        }
        match entry.file_type()?.is_dir() {
            true => std::fs::remove_dir_all(entry.path())?,
            false => std::fs::remove_file(entry.path())?,
        }
    }
    Ok(())
}

/// The bytes of the files under `dir`; `None` when it does not exist.
fn folder_bytes(dir: &Path) -> Option<u64> {
    let mut total = 0;
    let mut pending = vec![std::fs::read_dir(dir).ok()?];
    while let Some(entries) = pending.pop() {
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                pending.extend(std::fs::read_dir(entry.path()).ok());
            } else {
                total += meta.len();
            }
        }
    }
    Some(total)
}
