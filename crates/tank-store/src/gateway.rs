//! Jobs taken from the 3Speak gateway, and where each stands with it.
//!
//! A gateway job moves through phases, each change committed before the
//! call it prepares:
//!
//! ```text
//! claiming ──acceptJob──► claimed ──job ends──► reporting ──answer──► reported
//!     │                      │                      │
//!     └► lost (race)         └► releasing ──► released (given back on shutdown)
//!                                                   └► lost (the gateway gave it away)
//! ```
//!
//! `reporting` holds the exact report (`finishJob` with the CID, or
//! `failJob` with its message and time) before it is sent, so after a crash
//! the same report is sent again, never a different one.

use rusqlite::{params, OptionalExtension};

use crate::jobs::{insert_job, transition_in};
use crate::{now_ms, rfc3339, state_column, Store, StoreError};
use tank_model::{ClaimId, GatewayClaim, GatewayPhase, JobId, JobState, Report};

/// Claims of gateway jobs.
pub(crate) const TABLES: &str = r#"
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
"#;

const COLUMNS: &str =
    "g.id, g.gateway_id, g.job_id, j.state, g.phase, g.job, g.report, g.report_tries,
     g.answer, g.seen_at, g.claimed_at, g.reported_at, g.last_ping_at, g.ping_error, g.next_try_at";

impl Store {
    /// Records that we are about to ask for `gateway_id`; `None` when a
    /// claim of it is open already.
    pub fn gateway_claiming(
        &self,
        gateway_id: &str,
        job_json: &str,
    ) -> Result<Option<ClaimId>, StoreError> {
        let conn = self.conn();
        let now = now_ms();
        let inserted = conn.execute(
            "INSERT INTO gateway_jobs (gateway_id, phase, job, seen_at, updated_at)
             VALUES (?1, 'claiming', ?2, ?3, ?3) ON CONFLICT DO NOTHING",
            params![gateway_id, job_json, now],
        )?;
        Ok((inserted == 1).then(|| conn.last_insert_rowid()))
    }

    /// The job is ours: creates its local job (queued, input `input`) and
    /// marks the claim `claimed`, in one transaction. `claim` is the open
    /// `claiming` claim, or `None` for a job the gateway assigned to us
    /// itself (`myJob`); `None` when a claim of it is open already. With a
    /// `refusal` the local job is created failed (not retryable): its input
    /// cannot be used, and the gateway is told so.
    pub fn gateway_claimed(
        &self,
        claim: Option<ClaimId>,
        gateway_id: &str,
        job_json: &str,
        input: &str,
        refusal: Option<&str>,
        jobs_root: &std::path::Path,
    ) -> Result<Option<JobId>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let now = now_ms();
        let changed = match claim {
            Some(claim) => tx.execute(
                "UPDATE gateway_jobs SET phase = 'claimed', job = ?2, claimed_at = ?3, updated_at = ?3
                 WHERE id = ?1 AND phase = 'claiming'",
                params![claim, job_json, now],
            )?,
            None => tx.execute(
                "INSERT INTO gateway_jobs (gateway_id, phase, job, seen_at, claimed_at, updated_at)
                 VALUES (?1, 'claimed', ?2, ?3, ?3, ?3) ON CONFLICT DO NOTHING",
                params![gateway_id, job_json, now],
            )?,
        };
        if changed == 0 {
            return match claim {
                Some(claim) => Err(StoreError::GatewayConflict {
                    claim,
                    expected: GatewayPhase::Claiming,
                }),
                None => Ok(None),
            };
        }
        let claim = claim.unwrap_or_else(|| tx.last_insert_rowid());
        let id = insert_job(&tx, input, jobs_root)?;
        // The gateway chose the source: it may only be on a public address.
        let rules = tank_model::JobRules {
            public_sources_only: true,
            ..tank_model::JobRules::default()
        };
        tx.execute(
            "UPDATE jobs SET rules = ?2 WHERE id = ?1",
            params![id, serde_json::to_string(&rules).expect("JSON")],
        )?;
        if let Some(refusal) = refusal {
            let failure = Some((refusal, false));
            transition_in(
                &tx,
                id,
                JobState::Queued,
                JobState::Failed,
                &[],
                failure,
                Some(refusal),
            )?;
        }
        tx.execute(
            "UPDATE gateway_jobs SET job_id = ?2 WHERE id = ?1",
            params![claim, id],
        )?;
        tx.commit()?;
        Ok(Some(id))
    }

    /// Another encoder has the job; `why` in the gateway's words.
    pub fn gateway_lost(&self, claim: ClaimId, why: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE gateway_jobs SET phase = 'lost', answer = ?2, updated_at = ?3 WHERE id = ?1",
            params![claim, why, now_ms()],
        )?;
        Ok(())
    }

    /// Claims in any of `phases`, oldest first.
    pub fn gateway_claims(&self, phases: &[GatewayPhase]) -> Result<Vec<GatewayClaim>, StoreError> {
        let names: Vec<&str> = phases.iter().map(|p| p.as_str()).collect();
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM gateway_jobs g LEFT JOIN jobs j ON j.id = g.job_id
             WHERE g.phase IN (SELECT value FROM json_each(?1)) ORDER BY g.id"
        ))?;
        let rows = stmt.query_map([serde_json::to_string(&names).expect("JSON")], claim_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The latest claims, newest first.
    pub fn gateway_recent(&self, limit: u32) -> Result<Vec<GatewayClaim>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM gateway_jobs g LEFT JOIN jobs j ON j.id = g.job_id
             ORDER BY g.id DESC LIMIT ?1"
        ))?;
        let rows = stmt.query_map([limit], claim_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The claim a local job works for, if it came from the gateway.
    pub fn gateway_claim_of(&self, job: JobId) -> Result<Option<GatewayClaim>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM gateway_jobs g LEFT JOIN jobs j ON j.id = g.job_id
                     WHERE g.job_id = ?1"
                ),
                [job],
                claim_row,
            )
            .optional()?)
    }

    /// Fixes the report of a claimed job before it is sent.
    pub fn gateway_reporting(&self, claim: ClaimId, report: &Report) -> Result<(), StoreError> {
        self.gateway_move(
            claim,
            GatewayPhase::Claimed,
            GatewayPhase::Reporting,
            "report = ?4",
            &serde_json::to_string(report).expect("JSON"),
        )
    }

    /// The gateway has the report; `answer` says how it took it.
    pub fn gateway_reported(&self, claim: ClaimId, answer: &str) -> Result<(), StoreError> {
        let now = now_ms();
        self.conn().execute(
            "UPDATE gateway_jobs SET phase = 'reported', answer = ?2, reported_at = ?3,
                 report_tries = report_tries + 1, next_try_at = NULL, updated_at = ?3
             WHERE id = ?1 AND phase = 'reporting'",
            params![claim, answer, now],
        )?;
        Ok(())
    }

    /// Sending the report or release failed; try again at `next_try_at`.
    pub fn gateway_send_failed(
        &self,
        claim: ClaimId,
        error: &str,
        next_try_at: i64,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE gateway_jobs SET answer = ?2, next_try_at = ?3, report_tries = report_tries + 1,
                 updated_at = ?4
             WHERE id = ?1",
            params![claim, error, next_try_at, now_ms()],
        )?;
        Ok(())
    }

    /// Gives a claimed job back: its local job, still in `job_state`, is
    /// cancelled, and the claim is `releasing`, in one transaction.
    pub fn gateway_releasing(
        &self,
        claim: ClaimId,
        job: JobId,
        job_state: JobState,
        reason: &str,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        transition_in(
            &tx,
            job,
            job_state,
            JobState::Cancelled,
            &[],
            Some((reason, false)),
            Some(reason),
        )?;
        let changed = tx.execute(
            "UPDATE gateway_jobs SET phase = 'releasing', updated_at = ?2
             WHERE id = ?1 AND phase = 'claimed'",
            params![claim, now_ms()],
        )?;
        if changed == 0 {
            return Err(StoreError::GatewayConflict {
                claim,
                expected: GatewayPhase::Claimed,
            });
        }
        tx.commit()?;
        Ok(())
    }

    pub fn gateway_released(&self, claim: ClaimId, answer: &str) -> Result<(), StoreError> {
        self.gateway_move(
            claim,
            GatewayPhase::Releasing,
            GatewayPhase::Released,
            "answer = ?4",
            answer,
        )
    }

    /// Records a ping: `error` is why it failed, `None` when it went through.
    pub fn gateway_pinged(&self, claim: ClaimId, error: Option<&str>) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE gateway_jobs SET last_ping_at = CASE WHEN ?2 IS NULL THEN ?3 ELSE last_ping_at END,
                 ping_error = ?2
             WHERE id = ?1",
            params![claim, error, now_ms()],
        )?;
        Ok(())
    }

    /// `from` → `to`, also setting `assignment` (which uses `?4` for `value`).
    fn gateway_move(
        &self,
        claim: ClaimId,
        from: GatewayPhase,
        to: GatewayPhase,
        assignment: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        let changed = self.conn().execute(
            &format!(
                "UPDATE gateway_jobs SET phase = ?3, {assignment}, updated_at = ?5
                 WHERE id = ?1 AND phase = ?2"
            ),
            params![claim, from.as_str(), to.as_str(), value, now_ms()],
        )?;
        if changed == 0 {
            return Err(StoreError::GatewayConflict {
                claim,
                expected: from,
            });
        }
        Ok(())
    }
}

fn claim_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<GatewayClaim> {
    let time = |index: usize| -> rusqlite::Result<Option<String>> {
        Ok(r.get::<_, Option<i64>>(index)?.map(rfc3339))
    };
    let phase: String = r.get(4)?;
    let job: String = r.get(5)?;
    let report: Option<String> = r.get(6)?;
    Ok(GatewayClaim {
        claim: r.get(0)?,
        gateway_id: r.get(1)?,
        job_id: r.get(2)?,
        job_state: match r.get::<_, Option<String>>(3)? {
            Some(_) => Some(state_column(r, 3)?),
            None => None,
        },
        phase: GatewayPhase::parse(&phase).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                4,
                rusqlite::types::Type::Text,
                format!("unknown gateway phase {phase:?}").into(),
            )
        })?,
        job: serde_json::from_str(&job).unwrap_or(serde_json::Value::Null),
        report: report.and_then(|r| serde_json::from_str(&r).ok()),
        report_tries: r.get(7)?,
        answer: r.get(8)?,
        seen_at: rfc3339(r.get(9)?),
        claimed_at: time(10)?,
        reported_at: time(11)?,
        last_ping_at: time(12)?,
        ping_error: r.get(13)?,
        next_try_at: r.get(14)?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::temporary as store;
    use super::*;

    const JOB: &str = r#"{"id":"g1","input":{"uri":"http://x/v.mp4"}}"#;

    fn claimed(store: &Store, root: &std::path::Path) -> (ClaimId, JobId) {
        let claim = store.gateway_claiming("g1", JOB).unwrap().unwrap();
        let job = store
            .gateway_claimed(Some(claim), "g1", JOB, "http://x/v.mp4", None, root)
            .unwrap()
            .unwrap();
        (claim, job)
    }

    #[test]
    fn a_claim_creates_its_job_and_an_open_claim_is_not_opened_twice() {
        let (dir, store) = store();
        let (claim, id) = claimed(&store, dir.path());
        assert_eq!(store.gateway_claiming("g1", JOB).unwrap(), None);
        assert_eq!(
            store
                .gateway_claimed(None, "g1", JOB, "http://x/v.mp4", None, dir.path())
                .unwrap(),
            None
        );
        let found = store.gateway_claim_of(id).unwrap().unwrap();
        assert_eq!(found.claim, claim);
        assert_eq!(found.phase, GatewayPhase::Claimed);
        assert_eq!(found.job_state, Some(JobState::Queued));
        assert_eq!(found.job["id"], "g1");
        assert_eq!(store.job(id).unwrap().input, "http://x/v.mp4");
        assert_eq!(store.list().unwrap().len(), 1, "no second local job");
    }

    #[test]
    fn a_report_is_fixed_before_it_is_sent_and_only_once() {
        let (dir, store) = store();
        let (claim, _) = claimed(&store, dir.path());
        let report = Report::Finish { cid: "Qm1".into() };
        store.gateway_reporting(claim, &report).unwrap();
        let other = Report::Finish { cid: "Qm2".into() };
        assert!(store.gateway_reporting(claim, &other).is_err());
        store.gateway_send_failed(claim, "unreachable", 5).unwrap();
        let [open] = &store.gateway_claims(&[GatewayPhase::Reporting]).unwrap()[..] else {
            panic!("one claim in reporting")
        };
        assert_eq!(open.report.as_ref(), Some(&report));
        assert_eq!(open.report_tries, 1);
        store.gateway_reported(claim, "accepted").unwrap();
        let done = &store.gateway_claims(&[GatewayPhase::Reported]).unwrap()[0];
        assert_eq!(done.answer.as_deref(), Some("accepted"));
        assert_eq!(done.report.as_ref(), Some(&report));
    }

    #[test]
    fn a_job_that_came_back_can_be_claimed_again() {
        let (dir, store) = store();
        let (claim, first) = claimed(&store, dir.path());
        let report = Report::Fail {
            error: "no node".into(),
            retryable: true,
            at: "2026-11-21T00:00:00Z".into(),
        };
        store.gateway_reporting(claim, &report).unwrap();
        store.gateway_reported(claim, "accepted").unwrap();
        let (again, second) = claimed(&store, dir.path());
        assert_ne!(again, claim);
        assert_ne!(second, first);
    }

    #[test]
    fn a_release_cancels_the_local_job_in_the_same_transaction() {
        let (dir, store) = store();
        let (claim, id) = claimed(&store, dir.path());
        // The job moved on meanwhile: nothing changes.
        store
            .transition(id, JobState::Queued, JobState::Encoding, &[])
            .unwrap();
        assert!(store
            .gateway_releasing(claim, id, JobState::Queued, "shutdown")
            .is_err());
        assert_eq!(
            store.gateway_claim_of(id).unwrap().unwrap().phase,
            GatewayPhase::Claimed
        );
        store
            .gateway_releasing(claim, id, JobState::Encoding, "shutdown")
            .unwrap();
        assert_eq!(store.job(id).unwrap().state, JobState::Cancelled);
        store.gateway_released(claim, "rejected").unwrap();
        assert_eq!(
            store.gateway_claim_of(id).unwrap().unwrap().phase,
            GatewayPhase::Released
        );
    }
}
