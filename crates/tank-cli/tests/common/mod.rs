//! The world an end-to-end test runs `tank` in: real kubo harness nodes, a
//! config pointing at them, a data directory, and real clips.

#![allow(dead_code)] // each test file uses a different part of the world

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use tank_testkit::clip::Clip;
use tank_testkit::HarnessNode;

/// Settings that keep tests fast: short waits and timeouts, fastest x264.
pub const FAST: &str = r#"
[pinning]
retries = 5
backoff = ["50ms"]
attempt_timeout = "3s"
fetch_timeout = "5s"
poll_interval = "100ms"
breaker_cooldown = "2s"
[encoding]
preset = "ultrafast"
segment_seconds = 2
"#;

pub const NODE_NAMES: [&str; 4] = ["supernode", "backup-1", "backup-2", "backup-3"];

pub struct World {
    pub dir: tempfile::TempDir,
    /// `supernode` (primary), `backup-1`, `backup-2`, `backup-3`, as many
    /// as asked for.
    pub nodes: Vec<HarnessNode>,
    pub config: PathBuf,
}

impl World {
    /// `count` nodes started at once, and a config with [`FAST`] settings.
    pub async fn with_nodes(count: usize) -> World {
        let starts = NODE_NAMES[..count]
            .iter()
            .map(|name| HarnessNode::start(name));
        // Started together: each takes about a second to come up.
        let nodes = futures_util::future::join_all(starts).await;
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        let world = World { dir, nodes, config };
        world.write_config("");
        world
    }

    /// Rewrites the config: [`FAST`], this world's own keyring service,
    /// then `extra` TOML (more tables, more `[[nodes]]`), then the kubo nodes.
    pub fn write_config(&self, extra: &str) {
        let mut text = format!(
            "{FAST}\n[secrets]\nservice = \"{}\"\n{extra}\n",
            self.keyring_service()
        );
        for (i, node) in self.nodes.iter().enumerate() {
            let role = if i == 0 { "primary" } else { "backup" };
            text.push_str(&format!(
                "[[nodes]]\nname = \"{}\"\napi = \"{}\"\nrole = \"{role}\"\n",
                node.name, node.api
            ));
        }
        std::fs::write(&self.config, text).unwrap();
    }

    /// Replaces `from` (which must be there) with `to` in the config file.
    pub fn edit_config(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(&self.config).unwrap();
        assert!(text.contains(from), "the config has no {from:?}");
        std::fs::write(&self.config, text.replace(from, to)).unwrap();
    }

    /// A keyring service name no other test shares.
    pub fn keyring_service(&self) -> String {
        let unique = self
            .dir
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        format!("tank-test-{unique}")
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

    pub fn node(&self, name: &str) -> &HarnessNode {
        self.nodes.iter().find(|n| n.name == name).unwrap()
    }

    pub fn node_mut(&mut self, name: &str) -> &mut HarnessNode {
        self.nodes.iter_mut().find(|n| n.name == name).unwrap()
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

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn clip(&self, name: &str, clip: Clip) -> PathBuf {
        clip.write(self.dir.path(), name)
    }

    /// A 720p clip of two seconds, the usual input.
    pub fn short_clip(&self) -> PathBuf {
        self.clip("clip.mp4", Clip::new(1280, 720, 2.0))
    }

    /// `tank --config <config> --data-dir <data> <args>`.
    pub fn tank_command(&self, args: &[&str]) -> tokio::process::Command {
        self.tank_command_in(&self.data_dir(), args)
    }

    /// `tank --config <config> --data-dir <data_dir> <args>`: another
    /// encoder sharing this world's config and nodes.
    pub fn tank_command_in(&self, data_dir: &Path, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_tank"));
        cmd.arg("--config")
            .arg(&self.config)
            .arg("--data-dir")
            .arg(data_dir)
            .args(args)
            .current_dir(self.dir.path())
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
            "HIVE_USERNAME",
            "NODE_NAME",
        ] {
            cmd.env_remove(var);
        }
        cmd
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
