//! The health monitor: every node probed on an interval (liveness and its
//! latency; for kubo nodes also repo usage and, less often, a canary that
//! adds, pins and unpins a tiny block). Each probe is kept as a sample for
//! history and charts. A node's state moves between `healthy`, `degraded`
//! and `down` with hysteresis, so one lost probe does not flip it: it is
//! `down` only after `down_after` failures in a row and `healthy` again only
//! after `up_after` good probes. `down` opens the node's circuit breaker.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tank_config::HealthConfig;
use tank_engine::{Engine, Node, NodeStatus};

use crate::error::DaemonError;
use tank_ipfs::KuboClient;
use tank_model::{HealthChange, HealthRow, HealthSample, HealthState, JobEvent};
use tank_store::{now_ms, MonitorState, Store};

use crate::alerts::{Alert, Alerts};

/// What `tank nodes --json` shows for a node: how it answers right now,
/// its monitored state, and its recent samples.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NodeReport {
    #[serde(flatten)]
    pub now: NodeStatus,
    /// As the daemon's monitor last saw it (`unknown` before its first probe).
    pub state: HealthState,
    pub health: Option<HealthRow>,
    /// Latest samples, newest first.
    pub history: Vec<HealthSample>,
}

/// The outcome of one probe round on one node (or one call to the gateway).
pub(crate) struct Probe {
    pub live: bool,
    /// Why it is not fully healthy even though it answered.
    pub degraded: Option<String>,
    pub failure: Option<String>,
    pub canary_ran: bool,
}

/// The health monitor: probes, judges, records, opens breakers, tells the
/// window and alerts. Cheap to clone.
#[derive(Clone)]
pub struct HealthMonitor {
    engine: Engine,
    config: HealthConfig,
    alerts: Alerts,
}

impl HealthMonitor {
    pub fn new(engine: Engine, alerts: Alerts) -> HealthMonitor {
        HealthMonitor {
            config: engine.config().health.clone(),
            engine,
            alerts,
        }
    }

    pub fn interval(&self) -> Duration {
        self.config.interval
    }

    /// How slow an answer makes a node degraded.
    pub fn slow(&self) -> Duration {
        self.config.slow
    }

    /// One round: every node probed; each change announced and alerted.
    pub async fn round(&self) {
        for change in self.probe_nodes().await {
            tracing::warn!(node = change.node, from = %change.from, to = %change.to, detail = ?change.detail, "node state changed");
            self.engine.events().send(JobEvent::NodeHealth {
                node: change.node.clone(),
                state: change.to,
                detail: change.detail.clone(),
            });
            if let Some(alert) = Alert::from_change(&change) {
                self.alerts.send(&alert).await;
            }
        }
    }

    /// One probe round over every node at once; returns the state changes.
    pub async fn probe_nodes(&self) -> Vec<HealthChange> {
        let config = &self.config;
        let nodes = self.engine.nodes();
        let rounds = nodes.iter().map(|node| self.probe_node(node, config));
        let changes: Vec<Option<HealthChange>> = futures_util::future::join_all(rounds).await;
        let _ = self
            .store()
            .prune_samples(now_ms() - config.keep_samples.as_millis() as i64);
        changes.into_iter().flatten().collect()
    }

    fn store(&self) -> &Store {
        self.engine.store()
    }

    async fn probe_node(&self, node: &Node, config: &HealthConfig) -> Option<HealthChange> {
        let before = self.store().monitor_state(node.name()).ok()?;
        let canary_due = before
            .last_canary_at
            .is_none_or(|at| now_ms() - at >= config.canary_interval.as_millis() as i64);
        let probe = probe(self.store(), node, config, canary_due).await;
        let change = self.judge(node.name(), &probe);
        let breakers = self.engine.breakers();
        match self.store().monitor_state(node.name()).ok()?.state {
            HealthState::Down => breakers.open(node.name()),
            _ if probe.live => breakers.record(node.name(), true),
            _ => {}
        }
        change
    }

    /// Moves `name`'s monitored state on after `probe`, with hysteresis;
    /// returns the change, if it changed.
    pub(crate) fn judge(&self, name: &str, probe: &Probe) -> Option<HealthChange> {
        let config = &self.config;
        let store = self.store();
        let before = store.monitor_state(name).ok()?;
        let mut after = before.clone();
        if probe.live {
            after.ok_streak += 1;
            after.fail_streak = 0;
        } else {
            after.fail_streak += 1;
            after.ok_streak = 0;
        }
        if probe.canary_ran {
            after.last_canary_at = Some(now_ms());
        }
        after.state = next_state(before.state, &after, probe, config);
        if let Err(e) = store.save_monitor_state(name, &after) {
            tracing::error!(node = name, %e, "cannot save the node's health");
        }
        (after.state != before.state).then(|| HealthChange {
            node: name.to_owned(),
            from: before.state,
            to: after.state,
            detail: probe.failure.clone().or(probe.degraded.clone()),
        })
    }

    /// Each node's state as the monitor last saw it, without asking anyone.
    pub fn monitored_health(&self) -> Result<Vec<HealthRow>, DaemonError> {
        Ok(self.store().health_rows()?)
    }

    /// Every node: how it answers now, its monitored state and history.
    pub async fn node_reports(&self, history: u32) -> Vec<NodeReport> {
        let statuses = self.engine.node_statuses().await;
        let rows = self.store().health_rows().unwrap_or_default();
        statuses
            .into_iter()
            .map(|now| {
                let health = rows.iter().find(|r| r.node == now.name).cloned();
                NodeReport {
                    state: health.as_ref().map_or(HealthState::Unknown, |h| h.state),
                    history: self.store().samples(&now.name, history).unwrap_or_default(),
                    health,
                    now,
                }
            })
            .collect()
    }
}

/// The state after a probe, given the state before it.
fn next_state(
    before: HealthState,
    after: &MonitorState,
    probe: &Probe,
    config: &HealthConfig,
) -> HealthState {
    use HealthState::*;
    match (probe.live, before) {
        (false, _) if after.fail_streak >= config.down_after => Down,
        (false, Down) => Down,
        (false, _) => Degraded,
        (true, _) if probe.degraded.is_some() => Degraded,
        (true, Unknown | Healthy) => Healthy,
        (true, _) if after.ok_streak >= config.up_after => Healthy,
        (true, Down) => Degraded,
        (true, _) => Degraded,
    }
}

async fn probe(store: &Store, node: &Node, config: &HealthConfig, canary_due: bool) -> Probe {
    let started = Instant::now();
    let live = node.liveness(config.timeout).await;
    let latency = started.elapsed();
    let sample =
        |probe: &str, ok: bool, latency: Option<Duration>, detail: Option<String>| HealthSample {
            at: String::new(),
            probe: probe.to_owned(),
            ok,
            latency_ms: latency.map(|l| l.as_millis() as u64),
            detail,
            repo_size: None,
            storage_max: None,
        };
    let save = |sample: HealthSample| {
        if let Err(e) = store.add_sample(node.name(), &sample, now_ms()) {
            tracing::error!(node = node.name(), %e, "cannot save a health sample");
        }
    };
    let failure = live.as_ref().err().map(|e| e.to_string());
    save(sample(
        "liveness",
        live.is_ok(),
        Some(latency),
        failure.clone(),
    ));
    let mut result = Probe {
        live: live.is_ok(),
        degraded: None,
        failure,
        canary_ran: false,
    };
    if !result.live {
        return result;
    }
    if latency > config.slow {
        result.degraded = Some(format!("slow: answered in {} ms", latency.as_millis()));
    }
    let Some(kubo) = node.kubo() else {
        return result;
    };

    match kubo.repo_stat(config.timeout).await {
        Ok(repo) => {
            let full = repo.storage_max > 0
                && repo.repo_size as f64 > repo.storage_max as f64 * config.repo_full;
            let mut repo_sample = sample(
                "repo",
                !full,
                None,
                full.then(|| "repo nearly full".to_owned()),
            );
            repo_sample.repo_size = Some(repo.repo_size);
            repo_sample.storage_max = Some(repo.storage_max);
            save(repo_sample);
            if full {
                result.degraded = Some(format!(
                    "repo {}% full ({} of {} bytes)",
                    repo.repo_size * 100 / repo.storage_max,
                    repo.repo_size,
                    repo.storage_max
                ));
            }
        }
        Err(e) => save(sample("repo", false, None, Some(e.to_string()))),
    }
    if canary_due {
        result.canary_ran = true;
        let started = Instant::now();
        let canary = canary(kubo, node.name(), config.timeout).await;
        save(sample(
            "canary",
            canary.is_ok(),
            Some(started.elapsed()),
            canary.as_ref().err().cloned(),
        ));
        if let Err(e) = canary {
            result.degraded = Some(format!("canary failed: {e}"));
        }
    }
    result
}

/// Adds a tiny unique block, pins it, unpins it: the node can take work.
async fn canary(kubo: &KuboClient, node: &str, timeout: Duration) -> Result<(), String> {
    let body = format!("tank-encoder canary for {node} at {}\n", now_ms()).into_bytes();
    let cid = kubo
        .add_bytes("tank-canary.txt", body, timeout)
        .await
        .map_err(|e| e.to_string())?;
    kubo.pin_add(&cid, timeout)
        .await
        .map_err(|e| e.to_string())?;
    kubo.pin_rm(&cid, timeout).await.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(live: bool) -> Probe {
        Probe {
            live,
            degraded: None,
            failure: None,
            canary_ran: false,
        }
    }

    /// Feeds probe outcomes through the state machine, like the monitor.
    fn states(outcomes: &[bool]) -> Vec<&'static str> {
        let config = HealthConfig::default();
        let mut state = MonitorState {
            state: HealthState::Unknown,
            ok_streak: 0,
            fail_streak: 0,
            last_canary_at: None,
        };
        outcomes
            .iter()
            .map(|live| {
                if *live {
                    state.ok_streak += 1;
                    state.fail_streak = 0;
                } else {
                    state.fail_streak += 1;
                    state.ok_streak = 0;
                }
                let next = next_state(state.state, &state, &probe(*live), &config);
                state.state = next;
                next.as_str()
            })
            .collect()
    }

    #[test]
    fn a_node_is_down_only_after_three_failures_in_a_row() {
        assert_eq!(
            states(&[true, false, false, false]),
            ["healthy", "degraded", "degraded", "down"]
        );
    }

    #[test]
    fn a_down_node_is_healthy_again_only_after_two_good_probes() {
        assert_eq!(
            states(&[false, false, false, true, true]),
            ["degraded", "degraded", "down", "degraded", "healthy"]
        );
    }

    #[test]
    fn a_flapping_node_stays_degraded_instead_of_flipping() {
        assert_eq!(
            states(&[true, false, true, false, true, false]),
            ["healthy", "degraded", "degraded", "degraded", "degraded", "degraded"]
        );
    }
}
