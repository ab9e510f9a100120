//! `tank daemon`: the background work, until told to stop.
//!
//! - the pin queue: parked jobs get another round when their wait is over
//!   (and fail, retryable, once they have waited `park_for`); jobs a
//!   crashed or stopped `tank` left mid-way are resumed;
//! - the health monitor, with alerts when a node goes down or recovers;
//! - audits of finished jobs;
//! - the local kubo node, when enabled: started and supervised;
//! - alerts when failed calls or verifications spike.
//!
//! Each runs as its own task so a long job never delays a health probe.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::alerts::Alert;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::job::{JobReport, JobState};
use crate::lock::JobLock;
use crate::store::now_ms;

/// How often the pin queue looks for work.
const QUEUE_TICK: Duration = Duration::from_secs(2);

impl Engine {
    /// Runs the background work until `shutdown` completes. Jobs in flight
    /// stop where they are and resume at the next start.
    pub async fn run_daemon(&self, shutdown: impl Future<Output = ()>) -> Result<(), EngineError> {
        let stop = CancellationToken::new();
        let health = self.config().health.interval;
        let audit = self.config().audit.interval;
        let spikes = (self.config().alerting.window / 10).max(Duration::from_secs(1));
        let local = self.local_node().is_some().then(|| {
            let (engine, stop) = (self.clone(), stop.clone());
            tokio::spawn(async move { engine.supervise_local_node(stop).await })
        });
        let tasks = [
            self.spawn_loop(&stop, QUEUE_TICK, |engine| async move {
                engine.queue_round().await
            }),
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
        tracing::info!("daemon running: pin queue, health monitor, audits, alerts");
        shutdown.await;
        stop.cancel();
        for task in tasks.into_iter().chain(local) {
            let _ = task.await;
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

    /// Runs the local node under supervision; its events are recorded and
    /// a supervisor that gives up raises an alert.
    async fn supervise_local_node(&self, stop: CancellationToken) {
        let Some(local) = self.local_node() else {
            return;
        };
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
        let record = move |event| {
            let _ = sender.send(event);
        };
        let supervision = local.supervise(stop, &record);
        tokio::pin!(supervision);
        loop {
            tokio::select! {
                outcome = &mut supervision => {
                    while let Ok(event) = receiver.try_recv() {
                        self.local_node_event(event).await;
                    }
                    if let Err(e) = outcome {
                        tracing::error!(%e, "the local node is down");
                    }
                    return;
                }
                Some(event) = receiver.recv() => self.local_node_event(event).await,
            }
        }
    }

    async fn queue_round(&self) {
        match self.interrupted() {
            Ok(ids) => {
                for id in ids {
                    tracing::info!(job = id, "resuming an interrupted job");
                    log_outcome(&self.run(id).await);
                }
            }
            Err(e) => tracing::error!(%e, "cannot list interrupted jobs"),
        }
        if let Err(e) = self.retry_parked().await {
            tracing::error!(%e, "pin queue round failed");
        }
    }

    async fn health_round(&self) {
        for change in self.probe_nodes().await {
            tracing::warn!(node = change.node, from = change.from, to = change.to, detail = ?change.detail, "node state changed");
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

    /// Gives every parked job whose wait is over another round. A job that
    /// has waited longer than `park_for` fails instead (retryable).
    pub async fn retry_parked(&self) -> Result<Vec<JobReport>, EngineError> {
        let now = now_ms();
        let mut reports = Vec::new();
        for parked in self.store().due_parked(now)? {
            {
                // Only one process gives a job its round.
                let Some(_lock) = JobLock::try_take(Path::new(&parked.work_dir))? else {
                    continue;
                };
                let waited = Duration::from_millis((now - parked.since).max(0) as u64);
                if waited > self.config().pinning.park_for {
                    let error = format!(
                        "gave up after waiting {} for enough replicas; `tank retry {}` tries again",
                        humantime::format_duration(self.config().pinning.park_for),
                        parked.id
                    );
                    self.store()
                        .fail(parked.id, JobState::AwaitingReplicas, &error, true)?;
                    continue;
                }
                self.store().transition(
                    parked.id,
                    JobState::AwaitingReplicas,
                    JobState::Pinning,
                    &[],
                )?;
            }
            tracing::info!(
                job = parked.id,
                round = parked.rounds + 1,
                "trying a parked job again"
            );
            let outcome = self.run(parked.id).await;
            log_outcome(&outcome);
            reports.extend(outcome.ok());
        }
        Ok(reports)
    }
}

fn log_outcome(outcome: &Result<JobReport, EngineError>) {
    match outcome {
        Ok(report) => {
            tracing::info!(job = report.id, state = %report.state, cid = ?report.cid, "job run ended")
        }
        Err(e) => tracing::error!(%e, "job run failed"),
    }
}
