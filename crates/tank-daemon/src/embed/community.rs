//! Community mode: this encoder registers with the embed system, says it is
//! online, and claims a job only when it has room for one.
//!
//! The reference encoder registers once and never polls again if that
//! fails, and claims a job every minute whatever its load; here
//! registration is retried with backoff, repeated whenever the embed system
//! forgets us (404), and `myJob` is asked only while an encode slot is
//! free and fewer than `[jobs] max_unfinished` jobs are unfinished.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tank_gateway::{EmbedGateway, EmbedJob, GatewayError};
use tank_model::{EmbedVia, EmbedVideo};
use tank_store::{now_ms, rfc3339};
use tokio_util::sync::CancellationToken;

use super::EmbedWorker;
use crate::alerts::Alert;
use crate::remote::{node_info, VERSION};

/// After a job was claimed, the next ask comes this soon: there may be
/// more work, and room for it.
const SOON: Duration = Duration::from_secs(1);

impl EmbedWorker {
    pub(super) async fn community_loop(&self, client: &EmbedGateway, stop: CancellationToken) {
        let mut next_heartbeat = Instant::now();
        loop {
            let wait = self.community_round(client, &mut next_heartbeat).await;
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// One round: register if needed, heartbeat when due, then claim a job
    /// if there is room. Returns the wait before the next round.
    async fn community_round(
        &self,
        client: &EmbedGateway,
        next_heartbeat: &mut Instant,
    ) -> Duration {
        if !self.registered.load(Ordering::Relaxed) && !self.register(client).await {
            return self.remote.poll_wait();
        }
        if Instant::now() >= *next_heartbeat {
            let jitter = self.config().poll_jitter.mul_f64(fastrand::f64());
            *next_heartbeat = Instant::now() + self.config().heartbeat_interval + jitter;
            let now = rfc3339(now_ms());
            match self
                .remote
                .call("heartbeat", client.heartbeat(&now, VERSION))
                .await
            {
                Ok(()) => {}
                Err(e) if e.is_not_registered() => return self.forgotten(&e),
                Err(e) => tracing::warn!(%e, "heartbeat to the embed system failed"),
            }
        }
        if self.refused.lock().expect("not poisoned").is_some() {
            // Asked again only this rarely: an operator may have been
            // re-enabled, but hammering a ban helps nobody.
            return self.config().max_backoff;
        }
        if !self.has_room() {
            return self.remote.poll_wait();
        }
        let now = rfc3339(now_ms());
        match self.remote.call("myJob", client.my_job(&now)).await {
            Ok(Some(job)) => {
                self.take(job);
                SOON
            }
            Ok(None) => self.remote.poll_wait(),
            Err(e) if e.is_not_registered() => self.forgotten(&e),
            Err(e) if e.is_banned() => {
                self.refuse(&e).await;
                self.config().max_backoff
            }
            Err(e) => {
                tracing::warn!(%e, "cannot ask the embed system for work");
                self.remote.poll_wait()
            }
        }
    }

    /// `updateNode`; keeps the record the embed system answers with.
    async fn register(&self, client: &EmbedGateway) -> bool {
        let info = node_info(&self.engine).await;
        match self
            .remote
            .call("updateNode", client.update_node(&info))
            .await
        {
            Ok(record) => {
                tracing::info!(
                    name = record.name,
                    tier = record.tier,
                    access = record.access,
                    enabled = record.enabled,
                    "registered with the embed system"
                );
                let json = serde_json::to_value(&record).expect("JSON");
                if let Err(e) = self.engine.store().embed_set_encoder(client.did(), &json) {
                    tracing::error!(%e, "cannot keep the embed system's record of this encoder");
                }
                self.registered.store(true, Ordering::Relaxed);
                true
            }
            Err(e) => {
                tracing::warn!(%e, "cannot register with the embed system yet");
                false
            }
        }
    }

    /// The embed system no longer knows us: register again at once.
    fn forgotten(&self, error: &GatewayError) -> Duration {
        tracing::warn!(%error, "the embed system forgot this encoder; registering again");
        self.registered.store(false, Ordering::Relaxed);
        SOON
    }

    /// The embed system refuses us work: said once, loudly.
    async fn refuse(&self, error: &GatewayError) {
        let reason = error.to_string();
        let first = self
            .refused
            .lock()
            .expect("not poisoned")
            .replace(reason.clone())
            .is_none();
        if first {
            tracing::error!(reason, "the embed system refuses this encoder work");
            self.remote
                .alerts()
                .send(&Alert::EncoderRefused { reason })
                .await;
        }
    }

    /// Whether one more job fits: an encode slot free for it, so a claimed
    /// job starts at once and its progress clock is never spent waiting in
    /// our queue, and fewer than `[jobs] max_unfinished` unfinished jobs.
    fn has_room(&self) -> bool {
        self.engine.has_room_for_a_claim().unwrap_or_else(|e| {
            tracing::error!(%e, "cannot count unfinished jobs");
            false
        })
    }

    /// The job is ours: recorded with its key, it becomes a local job.
    fn take(&self, job: EmbedJob) {
        *self.refused.lock().expect("not poisoned") = None;
        let video = EmbedVideo {
            via: EmbedVia::Community,
            owner: job.owner,
            permlink: job.permlink,
            input_cid: job.input_cid,
            short: job.short,
            premium: job.premium,
            webhook_url: job.webhook_url.to_string(),
            frontend_app: job.frontend_app,
            original_filename: job.original_filename,
        };
        match self.record(&video, &job.api_key) {
            Ok((_, true)) => {}
            Ok((local, false)) => tracing::warn!(
                owner = video.owner,
                permlink = video.permlink,
                job = local,
                "the embed system handed us a job we hold again; its new key replaces the old"
            ),
            Err(e) => {
                tracing::error!(owner = video.owner, permlink = video.permlink, %e, "cannot record a claimed job")
            }
        }
    }
}
