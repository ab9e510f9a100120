//! A client for the kubo RPC API (`POST /api/v0/<command>`).
//!
//! Only the commands Tank Encoder needs, each with an explicit timeout, and
//! every failure classified into an [`IpfsError`] that says whether the node
//! could not be reached, did not answer in time, or answered with an error.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;
use url::Url;

use crate::folder;
use crate::http::{Credentials, Endpoint};
use crate::multipart::{folder_form, UploadProgress};
use crate::{IpfsError, IMPORT_OPTIONS};

/// How often the upload watchdog looks at the progress of the body.
const WATCHDOG_TICK: Duration = Duration::from_millis(250);

#[derive(Debug, Clone)]
pub struct KuboClient {
    endpoint: Endpoint,
}

/// `version`: what kubo says it is.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct NodeVersion {
    #[serde(rename = "Version")]
    pub version: String,
    #[serde(rename = "Repo", default)]
    pub repo: String,
    #[serde(rename = "System", default)]
    pub system: String,
}

/// `id`: the node's peer identity and the addresses others can dial.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct PeerIdentity {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Addresses", default)]
    pub addresses: Vec<String>,
    #[serde(rename = "AgentVersion", default)]
    pub agent_version: String,
}

/// Timeouts of one folder upload.
#[derive(Debug, Clone, Copy)]
pub struct UploadLimits {
    /// The upload fails when the node accepts no bytes for this long.
    pub stall_timeout: Duration,
    /// Once every byte is sent, how long the node may take to answer.
    pub answer_timeout: Duration,
}

#[derive(Debug, Deserialize)]
struct AddEvent {
    #[serde(rename = "Name", default)]
    name: String,
    #[serde(rename = "Hash")]
    hash: Option<String>,
}

/// `repo/stat`: how full the node's repo is.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub struct RepoStat {
    #[serde(rename = "RepoSize")]
    pub repo_size: u64,
    #[serde(rename = "StorageMax")]
    pub storage_max: u64,
}

impl KuboClient {
    /// A client for the node whose RPC API is at `base` (e.g.
    /// `http://127.0.0.1:5001`), with the credentials its
    /// `API.Authorizations` asks for, if any.
    pub fn new(base: Url, credentials: Option<Credentials>) -> Self {
        KuboClient {
            endpoint: Endpoint::new(base, credentials),
        }
    }

    /// The API address as it may be shown: without credentials.
    pub fn endpoint(&self) -> &str {
        self.endpoint.display()
    }

    pub async fn version(&self, timeout: Duration) -> Result<NodeVersion, IpfsError> {
        let response = self.post("version", &[], timeout).await?;
        self.endpoint.json("version", response).await
    }

    pub async fn id(&self, timeout: Duration) -> Result<PeerIdentity, IpfsError> {
        let response = self.post("id", &[], timeout).await?;
        self.endpoint.json("id", response).await
    }

    /// `add --wrap-with-directory` of the folder's contents with the import
    /// parameters [`folder_cid`](crate::folder_cid) uses (the content is
    /// pinned, as kubo does by default). Returns the root CID the node
    /// reports.
    pub async fn add_folder(&self, root: &Path, limits: UploadLimits) -> Result<String, IpfsError> {
        let root = root.to_owned();
        let entries = tokio::task::spawn_blocking(move || folder::list(&root))
            .await
            .expect("listing a folder does not panic")?;
        self.add_entries(entries, limits).await
    }

    /// [`add_folder`](Self::add_folder) of a listing of one folder, maybe
    /// narrowed ([`only_entries`](crate::only_entries)): exactly those entries.
    pub async fn add_entries(
        &self,
        entries: Vec<folder::FolderEntry>,
        limits: UploadLimits,
    ) -> Result<String, IpfsError> {
        let op = "add";
        if entries.is_empty() {
            return Err(IpfsError::EmptyFolder);
        }
        let total = folder::total_bytes(&entries);
        let progress = Arc::new(UploadProgress::new());
        let request = self
            .endpoint
            .request(Method::POST, self.url(op))
            .query(&[
                ("wrap-with-directory", "true"),
                ("pin", "true"),
                ("progress", "false"),
            ])
            .query(&IMPORT_OPTIONS)
            .multipart(folder_form(&entries, progress.clone()))
            .send();
        let response = self
            .watch_upload(op, request, &progress, total, limits)
            .await?;
        let response = self
            .endpoint
            .check_status(op, response, limits.answer_timeout)
            .await?;
        let events = tokio::time::timeout(
            limits.answer_timeout,
            self.endpoint.ndjson::<AddEvent>(op, response),
        )
        .await
        .map_err(|_| self.endpoint.timeout(op, limits.answer_timeout))??;
        // With wrap-with-directory the wrapper is the entry with an empty name.
        // A stream that ends without it failed after the 200 was sent: kubo
        // puts such errors in the X-Stream-Error trailer.
        events
            .into_iter()
            .rev()
            .find(|e| e.name.is_empty())
            .and_then(|e| e.hash)
            .ok_or_else(|| {
                self.endpoint.protocol(
                    op,
                    "the stream ended before kubo reported the root CID (kubo sends late errors in the X-Stream-Error trailer)",
                )
            })
    }

    /// `pin/add` (recursive). When the node does not hold the blocks yet it
    /// fetches them from connected peers first, which can take long.
    pub async fn pin_add(&self, cid: &str, timeout: Duration) -> Result<(), IpfsError> {
        #[derive(Deserialize)]
        struct Pins {
            #[serde(rename = "Pins", default)]
            pins: Vec<String>,
        }
        let op = "pin/add";
        let response = self
            .post(op, &[("arg", cid), ("recursive", "true")], timeout)
            .await?;
        let pins: Pins = self.endpoint.json(op, response).await?;
        if pins.pins.iter().any(|p| p == cid) {
            Ok(())
        } else {
            Err(self
                .endpoint
                .protocol(op, &format!("the answer does not list {cid} as pinned")))
        }
    }

    /// Whether `cid` is pinned recursively on the node (`pin/ls type=recursive`).
    pub async fn is_pinned(&self, cid: &str, timeout: Duration) -> Result<bool, IpfsError> {
        #[derive(Deserialize)]
        struct PinType {
            #[serde(rename = "Type")]
            kind: String,
        }
        #[derive(Deserialize)]
        struct Keys {
            #[serde(rename = "Keys", default)]
            keys: std::collections::HashMap<String, PinType>,
        }
        let op = "pin/ls";
        match self
            .post(op, &[("arg", cid), ("type", "recursive")], timeout)
            .await
        {
            Ok(response) => {
                let keys: Keys = self.endpoint.json(op, response).await?;
                Ok(keys
                    .keys
                    .get(cid)
                    .is_some_and(|pin| pin.kind == "recursive"))
            }
            // kubo answers "path '<cid>' is not pinned" as an error.
            Err(IpfsError::Api { message, .. }) if message.contains("is not pinned") => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// `shutdown`: the daemon stops (after answering).
    pub async fn shutdown(&self, timeout: Duration) -> Result<(), IpfsError> {
        self.post("shutdown", &[], timeout).await.map(drop)
    }

    /// `pin/rm` (recursive).
    pub async fn pin_rm(&self, cid: &str, timeout: Duration) -> Result<(), IpfsError> {
        self.post("pin/rm", &[("arg", cid)], timeout)
            .await
            .map(drop)
    }

    /// `cat` of a file path such as `<cid>/manifest.m3u8`, refusing more than
    /// `max_bytes`.
    pub async fn cat(
        &self,
        path: &str,
        max_bytes: usize,
        timeout: Duration,
    ) -> Result<Vec<u8>, IpfsError> {
        let op = "cat";
        let response = self.post(op, &[("arg", path)], timeout).await?;
        self.endpoint
            .bytes_limited(op, path, response, max_bytes)
            .await
    }

    /// Whether every block of `cid` is on the node itself: `dag/stat` with
    /// `offline=true` fails when any block would have to be fetched.
    pub async fn is_complete(&self, cid: &str, timeout: Duration) -> Result<(), IpfsError> {
        let op = "dag/stat";
        let response = self
            .post(
                op,
                &[("arg", cid), ("offline", "true"), ("progress", "false")],
                timeout,
            )
            .await?;
        let stats: Vec<serde_json::Value> = self.endpoint.ndjson(op, response).await?;
        match stats.last() {
            Some(summary)
                if summary.get("TotalSize").is_some() || summary.get("DagStats").is_some() =>
            {
                Ok(())
            }
            _ => Err(self.endpoint.protocol(op, "no DAG summary in the answer")),
        }
    }

    /// `repo/stat` (size only, no object count: that walks the whole repo).
    pub async fn repo_stat(&self, timeout: Duration) -> Result<RepoStat, IpfsError> {
        let op = "repo/stat";
        let response = self.post(op, &[("size-only", "true")], timeout).await?;
        self.endpoint.json(op, response).await
    }

    /// `add` of one small file held in memory (pinned, as kubo does by
    /// default). Returns its CID. For canaries, not for videos.
    pub async fn add_bytes(
        &self,
        name: &str,
        bytes: Vec<u8>,
        timeout: Duration,
    ) -> Result<String, IpfsError> {
        let op = "add";
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(crate::multipart::query_escape(name))
            .mime_str("application/octet-stream")
            .expect("static MIME type parses");
        let form = reqwest::multipart::Form::new()
            .percent_encode_noop()
            .part("file", part);
        let request = self
            .endpoint
            .request(Method::POST, self.url(op))
            .query(&IMPORT_OPTIONS)
            .multipart(form);
        let response = self.endpoint.send(op, request, timeout).await?;
        let events: Vec<AddEvent> = self.endpoint.ndjson(op, response).await?;
        events
            .into_iter()
            .rev()
            .find_map(|e| e.hash)
            .ok_or_else(|| self.endpoint.protocol(op, "no CID in the answer"))
    }

    /// `swarm/connect` to a peer given all its multiaddrs (each ending in
    /// `/p2p/<peer id>`): kubo dials the peer once, on whichever works.
    pub async fn swarm_connect(
        &self,
        multiaddrs: &[String],
        timeout: Duration,
    ) -> Result<(), IpfsError> {
        let args: Vec<(&str, &str)> = multiaddrs.iter().map(|a| ("arg", a.as_str())).collect();
        self.post("swarm/connect", &args, timeout).await.map(drop)
    }

    fn url(&self, op: &str) -> Url {
        self.endpoint
            .url(["api", "v0"].into_iter().chain(op.split('/')))
    }

    async fn post(
        &self,
        op: &str,
        args: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<reqwest::Response, IpfsError> {
        let request = self
            .endpoint
            .request(Method::POST, self.url(op))
            .query(args);
        self.endpoint.send(op, request, timeout).await
    }

    /// Runs the upload request while watching its progress: it fails when the
    /// node stops accepting bytes for `stall_timeout`, or does not answer
    /// within `answer_timeout` once everything is sent. A total deadline
    /// would either cut large uploads short or wait far too long on a hung
    /// node.
    async fn watch_upload(
        &self,
        op: &str,
        request: impl std::future::Future<Output = reqwest::Result<reqwest::Response>>,
        progress: &UploadProgress,
        total: u64,
        limits: UploadLimits,
    ) -> Result<reqwest::Response, IpfsError> {
        tokio::pin!(request);
        let mut tick = tokio::time::interval(WATCHDOG_TICK);
        loop {
            tokio::select! {
                result = &mut request => {
                    return result.map_err(|e| self.endpoint.transport(op, &e, limits.stall_timeout));
                }
                _ = tick.tick() => {
                    let limit = if progress.sent() < total { limits.stall_timeout } else { limits.answer_timeout };
                    if progress.idle() > limit {
                        return Err(self.endpoint.timeout(op, limit));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_go_under_api_v0() {
        let client = KuboClient::new(Url::parse("http://127.0.0.1:5001").unwrap(), None);
        assert_eq!(
            client.url("pin/add").as_str(),
            "http://127.0.0.1:5001/api/v0/pin/add"
        );
    }
}
