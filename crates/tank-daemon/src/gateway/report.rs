//! Reports to the gateway, exactly once, and only about jobs that ended.
//!
//! A `done` job (durable: its quorum verified, its manifest read back) is
//! reported with `finishJob` and its CID; a failed or cancelled job with
//! `failJob`. The report is committed first (`reporting`), then sent until
//! the gateway has it; after a crash the committed report is sent again, so
//! the gateway never hears two different results. When the gateway refuses
//! a report, it is asked what it knows of the job: it may already have our
//! result (the first send got through), or have given the job to another
//! encoder. Either way the report is settled and not sent again.

use tank_gateway::{FailReport, Finish, GatewayError};

use tank_model::{GatewayClaim, GatewayPhase, JobEvent, JobState, Report};
use tank_store::{now_ms, rfc3339};

use super::GatewayWorker;
use crate::remote::VERSION;

impl GatewayWorker {
    /// Fixes the report of every claimed job whose local job ended, then
    /// sends each report and release that is due.
    pub(super) async fn report_round(&self) {
        let store = self.engine.store();
        let phases = [
            GatewayPhase::Claimed,
            GatewayPhase::Reporting,
            GatewayPhase::Releasing,
        ];
        let claims = match store.gateway_claims(&phases) {
            Ok(claims) => claims,
            Err(e) => {
                tracing::error!(%e, "cannot list gateway jobs to report");
                return;
            }
        };
        let now = now_ms();
        for mut claim in claims {
            if claim.next_try_at.is_some_and(|at| at > now) {
                continue;
            }
            match claim.phase {
                GatewayPhase::Claimed => {
                    let Some(report) = self.report_of(&claim) else {
                        continue;
                    };
                    if let Err(e) = store.gateway_reporting(claim.claim, &report) {
                        tracing::error!(%e, "cannot record a report");
                        continue;
                    }
                    claim.report = Some(report);
                    self.send_report(&claim).await;
                }
                GatewayPhase::Reporting => self.send_report(&claim).await,
                GatewayPhase::Releasing => self.send_release(&claim).await,
                _ => {}
            }
        }
    }

    /// What to report about a claimed job, once its local job has ended.
    fn report_of(&self, claim: &GatewayClaim) -> Option<Report> {
        let state = claim.job_state.filter(|s| s.is_terminal())?;
        let job = self.engine.store().job(claim.job_id?).ok()?;
        let failed = |retryable: bool| Report::Fail {
            error: job
                .error
                .clone()
                .unwrap_or_else(|| format!("the job {state}")),
            retryable,
            at: rfc3339(job.updated_at),
        };
        match state {
            // `done` means durable: nothing else is ever reported finished.
            JobState::Done => match &job.cid {
                Some(cid) => Some(Report::Finish { cid: cid.clone() }),
                None => {
                    tracing::error!(job = job.id, "a done job without a CID is not reported");
                    None
                }
            },
            JobState::Failed => Some(failed(job.retryable.unwrap_or(true))),
            // Stopped here on purpose: another encoder can do it.
            _ => Some(failed(true)),
        }
    }

    async fn send_report(&self, claim: &GatewayClaim) {
        let Some(report) = &claim.report else {
            return;
        };
        let id = &claim.gateway_id;
        let outcome = match report {
            Report::Finish { cid } => self
                .remote
                .call("finishJob", self.client.finish_job(id, cid))
                .await
                .map(|finish| match finish {
                    Finish::Accepted => "accepted".to_owned(),
                    Finish::Duplicate(said) => format!("the gateway already had it ({said})"),
                }),
            Report::Fail {
                error,
                retryable,
                at,
            } => {
                let report = FailReport {
                    error: error.clone(),
                    timestamp: at.clone(),
                    retryable: *retryable,
                    encoder_version: VERSION.to_owned(),
                };
                self.remote
                    .call("failJob", self.client.fail_job(id, &report))
                    .await
                    .map(|()| "accepted".to_owned())
            }
        };
        match outcome {
            Ok(answer) => self.reported(claim, &answer),
            Err(e) if e.answered() => self.settle_refused(claim, report, e).await,
            Err(e) => self.retry_later(claim, &e),
        }
    }

    /// The gateway refused a report: what does it know of the job?
    async fn settle_refused(&self, claim: &GatewayClaim, report: &Report, refusal: GatewayError) {
        let status = match self
            .remote
            .call("jobstatus", self.client.job_status(&claim.gateway_id))
            .await
        {
            Ok(status) => status,
            Err(_) => return self.retry_later(claim, &refusal),
        };
        let Some(job) = status.job else {
            return self.lost(
                claim,
                &format!("the gateway no longer knows the job ({refusal})"),
            );
        };
        if let Report::Finish { cid } = report {
            if job.result_cid() == Some(cid.as_str()) {
                return self.reported(claim, &format!("the gateway already had it ({refusal})"));
            }
        }
        if job.assigned_to.as_deref() != Some(self.client.did()) {
            let owner = job.assigned_to.as_deref().unwrap_or("nobody");
            return self.lost(
                claim,
                &format!("the gateway gave the job to {owner} ({refusal})"),
            );
        }
        self.retry_later(claim, &refusal)
    }

    async fn send_release(&self, claim: &GatewayClaim) {
        match self
            .remote
            .call("rejectJob", self.client.reject_job(&claim.gateway_id))
            .await
        {
            Ok(()) => self.released(claim, "given back"),
            // The legacy gateway ignores a release of a job that is no
            // longer ours; any answer settles it.
            Err(e) if e.answered() => self.released(claim, &e.to_string()),
            Err(e) => self.retry_later(claim, &e),
        }
    }

    /// On shutdown: claimed jobs that have not started encoding go back to
    /// the gateway for another encoder. Jobs further on keep their claim
    /// and resume at the next start.
    pub(crate) async fn release_unstarted(&self) {
        let store = self.engine.store();
        let claims = match store.gateway_claims(&[GatewayPhase::Claimed]) {
            Ok(claims) => claims,
            Err(e) => return tracing::error!(%e, "cannot list claimed jobs to release"),
        };
        for claim in claims {
            let (Some(job), Some(state)) = (claim.job_id, claim.job_state) else {
                continue;
            };
            if !matches!(
                state,
                JobState::Queued | JobState::Downloading | JobState::Probing
            ) {
                continue;
            }
            let reason = "given back to the gateway: tank stopped before encoding it";
            if let Err(e) = store.gateway_releasing(claim.claim, job, state, reason) {
                tracing::error!(%e, "cannot release a claimed job");
                continue;
            }
            // Committed with the claim's phase, outside the engine's
            // lifecycle: announced here, as `commit` announces its moves.
            self.engine.events().send(JobEvent::State {
                job,
                state: JobState::Cancelled,
                detail: Some(reason.to_owned()),
            });
            tracing::info!(
                gateway_job = claim.gateway_id,
                job,
                "releasing a job not yet encoding"
            );
            self.send_release(&claim).await;
        }
    }

    fn reported(&self, claim: &GatewayClaim, answer: &str) {
        tracing::info!(gateway_job = claim.gateway_id, report = ?claim.report, answer, "reported to the gateway");
        if let Err(e) = self.engine.store().gateway_reported(claim.claim, answer) {
            tracing::error!(%e, "cannot record a sent report");
        }
    }

    fn released(&self, claim: &GatewayClaim, answer: &str) {
        tracing::info!(
            gateway_job = claim.gateway_id,
            answer,
            "released to the gateway"
        );
        if let Err(e) = self.engine.store().gateway_released(claim.claim, answer) {
            tracing::error!(%e, "cannot record a release");
        }
    }

    fn lost(&self, claim: &GatewayClaim, why: &str) {
        tracing::warn!(
            gateway_job = claim.gateway_id,
            why,
            "the job is no longer ours; its report is dropped"
        );
        if let Err(e) = self.engine.store().gateway_lost(claim.claim, why) {
            tracing::error!(%e, "cannot record a lost job");
        }
    }

    fn retry_later(&self, claim: &GatewayClaim, error: &GatewayError) {
        let wait = self
            .remote
            .backoff(self.config().ping_interval, claim.report_tries);
        tracing::warn!(gateway_job = claim.gateway_id, %error, retry_in = ?wait, "gateway call failed; will try again");
        let next = now_ms() + wait.as_millis() as i64;
        if let Err(e) =
            self.engine
                .store()
                .gateway_send_failed(claim.claim, &error.to_string(), next)
        {
            tracing::error!(%e, "cannot record a failed report");
        }
    }
}
