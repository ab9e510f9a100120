//! The JSON of 3Speak's services, as their servers write and read it: the
//! legacy gateway (spknetwork/video-encoder) and the embed system
//! (Mantequilla-Soft/embedvideos) with its webhooks. Field names are theirs.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

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

/// What the embed system keeps of this encoder (`updateNode`'s answer): its
/// own name for us (`community-<end of the DID>`), tier, access, and whether
/// it hands us work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EncoderRecord {
    pub name: String,
    pub did: String,
    pub tier: String,
    pub access: String,
    pub enabled: bool,
}

/// The key a report about one job is sent with (`X-API-Key`): the per-claim
/// token of a community job, or the embed system's webhook key for a
/// pushed one. Never printed: `Debug` hides it and it has no `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct CallbackKey(String);

impl CallbackKey {
    pub fn new(key: String) -> CallbackKey {
        CallbackKey(key)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for CallbackKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallbackKey(hidden)")
    }
}

/// A job from the embed system (`myJob`). It has no id: owner, permlink and
/// input are its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedJob {
    pub owner: String,
    pub permlink: String,
    /// As given: a gateway URL (`https://ipfs.3speak.tv/ipfs/<cid>`).
    pub input_cid: String,
    pub short: bool,
    pub premium: bool,
    pub webhook_url: Url,
    pub api_key: CallbackKey,
    pub frontend_app: Option<String>,
    pub original_filename: Option<String>,
}

impl EmbedJob {
    /// Reads a job, naming the first field that is missing or of the wrong
    /// kind.
    pub fn from_wire(job: &Value) -> Result<EmbedJob, String> {
        let text = |field: &str| -> Result<String, String> {
            match job.get(field) {
                Some(Value::String(text)) if !text.trim().is_empty() => Ok(text.clone()),
                _ => Err(format!("the job has no {field}")),
            }
        };
        let optional = |field: &str| job.get(field).and_then(Value::as_str).map(str::to_owned);
        let short = match job.get("short") {
            Some(Value::Bool(short)) => *short,
            _ => return Err("the job's short is not true or false".into()),
        };
        let webhook = text("webhook_url")?;
        Ok(EmbedJob {
            owner: text("owner")?,
            permlink: text("permlink")?,
            input_cid: text("input_cid")?,
            short,
            premium: job.get("premium").and_then(Value::as_bool).unwrap_or(false),
            webhook_url: Url::parse(&webhook)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .ok_or_else(|| {
                    format!("the job's webhook_url {webhook:?} is not an http(s) URL")
                })?,
            api_key: CallbackKey::new(text("api_key")?),
            frontend_app: optional("frontend_app"),
            original_filename: optional("originalFilename"),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum WebhookStatus {
    Complete,
    Failed,
}

/// The body of a completion or failure webhook, every field the receiver
/// reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookReport {
    pub owner: String,
    pub permlink: String,
    pub input_cid: String,
    pub status: WebhookStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest_cid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_url: Option<String>,
    pub job_id: String,
    pub processing_time_seconds: f64,
    pub qualities_encoded: Vec<String>,
    pub encoder_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub frontend_app: Option<String>,
    #[serde(rename = "originalFilename")]
    pub original_filename: Option<String>,
    /// RFC 3339.
    pub timestamp: String,
}

/// The body of a progress call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgressReport {
    pub owner: String,
    pub permlink: String,
    /// 0–100.
    pub progress: u8,
    pub stage: String,
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

#[cfg(test)]
mod embed_tests {
    use super::*;
    use serde_json::json;

    fn job() -> Value {
        json!({"owner":"alice","permlink":"xk3j9a2b",
            "input_cid":"https://ipfs.3speak.tv/ipfs/QmSource","short":false,"premium":false,
            "webhook_url":"https://embed.3speak.tv/webhook","api_key":"9f2c",
            "frontend_app":"3speak-tv","originalFilename":null})
    }

    #[test]
    fn an_embed_job_reads_as_the_server_sends_it_and_hides_its_key() {
        let read = EmbedJob::from_wire(&job()).unwrap();
        assert_eq!(read.owner, "alice");
        assert_eq!(read.input_cid, "https://ipfs.3speak.tv/ipfs/QmSource");
        assert_eq!(read.webhook_url.as_str(), "https://embed.3speak.tv/webhook");
        assert_eq!(read.api_key.expose(), "9f2c");
        assert_eq!(read.original_filename, None);
        assert!(!format!("{read:?}").contains("9f2c"));
    }

    #[test]
    fn an_embed_job_without_what_a_report_needs_names_the_field() {
        for (field, value, says) in [
            ("api_key", Value::Null, "the job has no api_key"),
            ("owner", json!(""), "the job has no owner"),
            ("short", json!("false"), "short is not true or false"),
            ("webhook_url", json!("ftp://x/"), "is not an http(s) URL"),
        ] {
            let mut bad = job();
            bad[field] = value;
            let err = EmbedJob::from_wire(&bad).unwrap_err();
            assert!(err.contains(says), "{field}: {err}");
        }
    }
}
