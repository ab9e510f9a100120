//! A handle on the TEST DOUBLE of 3Speak's embed system
//! (`tests/embed-double/embed_double.mjs`, Node.js): the community encoder
//! routes, the completion and progress webhooks, the stall rule and the
//! traffic director, with every signed request verified by `dids`, as the
//! real server does.

use std::ffi::OsString;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};
use tokio::process::Child;
use url::Url;

use crate::control::Control;
use crate::process::spawn_node;

pub struct EmbedDouble {
    /// The embed system's root; `/api/v0/gateway/...`, `/webhook` and
    /// `/api/hotnode` are below it.
    pub api: Url,
    control: Control,
    _child: Child,
}

/// How the double behaves.
#[derive(Debug, Clone)]
pub struct EmbedOptions {
    /// A claimed job with no progress for this long goes back to pending
    /// (30 minutes on the real server).
    pub stall_after: Duration,
    /// The key every webhook call may use besides a job's own token.
    pub webhook_key: String,
    /// The IPFS HTTP gateway `input_cid` URLs point at.
    pub ipfs_gateway: Url,
    /// The upload endpoint the traffic director hands out, if any.
    pub hotnode: Option<Url>,
}

impl Default for EmbedOptions {
    fn default() -> Self {
        EmbedOptions {
            stall_after: Duration::from_secs(1800),
            webhook_key: "global-webhook-key".into(),
            ipfs_gateway: Url::parse("https://ipfs.3speak.tv").expect("a URL"),
            hotnode: None,
        }
    }
}

#[derive(Deserialize)]
struct Ready {
    api: Url,
    control: Url,
}

impl EmbedDouble {
    pub async fn start(options: EmbedOptions) -> EmbedDouble {
        let mut args: Vec<OsString> = vec![
            "--stall-after".into(),
            options.stall_after.as_secs_f64().to_string().into(),
            "--sweep-every".into(),
            "0.25".into(),
            "--webhook-key".into(),
            options.webhook_key.into(),
            "--ipfs-gateway".into(),
            options.ipfs_gateway.as_str().into(),
        ];
        if let Some(hotnode) = options.hotnode {
            args.extend(["--hotnode".into(), hotnode.as_str().into()]);
        }
        let (child, ready): (Child, Ready) =
            spawn_node("embed double", "embed-double/embed_double.mjs", args).await;
        EmbedDouble {
            api: ready.api,
            control: Control::new("embed double", ready.control),
            _child: child,
        }
    }

    /// Queues a pending job; `fields` may set owner, permlink, input_cid (a
    /// bare CID), short, premium, gated, frontend_app, originalFilename.
    /// Answers the job as the double keeps it.
    pub async fn push_job(&self, fields: Value) -> Value {
        let answer: Value = self.control.post_for("jobs", fields).await;
        answer["job"].clone()
    }

    /// Everything the double knows: jobs, encoders, calls.
    pub async fn state(&self) -> Value {
        self.control.get("state").await
    }

    /// The calls to `route` ("updateNode", "heartbeat", "myJob", "webhook",
    /// "progress", "hotnode"), oldest first.
    pub async fn calls_to(&self, route: &str) -> Vec<Value> {
        let state = self.state().await;
        state["calls"]
            .as_array()
            .expect("calls")
            .iter()
            .filter(|c| c["route"] == route)
            .cloned()
            .collect()
    }

    /// The job `owner/permlink` as the embed system sees it.
    pub async fn job(&self, owner: &str, permlink: &str) -> Value {
        let state = self.state().await;
        job_in(&state, owner, permlink)
            .unwrap_or_else(|| panic!("the embed system has no job {owner}/{permlink}"))
            .clone()
    }

    /// Waits (two minutes at most) until `ready` holds for the state.
    pub async fn wait_for(&self, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
        self.control.wait_for_state(what, ready).await
    }

    /// The encoder `did` is disabled: its next myJob is 403.
    pub async fn disable(&self, did: &str) {
        self.control
            .post("encoders/disable", json!({ "did": did }))
            .await;
    }

    /// Every encoder is forgotten: the next heartbeat or myJob is 404.
    pub async fn forget_encoders(&self) {
        self.control.post("encoders/forget", json!({})).await;
    }

    /// Every `/webhook` call answers `status` (0: back to normal).
    pub async fn webhook_answers(&self, status: u16) {
        self.control
            .post("webhook-down", json!({ "status": status }))
            .await;
    }

    /// One round of the managed dispatcher: the oldest pending job is
    /// pushed to `<encoder>/encode` with `key`. Answers `{dispatched,
    /// status, answer}`.
    pub async fn dispatch(&self, encoder: &str, key: &str) -> Value {
        self.control
            .post_for("dispatch", json!({ "url": encoder, "key": key }))
            .await
    }

    /// The traffic director refuses (503) while `on`.
    pub async fn refuse_director(&self, on: bool) {
        self.control
            .post("refuse-director", json!({ "on": on }))
            .await;
    }
}

/// Job `owner/permlink` in a state snapshot.
pub fn job_in<'a>(state: &'a Value, owner: &str, permlink: &str) -> Option<&'a Value> {
    state["jobs"]
        .as_array()?
        .iter()
        .find(|j| j["owner"] == owner && j["permlink"] == permlink)
}
