//! A client for the IPFS Cluster REST API (ipfs-cluster v1, port 9094).
//!
//! A cluster pins a CID on several of its peers at once; each peer that
//! reports `pinned` in the pin's `peer_map` is one replica. Authentication
//! is Basic, or a JWT obtained from `POST /token` with Basic credentials
//! and then sent as a Bearer token.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, RequestBuilder};
use serde::Deserialize;
use tokio::sync::Mutex;
use url::Url;

use crate::http::{Credentials, Endpoint, Secret};
use crate::IpfsError;

#[derive(Debug, Clone)]
pub struct ClusterClient {
    endpoint: Endpoint,
    /// JWT mode: the token from `POST /token`, fetched when first needed.
    jwt: Option<Arc<Mutex<Option<Secret>>>>,
}

/// `GET /id`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ClusterIdentity {
    pub id: String,
    #[serde(default)]
    pub peername: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub cluster_peers: Vec<String>,
}

/// How a CID is to be pinned (`POST /pins/{cid}` query parameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterPin<'a> {
    pub name: &'a str,
    /// -1 (or 0) means every peer.
    pub replication_min: i32,
    pub replication_max: i32,
    /// Multiaddrs (ending in `/p2p/<id>`) of peers that hold the content.
    pub origins: &'a [String],
}

/// `GET /pins/{cid}`: the pin's state on every cluster peer.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct GlobalPinInfo {
    #[serde(default)]
    pub peer_map: BTreeMap<String, PeerPinInfo>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct PeerPinInfo {
    #[serde(default)]
    pub peername: String,
    /// `pinned`, `pinning`, `pin_queued`, `pin_error`, `unpinned`, `remote`, …
    pub status: String,
    #[serde(default)]
    pub error: String,
}

impl GlobalPinInfo {
    /// Peer names whose status is `pinned`, sorted.
    pub fn pinned_peers(&self) -> Vec<String> {
        self.peer_map
            .iter()
            .filter(|(_, info)| info.status == "pinned")
            .map(|(id, info)| {
                if info.peername.is_empty() {
                    id.clone()
                } else {
                    info.peername.clone()
                }
            })
            .collect()
    }

    /// Peers that gave up (`pin_error`, `error`, `cluster_error`,
    /// `unexpectedly_unpinned`), with their errors.
    pub fn failed_peers(&self) -> Vec<String> {
        self.peer_map
            .values()
            .filter(|info| {
                matches!(
                    info.status.as_str(),
                    "pin_error" | "error" | "cluster_error" | "unexpectedly_unpinned"
                )
            })
            .map(|info| format!("{} {}: {}", info.peername, info.status, info.error))
            .collect()
    }
}

impl ClusterClient {
    /// `jwt`: trade the Basic credentials for a token from `POST /token`.
    pub fn new(base: Url, credentials: Option<Credentials>, jwt: bool) -> ClusterClient {
        ClusterClient {
            endpoint: Endpoint::new(base, credentials),
            jwt: jwt.then(|| Arc::new(Mutex::new(None))),
        }
    }

    pub fn endpoint(&self) -> &str {
        self.endpoint.display()
    }

    pub async fn id(&self, timeout: Duration) -> Result<ClusterIdentity, IpfsError> {
        let op = "cluster id";
        let response = self.send(op, |c| self.get(c, &["id"]), timeout).await?;
        self.endpoint.json(op, response).await
    }

    /// `POST /pins/{cid}`: the cluster allocates the pin to its peers.
    pub async fn pin(
        &self,
        cid: &str,
        pin: &ClusterPin<'_>,
        timeout: Duration,
    ) -> Result<(), IpfsError> {
        let op = "cluster pin";
        let query = [
            ("replication-min", pin.replication_min.to_string()),
            ("replication-max", pin.replication_max.to_string()),
            ("name", pin.name.to_owned()),
            ("mode", "recursive".to_owned()),
            ("origins", pin.origins.join(",")),
        ];
        let url = self.endpoint.url(["pins", cid]);
        self.send(
            op,
            |c| {
                self.endpoint
                    .request_as(Method::POST, url.clone(), c)
                    .query(&query)
            },
            timeout,
        )
        .await
        .map(drop)
    }

    /// `GET /pins/{cid}`. A CID the cluster does not track answers with
    /// every peer `unpinned`.
    pub async fn status(&self, cid: &str, timeout: Duration) -> Result<GlobalPinInfo, IpfsError> {
        let op = "cluster status";
        let response = self
            .send(op, |c| self.get(c, &["pins", cid]), timeout)
            .await?;
        self.endpoint.json(op, response).await
    }

    /// `POST /pins/{cid}/recover`: retry peers where the pin failed or vanished.
    pub async fn recover(&self, cid: &str, timeout: Duration) -> Result<(), IpfsError> {
        let op = "cluster recover";
        let url = self.endpoint.url(["pins", cid, "recover"]);
        self.send(
            op,
            |c| self.endpoint.request_as(Method::POST, url.clone(), c),
            timeout,
        )
        .await
        .map(drop)
    }

    fn get(&self, credentials: Option<&Credentials>, path: &[&str]) -> RequestBuilder {
        self.endpoint.request_as(
            Method::GET,
            self.endpoint.url(path.iter().copied()),
            credentials,
        )
    }

    /// Sends with the right credentials. In JWT mode a refused token is
    /// renewed once: tokens can expire or the cluster can restart.
    async fn send(
        &self,
        op: &str,
        request: impl Fn(Option<&Credentials>) -> RequestBuilder,
        timeout: Duration,
    ) -> Result<reqwest::Response, IpfsError> {
        let Some(jwt) = &self.jwt else {
            return self
                .endpoint
                .send(op, request(self.endpoint.credentials()), timeout)
                .await;
        };
        for renewed in [false, true] {
            let token = self.token(jwt, renewed, timeout).await?;
            let bearer = Credentials::Bearer(token);
            match self
                .endpoint
                .send(op, request(Some(&bearer)), timeout)
                .await
            {
                Err(IpfsError::Unauthorized { .. }) if !renewed => continue,
                other => return other,
            }
        }
        unreachable!("the second pass always returns")
    }

    async fn token(
        &self,
        jwt: &Mutex<Option<Secret>>,
        renew: bool,
        timeout: Duration,
    ) -> Result<Secret, IpfsError> {
        let mut cached = jwt.lock().await;
        if let (Some(token), false) = (cached.as_ref(), renew) {
            return Ok(token.clone());
        }
        #[derive(Deserialize)]
        struct Token {
            token: String,
        }
        let op = "cluster token";
        let request = self
            .endpoint
            .request(Method::POST, self.endpoint.url(["token"]));
        let response = self.endpoint.send(op, request, timeout).await?;
        let token = Secret::new(self.endpoint.json::<Token>(op, response).await?.token);
        *cached = Some(token.clone());
        Ok(token)
    }
}
