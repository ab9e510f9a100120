//! Work from 3Speak's embed system: community mode (`[gateway] enabled` with
//! `mode = "embed"`, jobs pulled with `myJob`) and managed mode
//! (`[direct_api] enabled`, jobs pushed to us).
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
//! - `direct_api.rs`: managed mode, jobs pushed to our `POST /encode`,
//!   committed before they are answered, then reported like the others.
//!
//! The local jobs themselves are run by the scheduler like any other job.

mod community;
pub(crate) mod direct_api;
mod reports;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use tank_gateway::{CallbackKey, EmbedGateway, Webhooks};
use tank_model::{EmbedVideo, JobId};
use tank_store::StoreError;
use tokio_util::sync::CancellationToken;

use tank_config::GatewayConfig;
use tank_engine::Engine;

use crate::alerts::Alerts;
use crate::error::DaemonError;
use crate::gateway::identity;
use crate::health::HealthMonitor;
use crate::remote::{announce_taken, remote_input, RemoteService};

/// Our id of a job on the wire (`job_id` in reports and the Direct API).
fn job_id(local: JobId) -> String {
    format!("tank-{local}")
}

/// The embed side of the daemon. Cheap to share.
pub(crate) struct EmbedWorker {
    engine: Engine,
    remote: RemoteService,
    /// The embed system's community routes, when community mode is on.
    community: Option<EmbedGateway>,
    webhooks: Webhooks,
    registered: AtomicBool,
    /// Why the embed system refuses us work (its 403), while it does.
    refused: Mutex<Option<String>>,
}

impl EmbedWorker {
    /// With `community`, this encoder also takes jobs with `myJob` (and
    /// needs its identity); without, it only reports pushed jobs.
    pub fn new(
        engine: &Engine,
        monitor: HealthMonitor,
        alerts: Alerts,
        community: bool,
    ) -> Result<EmbedWorker, DaemonError> {
        let config = &engine.config().gateway;
        let community = match community {
            true => {
                let (identity, _) = identity::load(engine.secrets())?;
                tracing::info!(did = identity.did(), embed = %tank_ipfs::redacted(&config.url), "embed system identity");
                Some(EmbedGateway::new(
                    &config.url,
                    Arc::new(identity),
                    config.timeout,
                ))
            }
            false => None,
        };
        Ok(EmbedWorker {
            community,
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

    /// Records a job from the embed system with the key its reports go out
    /// with, and makes it a local job, in one transaction; the input is
    /// kept as given for the reports, and the local job is failed (bad
    /// input) when it cannot be used. A job open already under the same
    /// owner, permlink and input only takes the new key. Answers the local
    /// job and whether it is new.
    fn record(&self, video: &EmbedVideo, key: &CallbackKey) -> Result<(JobId, bool), StoreError> {
        let (local_input, refusal) = match remote_input(&video.input_cid, "the embed system") {
            Ok(input) => (input, None),
            Err(refusal) => (video.input_cid.clone(), Some(refusal)),
        };
        let taken = self.engine.store().embed_claimed(
            video,
            &local_input,
            key.expose(),
            refusal.as_deref(),
            self.engine.jobs_root(),
        )?;
        if let (local, true) = taken {
            tracing::info!(
                owner = video.owner,
                permlink = video.permlink,
                via = video.via.as_str(),
                job = local,
                input = local_input,
                "took a job from the embed system"
            );
            announce_taken(&self.engine, local, refusal);
        }
        Ok(taken)
    }

    /// Takes community jobs (when on) and sends what is owed about every
    /// embed job until `stop`.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        let community = self.community.clone().map(|client| {
            let (worker, stop) = (self.clone(), stop.clone());
            tokio::spawn(async move { worker.community_loop(&client, stop).await })
        });
        self.reports_loop(stop).await;
        if let Some(community) = community {
            let _ = community.await;
        }
    }
}
