//! The job store: one SQLite database per data directory, and the only
//! crate that knows SQL. What it stores is typed at its API (the model's
//! types, the stages' outputs); JSON and column text stay inside.
//!
//! Durability rules: WAL journal with `synchronous = FULL`, so a committed
//! transaction survives a crash or power loss; every state change is one
//! transaction that also checks the job is still in the state the caller
//! thinks it is (compare-and-set), so two processes can never both move a
//! job. Several `tank` processes may share a database; which process works
//! on a job is decided by a lock on the job's folder (see the engine), not
//! here.
//!
//! One file per table family, its schema next to its queries: `jobs.rs`
//! (jobs, their states, parking), `attempts.rs` (calls to nodes, replicas),
//! `health.rs` (node health, samples, breakers), `audits.rs` (audits, alert
//! rate limits), `gateway.rs` (legacy gateway claims),
//! `embed.rs` (embed jobs, their keys, the outbox), `watched.rs` (watch-folder
//! files), `node_events.rs` (the local node's history). `schema.rs` runs
//! the migrations.

mod attempts;
mod audits;
mod embed;
mod gateway;
mod health;
mod jobs;
mod node_events;
mod schema;
mod watched;

pub use health::{BreakerState, MonitorState};
pub use jobs::{Field, JobRow, ParkedJob};
pub use watched::WatchedFile;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::Connection;
use tank_model::{ClaimId, GatewayPhase, JobId, JobState};

/// How long a call waits for another process's write to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
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

impl StoreError {
    /// SQLite could not write because the disk holding it is full.
    pub fn is_disk_full(&self) -> bool {
        matches!(
            self,
            StoreError::Sql(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DiskFull
        )
    }
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
        schema::migrate(&mut self.conn())
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().expect("a store call panicked")
    }
}

/// The latest progress, stored as JSON; unreadable progress is no progress.
pub(crate) fn progress_column(
    row: &rusqlite::Row<'_>,
    index: usize,
) -> rusqlite::Result<Option<tank_media::EncodeProgress>> {
    let json: Option<String> = row.get(index)?;
    Ok(json.and_then(|p| serde_json::from_str(&p).ok()))
}

pub(crate) fn state_column(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<JobState> {
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
