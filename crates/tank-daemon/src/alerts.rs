//! Alerts to webhooks (Discord, Slack, or generic JSON) when a node goes
//! down or recovers, when a vanished replica cannot be restored, and when
//! failed calls or failed verifications spike. Each alert is sent at most
//! once per `[alerting] min_interval` per webhook, across restarts. A
//! webhook's URL is a secret (it carries a token) and is never logged.

use std::time::Duration;

use serde_json::{json, Value};
use tank_ipfs::Secret;

use tank_config::{AlertKind, AlertTarget, AlertingConfig, Config, Secrets};
use tank_model::{HealthChange, HealthState, JobId, Replica};
use tank_store::{now_ms, rfc3339, Store};

const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Something an operator should hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alert {
    NodeDown {
        node: String,
        detail: Option<String>,
    },
    NodeRecovered {
        node: String,
    },
    ReplicaMissing {
        job: JobId,
        replica: Replica,
        detail: String,
    },
    RetrySpike {
        failures: u32,
        window: Duration,
    },
    VerifySpike {
        failures: u32,
        window: Duration,
    },
    /// The local node's supervisor gave up on it.
    LocalNodeDown {
        reason: String,
    },
    /// The 3Speak gateway stopped answering: no new work, no reports.
    GatewayDown {
        detail: Option<String>,
    },
    GatewayRecovered,
    /// The embed system refuses this encoder work (403: disabled or banned).
    EncoderRefused {
        reason: String,
    },
    /// A webhook receiver refused a job's report for good (a 4xx).
    ReportRefused {
        job: JobId,
        detail: String,
    },
}

impl Alert {
    /// Alerts from a node's state change (none for moves within "up").
    pub fn from_change(change: &HealthChange) -> Option<Alert> {
        match (change.from, change.to) {
            (_, HealthState::Down) => Some(Alert::NodeDown {
                node: change.node.clone(),
                detail: change.detail.clone(),
            }),
            (HealthState::Down, _) => Some(Alert::NodeRecovered {
                node: change.node.clone(),
            }),
            _ => None,
        }
    }

    /// Alerts from the gateway's state change.
    pub fn from_gateway_change(change: &HealthChange) -> Option<Alert> {
        match (change.from, change.to) {
            (_, HealthState::Down) => Some(Alert::GatewayDown {
                detail: change.detail.clone(),
            }),
            (HealthState::Down, _) => Some(Alert::GatewayRecovered),
            _ => None,
        }
    }

    pub fn event(&self) -> &'static str {
        match self {
            Alert::NodeDown { .. } => "node_down",
            Alert::NodeRecovered { .. } => "node_recovered",
            Alert::ReplicaMissing { .. } => "replica_missing",
            Alert::RetrySpike { .. } => "retry_spike",
            Alert::VerifySpike { .. } => "verification_spike",
            Alert::LocalNodeDown { .. } => "local_node_down",
            Alert::GatewayDown { .. } => "gateway_down",
            Alert::GatewayRecovered => "gateway_recovered",
            Alert::EncoderRefused { .. } => "encoder_refused",
            Alert::ReportRefused { .. } => "report_refused",
        }
    }

    /// What makes two alerts "the same" for rate limiting.
    fn key(&self) -> String {
        match self {
            Alert::NodeDown { node, .. } | Alert::NodeRecovered { node } => {
                format!("{}:{node}", self.event())
            }
            Alert::ReplicaMissing { job, replica, .. } => {
                format!("{}:{job}:{replica}", self.event())
            }
            Alert::ReportRefused { job, .. } => format!("{}:{job}", self.event()),
            Alert::RetrySpike { .. }
            | Alert::EncoderRefused { .. }
            | Alert::VerifySpike { .. }
            | Alert::LocalNodeDown { .. }
            | Alert::GatewayDown { .. }
            | Alert::GatewayRecovered => self.event().to_owned(),
        }
    }

    pub fn message(&self) -> String {
        match self {
            Alert::NodeDown { node, detail } => match detail {
                Some(detail) => format!("IPFS node {node} is DOWN: {detail}"),
                None => format!("IPFS node {node} is DOWN"),
            },
            Alert::NodeRecovered { node } => format!("IPFS node {node} has recovered"),
            Alert::ReplicaMissing {
                job,
                replica,
                detail,
            } => {
                format!("job {job}: the replica on {replica} vanished and could not be restored: {detail}")
            }
            Alert::LocalNodeDown { reason } => format!("the local IPFS node is DOWN: {reason}"),
            Alert::GatewayDown { detail } => match detail {
                Some(detail) => format!("the 3Speak gateway is DOWN: {detail}"),
                None => "the 3Speak gateway is DOWN".into(),
            },
            Alert::GatewayRecovered => "the 3Speak gateway has recovered".into(),
            Alert::EncoderRefused { reason } => {
                format!("3Speak's embed system gives this encoder no work: {reason}")
            }
            Alert::ReportRefused { job, detail } => {
                format!("job {job}: its report was refused for good and will not be sent again: {detail}")
            }
            Alert::RetrySpike { failures, window } => {
                format!(
                    "{failures} calls to IPFS nodes failed in the last {}",
                    humantime::format_duration(*window)
                )
            }
            Alert::VerifySpike { failures, window } => {
                format!(
                    "{failures} replica verifications failed in the last {}",
                    humantime::format_duration(*window)
                )
            }
        }
    }

    fn fields(&self) -> Value {
        match self {
            Alert::NodeDown { node, .. } | Alert::NodeRecovered { node } => json!({ "node": node }),
            Alert::ReplicaMissing { job, replica, .. } => {
                json!({ "job": job, "replica": replica.to_string() })
            }
            Alert::RetrySpike { failures, window } | Alert::VerifySpike { failures, window } => {
                json!({ "failures": failures, "window_seconds": window.as_secs() })
            }
            Alert::LocalNodeDown { .. } => json!({ "node": "local" }),
            Alert::GatewayDown { .. } | Alert::GatewayRecovered | Alert::EncoderRefused { .. } => {
                json!({ "service": "gateway" })
            }
            Alert::ReportRefused { job, .. } => json!({ "job": job }),
        }
    }

    /// The webhook body for a kind of target.
    pub fn payload(&self, kind: AlertKind) -> Value {
        let text = format!("Tank Encoder: {}", self.message());
        match kind {
            AlertKind::Discord => json!({ "content": text }),
            AlertKind::Slack => json!({ "text": text }),
            AlertKind::Json => {
                let mut body = json!({
                    "source": "tank-encoder",
                    "event": self.event(),
                    "message": self.message(),
                    "at": rfc3339(now_ms()),
                });
                if let (Some(body), Value::Object(fields)) = (body.as_object_mut(), self.fields()) {
                    body.extend(fields);
                }
                body
            }
        }
    }
}

/// Where alerts go: the configured webhooks, rate-limited through the
/// store, their URLs read from the keyring. Cheap to clone.
#[derive(Clone)]
pub struct Alerts {
    store: Store,
    secrets: Secrets,
    targets: Vec<AlertTarget>,
    alerting: AlertingConfig,
}

impl Alerts {
    pub fn new(config: &Config, store: Store, secrets: Secrets) -> Alerts {
        Alerts {
            store,
            secrets,
            targets: config.alerts.clone(),
            alerting: config.alerting.clone(),
        }
    }

    /// How often spikes are looked for.
    pub fn spike_interval(&self) -> std::time::Duration {
        (self.alerting.window / 10).max(std::time::Duration::from_secs(1))
    }

    /// Sends `alert` to every webhook that has not had it recently. Returns
    /// how many webhooks took it.
    pub async fn send(&self, alert: &Alert) -> usize {
        let http = reqwest::Client::new();
        let mut sent = 0;
        for target in &self.targets {
            let key = format!("{}:{}", target.name, alert.key());
            let min_interval = self.alerting.min_interval.as_millis() as i64;
            match self.store.claim_alert(&key, min_interval, now_ms()) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::error!(%e, "cannot check the alert rate limit");
                    continue;
                }
            }
            match self.post_alert(&http, target, alert).await {
                Ok(()) => sent += 1,
                Err(why) => tracing::warn!(
                    webhook = target.name,
                    event = alert.event(),
                    why,
                    "alert not delivered"
                ),
            }
        }
        if sent == 0 && self.targets.is_empty() {
            tracing::warn!(
                event = alert.event(),
                message = alert.message(),
                "alert (no webhook configured)"
            );
        }
        sent
    }

    async fn post_alert(
        &self,
        http: &reqwest::Client,
        target: &AlertTarget,
        alert: &Alert,
    ) -> Result<(), String> {
        let url: Secret = self
            .secrets
            .get(&target.secret_key())
            .map_err(|e| e.to_string())?;
        let response = http
            .post(url.expose())
            .timeout(SEND_TIMEOUT)
            .json(&alert.payload(target.kind))
            .send()
            .await
            // Never the URL: reqwest's message would contain it.
            .map_err(|e| tank_ipfs::root_cause(&e))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("the webhook answered {}", response.status()))
        }
    }

    /// Alerts when failed calls or failed verifications within the window
    /// pass their thresholds.
    pub async fn check_spikes(&self) {
        let alerting = &self.alerting;
        let since = now_ms() - alerting.window.as_millis() as i64;
        let Ok((verify_failures, call_failures)) = self.store.failure_counts(since) else {
            return;
        };
        if call_failures >= alerting.retry_spike {
            self.send(&Alert::RetrySpike {
                failures: call_failures,
                window: alerting.window,
            })
            .await;
        }
        if verify_failures >= alerting.verify_spike {
            self.send(&Alert::VerifySpike {
                failures: verify_failures,
                window: alerting.window,
            })
            .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_webhook_kind_gets_its_own_shape() {
        let alert = Alert::NodeDown {
            node: "supernode".into(),
            detail: Some("connection refused".into()),
        };
        assert_eq!(
            alert.payload(AlertKind::Discord),
            json!({"content": "Tank Encoder: IPFS node supernode is DOWN: connection refused"})
        );
        assert_eq!(
            alert.payload(AlertKind::Slack)["text"],
            "Tank Encoder: IPFS node supernode is DOWN: connection refused"
        );
        let generic = alert.payload(AlertKind::Json);
        assert_eq!(generic["event"], "node_down");
        assert_eq!(generic["node"], "supernode");
        assert_eq!(generic["source"], "tank-encoder");
    }

    #[test]
    fn only_going_down_and_coming_back_are_alerts() {
        let change = |from: &str, to: &str| HealthChange {
            node: "n".into(),
            from: HealthState::parse(from),
            to: HealthState::parse(to),
            detail: None,
        };
        assert_eq!(
            Alert::from_change(&change("degraded", "down"))
                .unwrap()
                .event(),
            "node_down"
        );
        assert_eq!(
            Alert::from_change(&change("down", "degraded"))
                .unwrap()
                .event(),
            "node_recovered"
        );
        assert_eq!(Alert::from_change(&change("healthy", "degraded")), None);
    }
}
