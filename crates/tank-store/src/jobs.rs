//! Jobs and the history of their states: creating a job, reading it, and
//! the one compare-and-set transition every state change goes through.

use std::path::Path;

use rusqlite::{params, params_from_iter, OptionalExtension, ToSql};
use tank_media::{EncodeProgress, HlsFile, Rendition, SourceInfo};
use tank_model::{JobId, JobRules, JobState, JobSummary, Replica, StateChange};

use crate::{now_ms, progress_column, rfc3339, state_column, Store, StoreError};

/// Jobs and the history of their states.
pub(crate) const TABLES: &str = r#"
    CREATE TABLE jobs (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        input         TEXT    NOT NULL,
        state         TEXT    NOT NULL,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL,
        work_dir      TEXT    NOT NULL,
        source_path   TEXT,
        source_info   TEXT,
        encoder       TEXT,
        output_dir    TEXT,
        renditions    TEXT,
        expected_cid  TEXT,
        cid           TEXT,
        uploaded_to   TEXT,
        progress      TEXT,
        error         TEXT,
        retryable     INTEGER,
        failed_stage  TEXT
    );
    CREATE TABLE job_states (
        job_id  INTEGER NOT NULL REFERENCES jobs(id),
        state   TEXT    NOT NULL,
        at      INTEGER NOT NULL,
        detail  TEXT
    );
    CREATE INDEX job_states_by_job ON job_states(job_id);
"#;

/// Parked jobs: when to try again, how often so far, since when.
pub(crate) const PARKING: &str = r#"
    ALTER TABLE jobs ADD COLUMN source_addresses TEXT;
    ALTER TABLE jobs ADD COLUMN next_attempt_at INTEGER;
    ALTER TABLE jobs ADD COLUMN park_rounds INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN parked_since INTEGER;
"#;

/// What a job's source limits its encode to (`tank_model::JobRules`).
pub(crate) const RULES: &str = r#"
    ALTER TABLE jobs ADD COLUMN rules TEXT;
"#;

/// The files the encode wrote, with their sizes (`tank_media::HlsFile`),
/// and whether the job was sent back to encode them again once.
pub(crate) const OUTPUT_FILES: &str = r#"
    ALTER TABLE jobs ADD COLUMN output_files TEXT;
    ALTER TABLE jobs ADD COLUMN reencoded INTEGER NOT NULL DEFAULT 0;
"#;

/// When a failed or cancelled job's folder was deleted (`keep_failed_for`).
pub(crate) const FOLDER_SWEPT: &str = r#"
    ALTER TABLE jobs ADD COLUMN folder_swept_at INTEGER;
"#;

/// How often the job's current stage has parked to retry (reset when a
/// stage succeeds or the operator retries).
pub(crate) const STAGE_RETRIES: &str = r#"
    ALTER TABLE jobs ADD COLUMN stage_retries INTEGER NOT NULL DEFAULT 0;
"#;

pub(crate) const PAUSED: &str = r#"
    -- Paused by the operator: kept out of the scheduler until resumed.
    ALTER TABLE jobs ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;
"#;

/// A column a state change may set along with the state.
#[derive(Debug, Clone)]
pub enum Field {
    SourcePath(String),
    SourceInfo(SourceInfo),
    Encoder(String),
    OutputDir(String),
    Renditions(Vec<Rendition>),
    ExpectedCid(String),
    /// The HLS folder's files as the encode wrote them.
    OutputFiles(Vec<HlsFile>),
    /// Sent back from `uploading` to encode again, because the folder
    /// changed (cleared by an operator's retry).
    Reencoded(bool),
    Cid(String),
    UploadedTo(String),
    /// The upload node's swarm addresses, asked right after the upload
    /// while it answered: where other nodes fetch from.
    SourceAddresses(Vec<String>),
    /// The stage's last progress.
    Progress(EncodeProgress),
    /// The replicas verified to hold `cid` now: the job's replicas become
    /// exactly these (not a column: the replicas table, same transaction).
    Replicas {
        cid: String,
        replicas: Vec<Replica>,
    },
    /// Parked jobs: when the pin queue tries again (ms since the epoch).
    NextAttemptAt(i64),
    /// How often the current stage has parked to retry.
    StageRetries(u32),
    /// Parked jobs: one more round of waiting, and since when it waits
    /// (kept from the first round).
    ParkRound {
        now: i64,
    },
}

impl Field {
    /// The `column = ?` assignment and its value; `None` for what is not
    /// a column of `jobs`.
    fn assignment(&self) -> Option<(&'static str, rusqlite::types::Value)> {
        use rusqlite::types::Value;
        Some(match self {
            Field::SourcePath(v) => ("source_path = ?", Value::Text(v.clone())),
            Field::SourceInfo(v) => ("source_info = ?", json(v)),
            Field::Encoder(v) => ("encoder = ?", Value::Text(v.clone())),
            Field::OutputDir(v) => ("output_dir = ?", Value::Text(v.clone())),
            Field::Renditions(v) => ("renditions = ?", json(v)),
            Field::ExpectedCid(v) => ("expected_cid = ?", Value::Text(v.clone())),
            Field::OutputFiles(v) => ("output_files = ?", json(v)),
            Field::Reencoded(v) => ("reencoded = ?", Value::Integer(i64::from(*v))),
            Field::Cid(v) => ("cid = ?", Value::Text(v.clone())),
            Field::UploadedTo(v) => ("uploaded_to = ?", Value::Text(v.clone())),
            Field::SourceAddresses(v) => ("source_addresses = ?", json(v)),
            Field::Progress(v) => ("progress = ?", json(v)),
            Field::Replicas { .. } => return None,
            Field::NextAttemptAt(at) => ("next_attempt_at = ?", Value::Integer(*at)),
            Field::StageRetries(n) => ("stage_retries = ?", Value::Integer(i64::from(*n))),
            Field::ParkRound { now } => (
                "park_rounds = park_rounds + 1, parked_since = COALESCE(parked_since, ?)",
                Value::Integer(*now),
            ),
        })
    }
}

/// A stage output as the JSON its column holds: typed everywhere else.
fn json<T: serde::Serialize>(value: &T) -> rusqlite::types::Value {
    rusqlite::types::Value::Text(serde_json::to_string(value).expect("stage outputs serialise"))
}

/// A parked job: waiting for its quorum, or to retry a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedJob {
    pub id: JobId,
    /// `awaiting_replicas` or `awaiting_retry`.
    pub state: JobState,
    /// The stage it stopped in, which it wakes into.
    pub stage: JobState,
    pub work_dir: String,
    /// Rounds it has been parked so far.
    pub rounds: u32,
    /// When it was first parked (ms since the epoch).
    pub since: i64,
}

/// A job row as stored.
#[derive(Debug, Clone)]
pub struct JobRow {
    pub id: JobId,
    pub input: String,
    pub state: JobState,
    pub created_at: i64,
    pub updated_at: i64,
    pub work_dir: String,
    pub source_path: Option<String>,
    pub source_info: Option<SourceInfo>,
    pub encoder: Option<String>,
    pub output_dir: Option<String>,
    /// The rungs encoded, largest first (empty before encoding).
    pub renditions: Vec<Rendition>,
    pub expected_cid: Option<String>,
    /// The HLS folder's files as the encode wrote them (empty before, and
    /// for jobs encoded by versions that did not record them).
    pub output_files: Vec<HlsFile>,
    /// Sent back to encode again once since the last retry.
    pub reencoded: bool,
    pub cid: Option<String>,
    pub uploaded_to: Option<String>,
    pub source_addresses: Vec<String>,
    pub progress: Option<EncodeProgress>,
    pub error: Option<String>,
    pub retryable: Option<bool>,
    pub failed_stage: Option<JobState>,
    pub paused: bool,
    /// What the job's source limits its encode to.
    pub rules: JobRules,
    /// Parked: when it is tried again (ms since the epoch).
    pub next_attempt_at: Option<i64>,
    /// How often the current stage has parked to retry.
    pub stage_retries: u32,
}

impl Store {
    /// Creates a queued job whose folder is `<jobs_root>/<id>`.
    pub fn create_job(&self, input: &str, jobs_root: &Path) -> Result<JobId, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let id = insert_job(&tx, input, jobs_root)?;
        tx.commit()?;
        Ok(id)
    }

    pub fn job(&self, id: JobId) -> Result<JobRow, StoreError> {
        self.conn()
            .query_row(
                "SELECT id, input, state, created_at, updated_at, work_dir, source_path, source_info, encoder,
                        output_dir, renditions, expected_cid, cid, uploaded_to, progress, error, retryable, failed_stage,
                        source_addresses, paused, rules, output_files, reencoded, next_attempt_at,
                        stage_retries
                 FROM jobs WHERE id = ?1",
                [id],
                |r| {
                    Ok(JobRow {
                        id: r.get(0)?,
                        input: r.get(1)?,
                        state: state_column(r, 2)?,
                        created_at: r.get(3)?,
                        updated_at: r.get(4)?,
                        work_dir: r.get(5)?,
                        source_path: r.get(6)?,
                        source_info: json_column(r, 7)?,
                        encoder: r.get(8)?,
                        output_dir: r.get(9)?,
                        renditions: json_column(r, 10)?.unwrap_or_default(),
                        expected_cid: r.get(11)?,
                        cid: r.get(12)?,
                        uploaded_to: r.get(13)?,
                        progress: progress_column(r, 14)?,
                        error: r.get(15)?,
                        retryable: r.get(16)?,
                        failed_stage: r
                            .get::<_, Option<String>>(17)?
                            .and_then(|s| JobState::parse(&s)),
                        source_addresses: json_column(r, 18)?.unwrap_or_default(),
                        paused: r.get(19)?,
                        rules: json_column(r, 20)?.unwrap_or_default(),
                        output_files: json_column(r, 21)?.unwrap_or_default(),
                        reencoded: r.get(22)?,
                        next_attempt_at: r.get(23)?,
                        stage_retries: r.get(24)?,
                    })
                },
            )
            .optional()?
            .ok_or(StoreError::NoSuchJob(id))
    }

    /// Moves a job from `from` to `to`, setting `fields`, in one transaction.
    pub fn transition(
        &self,
        id: JobId,
        from: JobState,
        to: JobState,
        fields: &[Field],
    ) -> Result<(), StoreError> {
        self.transition_with(id, from, to, fields, None, None)
    }

    /// [`Store::transition`], with a note in the job's history saying why.
    pub fn transition_noted(
        &self,
        id: JobId,
        from: JobState,
        to: JobState,
        fields: &[Field],
        note: &str,
    ) -> Result<(), StoreError> {
        self.transition_with(id, from, to, fields, None, Some(note))
    }

    /// Moves a job to `failed`, remembering the stage it failed in so a retry
    /// resumes there.
    pub fn fail(
        &self,
        id: JobId,
        from: JobState,
        error: &str,
        retryable: bool,
    ) -> Result<(), StoreError> {
        self.transition_with(
            id,
            from,
            JobState::Failed,
            &[],
            Some((error, retryable)),
            Some(error),
        )
    }

    /// Parks a job in `awaiting_replicas` (retryable) until `next_attempt_at`:
    /// its quorum cannot be met now.
    pub fn park(
        &self,
        id: JobId,
        from: JobState,
        reason: &str,
        next_attempt_at: i64,
        outputs: &[Field],
    ) -> Result<(), StoreError> {
        let mut fields = vec![
            Field::NextAttemptAt(next_attempt_at),
            Field::ParkRound { now: now_ms() },
        ];
        fields.extend_from_slice(outputs);
        self.transition_with(
            id,
            from,
            JobState::AwaitingReplicas,
            &fields,
            Some((reason, true)),
            Some(reason),
        )
    }

    /// Parks a job in `awaiting_retry` until `next_attempt_at`: its stage
    /// `from` failed for a reason that is not the input's, for the
    /// `retries`th time in a row. `note` (the error and the wait) goes in
    /// its history.
    pub fn park_to_retry(
        &self,
        id: JobId,
        from: JobState,
        error: &str,
        note: &str,
        next_attempt_at: i64,
        retries: u32,
    ) -> Result<(), StoreError> {
        self.transition_with(
            id,
            from,
            JobState::AwaitingRetry,
            &[
                Field::NextAttemptAt(next_attempt_at),
                Field::StageRetries(retries),
            ],
            Some((error, true)),
            Some(note),
        )
    }

    /// How many times the job has been parked so far.
    pub fn park_rounds(&self, id: JobId) -> Result<u32, StoreError> {
        self.conn()
            .query_row("SELECT park_rounds FROM jobs WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?
            .ok_or(StoreError::NoSuchJob(id))
    }

    /// Parked jobs (for replicas, or to retry a stage) whose next try is
    /// due, oldest first.
    pub fn due_parked(&self, now: i64) -> Result<Vec<ParkedJob>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, state, failed_stage, work_dir, park_rounds, parked_since FROM jobs
             WHERE state IN ('awaiting_replicas', 'awaiting_retry') AND next_attempt_at <= ?1
             ORDER BY next_attempt_at",
        )?;
        let rows = stmt.query_map([now], |r| {
            let state = state_column(r, 1)?;
            Ok(ParkedJob {
                id: r.get(0)?,
                state,
                // Only pinning parks for replicas.
                stage: state_column(r, 2).unwrap_or(JobState::Pinning),
                work_dir: r.get(3)?,
                rounds: r.get(4)?,
                since: r.get::<_, Option<i64>>(5)?.unwrap_or(now),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn transition_with(
        &self,
        id: JobId,
        from: JobState,
        to: JobState,
        fields: &[Field],
        failure: Option<(&str, bool)>,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        transition_in(&tx, id, from, to, fields, failure, detail)?;
        tx.commit()?;
        Ok(())
    }

    /// Ends a job as `cancelled`, from `from`, with the reason in its history.
    pub fn cancel(&self, id: JobId, from: JobState, reason: &str) -> Result<(), StoreError> {
        self.transition_with(id, from, JobState::Cancelled, &[], None, Some(reason))
    }

    /// Every job's folder, oldest job first.
    pub fn job_folders(&self) -> Result<Vec<(JobId, String)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT id, work_dir FROM jobs ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The folders of jobs that failed or were cancelled before
    /// `ended_before` (ms since the epoch), not deleted yet.
    pub fn ended_job_folders(&self, ended_before: i64) -> Result<Vec<(JobId, String)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, work_dir FROM jobs
             WHERE state IN ('failed', 'cancelled') AND updated_at < ?1 AND folder_swept_at IS NULL
             ORDER BY id",
        )?;
        let rows = stmt.query_map([ended_before], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records that a failed or cancelled job's folder was deleted: a retry
    /// of it now starts from its input. `false` when the job is neither
    /// any more (retried meanwhile).
    pub fn folder_swept(&self, id: JobId) -> Result<bool, StoreError> {
        let changed = self.conn().execute(
            "UPDATE jobs SET folder_swept_at = ?1,
                 failed_stage = CASE state WHEN 'failed' THEN 'queued' ELSE failed_stage END
             WHERE id = ?2 AND state IN ('failed', 'cancelled')",
            params![now_ms(), id],
        )?;
        Ok(changed == 1)
    }

    /// Keeps a job out of the scheduler (or lets it back in).
    pub fn set_paused(&self, id: JobId, paused: bool) -> Result<(), StoreError> {
        let changed = self.conn().execute(
            "UPDATE jobs SET paused = ?1, updated_at = ?2 WHERE id = ?3",
            params![paused, now_ms(), id],
        )?;
        match changed {
            0 => Err(StoreError::NoSuchJob(id)),
            _ => Ok(()),
        }
    }

    /// Latest progress of the running stage: not a state change, so losing
    /// the last one in a crash costs nothing.
    pub fn set_progress(&self, id: JobId, progress: &EncodeProgress) -> Result<(), StoreError> {
        let json = serde_json::to_string(progress).expect("progress serialises");
        self.conn().execute(
            "UPDATE jobs SET progress = ?1, updated_at = ?2 WHERE id = ?3",
            params![json, now_ms(), id],
        )?;
        Ok(())
    }

    pub fn history(&self, job: JobId) -> Result<Vec<StateChange>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT state, at, detail FROM job_states WHERE job_id = ?1 ORDER BY rowid")?;
        let rows = stmt.query_map([job], |r| {
            Ok(StateChange {
                state: state_column(r, 0)?,
                at: rfc3339(r.get(1)?),
                detail: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every job, newest first.
    pub fn list(&self) -> Result<Vec<JobSummary>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, state, input, cid, error, retryable, updated_at, paused, progress,
                    failed_stage
             FROM jobs ORDER BY id DESC",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(JobSummary {
                id: r.get(0)?,
                state: state_column(r, 1)?,
                input: r.get(2)?,
                cid: r.get(3)?,
                error: r.get(4)?,
                retryable: r.get(5)?,
                updated_at: rfc3339(r.get(6)?),
                paused: r.get(7)?,
                progress: progress_column(r, 8)?,
                stopped_in: r
                    .get::<_, Option<String>>(9)?
                    .and_then(|s| JobState::parse(&s)),
                // Not stored: the running process knows (`Engine::jobs`).
                waiting_for_slot: None,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// When `job` first entered `state` (ms), if it ever did.
    pub fn entered_at(&self, job: JobId, state: JobState) -> Result<Option<i64>, StoreError> {
        Ok(self.conn().query_row(
            "SELECT MIN(at) FROM job_states WHERE job_id = ?1 AND state = ?2",
            rusqlite::params![job, state.as_str()],
            |r| r.get(0),
        )?)
    }

    /// The states of every job not finished: working, parked or paused.
    /// A job parked to retry a stage counts as the stage it wakes into.
    pub fn unfinished_states(&self) -> Result<Vec<JobState>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT CASE state WHEN 'awaiting_retry' THEN failed_stage ELSE state END FROM jobs
             WHERE state NOT IN ('done', 'failed', 'cancelled')",
        )?;
        let rows = stmt.query_map([], |r| state_column(r, 0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Jobs stopped mid-work (not finished, not parked, not paused), with
    /// their folders, oldest first.
    pub fn unfinished(&self) -> Result<Vec<(JobId, String)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, work_dir FROM jobs
             WHERE state NOT IN ('done', 'failed', 'cancelled', 'awaiting_replicas', 'awaiting_retry')
               AND paused = 0
             ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Moves a job from `from` to `to` inside `tx` (compare-and-set on the
/// state), and records the change.
pub(crate) fn transition_in(
    tx: &rusqlite::Transaction<'_>,
    id: JobId,
    from: JobState,
    to: JobState,
    fields: &[Field],
    failure: Option<(&str, bool)>,
    detail: Option<&str>,
) -> Result<(), StoreError> {
    let now = now_ms();
    let mut sql = String::from(
        "UPDATE jobs SET state = ?, updated_at = ?, error = ?, retryable = ?, failed_stage = ?",
    );
    let (error, retryable, failed_stage) = match failure {
        Some((error, retryable)) => (Some(error), Some(retryable), Some(from.as_str())),
        None => (None, None, None),
    };
    let (to_name, from_name) = (to.as_str(), from.as_str());
    let mut values: Vec<&dyn ToSql> = vec![&to_name, &now, &error, &retryable, &failed_stage];
    let assignments: Vec<_> = fields.iter().filter_map(Field::assignment).collect();
    for (assignment, value) in &assignments {
        sql.push_str(", ");
        sql.push_str(assignment);
        values.push(value);
    }
    sql.push_str(" WHERE id = ? AND state = ?");
    values.push(&id);
    values.push(&from_name);
    let changed = tx.execute(&sql, params_from_iter(values))?;
    if changed == 0 {
        let actual = tx
            .query_row("SELECT state FROM jobs WHERE id = ?1", [id], |r| {
                state_column(r, 0)
            })
            .optional()?;
        return Err(match actual {
            None => StoreError::NoSuchJob(id),
            Some(actual) => StoreError::Conflict {
                id,
                expected: from,
                actual,
            },
        });
    }
    tx.execute(
        "INSERT INTO job_states (job_id, state, at, detail) VALUES (?1, ?2, ?3, ?4)",
        params![id, to.as_str(), now, detail],
    )?;
    for field in fields {
        if let Field::Replicas { cid, replicas } = field {
            crate::attempts::set_replicas_in(tx, id, cid, replicas)?;
        }
    }
    Ok(())
}

/// A column holding a stage output as JSON. Text this version cannot read
/// is an error that names the column, never a panic.
fn json_column<T: serde::de::DeserializeOwned>(
    row: &rusqlite::Row<'_>,
    index: usize,
) -> rusqlite::Result<Option<T>> {
    let Some(text) = row.get::<_, Option<String>>(index)? else {
        return Ok(None);
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, e.into())
    })
}

/// Inserts a queued job whose folder is `<jobs_root>/<id>`, inside `tx`.
pub(crate) fn insert_job(
    tx: &rusqlite::Transaction<'_>,
    input: &str,
    jobs_root: &Path,
) -> Result<JobId, StoreError> {
    let now = now_ms();
    tx.execute(
        "INSERT INTO jobs (input, state, created_at, updated_at, work_dir) VALUES (?1, ?2, ?3, ?3, '')",
        params![input, JobState::Queued.as_str(), now],
    )?;
    let id = tx.last_insert_rowid();
    let work_dir = jobs_root.join(id.to_string());
    tx.execute(
        "UPDATE jobs SET work_dir = ?1 WHERE id = ?2",
        params![work_dir.display().to_string(), id],
    )?;
    tx.execute(
        "INSERT INTO job_states (job_id, state, at) VALUES (?1, ?2, ?3)",
        params![id, JobState::Queued.as_str(), now],
    )?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::temporary as store;

    #[test]
    fn a_new_job_is_queued_with_its_own_folder() {
        let (dir, store) = store();
        let id = store
            .create_job("/videos/a.mp4", &dir.path().join("jobs"))
            .unwrap();
        let job = store.job(id).unwrap();
        assert_eq!(job.state, JobState::Queued);
        assert_eq!(
            job.work_dir,
            dir.path()
                .join("jobs")
                .join(id.to_string())
                .display()
                .to_string()
        );
        assert_eq!(store.history(id).unwrap()[0].state, JobState::Queued);
    }

    #[test]
    fn a_transition_sets_its_fields_and_is_recorded() {
        let (dir, store) = store();
        let id = store.create_job("in", dir.path()).unwrap();
        store
            .transition(
                id,
                JobState::Queued,
                JobState::Probing,
                &[Field::SourcePath("/s.mp4".into())],
            )
            .unwrap();
        let job = store.job(id).unwrap();
        assert_eq!(job.state, JobState::Probing);
        assert_eq!(job.source_path.as_deref(), Some("/s.mp4"));
        let states: Vec<_> = store.history(id).unwrap().iter().map(|c| c.state).collect();
        assert_eq!(states, [JobState::Queued, JobState::Probing]);
    }

    #[test]
    fn a_transition_from_the_wrong_state_changes_nothing() {
        let (dir, store) = store();
        let id = store.create_job("in", dir.path()).unwrap();
        let err = store
            .transition(id, JobState::Encoding, JobState::Uploading, &[])
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Conflict {
                    actual: JobState::Queued,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(store.job(id).unwrap().state, JobState::Queued);
    }

    #[test]
    fn a_failure_remembers_where_and_whether_to_retry() {
        let (dir, store) = store();
        let id = store.create_job("in", dir.path()).unwrap();
        store
            .transition(id, JobState::Queued, JobState::Pinning, &[])
            .unwrap();
        store
            .fail(id, JobState::Pinning, "no node answered", true)
            .unwrap();
        let job = store.job(id).unwrap();
        assert_eq!(job.state, JobState::Failed);
        assert_eq!(job.failed_stage, Some(JobState::Pinning));
        assert_eq!(job.retryable, Some(true));
        assert_eq!(job.error.as_deref(), Some("no node answered"));
    }

    #[test]
    fn unfinished_states_count_parked_jobs_and_leave_out_finished_ones() {
        let (dir, store) = store();
        let ids: Vec<_> = (0..4)
            .map(|i| store.create_job(&format!("{i}"), dir.path()).unwrap())
            .collect();
        store
            .transition(ids[1], JobState::Queued, JobState::Pinning, &[])
            .unwrap();
        store
            .park(ids[1], JobState::Pinning, "1 of 2 replicas", now_ms(), &[])
            .unwrap();
        store
            .transition(ids[2], JobState::Queued, JobState::Done, &[])
            .unwrap();
        store
            .fail(ids[3], JobState::Queued, "bad input", false)
            .unwrap();

        let mut states = store.unfinished_states().unwrap();
        states.sort_by_key(|s| s.as_str());

        assert_eq!(states, [JobState::AwaitingReplicas, JobState::Queued]);
    }

    #[test]
    fn unfinished_jobs_are_listed_with_their_folders() {
        let (dir, store) = store();
        let first = store.create_job("a", dir.path()).unwrap();
        let second = store.create_job("b", dir.path()).unwrap();
        store
            .transition(second, JobState::Queued, JobState::Done, &[])
            .unwrap();
        let unfinished = store.unfinished().unwrap();
        assert_eq!(unfinished.len(), 1);
        assert_eq!(unfinished[0].0, first);
    }

    #[test]
    fn committed_changes_survive_reopening() {
        let (dir, store) = store();
        let id = store.create_job("in", dir.path()).unwrap();
        store
            .transition(id, JobState::Queued, JobState::Encoding, &[])
            .unwrap();
        drop(store);
        let again = Store::open(&dir.path().join("tank.db")).unwrap();
        assert_eq!(again.job(id).unwrap().state, JobState::Encoding);
    }
}
