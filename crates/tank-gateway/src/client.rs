//! The gateway's endpoints. GETs are plain; every POST body is
//! `{"jws": <the payload signed by our identity>}`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use url::Url;

use crate::error::GatewayError;
use crate::identity::Identity;
use crate::transport::{parse, status_error, SignedEndpoint};
use crate::wire::{FailReport, GatewayJob, NodeInfo, RemoteStatus};

/// The legacy encoder gateway at one URL, spoken to as one identity.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct EncoderGateway {
    endpoint: SignedEndpoint,
}

/// How `acceptJob` went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The job is ours.
    Won,
    /// Another encoder has it; the gateway's words.
    Lost(String),
}

/// How `finishJob` went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    Accepted,
    /// The gateway already has this job's result (a report sent before a
    /// crash, or a retry of a report whose answer was lost).
    Duplicate(String),
}

impl EncoderGateway {
    /// `base` is the gateway's root (`https://encoder-gateway.infra.3speak.tv`);
    /// each call waits at most `timeout`.
    pub fn new(base: &Url, identity: Arc<Identity>, timeout: Duration) -> EncoderGateway {
        EncoderGateway {
            endpoint: SignedEndpoint::new(base, identity, timeout),
        }
    }

    pub fn did(&self) -> &str {
        self.endpoint.did()
    }

    /// Announces this encoder: its name, Hive account, IPFS peer id, version.
    pub async fn update_node(&self, info: &NodeInfo) -> Result<(), GatewayError> {
        self.post("updateNode", json!({ "node_info": info }))
            .await
            .map(drop)
    }

    /// The oldest queued job, if any (legacy polling; not yet ours).
    pub async fn get_job(&self) -> Result<Option<GatewayJob>, GatewayError> {
        match self.get("getJob", "getJob").await {
            Ok(text) => parse_optional_job("getJob", &text),
            Err(GatewayError::Refused { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Claims a job. Losing it to another encoder is an answer, not an error.
    pub async fn accept_job(&self, job_id: &str) -> Result<Claim, GatewayError> {
        match self.post("acceptJob", json!({ "job_id": job_id })).await {
            Ok(_) => Ok(Claim::Won),
            Err(e) if e.is_lost_race() => Ok(Claim::Lost(e.to_string())),
            Err(e) => Err(e),
        }
    }

    /// Tells the gateway the job is alive: overall and download progress in
    /// percent. A job whose pings stop is given to another encoder.
    pub async fn ping_job(
        &self,
        job_id: &str,
        progress_pct: f64,
        download_pct: f64,
    ) -> Result<(), GatewayError> {
        self.post(
            "pingJob",
            json!({ "job_id": job_id, "progressPct": progress_pct, "download_pct": download_pct }),
        )
        .await
        .map(drop)
    }

    /// Reports the job's result. An answer saying the result is already
    /// there counts as reported.
    pub async fn finish_job(&self, job_id: &str, cid: &str) -> Result<Finish, GatewayError> {
        let answer = self
            .post(
                "finishJob",
                json!({ "job_id": job_id, "output": { "cid": cid } }),
            )
            .await;
        match answer {
            Ok(text) => match status_error(&text) {
                // 2026 gateways may answer 200 with {"status": "error"}.
                Some(message) => {
                    let refused = GatewayError::Refused {
                        op: "finishJob",
                        status: 200,
                        message,
                    };
                    duplicate_or(refused)
                }
                None => Ok(Finish::Accepted),
            },
            Err(e) => duplicate_or(e),
        }
    }

    /// Reports that the job failed here; `retryable` tells the gateway
    /// whether another encoder should try it.
    pub async fn fail_job(&self, job_id: &str, report: &FailReport) -> Result<(), GatewayError> {
        self.post("failJob", json!({ "job_id": job_id, "error": report }))
            .await
            .map(drop)
    }

    /// Gives a claimed job back to the queue.
    pub async fn reject_job(&self, job_id: &str) -> Result<(), GatewayError> {
        self.post("rejectJob", json!({ "job_id": job_id }))
            .await
            .map(drop)
    }

    /// What the gateway knows of a job: its status, who has it, its result.
    pub async fn job_status(&self, job_id: &str) -> Result<RemoteStatus, GatewayError> {
        let text = self
            .get("jobstatus", &format!("jobstatus/{job_id}"))
            .await?;
        parse("jobstatus", &text)
    }

    /// A cheap unsigned call that shows whether the gateway answers.
    pub async fn stats(&self) -> Result<(), GatewayError> {
        self.get("stats", "stats").await.map(drop)
    }

    async fn get(&self, op: &'static str, path: &str) -> Result<String, GatewayError> {
        self.endpoint.get(op, path).await
    }

    async fn post(&self, op: &'static str, payload: Value) -> Result<String, GatewayError> {
        self.endpoint.post(op, payload).await
    }
}

/// A job, or none: the legacy gateway answers "no job" with an empty body.
fn parse_optional_job(op: &'static str, text: &str) -> Result<Option<GatewayJob>, GatewayError> {
    match text.trim() {
        "" | "null" | "{}" => Ok(None),
        text => parse(op, text).map(Some),
    }
}

fn duplicate_or(error: GatewayError) -> Result<Finish, GatewayError> {
    if error.is_duplicate_finish() {
        Ok(Finish::Duplicate(error.to_string()))
    } else {
        Err(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(status: u16, message: &str) -> GatewayError {
        GatewayError::Refused {
            op: "acceptJob",
            status,
            message: message.into(),
        }
    }

    #[test]
    fn a_taken_job_is_a_lost_race_and_a_server_error_is_not() {
        assert!(refused(409, "anything").is_lost_race());
        assert!(refused(400, "bad").is_lost_race());
        assert!(refused(500, "abc is nolonger available").is_lost_race());
        assert!(refused(500, "Job already accepted").is_lost_race());
        assert!(!refused(500, "Internal server error").is_lost_race());
        assert!(!refused(503, "maintenance").is_lost_race());
    }

    #[test]
    fn a_finish_answered_already_completed_is_a_duplicate() {
        assert!(refused(500, "job x already completed (duplicate finish)").is_duplicate_finish());
        assert!(!refused(500, "This job does not belong to you!").is_duplicate_finish());
        assert!(!refused(500, "Internal server error").is_duplicate_finish());
    }

    #[test]
    fn no_job_is_an_empty_answer_or_null() {
        for text in ["", "  ", "null", "{}"] {
            assert_eq!(parse_optional_job("getJob", text).unwrap(), None);
        }
        assert!(parse_optional_job("getJob", "<html>").is_err());
    }

    #[test]
    fn paths_hang_off_the_gateway_root_whatever_its_slash() {
        let identity = Arc::new(Identity::from_seed(&[7; 32]));
        for base in [
            "http://gw.example/",
            "http://gw.example",
            "http://gw.example/prefix",
        ] {
            let endpoint = SignedEndpoint::new(
                &Url::parse(base).unwrap(),
                identity.clone(),
                Duration::from_secs(1),
            );
            let prefix = base.trim_end_matches('/');
            assert_eq!(
                endpoint.url("getJob").as_str(),
                format!("{prefix}/api/v0/gateway/getJob")
            );
        }
    }
}
