//! Asking the gateway for work, and claiming it.
//!
//! A claim is committed as `claiming` before `acceptJob` is sent. If the
//! answer is lost (a timeout, a crash), the claim is settled later by asking
//! the gateway whose the job is (`jobstatus`), so a job the gateway gave us
//! is never forgotten and a job it did not give us is never worked on.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tank_gateway::{Claim, GatewayJob};

use tank_model::{ClaimId, GatewayPhase};

use crate::remote::{announce_taken, node_info, remote_input};

use super::GatewayWorker;

/// After a job was offered (won or lost), the next poll comes this soon:
/// there may be more work.
const SOON: Duration = Duration::from_secs(1);

impl GatewayWorker {
    /// One poll: announce this encoder (until that worked once), settle
    /// claims whose outcome is unknown, then ask for a job when there is room
    /// (an encode slot free, `[jobs] max_unfinished` not reached). Returns the wait before the next.
    pub(super) async fn poll_round(&self) -> Duration {
        if !self.announced.load(Ordering::Relaxed) {
            self.announce().await;
        }
        self.settle_claiming().await;
        match self.engine.has_room_for_a_claim() {
            Ok(true) => {}
            Ok(false) => return self.remote.poll_wait(),
            Err(e) => {
                tracing::error!(%e, "cannot count unfinished jobs");
                return self.remote.poll_wait();
            }
        }
        match self.remote.call("getJob", self.client.get_job()).await {
            Ok(Some(job)) => {
                self.claim(job).await;
                SOON
            }
            Ok(None) => self.remote.poll_wait(),
            Err(e) => {
                tracing::warn!(%e, "cannot ask the gateway for work");
                self.remote.poll_wait()
            }
        }
    }

    async fn announce(&self) {
        let info = node_info(&self.engine).await;
        match self
            .remote
            .call("updateNode", self.client.update_node(&info))
            .await
        {
            Ok(()) => {
                self.announced.store(true, Ordering::Relaxed);
                tracing::info!(name = info.name, peer_id = ?info.peer_id, "announced to the gateway");
            }
            Err(e) => tracing::warn!(%e, "cannot announce this encoder to the gateway yet"),
        }
    }

    /// Claims a job the gateway offered (legacy `getJob`).
    async fn claim(&self, job: GatewayJob) {
        let store = self.engine.store();
        let json = serde_json::to_string(&job).expect("JSON");
        let claim = match store.gateway_claiming(&job.id, &json) {
            Ok(Some(claim)) => claim,
            Ok(None) => {
                // The gateway offers a job we hold: it gave up on us (pings
                // lost). Ask for it back; our work on it goes on.
                match self
                    .remote
                    .call("acceptJob", self.client.accept_job(&job.id))
                    .await
                {
                    Ok(Claim::Won) => tracing::warn!(
                        gateway_job = job.id,
                        "the gateway had requeued a job we hold; claimed it back"
                    ),
                    outcome => tracing::warn!(
                        gateway_job = job.id,
                        ?outcome,
                        "the gateway requeued a job we hold and it could not be claimed back"
                    ),
                }
                return;
            }
            Err(e) => {
                tracing::error!(%e, "cannot record a claim");
                return;
            }
        };
        match self
            .remote
            .call("acceptJob", self.client.accept_job(&job.id))
            .await
        {
            Ok(Claim::Won) => self.take(claim, &job),
            Ok(Claim::Lost(why)) => {
                tracing::info!(gateway_job = job.id, why, "another encoder took the job");
                if let Err(e) = store.gateway_lost(claim, &why) {
                    tracing::error!(%e, "cannot record a lost claim");
                }
            }
            // An answer we cannot read: ask the gateway whose the job is.
            Err(e) if e.answered() => {
                tracing::warn!(gateway_job = job.id, %e, "unclear answer to acceptJob");
                self.settle(claim, &job.id).await;
            }
            // No answer: settled at a later poll.
            Err(e) => tracing::warn!(gateway_job = job.id, %e, "acceptJob got no answer"),
        }
    }

    /// Claims whose `acceptJob` answer was lost: the gateway says whose
    /// the job is.
    async fn settle_claiming(&self) {
        match self
            .engine
            .store()
            .gateway_claims(&[GatewayPhase::Claiming])
        {
            Ok(claims) => {
                for claim in claims {
                    self.settle(claim.claim, &claim.gateway_id).await;
                }
            }
            Err(e) => tracing::error!(%e, "cannot list open claims"),
        }
    }

    async fn settle(&self, claim: ClaimId, gateway_id: &str) {
        let status = match self
            .remote
            .call("jobstatus", self.client.job_status(gateway_id))
            .await
        {
            Ok(status) => status,
            Err(e) => {
                tracing::warn!(gateway_job = gateway_id, %e, "cannot ask whose the job is yet");
                return;
            }
        };
        let lost = |why: String| {
            tracing::info!(
                gateway_job = gateway_id,
                why,
                "the claim did not go through"
            );
            if let Err(e) = self.engine.store().gateway_lost(claim, &why) {
                tracing::error!(%e, "cannot record a lost claim");
            }
        };
        match status.job {
            Some(job) if job.assigned_to.as_deref() == Some(self.client.did()) => {
                self.take(claim, &job)
            }
            Some(job) => lost(format!(
                "the gateway has the job {} and assigned to {}",
                job.status.as_deref().unwrap_or("in an unknown state"),
                job.assigned_to.as_deref().unwrap_or("nobody")
            )),
            None => lost("the gateway no longer knows the job".into()),
        }
    }

    /// The job is ours: its local job is created in the same transaction
    /// that records the claim, already failed when its input is unusable.
    fn take(&self, claim: ClaimId, job: &GatewayJob) {
        let input = remote_input(&job.input.uri, "the gateway");
        let text = input.clone().unwrap_or_else(|_| job.input.uri.clone());
        let refusal = input.err();
        let json = serde_json::to_string(job).expect("JSON");
        let taken = self.engine.store().gateway_claimed(
            Some(claim),
            &job.id,
            &json,
            &text,
            refusal.as_deref(),
            self.engine.jobs_root(),
        );
        match taken {
            Ok(Some(local)) => {
                tracing::info!(
                    gateway_job = job.id,
                    job = local,
                    input = text,
                    "took a job from the gateway"
                );
                announce_taken(&self.engine, local, refusal);
            }
            Ok(None) => {}
            Err(e) => tracing::error!(gateway_job = job.id, %e, "cannot record a claimed job"),
        }
    }
}
