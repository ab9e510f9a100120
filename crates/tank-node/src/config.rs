//! How the local node is run, with defaults an operator rarely changes.

use std::path::PathBuf;
use std::time::Duration;

use humantime_serde::Serde;
use serde::{Deserialize, Serialize};

/// `[local_node]` in the config file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LocalNodeConfig {
    /// Run and supervise a local kubo daemon (`tank daemon`, the desktop app).
    pub enabled: bool,
    /// The kubo binary; default: `tank-kubo` next to our executable (an
    /// installed app's sidecar), else `ipfs` on PATH.
    pub binary: Option<PathBuf>,
    /// The repo; default `<data dir>/ipfs`.
    pub repo: Option<PathBuf>,
    /// Ports tried first; a taken one is replaced by a free one.
    pub api_port: u16,
    pub gateway_port: u16,
    pub swarm_port: u16,
    /// kubo's `Datastore.StorageMax`, e.g. `"10GB"`.
    pub storage_max: String,
    /// kubo's `Datastore.GCPeriod`; garbage collection runs when the repo
    /// passes 90% of `storage_max`.
    pub gc_period: String,
    /// Whether a pin on the local node counts toward the quorum.
    pub counts_toward_quorum: bool,
    /// How long the daemon may take to be ready.
    pub start_timeout: Serde<Duration>,
    /// How often the supervisor checks the daemon is alive and answering.
    pub liveness_interval: Serde<Duration>,
    /// Liveness failures in a row that count as "not answering".
    pub unresponsive_after: u32,
    /// Waits before restarting a crashed daemon; the last repeats.
    pub restart_backoff: Vec<Serde<Duration>>,
    /// Restarts allowed within `restart_window`; past that the supervisor
    /// gives up, marks the node down and alerts.
    pub max_restarts: u32,
    pub restart_window: Serde<Duration>,
    /// CPU (percent of one core) above which, sustained for `cpu_sustained`,
    /// the daemon counts as runaway.
    pub cpu_limit_percent: f32,
    pub cpu_sustained: Serde<Duration>,
    /// Resident memory (MiB) above which the daemon counts as runaway.
    pub rss_limit_mib: u64,
    pub watchdog_interval: Serde<Duration>,
    /// Another runaway within this long after a heal escalates to the next
    /// step (gentle restart, then kill and clean, then give up).
    pub heal_window: Serde<Duration>,
}

impl Default for LocalNodeConfig {
    fn default() -> Self {
        let secs = |s| Serde::from(Duration::from_secs(s));
        LocalNodeConfig {
            enabled: false,
            binary: None,
            repo: None,
            api_port: 5001,
            gateway_port: 8080,
            swarm_port: 4001,
            storage_max: "10GB".into(),
            gc_period: "1h".into(),
            counts_toward_quorum: false,
            start_timeout: secs(60),
            liveness_interval: secs(15),
            unresponsive_after: 3,
            restart_backoff: [1, 2, 4, 8, 16, 30].map(secs).to_vec(),
            max_restarts: 5,
            restart_window: secs(600),
            // The seed's alarm levels: 200% CPU sustained, 4 GB resident.
            cpu_limit_percent: 200.0,
            cpu_sustained: secs(60),
            rss_limit_mib: 4096,
            watchdog_interval: secs(5),
            heal_window: secs(600),
        }
    }
}

impl LocalNodeConfig {
    /// The wait before restart number `restart` (1-based).
    pub fn restart_wait(&self, restart: u32) -> Duration {
        let waits = &self.restart_backoff;
        waits
            .get((restart.max(1) as usize - 1).min(waits.len().saturating_sub(1)))
            .map_or(Duration::from_secs(1), |w| **w)
    }
}
