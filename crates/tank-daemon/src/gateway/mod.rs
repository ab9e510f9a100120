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

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tank_gateway::{EncoderGateway, EncoderRecord};
use tokio_util::sync::CancellationToken;

use tank_config::{GatewayConfig, GatewayMode};
use tank_engine::Engine;

use crate::error::DaemonError;
use tank_model::{EmbedClaim, GatewayClaim, HealthRow, HealthSample, HealthState, OutboxEntry};

use crate::alerts::Alerts;
use crate::health::HealthMonitor;
use crate::remote::{RemoteService, GATEWAY_HEALTH};
use identity::IdentitySource;

/// How often claimed jobs are looked at (pings due, reports to send).
const TEND_TICK: Duration = Duration::from_secs(1);

/// The gateway side of the daemon. Cheap to share.
pub(crate) struct GatewayWorker {
    engine: Engine,
    /// The gateway is judged like a node, by the same monitor.
    remote: RemoteService,
    client: EncoderGateway,
    announced: AtomicBool,
}

/// What `tank gateway` shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GatewayStatus {
    pub enabled: bool,
    pub url: String,
    pub mode: GatewayMode,
    /// This encoder's `did:key`; `None` when 3Speak work is off and no
    /// identity could be read (a machine without a keyring): nothing that
    /// is switched off reports an error.
    pub did: Option<String>,
    pub identity: Option<IdentitySource>,
    pub state: HealthState,
    pub health: Option<HealthRow>,
    /// Latest calls, newest first.
    pub history: Vec<HealthSample>,
    /// Latest legacy claims, newest first.
    pub claims: Vec<GatewayClaim>,
    /// What the embed system last said of this encoder, and when.
    pub encoder: Option<EncoderRecord>,
    pub encoder_seen_at: Option<String>,
    /// Latest embed jobs, newest first.
    pub embed_jobs: Vec<EmbedClaim>,
    /// Latest reports owed to webhooks, newest first: what is waiting, how
    /// many tries, the last error.
    pub outbox: Vec<OutboxEntry>,
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
            remote: RemoteService::new(engine, monitor, alerts),
            engine: engine.clone(),
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
                next_probe = Instant::now() + self.remote.probe_interval();
                let _ = self.remote.call("stats", self.client.stats()).await;
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(TEND_TICK) => {}
            }
        }
    }
}

/// The gateway's settings, identity, health and latest claims.
pub(crate) fn status(engine: &Engine, history: u32) -> Result<GatewayStatus, DaemonError> {
    let config = &engine.config().gateway;
    let identity = match identity::load(engine.secrets()) {
        Ok((identity, source)) => Some((identity.did().to_owned(), source)),
        Err(e) if config.enabled => return Err(e),
        Err(e) => {
            tracing::debug!(%e, "no gateway identity, and 3Speak work is off");
            None
        }
    };
    let did = identity.as_ref().map(|(did, _)| did.clone());
    let recorded = match &did {
        Some(did) => engine.store().embed_encoder(did)?,
        None => None,
    };
    let (encoder, encoder_seen_at) = match recorded {
        Some((record, at)) => (serde_json::from_value(record).ok(), Some(at)),
        None => (None, None),
    };
    let health = engine
        .store()
        .health_rows()?
        .into_iter()
        .find(|r| r.node == GATEWAY_HEALTH);
    Ok(GatewayStatus {
        enabled: config.enabled,
        url: tank_ipfs::redacted(&config.url),
        mode: config.mode,
        identity: identity.map(|(_, source)| source),
        did,
        state: health.as_ref().map_or(HealthState::Unknown, |h| h.state),
        health,
        history: engine.store().samples(GATEWAY_HEALTH, history)?,
        claims: engine.store().gateway_recent(history)?,
        encoder,
        encoder_seen_at,
        embed_jobs: engine.store().embed_recent(history)?,
        outbox: engine.store().outbox_recent(history)?,
    })
}
