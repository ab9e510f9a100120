//! `tank daemon`: the background work, until told to stop.
//!
//! - the scheduler: queued jobs, jobs a crashed or stopped `tank` left
//!   mid-way, and parked jobs whose wait is over, run at most
//!   `[jobs] max_concurrent` at once (parked jobs fail, retryable, once
//!   they have waited `park_for`);
//! - the 3Speak gateway, when enabled: work claimed, pinged and reported;
//! - the health monitor, with alerts when a node goes down or recovers;
//! - audits of finished jobs;
//! - the local kubo node, when enabled: started and supervised;
//! - watch folders, when configured: new videos queued;
//! - alerts when failed calls or verifications spike.
//!
//! Each runs as its own task so a long job never delays a health probe. On
//! shutdown, running jobs stop where they are (and resume at the next
//! start); then gateway jobs that had not started encoding are given back.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::alerts::Alert;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::events::JobEvent;
use crate::gateway::GatewayWorker;
use crate::scheduler::Scheduler;

/// How often the scheduler looks for work.
const QUEUE_TICK: Duration = Duration::from_secs(2);

impl Engine {
    /// Runs the background work until `shutdown` completes. Jobs in flight
    /// stop where they are and resume at the next start. Fails at once when
    /// the gateway is enabled but this encoder has no usable identity.
    pub async fn run_daemon(&self, shutdown: impl Future<Output = ()>) -> Result<(), EngineError> {
        let gateway = match self.config().gateway.enabled {
            true => Some(Arc::new(GatewayWorker::new(self)?)),
            false => None,
        };
        let stop = CancellationToken::new();
        let health = self.config().health.interval;
        let audit = self.config().audit.interval;
        let spikes = (self.config().alerting.window / 10).max(Duration::from_secs(1));
        let local = self.local_node().is_some().then(|| {
            let (engine, stop) = (self.clone(), stop.clone());
            tokio::spawn(async move { engine.supervise_local_node(stop).await })
        });
        let scheduler = {
            let (mut scheduler, stop) = (Scheduler::new(self.clone()), stop.clone());
            tokio::spawn(async move {
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
        let folders = {
            let (engine, stop) = (self.clone(), stop.clone());
            tokio::spawn(async move { engine.watch_folders(stop).await })
        };
        let tasks = [
            self.spawn_loop(&stop, health, |engine| async move {
                engine.health_round().await
            }),
            self.spawn_loop(
                &stop,
                audit,
                |engine| async move { engine.audit_round().await },
            ),
            self.spawn_loop(&stop, spikes, |engine| async move {
                engine.check_spikes().await
            }),
        ];
        tracing::info!(
            gateway = gateway.is_some(),
            "daemon running: scheduler, health monitor, audits, alerts"
        );
        shutdown.await;
        stop.cancel();
        let _ = scheduler.await;
        for task in tasks
            .into_iter()
            .chain([folders])
            .chain(local)
            .chain(gateway_task)
        {
            let _ = task.await;
        }
        if let Some(gateway) = gateway {
            gateway.release_unstarted().await;
        }
        tracing::info!("daemon stopped");
        Ok(())
    }

    /// Runs `round` now and then every `every`, until `stop`.
    fn spawn_loop<F, Fut>(
        &self,
        stop: &CancellationToken,
        every: Duration,
        round: F,
    ) -> tokio::task::JoinHandle<()>
    where
        F: Fn(Engine) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let (engine, stop) = (self.clone(), stop.clone());
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = ticks.tick() => {}
                }
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = round(engine.clone()) => {}
                }
            }
        })
    }

    async fn health_round(&self) {
        for change in self.probe_nodes().await {
            tracing::warn!(node = change.node, from = change.from, to = change.to, detail = ?change.detail, "node state changed");
            self.send_event(JobEvent::NodeHealth {
                node: change.node.clone(),
                state: change.to.clone(),
                detail: change.detail.clone(),
            });
            if let Some(alert) = Alert::from_change(&change) {
                self.alert(&alert).await;
            }
        }
    }

    async fn audit_round(&self) {
        match self.audit(self.config().audit.sample).await {
            Ok(records) => tracing::info!(replicas = records.len(), "audit round done"),
            Err(e) => tracing::error!(%e, "audit round failed"),
        }
    }
}
