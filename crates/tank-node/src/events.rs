//! What the manager tells its watchers: every step it takes.

use serde::{Deserialize, Serialize};

/// One step of starting, supervising or healing the local node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum NodeEvent {
    /// `ipfs init` made a new repo.
    Initialised {
        repo: String,
    },
    /// A wanted port was taken; `by_ipfs` says whether an IPFS API answers there.
    PortMoved {
        what: String,
        from: u16,
        to: u16,
        by_ipfs: bool,
    },
    /// An `api` file pointed at a daemon that is not there.
    StaleApiRemoved,
    /// A `repo.lock` left by a daemon that died.
    StaleLockRecovered {
        pid: Option<u32>,
    },
    Starting {
        pid: u32,
    },
    Ready {
        api: String,
        peer_id: String,
    },
    Stopped,
    /// The daemon exited by itself.
    Crashed {
        exit: Option<i32>,
        restart_in_ms: u64,
    },
    /// It stopped answering `id`.
    Unresponsive {
        failures: u32,
    },
    /// The watchdog saw too much CPU or memory.
    Runaway {
        reason: String,
    },
    /// A healing step: `restart`, `kill_and_clean` or `give_up`.
    Healing {
        step: String,
        reason: String,
    },
    /// Too many restarts or heals: the supervisor stopped; the node is down.
    GaveUp {
        reason: String,
    },
}

impl NodeEvent {
    /// Whether an operator should be alerted.
    pub fn is_alarm(&self) -> bool {
        matches!(self, NodeEvent::GaveUp { .. })
    }

    pub fn describe(&self) -> String {
        match self {
            NodeEvent::Initialised { repo } => format!("initialised a new repo at {repo}"),
            NodeEvent::PortMoved {
                what,
                from,
                to,
                by_ipfs,
            } => {
                let owner = if *by_ipfs {
                    "another IPFS daemon answers there"
                } else {
                    "another program uses it"
                };
                format!("{what} port {from} is taken ({owner}); using {to}")
            }
            NodeEvent::StaleApiRemoved => "removed a stale api file".into(),
            NodeEvent::StaleLockRecovered { pid } => match pid {
                Some(pid) => format!("recovered repo.lock left by dead process {pid}"),
                None => "recovered a stale repo.lock".into(),
            },
            NodeEvent::Starting { pid } => format!("starting the daemon (pid {pid})"),
            NodeEvent::Ready { api, peer_id } => format!("ready: API {api}, peer {peer_id}"),
            NodeEvent::Stopped => "stopped".into(),
            NodeEvent::Crashed {
                exit,
                restart_in_ms,
            } => format!(
                "the daemon exited{}; restarting in {}",
                exit.map(|c| format!(" with code {c}")).unwrap_or_default(),
                humantime::format_duration(std::time::Duration::from_millis(*restart_in_ms))
            ),
            NodeEvent::Unresponsive { failures } => {
                format!("not answering ({failures} checks in a row)")
            }
            NodeEvent::Runaway { reason } => format!("runaway: {reason}"),
            NodeEvent::Healing { step, reason } => format!("healing ({step}): {reason}"),
            NodeEvent::GaveUp { reason } => format!("gave up: {reason}; the local node is down"),
        }
    }
}
