//! The local node: its repo, and starting, stopping and asking about its
//! daemon. Supervision is in `supervisor.rs`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tank_ipfs::KuboClient;
use url::Url;

use crate::binary::{self, KuboBinary};
use crate::error::io;
use crate::{logs, ports, LocalNodeConfig, NodeError, NodeEvent};

/// How long a graceful `shutdown` may take before the daemon is killed.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How often a starting daemon is checked for readiness.
const READY_POLL: Duration = Duration::from_millis(100);

/// A peer the local node keeps a connection to (kubo `Peering.Peers`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeeringPeer {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Addrs")]
    pub addrs: Vec<String>,
}

/// A running daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Running {
    pub pid: u32,
    pub api: String,
    pub gateway: Option<String>,
    pub peer_id: String,
}

/// What `tank node status` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LocalStatus {
    pub repo: String,
    pub log: String,
    pub binary: Option<String>,
    pub version: Option<String>,
    pub running: Option<Running>,
    pub repo_size: Option<u64>,
    pub storage_max: Option<u64>,
    pub problem: Option<String>,
}

pub struct LocalNode {
    pub(crate) config: LocalNodeConfig,
    repo: PathBuf,
    state_dir: PathBuf,
    exe_dir: Option<PathBuf>,
    peers: Vec<PeeringPeer>,
    /// Nodes asked for their identity at each start, to peer with.
    peer_apis: Vec<KuboClient>,
    /// The daemon this process started, to reap it and read its exit code.
    child: Mutex<Option<Child>>,
    /// Environment variables kubo never sees (our secrets).
    hidden_env: Vec<String>,
}

impl LocalNode {
    /// A node with its repo at `config.repo` (else `<data_dir>/ipfs`) and
    /// its log and pid file in `<data_dir>/local-node`.
    pub fn new(config: LocalNodeConfig, data_dir: &Path) -> LocalNode {
        LocalNode {
            repo: config.repo.clone().unwrap_or_else(|| data_dir.join("ipfs")),
            state_dir: data_dir.join("local-node"),
            exe_dir: std::env::current_exe()
                .ok()
                .and_then(|e| e.parent().map(Path::to_owned)),
            config,
            peers: Vec::new(),
            peer_apis: Vec::new(),
            child: Mutex::new(None),
            hidden_env: Vec::new(),
        }
    }

    /// Peers to keep connected to, so content flows directly.
    pub fn with_peers(mut self, peers: Vec<PeeringPeer>) -> LocalNode {
        self.peers = peers;
        self
    }

    /// Nodes (the supernode, backups) to peer with: each start asks them
    /// who they are and where; one that does not answer is left out.
    pub fn with_peer_apis(mut self, nodes: Vec<KuboClient>) -> LocalNode {
        self.peer_apis = nodes;
        self
    }

    /// Removes `names` from every kubo process's environment: the secrets
    /// this process was given are not kubo's.
    pub fn with_hidden_env(mut self, names: Vec<String>) -> LocalNode {
        self.hidden_env = names;
        self
    }

    /// `kubo <…>` on our repo, without the hidden variables.
    fn kubo_command(&self, kubo: &KuboBinary) -> Command {
        let mut command = binary::command(&kubo.path, &self.hidden_env);
        command.env("IPFS_PATH", &self.repo);
        command
    }

    /// The fixed peers plus whichever peer APIs answer now.
    async fn current_peers(&self) -> Vec<PeeringPeer> {
        let mut peers = self.peers.clone();
        for node in &self.peer_apis {
            match node.id(self.probe_timeout()).await {
                Ok(identity) => peers.push(PeeringPeer {
                    id: identity.id,
                    addrs: identity
                        .addresses
                        .iter()
                        .map(|a| a.split("/p2p/").next().unwrap_or(a).to_owned())
                        .collect(),
                }),
                Err(e) => {
                    tracing::warn!(node = node.endpoint(), %e, "not peering with a node that does not answer")
                }
            }
        }
        peers
    }

    pub fn repo(&self) -> &Path {
        &self.repo
    }

    pub fn log_path(&self) -> PathBuf {
        self.state_dir.join("daemon.log")
    }

    fn pid_path(&self) -> PathBuf {
        self.state_dir.join("daemon.pid")
    }

    pub fn binary(&self) -> Result<KuboBinary, NodeError> {
        binary::find(
            self.config.binary.as_deref(),
            self.exe_dir.as_deref(),
            &self.hidden_env,
        )
    }

    /// The API URL kubo was told to use (from the repo's config), whether
    /// or not the daemon runs.
    pub fn configured_api(&self) -> Option<Url> {
        let config: serde_json::Value =
            serde_json::from_slice(&std::fs::read(self.repo.join("config")).ok()?).ok()?;
        multiaddr_url(config["Addresses"]["API"].as_str()?)
    }

    /// Starts the daemon (initialising and configuring the repo first) and
    /// waits until it answers. Does nothing when it already runs.
    pub async fn start(&self, events: &(dyn Fn(NodeEvent) + Sync)) -> Result<Running, NodeError> {
        if let Some(running) = self.running().await {
            return Ok(running);
        }
        let kubo = self.binary()?;
        std::fs::create_dir_all(&self.state_dir).map_err(io(&self.state_dir))?;
        self.prepare_repo(&kubo, events).await?;
        self.spawn(&kubo, events).await
    }

    /// `ipfs init` when there is no repo; stale files cleared; ports,
    /// peering, storage and GC set.
    async fn prepare_repo(
        &self,
        kubo: &KuboBinary,
        events: &(dyn Fn(NodeEvent) + Sync),
    ) -> Result<(), NodeError> {
        if !self.repo.join("config").exists() {
            std::fs::create_dir_all(&self.repo).map_err(io(&self.repo))?;
            self.ipfs(kubo, &["init"])?;
            events(NodeEvent::Initialised {
                repo: self.repo.display().to_string(),
            });
        }
        self.clear_stale_files(events).await?;
        let config = &self.config;
        let mut chosen = Vec::new();
        for (what, wanted) in [
            ("API", config.api_port),
            ("gateway", config.gateway_port),
            ("swarm", config.swarm_port),
        ] {
            let (port, moved) = ports::choose(what, wanted).await;
            if let Some(event) = moved {
                events(event);
            }
            chosen.push(port);
        }
        let (api, gateway, swarm) = (chosen[0], chosen[1], chosen[2]);
        // API and gateway on loopback only: nothing outside this machine
        // may drive or read the node. The swarm is for the world.
        self.ipfs(
            kubo,
            &[
                "config",
                "Addresses.API",
                &format!("/ip4/127.0.0.1/tcp/{api}"),
            ],
        )?;
        self.ipfs(
            kubo,
            &[
                "config",
                "Addresses.Gateway",
                &format!("/ip4/127.0.0.1/tcp/{gateway}"),
            ],
        )?;
        let swarm = serde_json::json!([format!("/ip4/0.0.0.0/tcp/{swarm}")]).to_string();
        self.ipfs(kubo, &["config", "--json", "Addresses.Swarm", &swarm])?;
        self.ipfs(
            kubo,
            &["config", "Datastore.StorageMax", &config.storage_max],
        )?;
        self.ipfs(kubo, &["config", "Datastore.GCPeriod", &config.gc_period])?;
        let peers = serde_json::to_string(&self.current_peers().await).expect("serialisable");
        self.ipfs(kubo, &["config", "--json", "Peering.Peers", &peers])?;
        Ok(())
    }

    /// An `api` file whose daemon does not answer, and a `repo.lock` whose
    /// holder is dead, are left by crashes: removed. A lock whose holder
    /// lives is never taken.
    async fn clear_stale_files(
        &self,
        events: &(dyn Fn(NodeEvent) + Sync),
    ) -> Result<(), NodeError> {
        let api_file = self.repo.join("api");
        if api_file.exists() && self.answering().await.is_none() {
            std::fs::remove_file(&api_file).map_err(io(&api_file))?;
            events(NodeEvent::StaleApiRemoved);
        }
        let lock = self.repo.join("repo.lock");
        let holder = std::fs::read_to_string(&lock).unwrap_or_default();
        let holder = holder.trim();
        if !holder.is_empty() {
            let pid = lock_pid(holder);
            if pid.is_some_and(process_alive) {
                return Err(NodeError::LockHeld {
                    repo: self.repo.clone(),
                    pid,
                });
            }
            std::fs::write(&lock, "").map_err(io(&lock))?;
            events(NodeEvent::StaleLockRecovered { pid });
        }
        Ok(())
    }

    async fn spawn(
        &self,
        kubo: &KuboBinary,
        events: &(dyn Fn(NodeEvent) + Sync),
    ) -> Result<Running, NodeError> {
        let log_path = self.log_path();
        let log = logs::open(&log_path).map_err(io(&log_path))?;
        let mut command = self.kubo_command(kubo);
        command
            .args(["daemon", "--migrate", "--enable-gc"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(io(&log_path))?)
            .stderr(log);
        detach(&mut command);
        let child = command.spawn().map_err(|e| NodeError::NoKubo {
            path: kubo.path.clone(),
            reason: e.to_string(),
        })?;
        let pid = child.id();
        // With its start time: after a reboot or a crash the same pid can
        // be another program's, which must never be stopped as ours.
        let record = match start_time(pid) {
            Some(started) => format!("{pid} {started}"),
            None => pid.to_string(),
        };
        std::fs::write(self.pid_path(), record).map_err(io(&self.pid_path()))?;
        *self.child.lock().expect("not poisoned") = Some(child);
        events(NodeEvent::Starting { pid });

        let started = Instant::now();
        let timeout = *self.config.start_timeout;
        loop {
            if let Some(code) = self.exited() {
                return Err(self.startup_error(code, &kubo.version));
            }
            if let Some(running) = self.answering().await {
                events(NodeEvent::Ready {
                    api: running.api.clone(),
                    peer_id: running.peer_id.clone(),
                });
                return Ok(running);
            }
            if started.elapsed() > timeout {
                return Err(NodeError::NotReady { after: timeout });
            }
            tokio::time::sleep(READY_POLL).await;
        }
    }

    /// What the daemon's last words say went wrong.
    fn startup_error(&self, code: Option<i32>, version: &str) -> NodeError {
        let log = logs::tail(&self.log_path(), 20).join("\n");
        let errors: Vec<&str> = log
            .lines()
            .skip_while(|l| !l.starts_with("Error"))
            .collect();
        let message = if errors.is_empty() {
            log.clone()
        } else {
            errors.join(" ")
        };
        let message = message.trim_start_matches("Error: ").to_owned();
        if log.contains("someone else has the lock") {
            NodeError::LockHeld {
                repo: self.repo.clone(),
                pid: None,
            }
        } else if log.contains("lower than your repo") {
            NodeError::RepoTooNew {
                repo: self.repo.clone(),
                version: version.to_owned(),
                message,
            }
        } else if log.contains("migration") {
            NodeError::MigrationFailed {
                repo: self.repo.clone(),
                message,
            }
        } else {
            NodeError::Exited { code, log: message }
        }
    }

    /// The daemon's exit code when the daemon this process started has
    /// exited (`Some(None)` when killed by a signal); `None` while it runs
    /// or when this process did not start it.
    pub(crate) fn exited(&self) -> Option<Option<i32>> {
        let mut child = self.child.lock().expect("not poisoned");
        match child.as_mut()?.try_wait() {
            Ok(Some(status)) => {
                *child = None;
                Some(status.code())
            }
            _ => None,
        }
    }

    /// The daemon's pid, from this process's child or the pid file.
    pub fn pid(&self) -> Option<u32> {
        if let Some(child) = self.child.lock().expect("not poisoned").as_ref() {
            return Some(child.id());
        }
        let record = std::fs::read_to_string(self.pid_path()).ok()?;
        let mut fields = record.split_whitespace();
        let pid: u32 = fields.next()?.parse().ok()?;
        let started: Option<u64> = fields.next().and_then(|t| t.parse().ok());
        let ours = match (started, start_time(pid)) {
            (Some(recorded), Some(now)) => recorded == now,
            // A file without a start time (an older release wrote those):
            // only a kubo daemon counts.
            (None, Some(_)) => runs_a_daemon(pid),
            // Processes cannot be read here: the file is all there is.
            (_, None) => true,
        };
        (ours && process_alive(pid)).then_some(pid)
    }

    /// How long a check of the daemon may take: the liveness interval,
    /// within 1 to 5 seconds.
    fn probe_timeout(&self) -> Duration {
        (*self.config.liveness_interval).clamp(Duration::from_secs(1), Duration::from_secs(5))
    }

    /// The daemon, when its `api` file exists and it answers `id`.
    pub async fn answering(&self) -> Option<Running> {
        let api = multiaddr_url(std::fs::read_to_string(self.repo.join("api")).ok()?.trim())?;
        let identity = KuboClient::new(api.clone(), None)
            .id(self.probe_timeout())
            .await
            .ok()?;
        let config: serde_json::Value =
            serde_json::from_slice(&std::fs::read(self.repo.join("config")).ok()?).ok()?;
        Some(Running {
            pid: self.pid().unwrap_or(0),
            api: api.as_str().trim_end_matches('/').to_owned(),
            gateway: config["Addresses"]["Gateway"]
                .as_str()
                .and_then(multiaddr_url)
                .map(|u| u.as_str().trim_end_matches('/').to_owned()),
            peer_id: identity.id,
        })
    }

    async fn running(&self) -> Option<Running> {
        self.pid()?;
        self.answering().await
    }

    /// `shutdown` through the API, then a kill if it does not go in time.
    pub async fn stop(&self, events: &(dyn Fn(NodeEvent) + Sync)) -> Result<(), NodeError> {
        let Some(pid) = self.pid() else {
            return Ok(());
        };
        // A daemon that does not even take the request gets no grace period.
        let asked = match self.configured_api() {
            Some(api) => KuboClient::new(api, None)
                .shutdown(self.probe_timeout())
                .await
                .is_ok(),
            None => false,
        };
        let grace = if asked {
            SHUTDOWN_GRACE
        } else {
            Duration::ZERO
        };
        let deadline = Instant::now() + grace;
        while process_alive(pid) && self.exited().is_none() && Instant::now() < deadline {
            tokio::time::sleep(READY_POLL).await;
        }
        if process_alive(pid) {
            self.kill();
        }
        let _ = std::fs::remove_file(self.pid_path());
        events(NodeEvent::Stopped);
        Ok(())
    }

    /// Kills the daemon at once (no graceful shutdown) and reaps it.
    pub fn kill(&self) {
        if let Some(mut child) = self.child.lock().expect("not poisoned").take() {
            let _ = child.kill();
            let _ = child.wait();
            return;
        }
        if let Some(pid) = self.pid() {
            kill_process(pid);
        }
    }

    /// After a kill: the files a dead daemon leaves (its `api` file, its
    /// pid in `repo.lock`, our pid file) go.
    pub(crate) fn clean_after_kill(&self) -> Result<(), NodeError> {
        let api = self.repo.join("api");
        if api.exists() {
            std::fs::remove_file(&api).map_err(io(&api))?;
        }
        let lock = self.repo.join("repo.lock");
        if lock.exists() {
            std::fs::write(&lock, "").map_err(io(&lock))?;
        }
        let _ = std::fs::remove_file(self.pid_path());
        Ok(())
    }

    /// Runs `ipfs <args>` on the repo.
    fn ipfs(&self, kubo: &KuboBinary, args: &[&str]) -> Result<String, NodeError> {
        let output = self
            .kubo_command(kubo)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| NodeError::NoKubo {
                path: kubo.path.clone(),
                reason: e.to_string(),
            })?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(NodeError::Command {
                command: args.join(" "),
                message: String::from_utf8_lossy(&output.stderr)
                    .trim()
                    .trim_start_matches("Error: ")
                    .to_owned(),
            })
        }
    }

    /// Everything known about the node, asking the daemon when it runs.
    pub async fn status(&self) -> LocalStatus {
        let binary = self.binary();
        let running = self.running().await;
        let (repo_size, storage_max) = match &running {
            Some(running) => match Url::parse(&running.api) {
                Ok(api) => match KuboClient::new(api, None)
                    .repo_stat(self.probe_timeout())
                    .await
                {
                    Ok(stat) => (Some(stat.repo_size), Some(stat.storage_max)),
                    Err(_) => (None, None),
                },
                Err(_) => (None, None),
            },
            None => (None, None),
        };
        LocalStatus {
            repo: self.repo.display().to_string(),
            log: self.log_path().display().to_string(),
            binary: binary.as_ref().ok().map(|b| b.path.display().to_string()),
            version: binary.as_ref().ok().map(|b| b.version.clone()),
            problem: binary.err().map(|e| e.to_string()),
            running,
            repo_size,
            storage_max,
        }
    }
}

/// `/ip4/127.0.0.1/tcp/5001` → `http://127.0.0.1:5001`.
fn multiaddr_url(multiaddr: &str) -> Option<Url> {
    let parts: Vec<&str> = multiaddr.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["ip4", host, "tcp", port, ..] => Url::parse(&format!("http://{host}:{port}")).ok(),
        ["ip6", host, "tcp", port, ..] => Url::parse(&format!("http://[{host}]:{port}")).ok(),
        ["dns" | "dns4" | "dns6", host, "tcp", port, ..] => {
            Url::parse(&format!("http://{host}:{port}")).ok()
        }
        _ => None,
    }
}

/// The pid in a lock file: plain digits, or go4.org/lock's `{"pid": N}`.
fn lock_pid(content: &str) -> Option<u32> {
    content.trim().parse().ok().or_else(|| {
        serde_json::from_str::<serde_json::Value>(content)
            .ok()?
            .get("pid")?
            .as_u64()
            .map(|p| p as u32)
    })
}

/// What the system knows of one process, freshly read.
fn inspect(pid: u32) -> Option<(sysinfo::System, sysinfo::Pid)> {
    let pid = sysinfo::Pid::from_u32(pid);
    let mut system = sysinfo::System::new().ok()?;
    system.refresh_processes(sysinfo::ProcessesToUpdate::Some(&[pid]), true);
    Some((system, pid))
}

/// When a process started (seconds since the epoch), if it exists and
/// processes can be read here.
fn start_time(pid: u32) -> Option<u64> {
    let (system, pid) = inspect(pid)?;
    system.process(pid).map(sysinfo::Process::start_time)
}

/// Whether a process was started as `… daemon …`, as we start kubo.
fn runs_a_daemon(pid: u32) -> bool {
    let pid = sysinfo::Pid::from_u32(pid);
    let Ok(mut system) = sysinfo::System::new() else {
        return false;
    };
    system.refresh_processes_specifics(
        sysinfo::ProcessesToUpdate::Some(&[pid]),
        true,
        sysinfo::ProcessRefreshKind::nothing().with_cmd(sysinfo::UpdateKind::Always),
    );
    system
        .process(pid)
        .is_some_and(|p| p.cmd().iter().any(|arg| arg == "daemon"))
}

/// Whether a process runs (a zombie does not count). On a platform where
/// processes cannot be read, it counts as running: a lock whose holder
/// cannot be checked is never taken.
pub(crate) fn process_alive(pid: u32) -> bool {
    match inspect(pid) {
        Some((system, pid)) => system.process(pid).is_some_and(|p| {
            !matches!(
                p.status(),
                sysinfo::ProcessStatus::Zombie | sysinfo::ProcessStatus::Dead
            )
        }),
        None => true,
    }
}

fn kill_process(pid: u32) {
    if let Some((system, pid)) = inspect(pid) {
        if let Some(process) = system.process(pid) {
            process.kill();
        }
    }
}

/// The daemon outlives the command that started it (`tank node start`),
/// and a Ctrl-C meant for `tank` does not reach it.
fn detach(command: &mut Command) {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    #[cfg(windows)]
    {
        use std::os::windows::process::CommandExt;
        const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
        const CREATE_NO_WINDOW: u32 = 0x0800_0000;
        command.creation_flags(CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiaddrs_become_urls() {
        assert_eq!(
            multiaddr_url("/ip4/127.0.0.1/tcp/5001").unwrap().as_str(),
            "http://127.0.0.1:5001/"
        );
        assert_eq!(
            multiaddr_url("/ip6/::1/tcp/5001").unwrap().as_str(),
            "http://[::1]:5001/"
        );
        assert_eq!(multiaddr_url("/unix/tmp/sock"), None);
    }

    #[test]
    fn lock_holders_are_read_in_either_format() {
        assert_eq!(lock_pid("1234"), Some(1234));
        assert_eq!(lock_pid("{\"pid\": 77}"), Some(77));
        assert_eq!(lock_pid("garbage"), None);
    }
}
