//! Work from 3Speak's embed system, taken when `[gateway] enabled` with
//! `mode = "embed"` (community mode: jobs pulled with `myJob`).
//!
//! - `community.rs`: register (`updateNode`, again after a failure or a
//!   404), `heartbeat`, and `myJob` only while an encode slot is free. A
//!   403 (disabled or banned) stops the asking, raises an alert, and is
//!   tried again only after `max_backoff`. The job is recorded with its
//!   key and becomes a local job in one transaction.
//! - `reports.rs`: one loop for everything sent to a job's webhook, so
//!   nothing about a job can overtake its report. Progress goes out while
//!   the job is open; when its local job ends, the job closes and its
//!   report (`complete` only when `done`, i.e. durable) is committed to the
//!   outbox in one transaction; the outbox is then sent, with jittered
//!   backoff across restarts, until the receiver has it. A 4xx is final
//!   and raises an alert.
//!
//! The local jobs themselves are run by the scheduler like any other job.

mod community;
mod reports;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use tank_gateway::{EmbedGateway, Webhooks};
use tokio_util::sync::CancellationToken;

use tank_config::GatewayConfig;
use tank_engine::Engine;

use crate::alerts::Alerts;
use crate::error::DaemonError;
use crate::gateway::identity;
use crate::health::HealthMonitor;
use crate::remote::RemoteService;

/// The embed side of the daemon. Cheap to share.
pub(crate) struct EmbedWorker {
    engine: Engine,
    remote: RemoteService,
    client: EmbedGateway,
    webhooks: Webhooks,
    registered: AtomicBool,
    /// Why the embed system refuses us work (its 403), while it does.
    refused: Mutex<Option<String>>,
}

impl EmbedWorker {
    pub fn new(
        engine: &Engine,
        monitor: HealthMonitor,
        alerts: Alerts,
    ) -> Result<EmbedWorker, DaemonError> {
        let config = &engine.config().gateway;
        let (identity, _) = identity::load(engine.secrets())?;
        tracing::info!(did = identity.did(), embed = %tank_ipfs::redacted(&config.url), "embed system identity");
        Ok(EmbedWorker {
            client: EmbedGateway::new(&config.url, Arc::new(identity), config.timeout),
            webhooks: Webhooks::new(config.timeout),
            remote: RemoteService::new(engine, monitor, alerts),
            engine: engine.clone(),
            registered: AtomicBool::new(false),
            refused: Mutex::new(None),
        })
    }

    fn config(&self) -> &GatewayConfig {
        &self.engine.config().gateway
    }

    /// Takes community jobs and sends what is owed about them until `stop`.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        let community = {
            let (worker, stop) = (self.clone(), stop.clone());
            tokio::spawn(async move { worker.community_loop(stop).await })
        };
        self.reports_loop(stop).await;
        let _ = community.await;
    }
}
