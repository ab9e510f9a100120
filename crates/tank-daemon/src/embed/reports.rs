//! Everything sent to a job's webhook: progress while the job is open, then
//! its report, from the outbox, until the receiver has it.
//!
//! One loop does both, so nothing about a job can overtake its report: a
//! job's progress is sent only while it is open, it closes in the same
//! transaction that commits its report, and the report goes out after.
//! The embed system re-opens a completed job on a late progress call, so
//! this order is what keeps a published video published.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tank_config::GatewayConfig;
use tank_gateway::{CallbackKey, GatewayError, ProgressReport, WebhookReport, WebhookStatus};
use tank_model::{EmbedClaim, EmbedId, JobState, OutboxEntry};
use tank_store::{now_ms, rfc3339};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::{job_id, EmbedWorker};
use crate::alerts::Alert;
use crate::job_progress::JobProgress;

/// How often open jobs and the outbox are looked at.
const TICK: Duration = Duration::from_secs(1);

/// The first retry of a report comes after this; each failure doubles it,
/// up to `[gateway] max_backoff`.
const FIRST_RETRY: Duration = Duration::from_secs(5);

/// The last progress call a job's receiver took (or was offered).
struct Sent {
    at: Instant,
    percent: u8,
    stage: &'static str,
}

impl EmbedWorker {
    pub(super) async fn reports_loop(&self, stop: CancellationToken) {
        let mut progress = JobProgress::new(self.engine.subscribe());
        let mut sent: HashMap<EmbedId, Sent> = HashMap::new();
        loop {
            progress.take_events();
            self.reports_round(&progress, &mut sent).await;
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(TICK) => {}
            }
        }
    }

    /// Progress for open jobs that are due, reports for jobs that ended,
    /// then the outbox.
    async fn reports_round(&self, progress: &JobProgress, sent: &mut HashMap<EmbedId, Sent>) {
        let open = match self.engine.store().embed_open() {
            Ok(open) => open,
            Err(e) => return tracing::error!(%e, "cannot list open embed jobs"),
        };
        sent.retain(|id, _| open.iter().any(|c| c.id == *id));
        for claim in &open {
            match claim.job_state {
                Some(state) if state.is_terminal() => self.close(claim, state),
                Some(state) if self.past_replica_deadline(claim, state) => {}
                Some(state) => {
                    let (overall, _) = progress.of(&self.engine, claim.job_id, state);
                    let percent = overall.round().clamp(0.0, 99.0) as u8;
                    let stage = state.as_str();
                    if progress_due(sent.get(&claim.id), percent, stage, self.config()) {
                        sent.insert(
                            claim.id,
                            Sent {
                                at: Instant::now(),
                                percent,
                                stage,
                            },
                        );
                        self.send_progress(claim, percent, stage).await;
                    }
                }
                None => {}
            }
        }
        self.send_outbox().await;
    }

    async fn send_progress(&self, claim: &EmbedClaim, percent: u8, stage: &str) {
        let Some((url, key)) = self.target(claim) else {
            return;
        };
        let report = ProgressReport {
            owner: claim.video.owner.clone(),
            permlink: claim.video.permlink.clone(),
            progress: percent,
            stage: stage.to_owned(),
        };
        let outcome = self.webhooks.progress(&url, &key, &report).await;
        let store = self.engine.store();
        match outcome {
            Ok(()) => {
                if let Err(e) = store.embed_progress(claim.id, percent, None) {
                    tracing::error!(%e, "cannot record a progress call");
                }
            }
            // 401: the key rotated, another encoder claimed the job. 404:
            // the embed system no longer has it. Either way it is not ours.
            Err(GatewayError::Refused {
                status: status @ (401 | 404),
                message,
                ..
            }) => {
                let reason = format!(
                    "the embed system took the job back (progress answered HTTP {status}: {message})"
                );
                self.lost(claim, &reason);
            }
            Err(e) => {
                tracing::warn!(owner = claim.video.owner, permlink = claim.video.permlink, %e, "progress call failed");
                if let Err(e) = store.embed_progress(claim.id, percent, Some(&e.to_string())) {
                    tracing::error!(%e, "cannot record a failed progress call");
                }
            }
        }
    }

    /// Whether the job has been securing replicas for `replica_deadline`
    /// without reaching its quorum; if so it is given up (failed,
    /// retryable, its pins kept) and reported `failed` next round, so
    /// 3Speak can hand it out again rather than wait on us.
    fn past_replica_deadline(&self, claim: &EmbedClaim, state: JobState) -> bool {
        // (A job retrying a stage after pinning began is still securing them.)
        if !matches!(
            state,
            JobState::Pinning | JobState::AwaitingReplicas | JobState::AwaitingRetry
        ) {
            return false;
        }
        let since = match self
            .engine
            .store()
            .entered_at(claim.job_id, JobState::Pinning)
        {
            Ok(Some(since)) => since,
            Ok(None) => return false,
            Err(e) => {
                tracing::error!(%e, "cannot read when a job began pinning");
                return false;
            }
        };
        let deadline = self.config().replica_deadline;
        if now_ms() - since < deadline.as_millis() as i64 {
            return false;
        }
        let reason = format!(
            "the quorum of durable replicas was not met within {} of pinning ([gateway] replica_deadline); the pins made so far are kept",
            humantime::format_duration(deadline)
        );
        match self.engine.give_up(claim.job_id, &reason) {
            Ok(()) => {
                tracing::warn!(
                    owner = claim.video.owner,
                    permlink = claim.video.permlink,
                    job = claim.job_id,
                    reason,
                    "embed job given up"
                );
                true
            }
            Err(e) => {
                tracing::warn!(job = claim.job_id, %e, "cannot give up the job");
                false
            }
        }
    }

    /// The job is no longer ours: closed with no report, then its local
    /// job is cancelled (a crash between the two leaves a job that runs
    /// on and reports nothing, which is what a job not ours should do).
    fn lost(&self, claim: &EmbedClaim, reason: &str) {
        tracing::warn!(
            owner = claim.video.owner,
            permlink = claim.video.permlink,
            job = claim.job_id,
            reason,
            "embed job lost; its local job is cancelled"
        );
        if let Err(e) = self.engine.store().embed_lost(claim.id, reason) {
            return tracing::error!(%e, "cannot record a lost embed job");
        }
        if let Err(e) = self.engine.cancel_because(claim.job_id, reason) {
            tracing::warn!(job = claim.job_id, %e, "cannot cancel the lost job");
        }
    }

    /// The local job ended: the job closes and its report is committed.
    fn close(&self, claim: &EmbedClaim, state: JobState) {
        let Some(report) = self.report_of(claim, state) else {
            return;
        };
        let body = serde_json::to_value(&report).expect("JSON");
        match self.engine.store().embed_close(claim.id, &body) {
            Ok(true) => {
                tracing::info!(owner = claim.video.owner, permlink = claim.video.permlink, status = ?report.status, "report committed to the outbox")
            }
            Ok(false) => {}
            Err(e) => tracing::error!(%e, "cannot commit a report"),
        }
    }

    /// What to report about a job whose local job ended.
    fn report_of(&self, claim: &EmbedClaim, state: JobState) -> Option<WebhookReport> {
        let job = match self.engine.store().job(claim.job_id) {
            Ok(job) => job,
            Err(e) => {
                tracing::error!(job = claim.job_id, %e, "cannot read an ended job");
                return None;
            }
        };
        let mut report = WebhookReport {
            owner: claim.video.owner.clone(),
            permlink: claim.video.permlink.clone(),
            input_cid: claim.video.input_cid.clone(),
            status: WebhookStatus::Failed,
            progress: None,
            manifest_cid: None,
            video_url: None,
            job_id: job_id(job.id),
            processing_time_seconds: 0.0,
            qualities_encoded: Vec::new(),
            encoder_id: self.config().node_name(),
            error: None,
            frontend_app: claim.video.frontend_app.clone(),
            original_filename: claim.video.original_filename.clone(),
            timestamp: rfc3339(job.updated_at),
        };
        match (state, &job.cid) {
            // `done` means durable: nothing else is ever reported complete.
            (JobState::Done, Some(cid)) => {
                report.status = WebhookStatus::Complete;
                report.progress = Some(100);
                report.video_url = Some(format!("ipfs://{cid}/{}", tank_media::MASTER_PLAYLIST));
                report.manifest_cid = Some(cid.clone());
                report.processing_time_seconds =
                    (job.updated_at - job.created_at).max(0) as f64 / 1000.0;
                report.qualities_encoded = job.renditions.iter().map(|r| r.name.clone()).collect();
            }
            (JobState::Done, None) => {
                tracing::error!(job = job.id, "a done job without a CID is not reported");
                return None;
            }
            _ => {
                report.error = Some(job.error.unwrap_or_else(|| format!("the job {state}")));
            }
        }
        Some(report)
    }

    /// Sends every report whose try is due.
    async fn send_outbox(&self) {
        let store = self.engine.store();
        let due = match store.outbox_due(now_ms()) {
            Ok(due) => due,
            Err(e) => return tracing::error!(%e, "cannot list the outbox"),
        };
        for entry in due {
            self.send_report(&entry).await;
        }
    }

    async fn send_report(&self, entry: &OutboxEntry) {
        let store = self.engine.store();
        let claim = match store.embed_claim_of(entry.job_id) {
            Ok(Some(claim)) => claim,
            Ok(None) => return,
            Err(e) => return tracing::error!(%e, "cannot read a report's job"),
        };
        let Some((url, key)) = self.target(&claim) else {
            return;
        };
        let report: WebhookReport = match serde_json::from_value(entry.body.clone()) {
            Ok(report) => report,
            Err(e) => {
                return tracing::error!(id = entry.id, %e, "a committed report cannot be read")
            }
        };
        match self.webhooks.report(&url, &key, &report).await {
            Ok(answer) => {
                tracing::info!(
                    owner = entry.owner,
                    permlink = entry.permlink,
                    status = entry.status_reported,
                    answer,
                    "report delivered"
                );
                if let Err(e) = store.outbox_delivered(entry.id, &answer) {
                    tracing::error!(%e, "cannot record a delivered report");
                }
            }
            Err(e) if e.is_final() => {
                let detail = e.to_string();
                tracing::error!(
                    owner = entry.owner,
                    permlink = entry.permlink,
                    detail,
                    "report refused for good"
                );
                if let Err(e) = store.outbox_refused(entry.id, &detail) {
                    tracing::error!(%e, "cannot record a refused report");
                }
                self.remote
                    .alerts()
                    .send(&Alert::ReportRefused {
                        job: entry.job_id,
                        detail,
                    })
                    .await;
            }
            Err(e) => {
                let wait = report_retry(self.config(), entry.tries);
                tracing::warn!(owner = entry.owner, permlink = entry.permlink, %e, retry_in = ?wait, "report not delivered; will try again");
                let next = now_ms() + wait.as_millis() as i64;
                if let Err(e) = store.outbox_retry(entry.id, &e.to_string(), next) {
                    tracing::error!(%e, "cannot record a failed report");
                }
            }
        }
    }

    /// Where a job's calls go, and the key they carry.
    fn target(&self, claim: &EmbedClaim) -> Option<(Url, CallbackKey)> {
        let url = match Url::parse(&claim.video.webhook_url) {
            Ok(url) => url,
            Err(e) => {
                tracing::error!(owner = claim.video.owner, permlink = claim.video.permlink, %e, "the job's webhook URL cannot be read");
                return None;
            }
        };
        match self.engine.store().embed_key(claim.id) {
            Ok(Some(key)) => Some((url, CallbackKey::new(key))),
            Ok(None) => {
                tracing::error!(
                    owner = claim.video.owner,
                    permlink = claim.video.permlink,
                    "the job's key is missing"
                );
                None
            }
            Err(e) => {
                tracing::error!(%e, "cannot read a job's key");
                None
            }
        }
    }
}

/// Whether a progress call is due: at least every `progress_interval`
/// (the embed system resets a job silent for 30 minutes), and on a change
/// of percent or stage at most once per `encode_progress_interval`. While
/// encoding, never more often than that (3Speak's own rule).
fn progress_due(last: Option<&Sent>, percent: u8, stage: &str, config: &GatewayConfig) -> bool {
    let Some(last) = last else {
        return true;
    };
    let since = last.at.elapsed();
    let changed = percent != last.percent || stage != last.stage;
    let encoding = stage == JobState::Encoding.as_str();
    if encoding && since < config.encode_progress_interval {
        return false;
    }
    since >= config.progress_interval || (changed && since >= config.encode_progress_interval)
}

/// The wait before a report's next try, after `tries` failed ones: doubled
/// each time up to `max_backoff`, with up to a quarter more at random, so
/// encoders coming back from one outage do not all send at once.
fn report_retry(config: &GatewayConfig, tries: u32) -> Duration {
    let base = FIRST_RETRY
        .saturating_mul(2u32.saturating_pow(tries.min(16)))
        .min(config.max_backoff.max(FIRST_RETRY));
    base + base.mul_f64(fastrand::f64() / 4.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> GatewayConfig {
        GatewayConfig::default()
    }

    fn sent(ago: Duration, percent: u8, stage: &'static str) -> Sent {
        Sent {
            at: Instant::now() - ago,
            percent,
            stage,
        }
    }

    #[test]
    fn progress_goes_out_on_change_at_most_every_ten_seconds_and_at_least_every_interval() {
        let config = config();
        assert!(
            progress_due(None, 0, "queued", &config),
            "the first call goes out at once"
        );
        let just_now = sent(Duration::from_secs(2), 40, "encoding");
        assert!(
            !progress_due(Some(&just_now), 55, "encoding", &config),
            "a change within 10 s waits"
        );
        let a_while = sent(Duration::from_secs(11), 40, "encoding");
        assert!(progress_due(Some(&a_while), 41, "encoding", &config));
        assert!(progress_due(Some(&a_while), 40, "uploading", &config));
        assert!(
            !progress_due(Some(&a_while), 40, "encoding", &config),
            "nothing new, not yet due"
        );
        let quiet = sent(config.progress_interval, 90, "awaiting_replicas");
        assert!(
            progress_due(Some(&quiet), 90, "awaiting_replicas", &config),
            "a long wait still says it is alive"
        );
    }

    #[test]
    fn report_retries_back_off_up_to_the_limit_with_jitter() {
        let config = config();
        let first = report_retry(&config, 0);
        assert!(
            first >= FIRST_RETRY && first <= FIRST_RETRY.mul_f64(1.25),
            "{first:?}"
        );
        let late = report_retry(&config, 30);
        assert!(
            late >= config.max_backoff && late <= config.max_backoff.mul_f64(1.25),
            "{late:?}"
        );
    }
}
