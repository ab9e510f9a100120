//! Progress pings: every claimed job whose local job has not ended is
//! pinged every `ping_interval` (parked jobs too: they are still ours), with
//! its overall progress and its download progress in percent.

use std::collections::HashMap;
use std::time::Instant;

use tokio::sync::broadcast;

use super::GatewayWorker;
use tank_model::JobEvent;
use tank_model::{ClaimId, GatewayClaim, GatewayPhase};
use tank_model::{JobId, JobState};

pub(super) struct Pinger {
    events: broadcast::Receiver<JobEvent>,
    /// Download progress of running jobs, in percent, from their events.
    downloads: HashMap<JobId, f64>,
    last: HashMap<ClaimId, Instant>,
}

impl Pinger {
    pub fn new(events: broadcast::Receiver<JobEvent>) -> Pinger {
        Pinger {
            events,
            downloads: HashMap::new(),
            last: HashMap::new(),
        }
    }

    /// Pings every claimed job whose ping is due, all at once.
    pub async fn round(&mut self, worker: &GatewayWorker) {
        self.take_events();
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
            let (overall, download) = self.progress(worker, claim);
            let ping = worker.client.ping_job(&claim.gateway_id, overall, download);
            async move { (claim.claim, worker.call("pingJob", ping).await) }
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

    fn take_events(&mut self) {
        loop {
            match self.events.try_recv() {
                Ok(JobEvent::Download { job, bytes, total }) => {
                    if let Some(total) = total.filter(|t| *t > 0) {
                        let percent = (bytes as f64 * 100.0 / total as f64).min(100.0);
                        self.downloads.insert(job, percent);
                    }
                }
                Ok(JobEvent::State { job, state, .. }) if state.is_terminal() => {
                    self.downloads.remove(&job);
                }
                Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) => {}
                Err(_) => return,
            }
        }
    }

    /// Overall and download progress of a claimed job, in percent.
    fn progress(&self, worker: &GatewayWorker, claim: &GatewayClaim) -> (f64, f64) {
        let (Some(job), Some(state)) = (claim.job_id, claim.job_state) else {
            return (0.0, 0.0);
        };
        let encoded = (state == JobState::Encoding)
            .then(|| worker.engine.store().job(job).ok()?.progress?.percent)
            .flatten();
        overall(state, self.downloads.get(&job).copied(), encoded)
    }
}

/// A job's progress as the gateway wants it: overall percent (download a
/// tenth, encoding three quarters, then upload, pinning and verification)
/// and download percent.
fn overall(state: JobState, downloaded: Option<f64>, encoded: Option<f64>) -> (f64, f64) {
    let downloaded = match state {
        JobState::Queued => 0.0,
        JobState::Downloading => downloaded.unwrap_or(0.0),
        _ => 100.0,
    };
    let overall = match state {
        JobState::Queued => 0.0,
        JobState::Downloading => downloaded / 10.0,
        JobState::Probing => 10.0,
        JobState::Encoding => 10.0 + encoded.unwrap_or(0.0) * 0.75,
        JobState::Uploading => 85.0,
        JobState::Pinning | JobState::AwaitingReplicas => 90.0,
        JobState::Verifying => 95.0,
        JobState::Done | JobState::Failed | JobState::Cancelled => 100.0,
    };
    (
        (overall * 10.0).round() / 10.0,
        (downloaded * 10.0).round() / 10.0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_grows_through_the_stages_and_never_goes_back() {
        let steps = [
            overall(JobState::Queued, None, None),
            overall(JobState::Downloading, Some(50.0), None),
            overall(JobState::Downloading, Some(100.0), None),
            overall(JobState::Probing, None, None),
            overall(JobState::Encoding, None, Some(0.0)),
            overall(JobState::Encoding, None, Some(60.0)),
            overall(JobState::Encoding, None, Some(100.0)),
            overall(JobState::Uploading, None, None),
            overall(JobState::Pinning, None, None),
            overall(JobState::Verifying, None, None),
        ];
        for pair in steps.windows(2) {
            assert!(pair[0].0 <= pair[1].0, "{pair:?}");
        }
        assert_eq!(steps[1], (5.0, 50.0));
        assert_eq!(steps[5], (55.0, 100.0));
        assert_eq!(overall(JobState::AwaitingReplicas, None, None).0, 90.0);
    }
}
