//! The world an end-to-end test runs `tank` in: the shared test world
//! ([`tank_testkit::World`]: real kubo harness nodes, a config pointing at
//! them, a data directory, real clips), and how to run the binary in it.

#![allow(dead_code)] // each test file uses a different part of the world

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::process::Output;

use serde_json::Value;

/// [`tank_testkit::World`], with the `tank` binary to run in it.
pub struct World(tank_testkit::World);

impl Deref for World {
    type Target = tank_testkit::World;

    fn deref(&self) -> &tank_testkit::World {
        &self.0
    }
}

impl DerefMut for World {
    fn deref_mut(&mut self) -> &mut tank_testkit::World {
        &mut self.0
    }
}

impl World {
    /// `count` nodes started at once, and a config with fast settings.
    pub async fn with_nodes(count: usize) -> World {
        World(tank_testkit::World::with_nodes(count).await)
    }

    /// Stores a secret with `tank secret set`, as an operator would (needs a
    /// Secret Service: scripts/test.sh runs the tests in a D-Bus session
    /// with gnome-keyring).
    pub async fn secret(&self, key: &str, value: &str) {
        use tokio::io::AsyncWriteExt;
        let mut child = self
            .tank_command(&["secret", "set", key])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{value}\n").as_bytes())
            .await
            .unwrap();
        let run = Run::from(child.wait_with_output().await.unwrap());
        assert_eq!(run.code, 0, "tank secret set {key}: {}", run.stderr);
    }

    /// Adds `clip`, in a folder as `name`, to the node `node`; answers the
    /// folder's CID.
    pub async fn add_clip_to(
        &self,
        node: &str,
        name: &str,
        clip: tank_testkit::clip::Clip,
    ) -> String {
        add_clip(self.node(node), name, clip).await
    }

    /// Polls `tank job <id>` until `ready` says so (a minute at most).
    pub async fn wait_for_job(&self, id: u64, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let run = self.tank(&["job", &id.to_string(), "--json"]).await;
            if run.code == 0 {
                let report = run.json();
                if ready(&report) {
                    return report;
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "job {id} never reached: {what}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// `tank daemon`, running until [`stop_gracefully`].
    pub fn start_daemon(&self) -> tokio::process::Child {
        self.tank_command(&["daemon"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    }

    /// `tank daemon` on `data_dir` with `env`, logging at `info` (or
    /// `RUST_LOG` from `env`) to `<world>/<log>.log`.
    pub fn start_daemon_in(
        &self,
        data_dir: &Path,
        env: &[(&str, &str)],
        log: &str,
    ) -> tokio::process::Child {
        let file = std::fs::File::create(self.dir.path().join(format!("{log}.log"))).unwrap();
        let mut cmd = self.tank_command_in(data_dir, &["daemon"]);
        cmd.env("RUST_LOG", "info").envs(env.iter().copied());
        cmd.stderr(file).spawn().unwrap()
    }

    /// What a daemon started with [`start_daemon_in`] logged so far.
    pub fn log(&self, log: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{log}.log"))).unwrap_or_default()
    }

    /// `tank --config <config> --data-dir <data> <args>`.
    pub fn tank_command(&self, args: &[&str]) -> tokio::process::Command {
        self.tank_command_in(&self.data_dir(), args)
    }

    /// `tank --config <config> --data-dir <data_dir> <args>`: another
    /// encoder sharing this world's config and nodes.
    pub fn tank_command_in(&self, data_dir: &Path, args: &[&str]) -> tokio::process::Command {
        tank_command_at(&self.config, data_dir, self.dir.path(), args)
    }

    pub async fn tank(&self, args: &[&str]) -> Run {
        let output = self.tank_command(args).output().await.unwrap();
        Run::from(output)
    }

    /// `tank encode <input> --json`: the exit code and the report.
    pub async fn encode(&self, input: &Path) -> (i32, Value) {
        let run = self
            .tank(&["encode", input.to_str().unwrap(), "--json"])
            .await;
        (run.code, run.json())
    }
}

/// What a `tank` run printed and returned.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "tank did not print JSON ({e}).\nstdout:\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// SIGTERM, as systemd stops a service; returns the exit code.
pub async fn stop_gracefully(child: &mut tokio::process::Child) -> i32 {
    let pid = child.id().expect("still running");
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    child.wait().await.unwrap().code().unwrap_or(-1)
}

/// Names of the nodes holding verified replicas, in the report's order.
pub fn replica_nodes(report: &Value) -> Vec<String> {
    report["replicas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["node"].as_str().unwrap().to_owned())
        .collect()
}

/// The report's attempts of `op` on `node`, as (attempt, ok, error).
pub fn attempts_of(report: &Value, node: &str, op: &str) -> Vec<(u64, bool, String)> {
    report["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["node"] == node && a["op"] == op)
        .map(|a| {
            (
                a["attempt"].as_u64().unwrap(),
                a["ok"].as_bool().unwrap(),
                a["error"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// The report's downloads, in order, as (source, ok).
pub fn downloads_of(report: &Value) -> Vec<(String, bool)> {
    report["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["op"] == "download")
        .map(|a| {
            (
                a["node"].as_str().unwrap().to_owned(),
                a["ok"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// `tank --config <config> --data-dir <data_dir> <args>` run in `dir`,
/// with none of the 3Speak encoder's environment variables this machine
/// may have: what the test sets is all there is.
pub fn tank_command_at(
    config: &Path,
    data_dir: &Path,
    dir: &Path,
    args: &[&str],
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_tank"));
    cmd.arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .current_dir(dir)
        .kill_on_drop(true);
    for var in [
        "THREESPEAK_IPFS_ENDPOINT",
        "IPFS_PRIMARY_API",
        "IPFS_BACKUP_APIS",
        "MAX_CONCURRENT_JOBS",
        "TEMP_DIR",
        "TANK_CONFIG",
        "TANK_DATA_DIR",
        "ENCODER_PRIVATE_KEY",
        "GATEWAY_URL",
        "REMOTE_GATEWAY_ENABLED",
        "EMBED_SYSTEM_ENABLED",
        "EMBED_SYSTEM_MODE",
        "EMBED_GATEWAY_URL",
        "TRAFFIC_DIRECTOR_URL",
        "IPFS_GATEWAY_URL",
        "DIRECT_API_ENABLED",
        "DIRECT_API_PORT",
        "DIRECT_API_KEY",
        "HIVE_USERNAME",
        "NODE_NAME",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Adds `clip`, in a folder as `name`, to `node` (through kubo's own RPC,
/// not ours); answers the folder's CID.
pub async fn add_clip(
    node: &tank_testkit::HarnessNode,
    name: &str,
    clip: tank_testkit::clip::Clip,
) -> String {
    let dir = tempfile::tempdir().unwrap();
    clip.write(dir.path(), name);
    let limits = tank_ipfs::UploadLimits {
        stall_timeout: std::time::Duration::from_secs(30),
        answer_timeout: std::time::Duration::from_secs(30),
    };
    tank_ipfs::KuboClient::new(node.api.clone(), None)
        .add_folder(dir.path(), limits)
        .await
        .unwrap()
}
