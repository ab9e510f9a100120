//! A world for whole-job tests: named harness nodes started together, a
//! config file pointing at them with settings that keep tests fast, a data
//! directory, clips and a keyring service of its own.
//!
//! The config is a file, as operators write it: the binary's tests pass it
//! to `tank --config`, the engine's and the daemon's tests read it with
//! `tank_config::Config::read_file` (this crate depends on no Tank crate,
//! so every crate's tests can use it).

use std::path::PathBuf;

use crate::clip::Clip;
use crate::HarnessNode;

/// Settings that keep tests fast: short waits and timeouts, fastest x264.
const FAST: &str = r#"
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

/// `[jobs]` keys every world starts with: a stage that fails for a reason
/// of the machine or the network fails the job at once, so tests of those
/// failures see them without waiting; the tests of stage retries turn them
/// on (`retries`, `retry_backoff`).
const FAST_JOBS: &str = "retries = 0\n";

/// The nodes of a world, in order: the first is the primary.
const NODE_NAMES: [&str; 4] = ["supernode", "backup-1", "backup-2", "backup-3"];

pub struct World {
    pub dir: tempfile::TempDir,
    /// `supernode` (primary), `backup-1`, `backup-2`, `backup-3`, as many
    /// as asked for.
    pub nodes: Vec<HarnessNode>,
    /// `<dir>/config.toml`.
    pub config: PathBuf,
}

impl World {
    /// `count` nodes started at once, and a config with fast settings.
    pub async fn with_nodes(count: usize) -> World {
        let starts = NODE_NAMES[..count]
            .iter()
            .map(|name| HarnessNode::start(name));
        // Started together: each takes about a second to come up.
        let nodes = futures_util::future::join_all(starts).await;
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("config.toml");
        let world = World { dir, nodes, config };
        world.write_config("");
        world
    }

    /// Rewrites the config: the fast settings, this world's own keyring service,
    /// then `extra` TOML (more tables, more `[[nodes]]`), then the kubo nodes.
    /// A `[jobs]` table in `extra` gets the fast `[jobs]` keys too.
    pub fn write_config(&self, extra: &str) {
        let extra = if extra.contains("[jobs]\n") {
            extra.replacen("[jobs]\n", &format!("[jobs]\n{FAST_JOBS}"), 1)
        } else {
            format!("[jobs]\n{FAST_JOBS}{extra}")
        };
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
        std::fs::write(&self.config, text).expect("config written");
    }

    /// Replaces `from` (which must be there) with `to` in the config file.
    pub fn edit_config(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(&self.config).expect("config read");
        assert!(text.contains(from), "the config has no {from:?}");
        std::fs::write(&self.config, text.replace(from, to)).expect("config written");
    }

    /// A keyring service name no other test shares (`[secrets] service`).
    pub fn keyring_service(&self) -> String {
        let unique = self
            .dir
            .path()
            .file_name()
            .expect("a temp dir has a name")
            .to_string_lossy()
            .into_owned();
        format!("tank-test-{unique}")
    }

    pub fn node(&self, name: &str) -> &HarnessNode {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .unwrap_or_else(|| panic!("no node {name} in this world"))
    }

    pub fn node_mut(&mut self, name: &str) -> &mut HarnessNode {
        self.nodes
            .iter_mut()
            .find(|n| n.name == name)
            .unwrap_or_else(|| panic!("no node {name} in this world"))
    }

    /// Where the job database and the job folders go.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Writes `clip` as `<dir>/<name>`.
    pub fn clip(&self, name: &str, clip: Clip) -> PathBuf {
        clip.write(self.dir.path(), name)
    }

    /// A 720p clip of two seconds, the usual input.
    pub fn short_clip(&self) -> PathBuf {
        self.clip("clip.mp4", Clip::new(1280, 720, 2.0))
    }
}
