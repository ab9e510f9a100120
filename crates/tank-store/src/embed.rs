//! Jobs taken from 3Speak's embed system, their callback keys, the
//! encoder's record there, and the outbox of reports owed for them.
//!
//! ```text
//! open ──progress──► open ──job ends: close + outbox row, one transaction──► closed
//!   └──the receiver says the job is not ours (401/404)──► closed, no report
//! outbox: waiting ──receiver has it──► delivered
//!            └─────refused for good (4xx)──► refused
//! ```
//!
//! The key a job's reports are sent with sits in its own table, read only
//! by [`Store::embed_key`]: no listing, report or export selects it.

use rusqlite::{params, OptionalExtension};

use crate::jobs::{insert_job, transition_in};
use crate::{now_ms, rfc3339, state_column, Store, StoreError};
use tank_model::{
    EmbedClaim, EmbedId, EmbedVia, EmbedVideo, JobId, JobState, OutboxEntry, OutboxStatus,
};

pub(crate) const TABLES: &str = r#"
    CREATE TABLE embed_jobs (
        id                INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id            INTEGER NOT NULL REFERENCES jobs(id),
        via               TEXT    NOT NULL,
        owner             TEXT    NOT NULL,
        permlink          TEXT    NOT NULL,
        input_cid         TEXT    NOT NULL,
        short             INTEGER NOT NULL,
        premium           INTEGER NOT NULL,
        webhook_url       TEXT    NOT NULL,
        frontend_app      TEXT,
        original_filename TEXT,
        claimed_at        INTEGER NOT NULL,
        last_progress_at  INTEGER,
        last_progress     INTEGER,
        progress_error    TEXT,
        closed_at         INTEGER
    );
    CREATE UNIQUE INDEX embed_jobs_by_job ON embed_jobs(job_id);
    -- The embed system has no job id: while a claim is open, owner,
    -- permlink and input name it, and a second claim of it is the same job.
    CREATE UNIQUE INDEX embed_jobs_open ON embed_jobs(owner, permlink, input_cid)
        WHERE closed_at IS NULL;
    CREATE TABLE embed_keys (
        embed_id INTEGER PRIMARY KEY REFERENCES embed_jobs(id),
        api_key  TEXT NOT NULL
    );
    CREATE TABLE embed_encoder (
        did        TEXT PRIMARY KEY,
        record     TEXT    NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE TABLE outbox (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        embed_id     INTEGER NOT NULL REFERENCES embed_jobs(id),
        body         TEXT    NOT NULL,
        status       TEXT    NOT NULL,
        tries        INTEGER NOT NULL DEFAULT 0,
        next_try_at  INTEGER NOT NULL,
        last_error   TEXT,
        answer       TEXT,
        created_at   INTEGER NOT NULL,
        delivered_at INTEGER
    );
    CREATE UNIQUE INDEX outbox_by_job ON outbox(embed_id);
"#;

const CLAIM_COLUMNS: &str = "e.id, e.job_id, j.state, e.via, e.owner, e.permlink, e.input_cid,
     e.short, e.premium, e.webhook_url, e.frontend_app, e.original_filename, e.claimed_at,
     e.last_progress_at, e.last_progress, e.progress_error, e.closed_at";

const OUTBOX_COLUMNS: &str = "o.id, o.embed_id, e.job_id, e.owner, e.permlink, o.body, o.status,
     o.tries, o.last_error, o.answer, o.created_at, o.delivered_at, o.next_try_at";

impl Store {
    /// Records a claimed embed job and its key, and creates its local job
    /// (queued, input `local_input`, with the job's encoding rules), in one
    /// transaction. A job already
    /// open under the same owner, permlink and input is the same job: only
    /// its key (new with every claim) changes. With a `refusal` the local
    /// job is created failed (not retryable): its input cannot be used.
    /// Answers the local job and whether it is new.
    pub fn embed_claimed(
        &self,
        job: &EmbedVideo,
        local_input: &str,
        key: &str,
        refusal: Option<&str>,
        jobs_root: &std::path::Path,
    ) -> Result<(JobId, bool), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let open: Option<(EmbedId, JobId)> = tx
            .query_row(
                "SELECT id, job_id FROM embed_jobs
                 WHERE owner = ?1 AND permlink = ?2 AND input_cid = ?3 AND closed_at IS NULL",
                params![job.owner, job.permlink, job.input_cid],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let answer = match open {
            Some((embed, local)) => {
                tx.execute(
                    "UPDATE embed_keys SET api_key = ?2 WHERE embed_id = ?1",
                    params![embed, key],
                )?;
                (local, false)
            }
            None => {
                let local = insert_job(&tx, local_input, jobs_root)?;
                tx.execute(
                    "UPDATE jobs SET rules = ?2 WHERE id = ?1",
                    params![local, serde_json::to_string(&job.rules()).expect("JSON")],
                )?;
                if let Some(refusal) = refusal {
                    transition_in(
                        &tx,
                        local,
                        JobState::Queued,
                        JobState::Failed,
                        &[],
                        Some((refusal, false)),
                        Some(refusal),
                    )?;
                }
                tx.execute(
                    "INSERT INTO embed_jobs (job_id, via, owner, permlink, input_cid, short, premium,
                         webhook_url, frontend_app, original_filename, claimed_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    params![
                        local,
                        job.via.as_str(),
                        job.owner,
                        job.permlink,
                        job.input_cid,
                        job.short,
                        job.premium,
                        job.webhook_url,
                        job.frontend_app,
                        job.original_filename,
                        now_ms()
                    ],
                )?;
                tx.execute(
                    "INSERT INTO embed_keys (embed_id, api_key) VALUES (?1, ?2)",
                    params![tx.last_insert_rowid(), key],
                )?;
                (local, true)
            }
        };
        tx.commit()?;
        Ok(answer)
    }

    /// The key reports about `embed` are sent with. The only read of it.
    pub fn embed_key(&self, embed: EmbedId) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT api_key FROM embed_keys WHERE embed_id = ?1",
                [embed],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Embed jobs not yet closed, oldest first.
    pub fn embed_open(&self) -> Result<Vec<EmbedClaim>, StoreError> {
        self.embed_claims("WHERE e.closed_at IS NULL ORDER BY e.id", 0)
    }

    /// The latest embed jobs, newest first.
    pub fn embed_recent(&self, limit: u32) -> Result<Vec<EmbedClaim>, StoreError> {
        self.embed_claims("ORDER BY e.id DESC LIMIT ?1", limit.into())
    }

    /// The embed job a local job works for, if any.
    pub fn embed_claim_of(&self, job: JobId) -> Result<Option<EmbedClaim>, StoreError> {
        Ok(self
            .embed_claims("WHERE e.job_id = ?1", job)?
            .into_iter()
            .next())
    }

    fn embed_claims(&self, filter: &str, arg: i64) -> Result<Vec<EmbedClaim>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {CLAIM_COLUMNS} FROM embed_jobs e LEFT JOIN jobs j ON j.id = e.job_id {filter}"
        ))?;
        let uses_arg = filter.contains("?1");
        let rows = if uses_arg {
            stmt.query_map([arg], claim_row)?
                .collect::<Result<_, _>>()?
        } else {
            stmt.query_map([], claim_row)?.collect::<Result<_, _>>()?
        };
        Ok(rows)
    }

    /// The receiver took a progress call (`error` is `None`), or did not.
    pub fn embed_progress(
        &self,
        embed: EmbedId,
        progress: u8,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        self.conn().execute(
            "UPDATE embed_jobs SET last_progress_at = ?2,
                 last_progress = CASE WHEN ?4 IS NULL THEN ?3 ELSE last_progress END,
                 progress_error = ?4
             WHERE id = ?1",
            params![embed, now, progress, error],
        )?;
        Ok(())
    }

    /// Closes an open embed job and commits the report owed for it, in one
    /// transaction; `false` when it was closed already (nothing changes).
    pub fn embed_close(
        &self,
        embed: EmbedId,
        report: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let now = now_ms();
        let closed = tx.execute(
            "UPDATE embed_jobs SET closed_at = ?2 WHERE id = ?1 AND closed_at IS NULL",
            params![embed, now],
        )?;
        if closed == 1 {
            tx.execute(
                "INSERT INTO outbox (embed_id, body, status, next_try_at, created_at)
                 VALUES (?1, ?2, 'waiting', ?3, ?3)",
                params![embed, report.to_string(), now],
            )?;
        }
        tx.commit()?;
        Ok(closed == 1)
    }

    /// The job is no longer ours (the receiver refused its key or forgot
    /// it): it closes with no report, `reason` kept as its last progress
    /// error. Its local job is the engine's to cancel.
    pub fn embed_lost(&self, embed: EmbedId, reason: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE embed_jobs SET closed_at = ?2, progress_error = ?3
             WHERE id = ?1 AND closed_at IS NULL",
            params![embed, now_ms(), reason],
        )?;
        Ok(())
    }

    /// Keeps what the embed system answered `updateNode` with.
    pub fn embed_set_encoder(
        &self,
        did: &str,
        record: &serde_json::Value,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO embed_encoder (did, record, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(did) DO UPDATE SET record = ?2, updated_at = ?3",
            params![did, record.to_string(), now_ms()],
        )?;
        Ok(())
    }

    /// The embed system's last record of the encoder `did`, and when it came.
    pub fn embed_encoder(
        &self,
        did: &str,
    ) -> Result<Option<(serde_json::Value, String)>, StoreError> {
        let row: Option<(String, i64)> = self
            .conn()
            .query_row(
                "SELECT record, updated_at FROM embed_encoder WHERE did = ?1",
                [did],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row.map(|(record, at)| {
            (
                serde_json::from_str(&record).unwrap_or(serde_json::Value::Null),
                rfc3339(at),
            )
        }))
    }

    /// Reports still waiting whose next try is due at `now` (ms), oldest
    /// first.
    pub fn outbox_due(&self, now: i64) -> Result<Vec<OutboxEntry>, StoreError> {
        self.outbox_rows(
            "WHERE o.status = 'waiting' AND o.next_try_at <= ?1 ORDER BY o.id",
            now,
        )
    }

    /// The report owed for the local job `job`, once committed.
    pub fn outbox_of(&self, job: JobId) -> Result<Option<OutboxEntry>, StoreError> {
        Ok(self
            .outbox_rows("WHERE e.job_id = ?1 ORDER BY o.id DESC LIMIT 1", job)?
            .into_iter()
            .next())
    }

    /// The latest reports, newest first.
    pub fn outbox_recent(&self, limit: u32) -> Result<Vec<OutboxEntry>, StoreError> {
        self.outbox_rows("ORDER BY o.id DESC LIMIT ?1", limit.into())
    }

    fn outbox_rows(&self, filter: &str, arg: i64) -> Result<Vec<OutboxEntry>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox o JOIN embed_jobs e ON e.id = o.embed_id {filter}"
        ))?;
        let rows = stmt.query_map([arg], outbox_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The receiver has report `id`; `answer` is what it said.
    pub fn outbox_delivered(&self, id: i64, answer: &str) -> Result<(), StoreError> {
        self.outbox_settle(id, OutboxStatus::Delivered, Some(answer), None)
    }

    /// The receiver refused report `id` for good.
    pub fn outbox_refused(&self, id: i64, error: &str) -> Result<(), StoreError> {
        self.outbox_settle(id, OutboxStatus::Refused, None, Some(error))
    }

    fn outbox_settle(
        &self,
        id: i64,
        status: OutboxStatus,
        answer: Option<&str>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        self.conn().execute(
            "UPDATE outbox SET status = ?2, answer = ?3, last_error = COALESCE(?4, last_error),
                 tries = tries + 1, delivered_at = CASE WHEN ?2 = 'delivered' THEN ?5 END
             WHERE id = ?1 AND status = 'waiting'",
            params![id, status.as_str(), answer, error, now],
        )?;
        Ok(())
    }

    /// Sending report `id` failed in a way that may pass; try again at
    /// `next_try_at` (ms).
    pub fn outbox_retry(&self, id: i64, error: &str, next_try_at: i64) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE outbox SET last_error = ?2, next_try_at = ?3, tries = tries + 1
             WHERE id = ?1 AND status = 'waiting'",
            params![id, error, next_try_at],
        )?;
        Ok(())
    }
}

fn conversion(index: usize, what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, what.into())
}

fn claim_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EmbedClaim> {
    let time = |index: usize| -> rusqlite::Result<Option<String>> {
        Ok(r.get::<_, Option<i64>>(index)?.map(rfc3339))
    };
    let via: String = r.get(3)?;
    Ok(EmbedClaim {
        id: r.get(0)?,
        job_id: r.get(1)?,
        job_state: match r.get::<_, Option<String>>(2)? {
            Some(_) => Some(state_column(r, 2)?),
            None => None,
        },
        video: EmbedVideo {
            via: EmbedVia::parse(&via)
                .ok_or_else(|| conversion(3, format!("unknown via {via:?}")))?,
            owner: r.get(4)?,
            permlink: r.get(5)?,
            input_cid: r.get(6)?,
            short: r.get(7)?,
            premium: r.get(8)?,
            webhook_url: r.get(9)?,
            frontend_app: r.get(10)?,
            original_filename: r.get(11)?,
        },
        claimed_at: rfc3339(r.get(12)?),
        last_progress_at: time(13)?,
        last_progress: r.get(14)?,
        progress_error: r.get(15)?,
        closed_at: time(16)?,
    })
}

fn outbox_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxEntry> {
    let body: String = r.get(5)?;
    let body: serde_json::Value = serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
    let status: String = r.get(6)?;
    Ok(OutboxEntry {
        id: r.get(0)?,
        embed_id: r.get(1)?,
        job_id: r.get(2)?,
        owner: r.get(3)?,
        permlink: r.get(4)?,
        status_reported: body["status"].as_str().unwrap_or_default().to_owned(),
        body,
        status: OutboxStatus::parse(&status)
            .ok_or_else(|| conversion(6, format!("unknown outbox status {status:?}")))?,
        tries: r.get(7)?,
        last_error: r.get(8)?,
        answer: r.get(9)?,
        created_at: rfc3339(r.get(10)?),
        delivered_at: r.get::<_, Option<i64>>(11)?.map(rfc3339),
        next_try_at: r.get(12)?,
    })
}
