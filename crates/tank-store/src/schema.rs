//! The schema: one entry per version, `PRAGMA user_version` records how
//! many ran. A version is the statements of the table families it changed;
//! each family's statements sit next to its queries (`jobs.rs`,
//! `attempts.rs`, …). A released version is never edited: a change is a
//! new version at the end.

use rusqlite::Connection;

use crate::{attempts, audits, embed, gateway, health, jobs, node_events, watched};

const MIGRATIONS: &[&[&str]] = &[
    &[jobs::TABLES, attempts::TABLES],
    &[jobs::PARKING, health::TABLES, audits::TABLES],
    &[node_events::TABLES],
    &[gateway::TABLES],
    &[jobs::PAUSED],
    &[watched::TABLES],
    &[attempts::REPLICAS_BY_PEER, audits::AUDITS_BY_PEER],
    &[embed::TABLES],
    &[jobs::RULES],
    &[attempts::ATTEMPTS_BY_TIME],
    &[jobs::OUTPUT_FILES, jobs::FOLDER_SWEPT],
    &[jobs::STAGE_RETRIES],
];

/// Runs the versions `conn` has not run yet, in one transaction.
pub(crate) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let done: usize = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (version, statements) in MIGRATIONS.iter().enumerate().skip(done) {
        for sql in *statements {
            tx.execute_batch(sql)?;
        }
        tx.pragma_update(None, "user_version", version + 1)?;
    }
    tx.commit()
}

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;
    use crate::Store;
    use tank_model::Replica;

    /// A database as version `version` of the schema left it.
    fn database_at(path: &std::path::Path, version: usize) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(path).unwrap();
        for statements in &MIGRATIONS[..version] {
            for sql in *statements {
                conn.execute_batch(sql).unwrap();
            }
        }
        conn.pragma_update(None, "user_version", version).unwrap();
        conn
    }

    #[test]
    fn cluster_replicas_written_as_one_text_are_read_back_by_node_and_peer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tank.db");
        let conn = database_at(&path, 6);
        conn.execute_batch(
            "INSERT INTO jobs (id, input, state, work_dir, created_at, updated_at)
                 VALUES (1, '/v.mp4', 'done', '/jobs/1', 0, 0);
             INSERT INTO replicas (job_id, node, cid, verified_at) VALUES
                 (1, 'supernode', 'bafy', 1), (1, 'cluster/peer-a', 'bafy', 2);
             INSERT INTO audits (job_id, node, at, outcome) VALUES
                 (1, 'cluster/peer-a', 3, 'verified');",
        )
        .unwrap();
        drop(conn);

        let store = Store::open(&path).unwrap();

        let replicas: Vec<Replica> = store
            .replicas(1)
            .unwrap()
            .into_iter()
            .map(|r| r.replica)
            .collect();
        assert_eq!(
            replicas,
            [
                Replica::on_node("supernode"),
                Replica::on_peer("cluster", "peer-a")
            ]
        );
        let audits = store.audits(1).unwrap();
        assert_eq!(audits[0].replica, Replica::on_peer("cluster", "peer-a"));
    }
}
