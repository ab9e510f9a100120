//! Every call to a node on a job's behalf (the retry history), and the
//! replicas verified for a job.

use rusqlite::params;
use tank_model::{Attempt, AttemptFilter, JobAttempt, JobId, Replica, VerifiedReplica};

use crate::{now_ms, rfc3339, Store, StoreError};

/// Every call to a node on a job's behalf, and the verified replicas.
pub(crate) const TABLES: &str = r#"
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
"#;

/// Replicas keyed by node and peer: a cluster's peers were one text
/// (`cluster/peer`); now the peer has its own column (`''` for none, so that
/// it can be part of the key).
/// Failed calls are counted by time every minute (failure spikes): an index,
/// so the count reads the window, not every attempt ever made.
pub(crate) const ATTEMPTS_BY_TIME: &str = r#"
    CREATE INDEX attempts_by_time ON attempts(started_at);
"#;

pub(crate) const REPLICAS_BY_PEER: &str = r#"
    CREATE TABLE replicas_by_peer (
        job_id       INTEGER NOT NULL REFERENCES jobs(id),
        node         TEXT    NOT NULL,
        peer         TEXT    NOT NULL DEFAULT '',
        cid          TEXT    NOT NULL,
        verified_at  INTEGER NOT NULL,
        PRIMARY KEY (job_id, node, peer)
    );
    INSERT INTO replicas_by_peer (job_id, node, peer, cid, verified_at)
        SELECT job_id,
               CASE WHEN instr(node, '/') > 0 THEN substr(node, 1, instr(node, '/') - 1) ELSE node END,
               CASE WHEN instr(node, '/') > 0 THEN substr(node, instr(node, '/') + 1) ELSE '' END,
               cid, verified_at
        FROM replicas;
    DROP TABLE replicas;
    ALTER TABLE replicas_by_peer RENAME TO replicas;
"#;

impl Store {
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

    /// Records that `replica` holds `cid` for the job, verified now.
    pub fn record_replica(
        &self,
        job: JobId,
        replica: &Replica,
        cid: &str,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO replicas (job_id, node, peer, cid, verified_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (job_id, node, peer) DO UPDATE SET cid = excluded.cid, verified_at = excluded.verified_at",
            params![job, replica.node, peer_column(replica), cid, now_ms()],
        )?;
        Ok(())
    }

    pub fn replicas(&self, job: JobId) -> Result<Vec<VerifiedReplica>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT node, peer, verified_at FROM replicas WHERE job_id = ?1
             ORDER BY verified_at, node, peer",
        )?;
        let rows = stmt.query_map([job], |r| {
            Ok(VerifiedReplica {
                replica: replica_from(r.get(0)?, r.get(1)?),
                verified: true,
                verified_at: rfc3339(r.get(2)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// The `peer` column of `replica`: `''` for none (it is part of keys).
pub(crate) fn peer_column(replica: &Replica) -> &str {
    replica.peer.as_deref().unwrap_or_default()
}

/// A replica from its `node` and `peer` columns.
pub(crate) fn replica_from(node: String, peer: String) -> Replica {
    Replica {
        node,
        peer: (!peer.is_empty()).then_some(peer),
    }
}

/// Makes `replicas` the job's replicas of `cid`, verified now, inside `tx`.
pub(crate) fn set_replicas_in(
    tx: &rusqlite::Transaction<'_>,
    job: JobId,
    cid: &str,
    replicas: &[Replica],
) -> Result<(), StoreError> {
    tx.execute("DELETE FROM replicas WHERE job_id = ?1", [job])?;
    let now = now_ms();
    for replica in replicas {
        tx.execute(
            "INSERT INTO replicas (job_id, node, peer, cid, verified_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![job, replica.node, peer_column(replica), cid, now],
        )?;
    }
    Ok(())
}
