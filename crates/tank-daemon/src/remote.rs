//! A 3Speak service watched like a node: every call to it is a health
//! sample, its state moves between healthy, degraded and down with the
//! monitor's hysteresis, down and recovered raise alerts, and failed calls
//! in a row make the caller back off. The legacy gateway worker and the
//! embed worker each talk through one.

use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tank_engine::Engine;
use tank_gateway::{GatewayError, NodeInfo};
use tank_model::{HealthSample, JobEvent, JobId, JobInput, JobState};
use tank_store::now_ms;

use crate::alerts::{Alert, Alerts};
use crate::health::{HealthMonitor, Probe};

/// The 3Speak service's name in the health store.
pub const GATEWAY_HEALTH: &str = "3speak-gateway";

/// What this encoder tells 3Speak's services it runs.
pub(crate) const VERSION: &str = concat!("tank-encoder/", env!("CARGO_PKG_VERSION"));

pub(crate) struct RemoteService {
    engine: Engine,
    monitor: HealthMonitor,
    alerts: Alerts,
    /// Failed calls in a row.
    failures: AtomicU32,
}

impl RemoteService {
    pub fn new(engine: &Engine, monitor: HealthMonitor, alerts: Alerts) -> RemoteService {
        RemoteService {
            engine: engine.clone(),
            monitor,
            alerts,
            failures: AtomicU32::new(0),
        }
    }

    pub fn alerts(&self) -> &Alerts {
        &self.alerts
    }

    /// How often the service is probed when nothing else calls it.
    pub fn probe_interval(&self) -> Duration {
        self.monitor.interval()
    }

    /// Failed calls in a row.
    pub fn failures(&self) -> u32 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Makes one call, as a health sample of the service.
    pub async fn call<T>(
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

    /// `base`, doubled for each of `failures`, up to `[gateway]
    /// max_backoff`.
    pub fn backoff(&self, base: Duration, failures: u32) -> Duration {
        let factor = 2u32.saturating_pow(failures.min(16));
        base.saturating_mul(factor)
            .min(self.engine.config().gateway.max_backoff.max(base))
    }

    /// The poll interval (longer after failed calls), plus up to
    /// `poll_jitter`, so encoders started together do not call together.
    pub fn poll_wait(&self) -> Duration {
        let config = &self.engine.config().gateway;
        let jitter = config.poll_jitter.mul_f64(fastrand::f64());
        self.backoff(config.poll_interval, self.failures()) + jitter
    }
}

/// How this encoder introduces itself (`updateNode`): its name, Hive
/// account, the local node's peer id when it runs one, and its version.
pub(crate) async fn node_info(engine: &Engine) -> NodeInfo {
    let config = &engine.config().gateway;
    let peer_id = match engine.local_node() {
        Some(local) => local.status().await.running.map(|r| r.peer_id),
        None => None,
    };
    NodeInfo::new(
        &config.node_name(),
        config.hive_username.as_deref().unwrap_or_default(),
        peer_id,
        VERSION,
    )
}

/// A job taken from a service was committed with its claim, outside the
/// engine's lifecycle: announced here, as the lifecycle announces its
/// moves. It starts queued, or failed with `refusal` when its input
/// cannot be used.
pub(crate) fn announce_taken(engine: &Engine, job: JobId, refusal: Option<String>) {
    let state = match refusal {
        Some(_) => JobState::Failed,
        None => JobState::Queued,
    };
    engine.events().send(JobEvent::State {
        job,
        state,
        detail: refusal,
    });
}

/// An input a 3Speak service handed us, as a local job input: only http(s)
/// URLs and IPFS content; a path on this machine is never taken from a
/// service. `service` names it in the refusal.
pub(crate) fn remote_input(uri: &str, service: &str) -> Result<String, String> {
    match JobInput::parse(uri, Path::new("/")) {
        Ok(input) if input.is_remote() => Ok(input.to_text()),
        Ok(_) => Err(format!(
            "{service}'s input {uri:?} is not an http(s) or ipfs:// URL"
        )),
        Err(e) => Err(format!("{service}'s input: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::remote_input;

    #[test]
    fn only_urls_and_ipfs_content_are_taken_from_a_service() {
        let take = |uri| remote_input(uri, "the gateway");
        assert_eq!(
            take("https://cdn.example/v.mp4").unwrap(),
            "https://cdn.example/v.mp4"
        );
        let cid = "ipfs://QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN";
        assert_eq!(take(cid).unwrap(), cid);
        let refused = take("/etc/passwd").unwrap_err();
        assert!(
            refused.starts_with("the gateway's input")
                && refused.contains("not an http(s) or ipfs:// URL"),
            "{refused}"
        );
        assert!(take("ftp://x/v.mp4").is_err());
    }
}
