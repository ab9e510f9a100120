//! Files found in watch folders and the job each became: a file is queued
//! once, in the same transaction as its job, so neither a crash nor a
//! rescan queues it twice. A file replaced by another (a new size or time
//! stamp under the same name) is a new video and is queued again.

use rusqlite::{params, OptionalExtension};

use crate::jobs::insert_job;
use crate::{now_ms, Store, StoreError};
use tank_model::JobId;

/// Files found in watch folders, each queued once.
pub(crate) const TABLES: &str = r#"
    -- Files found in watch folders, each queued once (see watched.rs).
    CREATE TABLE watched_files (
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        modified INTEGER NOT NULL,
        job_id INTEGER NOT NULL REFERENCES jobs(id),
        queued_at INTEGER NOT NULL,
        PRIMARY KEY (path, size, modified)
    );
"#;

/// A file as a watch folder saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedFile {
    pub path: String,
    pub size: u64,
    /// Last modification, milliseconds since the Unix epoch.
    pub modified_ms: i64,
}

impl Store {
    /// Queues a job for `file` unless this very file (path, size and time
    /// stamp) was queued before. The new job, or `None`.
    pub fn queue_watched_file(
        &self,
        file: &WatchedFile,
        jobs_root: &std::path::Path,
    ) -> Result<Option<JobId>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let known: Option<JobId> = tx
            .query_row(
                "SELECT job_id FROM watched_files WHERE path = ?1 AND size = ?2 AND modified = ?3",
                params![file.path, file.size as i64, file.modified_ms],
                |r| r.get(0),
            )
            .optional()?;
        if known.is_some() {
            return Ok(None);
        }
        let id = insert_job(&tx, &file.path, jobs_root)?;
        tx.execute(
            "INSERT INTO watched_files (path, size, modified, job_id, queued_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![file.path, file.size as i64, file.modified_ms, id, now_ms()],
        )?;
        tx.commit()?;
        Ok(Some(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_queued_once_and_again_only_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("tank.db")).unwrap();
        let file = WatchedFile {
            path: "/videos/in/talk.mp4".into(),
            size: 1000,
            modified_ms: 1_700_000_000_000,
        };
        let first = store.queue_watched_file(&file, dir.path()).unwrap();
        assert!(first.is_some(), "a new file becomes a job");
        assert_eq!(store.queue_watched_file(&file, dir.path()).unwrap(), None);
        let replaced = WatchedFile {
            size: 2000,
            ..file.clone()
        };
        let second = store.queue_watched_file(&replaced, dir.path()).unwrap();
        assert!(
            second.is_some() && second != first,
            "a replaced file is a new video"
        );
        assert_eq!(store.job(first.unwrap()).unwrap().input, file.path);
    }
}
