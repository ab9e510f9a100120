//! The background services of Tank Encoder: what `tank daemon` and the
//! desktop app run alongside the engine, until told to stop.
//!
//! - the scheduler and pin queue (`scheduler.rs`): queued jobs, jobs a
//!   crashed or stopped `tank` left mid-way, and parked jobs whose wait is
//!   over, started while their encodes have room (`[jobs]
//!   max_concurrent`, `pipeline`);
//! - the health monitor (`health.rs`) and alerts (`alerts.rs`): nodes
//!   probed with hysteresis; down, recovered and spikes sent to webhooks;
//! - audits (`audits.rs`) of finished jobs' replicas;
//! - the folder sweep (`folder_sweep.rs`): failed and cancelled jobs'
//!   folders deleted after `[jobs] keep_failed_for`;
//! - watch folders (`watch_folders.rs`): new videos queued;
//! - the local node (`local_node.rs`): the operator's switch, supervision,
//!   its history and alerts;
//! - 3Speak's embed system (`embed/`): community jobs claimed while there
//!   is room, jobs pushed to the Direct API (managed mode), their
//!   progress, and their reports from a durable outbox;
//! - the legacy 3Speak gateway worker (`gateway/`): work claimed, pinged
//!   and reported.
//!
//! One process per data directory runs them: `runner.rs` holds an OS lock
//! for as long as they run, and a second runner is refused, naming the
//! first.
//!
//! Also here, for a new install: `setup.rs`, the config for what it is
//! for and what that needs (the 3Speak identity, the Direct API's key).
//!
//! Both 3Speak workers watch their service like a node (`remote.rs`) and
//! read a job's progress the same way (`job_progress.rs`).
//!
//! Each service is a struct built from the few engine handles it needs
//! (the engine to run jobs, its store and events) and its own config
//! section. Each runs as its own task, so a long job never delays a health
//! probe. On shutdown, running jobs stop where they are (and resume at the
//! next start); then, when the process exits (not on a restart for new
//! settings), gateway jobs that had not started encoding are given back.

mod alerts;
mod audits;
mod embed;
mod error;
mod folder_sweep;
mod gateway;
mod health;
mod job_progress;
mod local_node;
mod remote;
mod runner;
mod scheduler;
mod setup;
mod watch_folders;

pub use alerts::{Alert, Alerts};
pub use audits::Audits;
pub use error::DaemonError;
pub use gateway::identity::{IdentitySource, IDENTITY_KEY};
pub use gateway::GatewayStatus;
pub use health::{HealthMonitor, NodeReport};
pub use local_node::{LocalNodeAction, LocalNodeEvent, LocalNodeReport, LocalNodeService};
pub use remote::GATEWAY_HEALTH;
pub use scheduler::Scheduler;
pub use setup::{set_up, SetUp};
pub use watch_folders::WatchFolders;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tank_config::GatewayMode;
use tank_engine::Engine;
use tokio_util::sync::CancellationToken;

use embed::direct_api::DirectApi;
use embed::EmbedWorker;
use gateway::GatewayWorker;

/// How often the scheduler looks for work.
const QUEUE_TICK: Duration = Duration::from_secs(2);

/// The services of one engine. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Daemon {
    engine: Engine,
    alerts: Alerts,
    health: HealthMonitor,
    audits: Audits,
    local_node: LocalNodeService,
}

impl Daemon {
    pub fn new(engine: Engine) -> Daemon {
        let alerts = Alerts::new(
            engine.config(),
            engine.store().clone(),
            engine.secrets().clone(),
        );
        Daemon {
            health: HealthMonitor::new(engine.clone(), alerts.clone()),
            audits: Audits::new(engine.clone(), alerts.clone()),
            local_node: LocalNodeService::new(engine.clone(), alerts.clone()),
            alerts,
            engine,
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn alerts(&self) -> &Alerts {
        &self.alerts
    }

    pub fn health(&self) -> &HealthMonitor {
        &self.health
    }

    pub fn audits(&self) -> &Audits {
        &self.audits
    }

    pub fn local_node(&self) -> &LocalNodeService {
        &self.local_node
    }

    /// The 3Speak service's settings, identity, health, latest claims and
    /// outbox.
    pub fn gateway_status(&self, history: u32) -> Result<GatewayStatus, DaemonError> {
        gateway::status(&self.engine, history)
    }

    /// The encoder's gateway identity: its DID and where it came from.
    pub fn identity(&self) -> Result<(String, IdentitySource), DaemonError> {
        let (identity, source) = gateway::identity::load(self.engine.secrets())?;
        Ok((identity.did().to_owned(), source))
    }

    /// Runs every service until `shutdown` completes, and says why. Jobs in
    /// flight stop where they are and resume at the next start. Fails at
    /// once when 3Speak work is enabled but this encoder has no usable
    /// identity, or the Direct API has no key or cannot listen.
    pub async fn run(&self, shutdown: impl Future<Output = Shutdown>) -> Result<(), DaemonError> {
        let engine = &self.engine;
        let _runner = runner::RunnerLock::take(engine.data_dir())?;
        let config = &engine.config().gateway;
        let gateway = match (config.enabled, config.mode) {
            (true, GatewayMode::Legacy) => Some(Arc::new(GatewayWorker::new(
                engine,
                self.health.clone(),
                self.alerts.clone(),
            )?)),
            _ => None,
        };
        let community = config.enabled && config.mode == GatewayMode::Embed;
        let managed = engine.config().direct_api.enabled;
        let embed = match community || managed {
            true => Some(Arc::new(EmbedWorker::new(
                engine,
                self.health.clone(),
                self.alerts.clone(),
                community,
            )?)),
            false => None,
        };
        let direct_api = match (&embed, managed) {
            (Some(worker), true) => Some(DirectApi::bind(worker.clone()).await?),
            _ => None,
        };
        let stop = CancellationToken::new();
        let local = engine.local_node().is_some().then(|| {
            let (local, stop) = (self.local_node.clone(), stop.clone());
            tokio::spawn(async move { local.run(stop).await })
        });
        let scheduler = {
            let (mut scheduler, stop) = (Scheduler::new(engine.clone()), stop.clone());
            let local = self.local_node.clone();
            tokio::spawn(async move {
                tokio::select! {
                    _ = stop.cancelled() => return scheduler.stop().await,
                    _ = local.ready() => {}
                }
                let mut ticks = tokio::time::interval(QUEUE_TICK);
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => return scheduler.stop().await,
                        _ = ticks.tick() => scheduler.round(),
                    }
                }
            })
        };
        let gateway_task = gateway
            .clone()
            .map(|worker| tokio::spawn(worker.run(stop.clone())));
        let embed_task = embed.map(|worker| tokio::spawn(worker.run(stop.clone())));
        let direct_api_task = direct_api.map(|api| tokio::spawn(api.serve(stop.clone())));
        let folders = {
            let (folders, stop) = (WatchFolders::new(engine.clone()), stop.clone());
            tokio::spawn(async move { folders.run(stop).await })
        };
        let (health, audits, alerts) = (
            self.health.clone(),
            self.audits.clone(),
            self.alerts.clone(),
        );
        let tasks = [
            every(&stop, self.health.interval(), move || {
                let health = health.clone();
                async move { health.round().await }
            }),
            every(&stop, self.audits.interval(), move || {
                let audits = audits.clone();
                async move { audits.round().await }
            }),
            every(&stop, self.alerts.spike_interval(), move || {
                let alerts = alerts.clone();
                async move { alerts.check_spikes().await }
            }),
            every(&stop, folder_sweep::interval(engine), {
                let engine = engine.clone();
                move || folder_sweep::round(engine.clone())
            }),
        ];
        tracing::info!(
            gateway = gateway.is_some(),
            embed = embed_task.is_some(),
            "daemon running: scheduler, health monitor, audits, alerts, folder sweep"
        );
        let why = shutdown.await;
        stop.cancel();
        let _ = scheduler.await;
        for task in tasks
            .into_iter()
            .chain([folders])
            .chain(local)
            .chain(gateway_task)
            .chain(embed_task)
            .chain(direct_api_task)
        {
            let _ = task.await;
        }
        if let (Some(gateway), Shutdown::Exit) = (gateway, why) {
            gateway.release_unstarted().await;
        }
        tracing::info!("daemon stopped");
        Ok(())
    }
}

/// Why [`Daemon::run`] stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// The process ends: claimed legacy-gateway jobs that have not started
    /// encoding go back to the gateway for another encoder.
    Exit,
    /// The same process starts the work again at once (new settings):
    /// every claim is kept, and its job resumes where it stopped.
    Restart,
}

/// Runs `round` now and then every `period`, until `stop`.
fn every<F, Fut>(
    stop: &CancellationToken,
    period: Duration,
    round: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let stop = stop.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = ticks.tick() => {}
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = round() => {}
            }
        }
    })
}
