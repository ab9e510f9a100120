//! Work from the legacy 3Speak encoder gateway, taken by `tank daemon` (and
//! the desktop app) when `[gateway] enabled` with `mode = "legacy"`.
//!
//! - `claim.rs`: announce this encoder, ask for work while below the
//!   concurrency limit, claim it (`acceptJob`) and turn it into a local
//!   job, in one transaction. A lost race is an answer, not an error.
//! - `ping.rs`: every claimed job's progress, at least every 30 s, for as
//!   long as it is ours (parked jobs too), so the gateway does not give it
//!   away.
//! - `report.rs`: when the local job ends, its report (`finishJob` with the
//!   CID only when the job is `done`, i.e. durable; else `failJob` with the
//!   right `retryable`) is committed, then sent until the gateway has it.
//!   After a crash the same report is sent again; an answer that the gateway
//!   already has it counts as sent. On shutdown, claimed jobs that have not
//!   started encoding are given back (`rejectJob`).
//!
//! The local jobs themselves are run by the scheduler like any other job.
//! The gateway is watched like a node: every call is a health sample, its
//! state moves between healthy, degraded and down with the same hysteresis,
//! down and recovered raise alerts, and failed calls in a row make polls
//! and reports back off.

mod claim;
pub(crate) mod identity;
mod ping;
mod report;

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tank_gateway::{EncoderGateway, GatewayError};
use tokio_util::sync::CancellationToken;

use tank_config::{GatewayConfig, GatewayMode};
use tank_engine::Engine;

use crate::error::DaemonError;
use tank_model::{GatewayClaim, HealthRow, HealthSample, HealthState};
use tank_store::now_ms;

use crate::alerts::{Alert, Alerts};
use crate::health::{HealthMonitor, Probe};
use identity::IdentitySource;

/// The gateway's name in the health store.
pub const GATEWAY_HEALTH: &str = "3speak-gateway";

/// How often claimed jobs are looked at (pings due, reports to send).
const TEND_TICK: Duration = Duration::from_secs(1);

/// What this encoder tells the gateway it runs.
const VERSION: &str = concat!("tank-encoder/", env!("CARGO_PKG_VERSION"));

/// The gateway side of the daemon. Cheap to share.
pub(crate) struct GatewayWorker {
    engine: Engine,
    /// The gateway is judged like a node, by the same monitor.
    monitor: HealthMonitor,
    alerts: Alerts,
    client: EncoderGateway,
    /// Failed calls in a row: polls and report retries back off.
    failures: AtomicU32,
    announced: AtomicBool,
}

/// What `tank gateway` shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GatewayStatus {
    pub enabled: bool,
    pub url: String,
    pub mode: GatewayMode,
    pub did: String,
    pub identity: IdentitySource,
    pub state: HealthState,
    pub health: Option<HealthRow>,
    /// Latest calls, newest first.
    pub history: Vec<HealthSample>,
    /// Latest claims, newest first.
    pub claims: Vec<GatewayClaim>,
}

impl GatewayWorker {
    pub fn new(
        engine: &Engine,
        monitor: HealthMonitor,
        alerts: Alerts,
    ) -> Result<GatewayWorker, DaemonError> {
        let config = &engine.config().gateway;
        let (identity, _) = identity::load(engine.secrets())?;
        tracing::info!(did = identity.did(), gateway = %tank_ipfs::redacted(&config.url), "gateway identity");
        Ok(GatewayWorker {
            client: EncoderGateway::new(&config.url, Arc::new(identity), config.timeout),
            engine: engine.clone(),
            monitor,
            alerts,
            failures: AtomicU32::new(0),
            announced: AtomicBool::new(false),
        })
    }

    fn config(&self) -> &GatewayConfig {
        &self.engine.config().gateway
    }

    /// Polls for work and tends claimed jobs until `stop`.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        let polls = {
            let (worker, stop) = (self.clone(), stop.clone());
            tokio::spawn(async move { worker.poll_loop(stop).await })
        };
        self.tend_loop(stop).await;
        let _ = polls.await;
    }

    async fn poll_loop(&self, stop: CancellationToken) {
        loop {
            let wait = self.poll_round().await;
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Pings, reports and health probes, each when due.
    async fn tend_loop(&self, stop: CancellationToken) {
        let mut pings = ping::Pinger::new(self.engine.subscribe());
        let mut next_probe = Instant::now();
        loop {
            pings.round(self).await;
            self.report_round().await;
            if Instant::now() >= next_probe {
                next_probe = Instant::now() + self.monitor.interval();
                let _ = self.call("stats", self.client.stats()).await;
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(TEND_TICK) => {}
            }
        }
    }

    /// Makes one call to the gateway, as a health sample of it.
    async fn call<T>(
        &self,
        op: &'static str,
        call: impl Future<Output = Result<T, GatewayError>>,
    ) -> Result<T, GatewayError> {
        let started = Instant::now();
        let outcome = call.await;
        let latency = started.elapsed();
        let error = outcome.as_ref().err();
        let live = error.is_none_or(GatewayError::gateway_is_up);
        let sample = HealthSample {
            at: String::new(),
            probe: op.to_owned(),
            ok: live,
            latency_ms: Some(latency.as_millis() as u64),
            detail: error.map(ToString::to_string),
            repo_size: None,
            storage_max: None,
        };
        if let Err(e) = self
            .engine
            .store()
            .add_sample(GATEWAY_HEALTH, &sample, now_ms())
        {
            tracing::error!(%e, "cannot save a gateway health sample");
        }
        let probe = Probe {
            live,
            degraded: (live && latency > self.monitor.slow())
                .then(|| format!("slow: answered in {} ms", latency.as_millis())),
            failure: (!live).then(|| sample.detail.clone()).flatten(),
            canary_ran: false,
        };
        if live {
            self.failures.store(0, Ordering::Relaxed);
        } else {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(change) = self.monitor.judge(GATEWAY_HEALTH, &probe) {
            tracing::warn!(from = %change.from, to = %change.to, detail = ?change.detail, "gateway state changed");
            if let Some(alert) = Alert::from_gateway_change(&change) {
                self.alerts.send(&alert).await;
            }
        }
        outcome
    }

    /// `base`, doubled for each failed call in a row, up to `max_backoff`.
    fn backoff(&self, base: Duration, failures: u32) -> Duration {
        let factor = 2u32.saturating_pow(failures.min(16));
        base.saturating_mul(factor)
            .min(self.config().max_backoff.max(base))
    }
}

/// The gateway's settings, identity, health and latest claims.
pub(crate) fn status(engine: &Engine, history: u32) -> Result<GatewayStatus, DaemonError> {
    let config = &engine.config().gateway;
    let (identity, source) = identity::load(engine.secrets())?;
    let health = engine
        .store()
        .health_rows()?
        .into_iter()
        .find(|r| r.node == GATEWAY_HEALTH);
    Ok(GatewayStatus {
        enabled: config.enabled,
        url: tank_ipfs::redacted(&config.url),
        mode: config.mode,
        did: identity.did().to_owned(),
        identity: source,
        state: health.as_ref().map_or(HealthState::Unknown, |h| h.state),
        health,
        history: engine.store().samples(GATEWAY_HEALTH, history)?,
        claims: engine.store().gateway_recent(history)?,
    })
}
