//! Audits: on a schedule (and on demand with `tank audit`), the replicas of
//! finished jobs, a random sample of them, are verified again by the
//! engine. A vanished pin is pinned again and recorded; one that cannot be
//! restored is recorded and alerted here.

use std::time::Duration;

use tank_config::AuditConfig;
use tank_engine::Engine;

use crate::error::DaemonError;
use tank_model::{AuditOutcome, AuditRecord, JobId};

use crate::alerts::{Alert, Alerts};

/// Cheap to clone.
#[derive(Clone)]
pub struct Audits {
    engine: Engine,
    config: AuditConfig,
    alerts: Alerts,
}

impl Audits {
    pub fn new(engine: Engine, alerts: Alerts) -> Audits {
        Audits {
            config: engine.config().audit.clone(),
            engine,
            alerts,
        }
    }

    pub fn interval(&self) -> Duration {
        self.config.interval
    }

    /// One scheduled round: the configured sample.
    pub async fn round(&self) {
        match self.audit(self.config.sample).await {
            Ok(records) => tracing::info!(replicas = records.len(), "audit round done"),
            Err(e) => tracing::error!(%e, "audit round failed"),
        }
    }

    /// Audits `sample` finished jobs picked at random.
    pub async fn audit(&self, sample: u32) -> Result<Vec<AuditRecord>, DaemonError> {
        let mut records = Vec::new();
        for id in self.engine.store().sample_done_jobs(sample)? {
            records.extend(self.audit_job(id).await?);
        }
        Ok(records)
    }

    /// Verifies every replica of one finished job; a replica that could
    /// not be restored is alerted.
    pub async fn audit_job(&self, id: JobId) -> Result<Vec<AuditRecord>, DaemonError> {
        let records = self.engine.audit_job(id).await?;
        for record in &records {
            if record.outcome == AuditOutcome::Missing {
                self.alerts
                    .send(&Alert::ReplicaMissing {
                        job: id,
                        replica: record.replica.clone(),
                        detail: record.detail.clone().unwrap_or_default(),
                    })
                    .await;
            }
        }
        Ok(records)
    }
}
