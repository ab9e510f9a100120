//! A handle on the TEST DOUBLE of the 3Speak encoder gateway
//! (`tests/harness/gateway_double.py`): the legacy gateway's job life cycle,
//! with every signed request verified by its own Ed25519 code.

use std::ffi::OsString;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};
use tokio::process::Child;
use url::Url;

use crate::control::Control;
use crate::process::spawn_harness;

pub struct GatewayDouble {
    /// The gateway's root; the product appends `/api/v0/gateway/...`.
    pub api: Url,
    control: Control,
    _child: Child,
}

/// How the double behaves.
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    /// Jobs whose last ping is older than this go back to the queue.
    pub reassign_after: Duration,
    /// Every 500 says only "Internal server error", as the legacy NestJS
    /// gateway answers.
    pub opaque_errors: bool,
}

impl GatewayOptions {
    /// The defaults, but jobs silent for `seconds` are given away.
    pub fn reassigning_after(seconds: u64) -> GatewayOptions {
        GatewayOptions {
            reassign_after: Duration::from_secs(seconds),
            ..Default::default()
        }
    }
}

impl Default for GatewayOptions {
    fn default() -> Self {
        GatewayOptions {
            reassign_after: Duration::from_secs(60),
            opaque_errors: false,
        }
    }
}

#[derive(Deserialize)]
struct Ready {
    api: Url,
    control: Url,
}

impl GatewayDouble {
    pub async fn start(options: GatewayOptions) -> GatewayDouble {
        let mut args: Vec<OsString> = vec![
            "--reassign-after".into(),
            options.reassign_after.as_secs_f64().to_string().into(),
            "--sweep-every".into(),
            "0.25".into(),
        ];
        if options.opaque_errors {
            args.push("--opaque-errors".into());
        }
        let (child, ready): (Child, Ready) =
            spawn_harness("gateway double", "gateway_double.py", args).await;
        GatewayDouble {
            api: ready.api,
            control: Control::new("gateway double", ready.control),
            _child: child,
        }
    }

    /// Queues a job whose input is `uri`; returns its id.
    pub async fn push_job(&self, uri: &str) -> String {
        let answer: Value = self.control.post_for("jobs", json!({ "uri": uri })).await;
        answer["id"].as_str().expect("a job id").to_owned()
    }

    /// Everything the double knows: jobs, nodes, calls, JWS rejections.
    pub async fn state(&self) -> Value {
        self.control.get("state").await
    }

    /// The job `id` as the gateway sees it.
    pub async fn job(&self, id: &str) -> Value {
        let state = self.state().await;
        state["jobs"]
            .as_array()
            .expect("jobs")
            .iter()
            .find(|j| j["id"] == id)
            .unwrap_or_else(|| panic!("the gateway has no job {id}"))
            .clone()
    }

    /// The calls to `route` (e.g. "finishJob"), oldest first: `{at, route,
    /// did, payload, status}`, and `fault` when a fault rule applied.
    pub async fn calls_to(&self, route: &str) -> Vec<Value> {
        calls_in(&self.state().await, route)
            .into_iter()
            .cloned()
            .collect()
    }

    /// Waits (two minutes at most) until `ready` holds for the state.
    pub async fn wait_for(&self, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
        self.control.wait_for_state(what, ready).await
    }

    /// Waits until job `id` is in `status`; returns the job.
    pub async fn wait_for_status(&self, id: &str, status: &str) -> Value {
        let state = self
            .wait_for(&format!("job {id} {status}"), |state| {
                job_in(state, id).is_some_and(|j| j["status"] == status)
            })
            .await;
        job_in(&state, id).expect("the job").clone()
    }

    /// The next `callers` getJob requests are answered together, once all
    /// have arrived (or after `seconds`): they see the same job.
    pub async fn hold_get_job(&self, callers: u32, seconds: f64) {
        self.control
            .post(
                "hold-getjob",
                json!({ "callers": callers, "seconds": seconds }),
            )
            .await;
    }

    /// Adds a fault rule; `op` is a route name ("finishJob"). See
    /// `tests/harness/faults.py` (with `"after": true` the route runs first).
    pub async fn fault(&self, rule: Value) {
        self.control.fault(rule).await;
    }

    pub async fn refuse_connections(&self) {
        self.control.refuse().await;
    }

    pub async fn accept_connections(&self) {
        self.control.accept().await;
    }
}

/// The calls to `route` in a state snapshot, oldest first.
pub fn calls_in<'a>(state: &'a Value, route: &str) -> Vec<&'a Value> {
    state["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .filter(|c| c["route"] == route)
        .collect()
}

/// Job `id` in a state snapshot.
pub fn job_in<'a>(state: &'a Value, id: &str) -> Option<&'a Value> {
    state["jobs"].as_array()?.iter().find(|j| j["id"] == id)
}
