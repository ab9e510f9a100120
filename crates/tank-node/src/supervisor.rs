//! Supervision: keeps the daemon running and healthy until told to stop.
//!
//! - A daemon that exits is restarted after a wait from `restart_backoff`;
//!   more than `max_restarts` within `restart_window` and the supervisor
//!   gives up (the node is down; an alarm event says so).
//! - Every `liveness_interval` the daemon must answer `id`; after
//!   `unresponsive_after` silent checks in a row it is healed.
//! - The watchdog heals a daemon that runs away with CPU or memory.
//!
//! Healing is progressive: first a gentle restart (`shutdown`, then start);
//! if the trouble is back within `heal_window`, a kill with the stale files
//! cleaned before starting again; if it is back again, give up.

use std::collections::VecDeque;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::watchdog::Watchdog;
use crate::{LocalNode, NodeError, NodeEvent};

impl LocalNode {
    /// Runs the daemon until `stop` is cancelled (then stops it), or until
    /// it cannot be kept up (`NodeError::GaveUp`). Every step is an event.
    pub async fn supervise(
        &self,
        stop: CancellationToken,
        events: &(dyn Fn(NodeEvent) + Sync),
    ) -> Result<(), NodeError> {
        let config = self.config.clone();
        let mut restarts: VecDeque<Instant> = VecDeque::new();
        let mut last_heal: Option<(Instant, u32)> = None;
        let mut watchdog = Watchdog::new();
        let mut silent = 0u32;
        let mut last_liveness = Instant::now();
        let tick = (*config.liveness_interval).min(*config.watchdog_interval);

        let mut start_failure = self.start(events).await.err();
        loop {
            // A daemon that exited, or one that did not come up.
            let exited = match start_failure.take() {
                Some(e @ NodeError::LockHeld { .. }) => {
                    let reason = e.to_string();
                    events(NodeEvent::GaveUp {
                        reason: reason.clone(),
                    });
                    return Err(NodeError::GaveUp(reason));
                }
                Some(e) => {
                    tracing::warn!(%e, "the local node did not start");
                    Some(None)
                }
                None => self.exited(),
            };
            if let Some(exit) = exited {
                let now = Instant::now();
                restarts.retain(|at| now.duration_since(*at) < *config.restart_window);
                restarts.push_back(now);
                if restarts.len() as u32 > config.max_restarts {
                    let reason = format!(
                        "it exited {} times within {}",
                        restarts.len(),
                        humantime::format_duration(*config.restart_window)
                    );
                    events(NodeEvent::GaveUp {
                        reason: reason.clone(),
                    });
                    return Err(NodeError::GaveUp(reason));
                }
                let wait = config.restart_wait(restarts.len() as u32);
                events(NodeEvent::Crashed {
                    exit,
                    restart_in_ms: wait.as_millis() as u64,
                });
                tokio::select! {
                    _ = stop.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(wait) => {}
                }
                silent = 0;
                start_failure = self.start(events).await.err();
                continue;
            }

            tokio::select! {
                _ = stop.cancelled() => {
                    self.stop(events).await?;
                    return Ok(());
                }
                _ = tokio::time::sleep(tick) => {}
            }

            let mut trouble = None;
            if last_liveness.elapsed() >= *config.liveness_interval {
                last_liveness = Instant::now();
                if self.answering().await.is_none() {
                    silent += 1;
                    if silent >= config.unresponsive_after {
                        events(NodeEvent::Unresponsive { failures: silent });
                        trouble = Some(format!("not answering ({silent} checks in a row)"));
                    }
                } else {
                    silent = 0;
                }
            }
            if trouble.is_none() {
                if let Some(reason) = self.pid().and_then(|pid| watchdog.check(pid, &config)) {
                    events(NodeEvent::Runaway {
                        reason: reason.clone(),
                    });
                    trouble = Some(reason);
                }
            }
            if let Some(reason) = trouble {
                let step = match last_heal {
                    Some((at, step)) if at.elapsed() < *config.heal_window => step + 1,
                    _ => 1,
                };
                last_heal = Some((Instant::now(), step));
                silent = 0;
                start_failure = self.heal(step, &reason, events).await?;
            }
        }
    }

    /// One healing step; returns a start failure for the loop to handle.
    async fn heal(
        &self,
        step: u32,
        reason: &str,
        events: &(dyn Fn(NodeEvent) + Sync),
    ) -> Result<Option<NodeError>, NodeError> {
        let name = match step {
            1 => "restart",
            2 => "kill_and_clean",
            _ => "give_up",
        };
        events(NodeEvent::Healing {
            step: name.to_owned(),
            reason: reason.to_owned(),
        });
        match step {
            1 => self.stop(events).await?,
            2 => {
                self.kill();
                self.clean_after_kill()?;
            }
            _ => {
                self.kill();
                let reason = format!("{reason}, again after a restart and a kill");
                events(NodeEvent::GaveUp {
                    reason: reason.clone(),
                });
                return Err(NodeError::GaveUp(reason));
            }
        }
        Ok(self.start(events).await.err())
    }
}
