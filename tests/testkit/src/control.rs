//! A harness process's control port (faults, refuse/accept, call counts).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use url::Url;

pub(crate) struct Control {
    what: String,
    url: Url,
    http: reqwest::Client,
}

impl Control {
    pub fn new(what: &str, url: Url) -> Control {
        Control {
            what: what.to_owned(),
            url,
            http: reqwest::Client::new(),
        }
    }

    pub async fn post(&self, path: &str, body: Value) {
        let _: Value = self.post_for(path, body).await;
    }

    /// A control call whose JSON answer matters.
    pub async fn post_for<T: DeserializeOwned>(&self, path: &str, body: Value) -> T {
        let response = self
            .http
            .post(self.url.join(path).expect("valid path"))
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{} control {path}: {e}", self.what));
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(
            status.is_success(),
            "{} control {path}: {status} {text}",
            self.what
        );
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} control {path} answered {text:?}: {e}", self.what))
    }

    /// Polls `GET state` (two minutes at most) until `ready` holds for it;
    /// `what` says in the failure what never happened.
    pub async fn wait_for_state(&self, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let state: Value = self.get("state").await;
            if ready(&state) {
                return state;
            }
            assert!(
                Instant::now() < deadline,
                "the {} never saw: {what}\nstate: {state:#}",
                self.what
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> T {
        self.http
            .get(self.url.join(path).expect("valid path"))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .unwrap_or_else(|e| panic!("{} control {path}: {e}", self.what))
            .json()
            .await
            .expect("control answers JSON")
    }

    /// Adds a fault rule (see `tests/harness/faults.py`).
    pub async fn fault(&self, rule: Value) {
        self.post("faults", rule).await;
    }

    pub async fn clear_faults(&self) {
        self.post("faults/clear", Value::Null).await;
    }

    pub async fn refuse(&self) {
        self.post("refuse", Value::Null).await;
    }

    pub async fn accept(&self) {
        self.post("accept", Value::Null).await;
    }

    pub async fn calls(&self) -> HashMap<String, u64> {
        self.get("calls").await
    }

    pub async fn fail_next(&self, op: &str, count: u32) {
        self.fault(json!({"op": op, "action": "fail", "count": count}))
            .await;
    }
}
