//! Reports to a 3Speak webhook receiver: the job's result (`POST
//! {webhook_url}`) and its progress (`POST {webhook_url}/progress`), each
//! with the job's key in `X-API-Key`.
//!
//! This is only the wire. When to send, and sending until the receiver has
//! it, is the daemon's outbox.

use std::time::Duration;

use url::Url;

use crate::error::GatewayError;
use crate::transport::{client, exchange};
use crate::wire::{CallbackKey, ProgressReport, WebhookReport};

/// A client for webhook receivers. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Webhooks {
    http: reqwest::Client,
    timeout: Duration,
}

impl Webhooks {
    pub fn new(timeout: Duration) -> Webhooks {
        Webhooks {
            http: client(),
            timeout,
        }
    }

    /// Sends a job's result; answers the receiver's reply.
    pub async fn report(
        &self,
        url: &Url,
        key: &CallbackKey,
        report: &WebhookReport,
    ) -> Result<String, GatewayError> {
        let request = self
            .http
            .post(url.clone())
            .header("X-API-Key", key.expose())
            .json(report);
        exchange("webhook", request, self.timeout, &tank_ipfs::redacted(url)).await
    }

    /// Sends a job's progress to `<url>/progress`.
    pub async fn progress(
        &self,
        url: &Url,
        key: &CallbackKey,
        progress: &ProgressReport,
    ) -> Result<(), GatewayError> {
        let mut target = url.clone();
        target
            .path_segments_mut()
            .map_err(|()| GatewayError::Protocol {
                op: "progress",
                detail: format!(
                    "the webhook URL {} cannot have a path",
                    tank_ipfs::redacted(url)
                ),
            })?
            .pop_if_empty()
            .push("progress");
        let request = self
            .http
            .post(target)
            .header("X-API-Key", key.expose())
            .json(progress);
        exchange("progress", request, self.timeout, &tank_ipfs::redacted(url))
            .await
            .map(drop)
    }
}
