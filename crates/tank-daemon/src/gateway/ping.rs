//! Progress pings: every claimed job whose local job has not ended is
//! pinged every `ping_interval` (parked jobs too: they are still ours), with
//! its overall progress and its download progress in percent.

use std::collections::HashMap;
use std::time::Instant;

use tokio::sync::broadcast;

use super::GatewayWorker;
use crate::job_progress::JobProgress;
use tank_model::JobEvent;
use tank_model::{ClaimId, GatewayClaim, GatewayPhase};

pub(super) struct Pinger {
    progress: JobProgress,
    last: HashMap<ClaimId, Instant>,
}

impl Pinger {
    pub fn new(events: broadcast::Receiver<JobEvent>) -> Pinger {
        Pinger {
            progress: JobProgress::new(events),
            last: HashMap::new(),
        }
    }

    /// Pings every claimed job whose ping is due, all at once.
    pub async fn round(&mut self, worker: &GatewayWorker) {
        self.progress.take_events();
        let claims = match worker
            .engine
            .store()
            .gateway_claims(&[GatewayPhase::Claimed])
        {
            Ok(claims) => claims,
            Err(e) => {
                tracing::error!(%e, "cannot list claimed jobs");
                return;
            }
        };
        self.last
            .retain(|claim, _| claims.iter().any(|c| c.claim == *claim));
        let every = worker.config().ping_interval;
        let due: Vec<&GatewayClaim> = claims
            .iter()
            .filter(|c| c.job_state.is_some_and(|s| !s.is_terminal()))
            .filter(|c| {
                self.last
                    .get(&c.claim)
                    .is_none_or(|at| at.elapsed() >= every)
            })
            .collect();
        let pings = due.iter().map(|claim| {
            let (overall, download) = match (claim.job_id, claim.job_state) {
                (Some(job), Some(state)) => self.progress.of(&worker.engine, job, state),
                _ => (0.0, 0.0),
            };
            let ping = worker.client.ping_job(&claim.gateway_id, overall, download);
            async move { (claim.claim, worker.remote.call("pingJob", ping).await) }
        });
        for (claim, outcome) in futures_util::future::join_all(pings).await {
            self.last.insert(claim, Instant::now());
            let error = outcome.as_ref().err().map(ToString::to_string);
            if let Some(error) = &error {
                tracing::warn!(claim, error, "progress ping failed");
            }
            if let Err(e) = worker
                .engine
                .store()
                .gateway_pinged(claim, error.as_deref())
            {
                tracing::error!(%e, "cannot record a ping");
            }
        }
    }
}
