//! A client for the IPFS Pinning Service API (Pinata, Filebase,
//! 4EVERLAND, …): ask the service to pin a CID, giving it the addresses
//! of nodes that hold the content, then poll the request until it is
//! `pinned` or `failed`. Bearer token authentication.

use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;
use url::Url;

use crate::http::{Credentials, Endpoint};
use crate::IpfsError;

#[derive(Debug, Clone)]
pub struct PinningServiceClient {
    endpoint: Endpoint,
}

/// A pin request as the service reports it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct PinStatus {
    pub requestid: String,
    /// `queued`, `pinning`, `pinned` or `failed`.
    pub status: String,
    /// Multiaddrs of the service's nodes, to connect to.
    #[serde(default)]
    pub delegates: Vec<String>,
    #[serde(default)]
    pub info: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct PinResults {
    results: Vec<PinStatus>,
}

impl PinningServiceClient {
    pub fn new(base: Url, token: Option<Credentials>) -> PinningServiceClient {
        PinningServiceClient {
            endpoint: Endpoint::new(base, token),
        }
    }

    pub fn endpoint(&self) -> &str {
        self.endpoint.display()
    }

    /// `POST /pins`: asks the service to pin `cid`, fetching it from `origins`.
    pub async fn add(
        &self,
        cid: &str,
        name: &str,
        origins: &[String],
        timeout: Duration,
    ) -> Result<PinStatus, IpfsError> {
        let op = "service pin";
        let body = json!({ "cid": cid, "name": name, "origins": origins, "meta": { "app": "tank-encoder" } });
        let request = self
            .endpoint
            .request(Method::POST, self.endpoint.url(["pins"]))
            .json(&body);
        let response = self.endpoint.send(op, request, timeout).await?;
        self.endpoint.json(op, response).await
    }

    /// `GET /pins/{requestid}`.
    pub async fn status(&self, requestid: &str, timeout: Duration) -> Result<PinStatus, IpfsError> {
        let op = "service status";
        let request = self
            .endpoint
            .request(Method::GET, self.endpoint.url(["pins", requestid]));
        let response = self.endpoint.send(op, request, timeout).await?;
        self.endpoint.json(op, response).await
    }

    /// Every request for `cid` in any state (the API lists only `pinned`
    /// ones unless told otherwise).
    pub async fn find(&self, cid: &str, timeout: Duration) -> Result<Vec<PinStatus>, IpfsError> {
        let op = "service list";
        let request = self
            .endpoint
            .request(Method::GET, self.endpoint.url(["pins"]))
            .query(&[("cid", cid), ("status", "queued,pinning,pinned,failed")]);
        let response = self.endpoint.send(op, request, timeout).await?;
        Ok(self
            .endpoint
            .json::<PinResults>(op, response)
            .await?
            .results)
    }

    /// A cheap authenticated call: is the service there and does it take
    /// our token?
    pub async fn check(&self, timeout: Duration) -> Result<(), IpfsError> {
        let op = "service check";
        let request = self
            .endpoint
            .request(Method::GET, self.endpoint.url(["pins"]))
            .query(&[("limit", "1")]);
        self.endpoint.send(op, request, timeout).await.map(drop)
    }
}
