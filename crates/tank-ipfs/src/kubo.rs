//! A client for the kubo RPC API (`POST /api/v0/<command>`).
//!
//! Only the commands Tank Encoder needs, each with an explicit timeout, and
//! every failure classified into an [`IpfsError`] that says whether the node
//! could not be reached, did not answer in time, or answered with an error.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde::Deserialize;
use url::Url;

use crate::folder;
use crate::multipart::{folder_form, UploadProgress};
use crate::IpfsError;

/// How long a connection attempt may take before the node counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the upload watchdog looks at the progress of the body.
const WATCHDOG_TICK: Duration = Duration::from_millis(250);
/// The longest error body we keep from a node that does not answer in JSON.
const MAX_ERROR_TEXT: usize = 300;

#[derive(Debug, Clone)]
pub struct KuboClient {
    base: Url,
    endpoint: String,
    http: reqwest::Client,
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

#[derive(Debug, Deserialize)]
struct KuboErrorBody {
    #[serde(rename = "Message")]
    message: String,
}

impl KuboClient {
    /// A client for the node whose RPC API is at `base` (e.g.
    /// `http://127.0.0.1:5001`).
    pub fn new(base: Url) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .expect("a TLS backend is compiled in");
        let endpoint = redacted(&base);
        KuboClient {
            base,
            endpoint,
            http,
        }
    }

    /// The API address as it may be shown: without credentials.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub async fn version(&self, timeout: Duration) -> Result<NodeVersion, IpfsError> {
        let response = self.post("version", &[], timeout).await?;
        self.json("version", response).await
    }

    pub async fn id(&self, timeout: Duration) -> Result<PeerIdentity, IpfsError> {
        let response = self.post("id", &[], timeout).await?;
        self.json("id", response).await
    }

    /// `add --wrap-with-directory` of the folder's contents with kubo's
    /// default import parameters (the content is pinned, as kubo does by
    /// default). Returns the root CID the node reports.
    pub async fn add_folder(&self, root: &Path, limits: UploadLimits) -> Result<String, IpfsError> {
        let op = "add";
        let root = root.to_owned();
        let entries = tokio::task::spawn_blocking(move || folder::list(&root))
            .await
            .expect("listing a folder does not panic")?;
        if entries.is_empty() {
            return Err(IpfsError::EmptyFolder);
        }
        let total = folder::total_bytes(&entries);
        let progress = Arc::new(UploadProgress::new());
        let request = self
            .http
            .post(self.url(op))
            .query(&[
                ("wrap-with-directory", "true"),
                ("pin", "true"),
                ("progress", "false"),
            ])
            .multipart(folder_form(&entries, progress.clone()))
            .send();
        let response = self
            .watch_upload(op, request, &progress, total, limits)
            .await?;
        let response = self.check_status(op, response).await?;
        let events =
            tokio::time::timeout(limits.answer_timeout, self.ndjson::<AddEvent>(op, response))
                .await
                .map_err(|_| self.timeout(op, limits.answer_timeout))??;
        // With wrap-with-directory the wrapper is the entry with an empty name.
        // A stream that ends without it failed after the 200 was sent: kubo
        // puts such errors in the X-Stream-Error trailer.
        events
            .into_iter()
            .rev()
            .find(|e| e.name.is_empty())
            .and_then(|e| e.hash)
            .ok_or_else(|| self.protocol(op, "the stream ended before kubo reported the root CID (kubo sends late errors in the X-Stream-Error trailer)"))
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
        let pins: Pins = self.json(op, response).await?;
        if pins.pins.iter().any(|p| p == cid) {
            Ok(())
        } else {
            Err(self.protocol(op, &format!("the answer does not list {cid} as pinned")))
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
                let keys: Keys = self.json(op, response).await?;
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
        let mut body = response.bytes_stream();
        let mut out = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| self.transport(op, &e, timeout))?;
            if out.len() + chunk.len() > max_bytes {
                return Err(self.protocol(op, &format!("{path} is larger than {max_bytes} bytes")));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
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
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("http URLs have a path")
            .pop_if_empty()
            .extend(["api", "v0"])
            .extend(op.split('/'));
        url
    }

    async fn post(
        &self,
        op: &str,
        args: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<reqwest::Response, IpfsError> {
        let response = self
            .http
            .post(self.url(op))
            .query(args)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| self.transport(op, &e, timeout))?;
        self.check_status(op, response).await
    }

    async fn check_status(
        &self,
        op: &str,
        response: reqwest::Response,
    ) -> Result<reqwest::Response, IpfsError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        let message = serde_json::from_str::<KuboErrorBody>(&text)
            .map(|body| body.message)
            .unwrap_or_else(|_| truncate(text.trim(), MAX_ERROR_TEXT));
        Err(IpfsError::Api {
            op: op.to_owned(),
            endpoint: self.endpoint.clone(),
            status: status.as_u16(),
            message,
        })
    }

    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        op: &str,
        response: reqwest::Response,
    ) -> Result<T, IpfsError> {
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.interrupted(op, &e))?;
        serde_json::from_slice(&bytes).map_err(|e| self.protocol(op, &e.to_string()))
    }

    /// Reads an NDJSON stream to its end, one line at a time.
    async fn ndjson<T: serde::de::DeserializeOwned>(
        &self,
        op: &str,
        response: reqwest::Response,
    ) -> Result<Vec<T>, IpfsError> {
        let mut body = response.bytes_stream();
        let mut pending = Vec::new();
        let mut items = Vec::new();
        let mut parse_line = |line: &[u8]| -> Result<(), IpfsError> {
            if !line.iter().all(u8::is_ascii_whitespace) {
                items.push(
                    serde_json::from_slice(line).map_err(|e| self.protocol(op, &e.to_string()))?,
                );
            }
            Ok(())
        };
        while let Some(chunk) = body.next().await {
            pending.extend_from_slice(&chunk.map_err(|e| self.interrupted(op, &e))?);
            while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                parse_line(&line)?;
            }
        }
        parse_line(&pending)?;
        Ok(items)
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
                    return result.map_err(|e| self.transport(op, &e, limits.stall_timeout));
                }
                _ = tick.tick() => {
                    let limit = if progress.sent() < total { limits.stall_timeout } else { limits.answer_timeout };
                    if progress.idle() > limit {
                        return Err(self.timeout(op, limit));
                    }
                }
            }
        }
    }

    fn transport(&self, op: &str, error: &reqwest::Error, timeout: Duration) -> IpfsError {
        if error.is_timeout() {
            self.timeout(op, timeout)
        } else if error.is_connect() {
            IpfsError::Unreachable {
                endpoint: self.endpoint.clone(),
                reason: root_cause(error),
            }
        } else {
            self.interrupted(op, error)
        }
    }

    fn interrupted(&self, op: &str, error: &reqwest::Error) -> IpfsError {
        IpfsError::Interrupted {
            op: op.to_owned(),
            endpoint: self.endpoint.clone(),
            reason: root_cause(error),
        }
    }

    fn timeout(&self, op: &str, after: Duration) -> IpfsError {
        IpfsError::Timeout {
            op: op.to_owned(),
            endpoint: self.endpoint.clone(),
            after,
        }
    }

    fn protocol(&self, op: &str, detail: &str) -> IpfsError {
        IpfsError::Protocol {
            op: op.to_owned(),
            endpoint: self.endpoint.clone(),
            detail: detail.to_owned(),
        }
    }
}

/// The URL without user-info, safe for logs and error messages.
pub fn redacted(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.as_str().trim_end_matches('/').to_owned()
}

/// The innermost error message: "Connection refused (os error 111)" rather
/// than reqwest's outer text, which repeats the full URL (and its query).
pub fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_show_in_the_endpoint() {
        let client = KuboClient::new(Url::parse("https://user:secret@node.example:5001/").unwrap());
        assert_eq!(client.endpoint(), "https://node.example:5001");
    }

    #[test]
    fn commands_go_under_api_v0() {
        let client = KuboClient::new(Url::parse("http://127.0.0.1:5001").unwrap());
        assert_eq!(
            client.url("pin/add").as_str(),
            "http://127.0.0.1:5001/api/v0/pin/add"
        );
        let behind_proxy = KuboClient::new(Url::parse("https://host/ipfs-api/").unwrap());
        assert_eq!(
            behind_proxy.url("id").as_str(),
            "https://host/ipfs-api/api/v0/id"
        );
    }
}
