//! Audits: on a schedule (and on demand with `tank audit`), the replicas of
//! finished jobs, a random sample of them, are verified again. A vanished
//! pin is pinned again and recorded; one that cannot be restored is
//! recorded and alerted.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::alerts::Alert;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::job::{JobId, JobState};
use crate::stages::pin::repair;
use crate::store::{now_ms, rfc3339, AuditOutcome, AuditRecord};

impl Engine {
    /// Audits `sample` finished jobs picked at random.
    pub async fn audit(&self, sample: u32) -> Result<Vec<AuditRecord>, EngineError> {
        let mut records = Vec::new();
        for id in self.store().sample_done_jobs(sample)? {
            records.extend(self.audit_job(id).await?);
        }
        Ok(records)
    }

    /// Verifies every replica of one finished job, repairing what vanished.
    pub async fn audit_job(&self, id: JobId) -> Result<Vec<AuditRecord>, EngineError> {
        let job = self.store().job(id)?;
        if job.state != JobState::Done {
            return Err(EngineError::NotDone {
                id,
                state: job.state,
            });
        }
        let stage = self.stage(job, Arc::new(AtomicBool::new(false)));
        let findings = repair::audit(&stage).await;
        let mut records = Vec::with_capacity(findings.len());
        for finding in findings {
            self.store().record_audit(
                id,
                &finding.replica,
                finding.outcome,
                finding.detail.as_deref(),
            )?;
            match finding.outcome {
                AuditOutcome::Repaired => tracing::warn!(
                    job = id,
                    replica = finding.replica,
                    "audit: re-pinned a vanished replica"
                ),
                AuditOutcome::Missing => {
                    self.alert(&Alert::ReplicaMissing {
                        job: id,
                        replica: finding.replica.clone(),
                        detail: finding.detail.clone().unwrap_or_default(),
                    })
                    .await;
                }
                AuditOutcome::Verified => {}
            }
            records.push(AuditRecord {
                job: id,
                node: finding.replica,
                at: rfc3339(now_ms()),
                outcome: finding.outcome,
                detail: finding.detail,
            });
        }
        Ok(records)
    }
}
