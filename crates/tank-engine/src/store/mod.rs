//! The job store: one SQLite database per data directory.
//!
//! Durability rules: WAL journal with `synchronous = FULL`, so a committed
//! transaction survives a crash or power loss; every state change is one
//! transaction that also checks the job is still in the state the caller
//! thinks it is (compare-and-set), so two processes can never both move a
//! job. Several `tank` processes may share a database; which process works
//! on a job is decided by a lock on the job's folder (see `engine`), not
//! here.
//!
//! `health.rs` holds node health and circuit breakers, `audits.rs` the audit
//! log and alert rate limits; both are parts of the same database.

mod audits;
mod gateway;
mod health;
mod watched;

pub use audits::{AuditOutcome, AuditRecord};
pub use gateway::{ClaimId, GatewayClaim, GatewayPhase, Report};
pub use health::{BreakerState, HealthRow, HealthSample, MonitorState};
pub use watched::WatchedFile;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, params_from_iter, Connection, OptionalExtension, ToSql};

use crate::job::{
    Attempt, AttemptFilter, JobAttempt, JobId, JobState, JobSummary, Replica, StateChange,
};

/// How long a call waits for another process's write to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// The schema, one entry per version; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    r#"
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
    CREATE TABLE attempts (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id       INTEGER NOT NULL REFERENCES jobs(id),
        node         TEXT    NOT NULL,
        op           TEXT    NOT NULL,
        attempt      INTEGER NOT NULL,
        started_at   INTEGER NOT NULL,
        duration_ms  INTEGER NOT NULL,
        ok           INTEGER NOT NULL,
        http_status  INTEGER,
        error        TEXT
    );
    CREATE INDEX attempts_by_job ON attempts(job_id);
    CREATE TABLE replicas (
        job_id       INTEGER NOT NULL REFERENCES jobs(id),
        node         TEXT    NOT NULL,
        cid          TEXT    NOT NULL,
        verified_at  INTEGER NOT NULL,
        PRIMARY KEY (job_id, node)
    );
"#,
    r#"
    ALTER TABLE jobs ADD COLUMN source_addresses TEXT;
    ALTER TABLE jobs ADD COLUMN next_attempt_at INTEGER;
    ALTER TABLE jobs ADD COLUMN park_rounds INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN parked_since INTEGER;
    CREATE TABLE node_health (
        node              TEXT PRIMARY KEY,
        state             TEXT    NOT NULL DEFAULT 'unknown',
        since             INTEGER,
        ok_streak         INTEGER NOT NULL DEFAULT 0,
        fail_streak       INTEGER NOT NULL DEFAULT 0,
        breaker_failures  INTEGER NOT NULL DEFAULT 0,
        breaker_opens     INTEGER NOT NULL DEFAULT 0,
        open_until        INTEGER,
        last_canary_at    INTEGER,
        updated_at        INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE node_samples (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        node        TEXT    NOT NULL,
        at          INTEGER NOT NULL,
        probe       TEXT    NOT NULL,
        ok          INTEGER NOT NULL,
        latency_ms  INTEGER,
        detail      TEXT,
        repo_size   INTEGER,
        storage_max INTEGER
    );
    CREATE INDEX node_samples_by_node ON node_samples(node, at);
    CREATE TABLE audits (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id   INTEGER NOT NULL REFERENCES jobs(id),
        node     TEXT    NOT NULL,
        at       INTEGER NOT NULL,
        outcome  TEXT    NOT NULL,
        detail   TEXT
    );
    CREATE INDEX audits_by_job ON audits(job_id);
    CREATE TABLE alerts_sent (
        key  TEXT PRIMARY KEY,
        at   INTEGER NOT NULL
    );
"#,
    r#"
    CREATE TABLE node_events (
        id     INTEGER PRIMARY KEY AUTOINCREMENT,
        at     INTEGER NOT NULL,
        event  TEXT    NOT NULL
    );
"#,
    r#"
    CREATE TABLE gateway_jobs (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        gateway_id   TEXT    NOT NULL,
        job_id       INTEGER REFERENCES jobs(id),
        phase        TEXT    NOT NULL,
        job          TEXT    NOT NULL,
        seen_at      INTEGER NOT NULL,
        claimed_at   INTEGER,
        report       TEXT,
        report_tries INTEGER NOT NULL DEFAULT 0,
        next_try_at  INTEGER,
        reported_at  INTEGER,
        answer       TEXT,
        last_ping_at INTEGER,
        ping_error   TEXT,
        updated_at   INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX gateway_jobs_by_job ON gateway_jobs(job_id);
    -- A gateway job may come back (failed, released) and be claimed again,
    -- but only one claim of it is ever open.
    CREATE UNIQUE INDEX gateway_jobs_open ON gateway_jobs(gateway_id)
        WHERE phase IN ('claiming', 'claimed', 'reporting', 'releasing');
"#,
    r#"
    -- Paused by the operator: kept out of the scheduler until resumed.
    ALTER TABLE jobs ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;
"#,
    r#"
    -- Files found in watch folders, each queued once (see watched.rs).
    CREATE TABLE watched_files (
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        modified INTEGER NOT NULL,
        job_id INTEGER NOT NULL REFERENCES jobs(id),
        queued_at INTEGER NOT NULL,
        PRIMARY KEY (path, size, modified)
    );
"#,
];

/// A column a state change may set along with the state.
#[derive(Debug, Clone)]
pub enum Field {
    SourcePath(String),
    SourceInfo(String),
    Encoder(String),
    OutputDir(String),
    Renditions(String),
    ExpectedCid(String),
    Cid(String),
    UploadedTo(String),
    /// The upload node's swarm addresses (JSON list), asked right after the
    /// upload while it answered: where other nodes fetch from.
    SourceAddresses(String),
    /// Parked jobs: when the pin queue tries again (ms since the epoch).
    NextAttemptAt(i64),
    /// Parked jobs: one more round of waiting, and since when it waits
    /// (kept from the first round).
    ParkRound {
        now: i64,
    },
}

impl Field {
    /// The `column = ?` assignment and its value.
    fn assignment(&self) -> (&'static str, rusqlite::types::Value) {
        use rusqlite::types::Value;
        match self {
            Field::SourcePath(v) => ("source_path = ?", Value::Text(v.clone())),
            Field::SourceInfo(v) => ("source_info = ?", Value::Text(v.clone())),
            Field::Encoder(v) => ("encoder = ?", Value::Text(v.clone())),
            Field::OutputDir(v) => ("output_dir = ?", Value::Text(v.clone())),
            Field::Renditions(v) => ("renditions = ?", Value::Text(v.clone())),
            Field::ExpectedCid(v) => ("expected_cid = ?", Value::Text(v.clone())),
            Field::Cid(v) => ("cid = ?", Value::Text(v.clone())),
            Field::UploadedTo(v) => ("uploaded_to = ?", Value::Text(v.clone())),
            Field::SourceAddresses(v) => ("source_addresses = ?", Value::Text(v.clone())),
            Field::NextAttemptAt(at) => ("next_attempt_at = ?", Value::Integer(*at)),
            Field::ParkRound { now } => (
                "park_rounds = park_rounds + 1, parked_since = COALESCE(parked_since, ?)",
                Value::Integer(*now),
            ),
        }
    }
}

/// A job waiting for its quorum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedJob {
    pub id: JobId,
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
    pub source_info: Option<String>,
    pub encoder: Option<String>,
    pub output_dir: Option<String>,
    pub renditions: Option<String>,
    pub expected_cid: Option<String>,
    pub cid: Option<String>,
    pub uploaded_to: Option<String>,
    pub source_addresses: Option<String>,
    pub progress: Option<String>,
    pub error: Option<String>,
    pub retryable: Option<bool>,
    pub failed_stage: Option<JobState>,
    pub paused: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("job database {path}: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error("job database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("job {0} does not exist")]
    NoSuchJob(JobId),
    #[error("job {id} is {actual}, not {expected}: another process moved it")]
    Conflict {
        id: JobId,
        expected: JobState,
        actual: JobState,
    },
    #[error("gateway claim {claim} is no longer {}: another process moved it", .expected.as_str())]
    GatewayConflict {
        claim: ClaimId,
        expected: GatewayPhase,
    },
}

/// The job database. Cheap to clone; calls are short and serialised.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

/// Milliseconds since the epoch as RFC 3339 (UTC, milliseconds).
pub fn rfc3339(ms: i64) -> String {
    let time = UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_millis(time).to_string()
}

impl Store {
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.display().to_string(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        let store = Store {
            conn: Arc::new(Mutex::new(conn)),
        };
        // Another process (the daemon) may be writing: SQLite can answer
        // "busy" here without waiting, so wait ourselves.
        let started = std::time::Instant::now();
        loop {
            match store.initialise() {
                Err(e) if is_busy(&e) && started.elapsed() < BUSY_TIMEOUT => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => return other.map(|()| store).map_err(open_err),
            }
        }
    }

    /// WAL with full syncs (commits survive power loss), foreign keys, schema.
    fn initialise(&self) -> rusqlite::Result<()> {
        {
            let conn = self.conn();
            let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                conn.pragma_update(None, "journal_mode", "WAL")?;
            }
            conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
        }
        self.migrate()
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().expect("a store call panicked")
    }

    fn migrate(&self) -> rusqlite::Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let done: usize = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        for (version, sql) in MIGRATIONS.iter().enumerate().skip(done) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", version + 1)?;
        }
        tx.commit()
    }

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
                        source_addresses, paused
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
                        source_info: r.get(7)?,
                        encoder: r.get(8)?,
                        output_dir: r.get(9)?,
                        renditions: r.get(10)?,
                        expected_cid: r.get(11)?,
                        cid: r.get(12)?,
                        uploaded_to: r.get(13)?,
                        progress: r.get(14)?,
                        error: r.get(15)?,
                        retryable: r.get(16)?,
                        failed_stage: r
                            .get::<_, Option<String>>(17)?
                            .and_then(|s| JobState::parse(&s)),
                        source_addresses: r.get(18)?,
                        paused: r.get(19)?,
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
    ) -> Result<(), StoreError> {
        let fields = [
            Field::NextAttemptAt(next_attempt_at),
            Field::ParkRound { now: now_ms() },
        ];
        self.transition_with(
            id,
            from,
            JobState::AwaitingReplicas,
            &fields,
            Some((reason, true)),
            Some(reason),
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

    /// Parked jobs whose next try is due, oldest first.
    pub fn due_parked(&self, now: i64) -> Result<Vec<ParkedJob>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, work_dir, park_rounds, parked_since FROM jobs
             WHERE state = 'awaiting_replicas' AND next_attempt_at <= ?1 ORDER BY next_attempt_at",
        )?;
        let rows = stmt.query_map([now], |r| {
            Ok(ParkedJob {
                id: r.get(0)?,
                work_dir: r.get(1)?,
                rounds: r.get(2)?,
                since: r.get::<_, Option<i64>>(3)?.unwrap_or(now),
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
    pub fn set_progress(&self, id: JobId, progress_json: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE jobs SET progress = ?1, updated_at = ?2 WHERE id = ?3",
            params![progress_json, now_ms(), id],
        )?;
        Ok(())
    }

    pub fn record_attempt(
        &self,
        job: JobId,
        attempt: &Attempt,
        started_ms: i64,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO attempts (job_id, node, op, attempt, started_at, duration_ms, ok, http_status, error)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                job,
                attempt.node,
                attempt.op,
                attempt.attempt,
                started_ms,
                attempt.ms as i64,
                attempt.ok,
                attempt.http_status,
                attempt.error
            ],
        )?;
        Ok(())
    }

    /// Attempts matching `filter`, newest first.
    pub fn find_attempts(&self, filter: &AttemptFilter) -> Result<Vec<JobAttempt>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT job_id, node, op, attempt, ok, error, duration_ms, started_at, http_status FROM attempts
             WHERE (?1 IS NULL OR job_id = ?1) AND (?2 IS NULL OR node = ?2 OR node LIKE ?2 || '/%')
               AND (?3 = 0 OR ok = 0)
             ORDER BY id DESC LIMIT ?4",
        )?;
        let rows = stmt.query_map(
            params![filter.job, filter.node, filter.failed_only, filter.limit],
            |r| {
                Ok(JobAttempt {
                    job: r.get(0)?,
                    attempt: Attempt {
                        node: r.get(1)?,
                        op: r.get(2)?,
                        attempt: r.get(3)?,
                        ok: r.get(4)?,
                        error: r.get(5)?,
                        ms: r.get::<_, i64>(6)? as u64,
                        started_at: rfc3339(r.get(7)?),
                        http_status: r.get(8)?,
                    },
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn attempts(&self, job: JobId) -> Result<Vec<Attempt>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT node, op, attempt, ok, error, duration_ms, started_at, http_status
             FROM attempts WHERE job_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([job], |r| {
            Ok(Attempt {
                node: r.get(0)?,
                op: r.get(1)?,
                attempt: r.get(2)?,
                ok: r.get(3)?,
                error: r.get(4)?,
                ms: r.get::<_, i64>(5)? as u64,
                started_at: rfc3339(r.get(6)?),
                http_status: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records that `node` holds `cid` for the job, verified now.
    pub fn record_replica(&self, job: JobId, node: &str, cid: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO replicas (job_id, node, cid, verified_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (job_id, node) DO UPDATE SET cid = excluded.cid, verified_at = excluded.verified_at",
            params![job, node, cid, now_ms()],
        )?;
        Ok(())
    }

    /// Records a step of the local node manager.
    pub fn record_node_event(&self, event: &tank_node::NodeEvent) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO node_events (at, event) VALUES (?1, ?2)",
            params![
                now_ms(),
                serde_json::to_string(event).expect("serialisable")
            ],
        )?;
        Ok(())
    }

    /// The latest local node events with their times, newest first.
    pub fn node_events(
        &self,
        limit: u32,
    ) -> Result<Vec<(String, tank_node::NodeEvent)>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT at, event FROM node_events ORDER BY id DESC LIMIT ?1")?;
        let rows = stmt.query_map([limit], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut events = Vec::new();
        for row in rows {
            let (at, json) = row?;
            // An event this version no longer knows is skipped, not fatal.
            if let Ok(event) = serde_json::from_str(&json) {
                events.push((rfc3339(at), event));
            }
        }
        Ok(events)
    }

    /// Forgets the job's replicas, before they are verified again.
    pub fn clear_replicas(&self, job: JobId) -> Result<(), StoreError> {
        self.conn()
            .execute("DELETE FROM replicas WHERE job_id = ?1", [job])?;
        Ok(())
    }

    pub fn replicas(&self, job: JobId) -> Result<Vec<Replica>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT node, verified_at FROM replicas WHERE job_id = ?1 ORDER BY verified_at, node",
        )?;
        let rows = stmt.query_map([job], |r| {
            Ok(Replica {
                node: r.get(0)?,
                verified: true,
                verified_at: rfc3339(r.get(1)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
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
            "SELECT id, state, input, cid, error, retryable, updated_at, paused, progress
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
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Jobs stopped mid-work (not finished, not parked, not paused), with
    /// their folders, oldest first.
    pub fn unfinished(&self) -> Result<Vec<(JobId, String)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, work_dir FROM jobs
             WHERE state NOT IN ('done', 'failed', 'cancelled', 'awaiting_replicas')
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
    let assignments: Vec<_> = fields.iter().map(Field::assignment).collect();
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
    Ok(())
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

/// The latest progress, stored as JSON; unreadable progress is no progress.
fn progress_column(
    row: &rusqlite::Row<'_>,
    index: usize,
) -> rusqlite::Result<Option<tank_media::EncodeProgress>> {
    let json: Option<String> = row.get(index)?;
    Ok(json.and_then(|p| serde_json::from_str(&p).ok()))
}

fn state_column(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<JobState> {
    let text: String = row.get(index)?;
    JobState::parse(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            format!("unknown job state {text:?}").into(),
        )
    })
}

/// A store in a temporary folder, for tests of the store's parts.
#[cfg(test)]
pub(crate) fn temporary() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("tank.db")).unwrap();
    (dir, store)
}

#[cfg(test)]
mod tests {
    use super::temporary as store;
    use super::*;

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
