//! What the local node manager did: its history for `tank node status`.

use rusqlite::params;

use crate::{now_ms, rfc3339, Store, StoreError};

/// What the local node manager did.
pub(crate) const TABLES: &str = r#"
    CREATE TABLE node_events (
        id     INTEGER PRIMARY KEY AUTOINCREMENT,
        at     INTEGER NOT NULL,
        event  TEXT    NOT NULL
    );
"#;

impl Store {
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
}
