//! The audit log (re-verifications of finished jobs' replicas) and the
//! record of alerts sent, which rate-limits them across restarts.

use rusqlite::{params, OptionalExtension};

use crate::attempts::{peer_column, replica_from};
use crate::{now_ms, rfc3339, Store, StoreError};
use tank_model::{AuditOutcome, AuditRecord, JobId, Replica};

/// The audit log, and when each alert was last sent.
pub(crate) const TABLES: &str = r#"
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
"#;

/// Audits name the cluster peer in a column of its own, as replicas do.
pub(crate) const AUDITS_BY_PEER: &str = r#"
    ALTER TABLE audits ADD COLUMN peer TEXT NOT NULL DEFAULT '';
    UPDATE audits SET peer = substr(node, instr(node, '/') + 1),
                      node = substr(node, 1, instr(node, '/') - 1)
        WHERE instr(node, '/') > 0;
"#;

impl Store {
    pub fn record_audit(
        &self,
        job: JobId,
        replica: &Replica,
        outcome: AuditOutcome,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO audits (job_id, node, peer, at, outcome, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![job, replica.node, peer_column(replica), now_ms(), outcome.as_str(), detail],
        )?;
        Ok(())
    }

    pub fn audits(&self, job: JobId) -> Result<Vec<AuditRecord>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT job_id, node, peer, at, outcome, detail FROM audits WHERE job_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([job], |r| {
            Ok(AuditRecord {
                job: r.get(0)?,
                replica: replica_from(r.get(1)?, r.get(2)?),
                at: rfc3339(r.get(3)?),
                outcome: AuditOutcome::parse(&r.get::<_, String>(4)?),
                detail: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Up to `count` finished jobs, at random.
    pub fn sample_done_jobs(&self, count: u32) -> Result<Vec<JobId>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT id FROM jobs WHERE state = 'done' ORDER BY random() LIMIT ?1")?;
        let rows = stmt.query_map([count], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Whether the alert `key` may be sent now (none sent within
    /// `min_interval_ms`); if so, records it as sent, in one step.
    pub fn claim_alert(
        &self,
        key: &str,
        min_interval_ms: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let last: Option<i64> = tx
            .query_row("SELECT at FROM alerts_sent WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?;
        if last.is_some_and(|at| now - at < min_interval_ms) {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO alerts_sent (key, at) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET at = excluded.at",
            params![key, now],
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// Failed attempts since `since`, split into verification failures
    /// (pin/ls, dag/stat, cat, gateway) and the rest.
    pub fn failure_counts(&self, since: i64) -> Result<(u32, u32), StoreError> {
        Ok(self
            .conn()
            .query_row(FAILURE_COUNTS, [since], |r| Ok((r.get(0)?, r.get(1)?)))?)
    }
}

const FAILURE_COUNTS: &str = "SELECT
        COALESCE(SUM(CASE WHEN op IN ('pin/ls', 'dag/stat', 'cat', 'gateway') THEN 1 ELSE 0 END), 0),
        COALESCE(SUM(CASE WHEN op NOT IN ('pin/ls', 'dag/stat', 'cat', 'gateway') THEN 1 ELSE 0 END), 0)
     FROM attempts WHERE ok = 0 AND started_at >= ?1";

#[cfg(test)]
mod tests {
    use crate::temporary;

    #[test]
    fn counting_failure_spikes_reads_only_the_window() {
        let (_dir, store) = temporary();
        let plan: String = store
            .conn()
            .query_row(
                &format!("EXPLAIN QUERY PLAN {}", super::FAILURE_COUNTS),
                [0],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("USING INDEX attempts_by_time"), "{plan}");
    }

    #[test]
    fn an_alert_is_sent_at_most_once_per_interval() {
        let (_dir, store) = temporary();
        assert!(store.claim_alert("node_down:a", 1000, 10_000).unwrap());
        assert!(!store.claim_alert("node_down:a", 1000, 10_500).unwrap());
        assert!(store.claim_alert("node_down:b", 1000, 10_500).unwrap());
        assert!(store.claim_alert("node_down:a", 1000, 11_000).unwrap());
    }
}
