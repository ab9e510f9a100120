//! The embed system (`embed.3speak.tv`), 3Speak's source of community jobs
//! since 2026: `updateNode` registers this encoder, `heartbeat` says it is
//! online, `myJob` claims the oldest free job. All three are signed POSTs.
//!
//! Its refusals mean different things, told apart by [`GatewayError`]:
//! 404 "Encoder not registered" (register again), 403 "Encoder is disabled
//! or banned" (stop asking), 401 "Invalid JWS signature".

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use url::Url;

use crate::error::GatewayError;
use crate::identity::Identity;
use crate::transport::{parse, protocol, SignedEndpoint};
use crate::wire::{EmbedJob, EncoderRecord, NodeInfo};

/// The embed system at one URL, spoken to as one identity. Cheap to clone.
#[derive(Debug, Clone)]
pub struct EmbedGateway {
    endpoint: SignedEndpoint,
}

impl EmbedGateway {
    /// `base` is the embed system's root (`https://embed.3speak.tv`); each
    /// call waits at most `timeout`.
    pub fn new(base: &Url, identity: Arc<Identity>, timeout: Duration) -> EmbedGateway {
        EmbedGateway {
            endpoint: SignedEndpoint::new(base, identity, timeout),
        }
    }

    pub fn did(&self) -> &str {
        self.endpoint.did()
    }

    /// Registers (or updates) this encoder; answers the record the embed
    /// system keeps of it: its own name for us, tier, access, enabled.
    pub async fn update_node(&self, info: &NodeInfo) -> Result<EncoderRecord, GatewayError> {
        let text = self
            .endpoint
            .post("updateNode", json!({ "node_info": info }))
            .await?;
        let answer: Value = parse("updateNode", &text)?;
        serde_json::from_value(answer.get("encoder").cloned().unwrap_or(Value::Null))
            .map_err(|e| protocol("updateNode", &e))
    }

    /// Says this encoder is online (`now` is RFC 3339).
    pub async fn heartbeat(&self, now: &str, version: &str) -> Result<(), GatewayError> {
        self.endpoint
            .post("heartbeat", json!({ "timestamp": now, "version": version }))
            .await
            .map(drop)
    }

    /// Claims the oldest free job, if there is one. The claim is made by
    /// this call: the job is ours until we report it or stop sending
    /// progress for 30 minutes.
    pub async fn my_job(&self, now: &str) -> Result<Option<EmbedJob>, GatewayError> {
        let text = self
            .endpoint
            .post("myJob", json!({ "timestamp": now }))
            .await?;
        let answer: Value = parse("myJob", &text)?;
        match answer.get("job") {
            None | Some(Value::Null) => Ok(None),
            Some(job) => {
                EmbedJob::from_wire(job)
                    .map(Some)
                    .map_err(|detail| GatewayError::Protocol {
                        op: "myJob",
                        detail,
                    })
            }
        }
    }
}
