//! The gateway's JSON, as its server (spknetwork/video-encoder and its 2026
//! successor) writes and reads it. Field names are the gateway's.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A job as the gateway describes it (`getJob`, `myJob`, `jobstatus`).
/// Fields we do not use are kept in `rest`, so a stored job shows everything
/// the gateway said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatewayJob {
    pub id: String,
    #[serde(default)]
    pub status: Option<String>,
    pub input: JobInputInfo,
    #[serde(default)]
    pub assigned_to: Option<String>,
    #[serde(default)]
    pub result: Option<Value>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobInputInfo {
    pub uri: String,
    /// Bytes, when the gateway knows (it sends `null` when it does not).
    #[serde(default)]
    pub size: Option<Value>,
    #[serde(default)]
    pub format: Option<String>,
}

impl GatewayJob {
    /// The CID the gateway recorded as this job's result.
    pub fn result_cid(&self) -> Option<&str> {
        self.result.as_ref()?.get("cid")?.as_str()
    }

    /// The declared input size in bytes.
    pub fn input_size(&self) -> Option<u64> {
        self.input.size.as_ref()?.as_f64().map(|s| s as u64)
    }
}

/// What `jobstatus/<id>` answers: the job, and its place in the queue.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RemoteStatus {
    pub job: Option<GatewayJob>,
    #[serde(default)]
    pub rank: Option<u64>,
}

/// `updateNode`'s `node_info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub name: String,
    #[serde(rename = "cryptoAccounts")]
    pub crypto_accounts: CryptoAccounts,
    /// The IPFS peer id of the encoder's own node, when it runs one.
    pub peer_id: Option<String>,
    /// The encoder's version (the legacy encoder sent its git commit).
    pub commit_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CryptoAccounts {
    pub hive: String,
}

/// `failJob`'s `error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailReport {
    pub error: String,
    /// RFC 3339.
    pub timestamp: String,
    /// Whether another try (by any encoder) can succeed: false for bad input.
    pub retryable: bool,
    pub encoder_version: String,
}

impl NodeInfo {
    pub fn new(name: &str, hive: &str, peer_id: Option<String>, version: &str) -> NodeInfo {
        NodeInfo {
            name: name.to_owned(),
            crypto_accounts: CryptoAccounts {
                hive: hive.to_owned(),
            },
            peer_id,
            commit_hash: version.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_legacy_job_reads_with_its_unknown_fields_kept() {
        let job: GatewayJob = serde_json::from_str(
            r#"{"id":"6f1c","status":"queued","created_at":"2026-11-01T10:00:00.000Z",
                "input":{"uri":"https://example.com/v.mp4","size":null},
                "metadata":{"video_owner":"alice","video_permlink":"p1"},
                "storageMetadata":{"app":"3speak","key":"alice/p1/video","type":"video"},
                "profiles":[{"name":"1080p","size":"?x1080"}],"output":[],"assigned_to":null}"#,
        )
        .unwrap();
        assert_eq!(job.input.uri, "https://example.com/v.mp4");
        assert_eq!(job.input_size(), None);
        assert_eq!(job.rest["metadata"]["video_owner"], "alice");
        assert_eq!(job.result_cid(), None);
    }
}
