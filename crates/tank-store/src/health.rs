//! Node health as the monitor sees it, probe samples for history and
//! charts, and each node's circuit breaker. All in the job database, so
//! every `tank` process (a one-off `tank encode`, the daemon) shares what
//! any of them learned about a node.

use rusqlite::{params, OptionalExtension};
use tank_model::{HealthRow, HealthSample, HealthState};

use crate::{now_ms, rfc3339, Store, StoreError};

/// Node health and breakers, and probe samples.
pub(crate) const TABLES: &str = r#"
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
"#;

/// What the breaker lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    /// Keep out until this time (ms since the epoch).
    Open {
        until: i64,
    },
    /// The cooldown is over: one trial call decides.
    HalfOpen,
}

/// The monitor's view before a probe, to decide the next state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorState {
    pub state: HealthState,
    pub ok_streak: u32,
    pub fail_streak: u32,
    pub last_canary_at: Option<i64>,
}

impl Store {
    /// Health rows of every node that has one.
    pub fn health_rows(&self) -> Result<Vec<HealthRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT node, state, since, ok_streak, fail_streak, open_until, last_canary_at FROM node_health ORDER BY node",
        )?;
        let now = now_ms();
        let rows = stmt.query_map([], |r| {
            let open_until: Option<i64> = r.get(5)?;
            Ok(HealthRow {
                node: r.get(0)?,
                state: HealthState::parse(&r.get::<_, String>(1)?),
                since: r.get::<_, Option<i64>>(2)?.map(rfc3339),
                ok_streak: r.get(3)?,
                fail_streak: r.get(4)?,
                breaker_open_until: open_until.filter(|t| *t > now).map(rfc3339),
                last_canary_at: r.get::<_, Option<i64>>(6)?.map(rfc3339),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn monitor_state(&self, node: &str) -> Result<MonitorState, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT state, ok_streak, fail_streak, last_canary_at FROM node_health WHERE node = ?1",
                [node],
                |r| {
                    Ok(MonitorState {
                        state: HealthState::parse(&r.get::<_, String>(0)?),
                        ok_streak: r.get(1)?,
                        fail_streak: r.get(2)?,
                        last_canary_at: r.get(3)?,
                    })
                },
            )
            .optional()?
            .unwrap_or(MonitorState {
                state: HealthState::Unknown,
                ok_streak: 0,
                fail_streak: 0,
                last_canary_at: None,
            }))
    }

    /// Saves the monitor's verdict. `since` changes only with the state.
    pub fn save_monitor_state(&self, node: &str, state: &MonitorState) -> Result<(), StoreError> {
        let now = now_ms();
        self.conn().execute(
            "INSERT INTO node_health (node, state, since, ok_streak, fail_streak, last_canary_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?3)
             ON CONFLICT (node) DO UPDATE SET
                since = CASE WHEN node_health.state = excluded.state THEN node_health.since ELSE excluded.since END,
                state = excluded.state, ok_streak = excluded.ok_streak, fail_streak = excluded.fail_streak,
                last_canary_at = excluded.last_canary_at, updated_at = excluded.updated_at",
            params![node, state.state.as_str(), now, state.ok_streak, state.fail_streak, state.last_canary_at],
        )?;
        Ok(())
    }

    pub fn add_sample(&self, node: &str, sample: &HealthSample, at: i64) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO node_samples (node, at, probe, ok, latency_ms, detail, repo_size, storage_max)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                node,
                at,
                sample.probe,
                sample.ok,
                sample.latency_ms.map(|v| v as i64),
                sample.detail,
                sample.repo_size.map(|v| v as i64),
                sample.storage_max.map(|v| v as i64)
            ],
        )?;
        Ok(())
    }

    /// The node's latest samples, newest first.
    pub fn samples(&self, node: &str, limit: u32) -> Result<Vec<HealthSample>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT at, probe, ok, latency_ms, detail, repo_size, storage_max FROM node_samples
             WHERE node = ?1 ORDER BY at DESC, id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![node, limit], |r| {
            Ok(HealthSample {
                at: rfc3339(r.get(0)?),
                probe: r.get(1)?,
                ok: r.get(2)?,
                latency_ms: r.get::<_, Option<i64>>(3)?.map(|v| v as u64),
                detail: r.get(4)?,
                repo_size: r.get::<_, Option<i64>>(5)?.map(|v| v as u64),
                storage_max: r.get::<_, Option<i64>>(6)?.map(|v| v as u64),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn prune_samples(&self, before: i64) -> Result<usize, StoreError> {
        Ok(self
            .conn()
            .execute("DELETE FROM node_samples WHERE at < ?1", [before])?)
    }

    pub fn breaker(&self, node: &str, now: i64) -> Result<BreakerState, StoreError> {
        let open_until: Option<i64> = self
            .conn()
            .query_row(
                "SELECT open_until FROM node_health WHERE node = ?1",
                [node],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        Ok(match open_until {
            Some(until) if until > now => BreakerState::Open { until },
            Some(_) => BreakerState::HalfOpen,
            None => BreakerState::Closed,
        })
    }

    /// A call to the node failed. The breaker opens after `threshold` in a
    /// row, or at once when a half-open trial fails; each opening lasts
    /// twice the previous one (capped). Returns the new `open_until`.
    pub fn breaker_failure(
        &self,
        node: &str,
        threshold: u32,
        cooldown_ms: i64,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO node_health (node, updated_at) VALUES (?1, ?2) ON CONFLICT (node) DO NOTHING",
            params![node, now],
        )?;
        let (failures, opens, open_until): (u32, u32, Option<i64>) = tx.query_row(
            "SELECT breaker_failures, breaker_opens, open_until FROM node_health WHERE node = ?1",
            [node],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let failures = failures + 1;
        let half_open_trial_failed = open_until.is_some_and(|t| t <= now);
        let still_open = open_until.is_some_and(|t| t > now);
        let opened = if !still_open && (half_open_trial_failed || failures >= threshold) {
            let opens = opens + 1;
            let until = now + cooldown_ms * (1i64 << (opens - 1).min(5));
            tx.execute(
                "UPDATE node_health SET breaker_failures = 0, breaker_opens = ?2, open_until = ?3, updated_at = ?4 WHERE node = ?1",
                params![node, opens, until, now],
            )?;
            Some(until)
        } else {
            tx.execute(
                "UPDATE node_health SET breaker_failures = ?2, updated_at = ?3 WHERE node = ?1",
                params![node, failures, now],
            )?;
            None
        };
        tx.commit()?;
        Ok(opened)
    }

    /// A call to the node worked: the breaker closes.
    pub fn breaker_success(&self, node: &str, now: i64) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE node_health SET breaker_failures = 0, breaker_opens = 0, open_until = NULL, updated_at = ?2
             WHERE node = ?1 AND (breaker_failures > 0 OR open_until IS NOT NULL)",
            params![node, now],
        )?;
        Ok(())
    }

    /// The monitor found the node down: keep jobs away until `until`.
    pub fn open_breaker(&self, node: &str, until: i64) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO node_health (node, open_until, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (node) DO UPDATE SET open_until = MAX(COALESCE(node_health.open_until, 0), excluded.open_until)",
            params![node, until, now_ms()],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::temporary as store;

    #[test]
    fn the_breaker_opens_after_the_threshold_and_lets_one_trial_through_later() {
        let (_dir, store) = store();
        let now = 1_000_000;
        assert_eq!(store.breaker("n", now).unwrap(), BreakerState::Closed);
        assert_eq!(store.breaker_failure("n", 3, 1000, now).unwrap(), None);
        assert_eq!(store.breaker_failure("n", 3, 1000, now).unwrap(), None);
        assert_eq!(
            store.breaker_failure("n", 3, 1000, now).unwrap(),
            Some(now + 1000)
        );
        assert_eq!(
            store.breaker("n", now + 10).unwrap(),
            BreakerState::Open { until: now + 1000 }
        );
        assert_eq!(
            store.breaker("n", now + 1000).unwrap(),
            BreakerState::HalfOpen
        );
        // The trial fails: open again, twice as long.
        assert_eq!(
            store.breaker_failure("n", 3, 1000, now + 1000).unwrap(),
            Some(now + 3000)
        );
        store.breaker_success("n", now + 3000).unwrap();
        assert_eq!(
            store.breaker("n", now + 3000).unwrap(),
            BreakerState::Closed
        );
    }

    #[test]
    fn a_state_keeps_its_since_until_it_changes() {
        let (_dir, store) = store();
        let mut state = MonitorState {
            state: HealthState::Healthy,
            ok_streak: 1,
            fail_streak: 0,
            last_canary_at: None,
        };
        store.save_monitor_state("n", &state).unwrap();
        let first = store.health_rows().unwrap()[0].since.clone();
        std::thread::sleep(std::time::Duration::from_millis(5));
        state.ok_streak = 2;
        store.save_monitor_state("n", &state).unwrap();
        assert_eq!(store.health_rows().unwrap()[0].since, first);
        state.state = HealthState::Down;
        store.save_monitor_state("n", &state).unwrap();
        assert_ne!(store.health_rows().unwrap()[0].since, first);
    }
}
