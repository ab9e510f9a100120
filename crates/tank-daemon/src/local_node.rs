//! The local kubo node as the daemon runs it and the operator steers it:
//! supervised while wanted, stopped when the operator says stop, started
//! again (even after the supervisor gave up) when they say start or
//! restart. What is wanted lives in memory: at the next launch the config
//! (`[local_node] enabled`) decides again.

use serde::{Deserialize, Serialize};
use tank_node::{LocalStatus, NodeEvent};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use tank_engine::Engine;

use crate::error::DaemonError;
use tank_node::LocalNode;

use crate::alerts::{Alert, Alerts};

/// What the operator can ask of the local node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum LocalNodeAction {
    Start,
    Stop,
    Restart,
}

/// What the Nodes view shows of the local node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LocalNodeReport {
    /// Whether the operator wants it running (false after Stop).
    pub wanted_running: bool,
    pub status: LocalStatus,
    /// The latest events, newest first.
    pub events: Vec<LocalNodeEvent>,
    /// The end of the daemon's own log.
    pub log: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LocalNodeEvent {
    pub at: String,
    pub description: String,
    /// The supervisor gave up: the node is down until started again.
    pub alarm: bool,
}

/// What is wanted of the local node; every Start or Restart is a new
/// request, so the supervision loop sees it even when `running` was
/// already true.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Wanted {
    running: bool,
    request: u64,
}

/// The local node service: the operator's switch, supervision, its event
/// history and alerts. Cheap to clone; clones share the switch.
#[derive(Clone)]
pub struct LocalNodeService {
    engine: Engine,
    alerts: Alerts,
    switch: std::sync::Arc<watch::Sender<Wanted>>,
}

impl LocalNodeService {
    pub fn new(engine: Engine, alerts: Alerts) -> LocalNodeService {
        LocalNodeService {
            engine,
            alerts,
            switch: std::sync::Arc::new(watch::Sender::new(Wanted {
                running: true,
                request: 0,
            })),
        }
    }

    fn local_node(&self) -> Option<&LocalNode> {
        self.engine.local_node()
    }

    /// Starts, stops or restarts the local node run by this daemon
    /// (`tank daemon` or the desktop app).
    pub fn action(&self, action: LocalNodeAction) -> Result<(), DaemonError> {
        if self.local_node().is_none() {
            return Err(DaemonError::LocalNodeDisabled);
        }
        tracing::info!(?action, "local node: asked by the operator");
        self.switch.send_modify(|wanted| {
            wanted.running = action != LocalNodeAction::Stop;
            wanted.request += 1;
        });
        Ok(())
    }

    /// The local node's state, its latest events and the end of its log.
    pub async fn report(&self, log_lines: usize) -> Result<LocalNodeReport, DaemonError> {
        let local = self.local_node().ok_or(DaemonError::LocalNodeDisabled)?;
        let events = self
            .events(20)?
            .into_iter()
            .map(|(at, event)| LocalNodeEvent {
                at,
                description: event.describe(),
                alarm: event.is_alarm(),
            })
            .collect();
        let wanted_running = self.switch.borrow().running;
        Ok(LocalNodeReport {
            wanted_running,
            status: local.status().await,
            events,
            log: tank_node::log_tail(&local.log_path(), log_lines),
        })
    }

    /// Returns once the local node answers, when it is on and wanted, or
    /// after `[local_node] start_timeout`: jobs started before would fail
    /// their upload to a node still starting. Returns at once otherwise.
    pub async fn ready(&self) {
        let Some(local) = self.local_node() else {
            return;
        };
        if !self.switch.borrow().running {
            return;
        }
        let deadline = tokio::time::Instant::now() + *self.engine.config().local_node.start_timeout;
        while local.answering().await.is_none() {
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!("the local node is not answering yet; running jobs anyway");
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    /// Runs the local node under supervision while it is wanted, until
    /// `stop`. Its events are recorded; a supervisor that gives up raises
    /// an alert and waits for the operator.
    pub async fn run(&self, stop: CancellationToken) {
        if self.local_node().is_none() {
            return;
        }
        let mut wanted = self.switch.subscribe();
        loop {
            if wanted.borrow_and_update().running {
                let run = stop.child_token();
                let supervision = self.supervise_once(run.clone());
                tokio::pin!(supervision);
                tokio::select! {
                    _ = &mut supervision => {}
                    _ = wanted.changed() => {
                        // Stopped or restarted by the operator.
                        run.cancel();
                        supervision.await;
                        continue;
                    }
                }
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                changed = wanted.changed() => if changed.is_err() { return },
            }
        }
    }

    /// One supervision, until `run` is cancelled (the daemon is stopped)
    /// or the supervisor gives up.
    async fn supervise_once(&self, run: CancellationToken) {
        let Some(local) = self.local_node() else {
            return;
        };
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<NodeEvent>();
        let record = move |event| {
            let _ = sender.send(event);
        };
        let supervision = local.supervise(run, &record);
        tokio::pin!(supervision);
        loop {
            tokio::select! {
                outcome = &mut supervision => {
                    while let Ok(event) = receiver.try_recv() {
                        self.record(event).await;
                    }
                    if let Err(e) = outcome {
                        tracing::error!(%e, "the local node is down");
                    }
                    return;
                }
                Some(event) = receiver.recv() => self.record(event).await,
            }
        }
    }

    /// Records a local node event (the history `tank node status` shows)
    /// and alerts when it is an alarm.
    pub async fn record(&self, event: NodeEvent) {
        tracing::info!(event = %event.describe(), "local node");
        if let Err(e) = self.engine.store().record_node_event(&event) {
            tracing::error!(%e, "cannot record a local node event");
        }
        if let NodeEvent::GaveUp { reason } = &event {
            self.alerts
                .send(&Alert::LocalNodeDown {
                    reason: reason.clone(),
                })
                .await;
        }
    }

    /// The latest local node events, newest first.
    pub fn events(&self, limit: u32) -> Result<Vec<(String, NodeEvent)>, DaemonError> {
        Ok(self.engine.store().node_events(limit)?)
    }
}
