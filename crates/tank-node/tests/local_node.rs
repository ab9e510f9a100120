//! The local node manager against a kubo command line. No kubo binary can be
//! had here, so `tests/harness/ipfs` stands in: kubo's commands, files,
//! output and error messages over a real libkubo node, with switches
//! (`standin.json` in the repo) to crash, hang, burn CPU and grow memory.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use humantime_serde::Serde;
use serde_json::json;
use tank_node::{LocalNode, LocalNodeConfig, NodeError, NodeEvent, PeeringPeer};
use tank_testkit::{free_port, kubo_standin, HarnessNode};
use tokio_util::sync::CancellationToken;

/// A node in a temporary data dir that is killed when the test ends.
struct Fixture {
    node: Arc<LocalNode>,
    events: Arc<Mutex<Vec<NodeEvent>>>,
    dir: tempfile::TempDir,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.node.kill();
    }
}

fn ms(ms: u64) -> Serde<Duration> {
    Duration::from_millis(ms).into()
}

/// Fast supervision settings, free ports, the stand-in as kubo.
fn config() -> LocalNodeConfig {
    LocalNodeConfig {
        enabled: true,
        binary: Some(kubo_standin()),
        api_port: free_port(),
        gateway_port: free_port(),
        swarm_port: free_port(),
        start_timeout: ms(30_000),
        liveness_interval: ms(200),
        unresponsive_after: 2,
        restart_backoff: vec![ms(200), ms(400)],
        max_restarts: 3,
        restart_window: ms(60_000),
        watchdog_interval: ms(200),
        cpu_sustained: ms(1000),
        heal_window: ms(60_000),
        ..LocalNodeConfig::default()
    }
}

fn fixture(config: LocalNodeConfig) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    Fixture {
        node: Arc::new(LocalNode::new(config, dir.path())),
        events: Arc::new(Mutex::new(Vec::new())),
        dir,
    }
}

impl Fixture {
    fn recorder(&self) -> impl Fn(NodeEvent) + Sync + Send + 'static {
        let events = self.events.clone();
        move |event| events.lock().unwrap().push(event)
    }

    fn events(&self) -> Vec<NodeEvent> {
        self.events.lock().unwrap().clone()
    }

    fn count(&self, matches: impl Fn(&NodeEvent) -> bool) -> usize {
        self.events().iter().filter(|e| matches(e)).count()
    }

    fn repo(&self) -> PathBuf {
        self.node.repo().to_owned()
    }

    fn repo_config(&self) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(self.repo().join("config")).unwrap()).unwrap()
    }

    /// How the stand-in daemon misbehaves from its next start.
    fn misbehave(&self, plan: serde_json::Value) {
        std::fs::write(self.repo().join("standin.json"), plan.to_string()).unwrap();
    }

    /// Runs the supervisor in the background.
    fn supervise(
        &self,
    ) -> (
        CancellationToken,
        tokio::task::JoinHandle<Result<(), NodeError>>,
    ) {
        let stop = CancellationToken::new();
        let (node, token, record) = (self.node.clone(), stop.clone(), self.recorder());
        let task = tokio::spawn(async move { node.supervise(token, &record).await });
        (stop, task)
    }

    async fn wait_for(&self, what: &str, ready: impl Fn(&[NodeEvent]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ready(&self.events()) {
            assert!(
                Instant::now() < deadline,
                "never saw {what}; events: {:#?}",
                self.events()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn is_ready(e: &NodeEvent) -> bool {
    matches!(e, NodeEvent::Ready { .. })
}

#[tokio::test]
async fn the_first_start_initialises_the_repo_and_serves_on_loopback_only() {
    let supernode = HarnessNode::start("supernode").await;
    let peer = PeeringPeer {
        id: supernode.peer_id.clone(),
        addrs: supernode
            .swarm
            .iter()
            .map(|a| a.split("/p2p/").next().unwrap().to_owned())
            .collect(),
    };
    let config = LocalNodeConfig {
        storage_max: "25GB".into(),
        ..config()
    };
    let api_port = config.api_port;
    let dir = tempfile::tempdir().unwrap();
    let f = Fixture {
        node: Arc::new(LocalNode::new(config, dir.path()).with_peers(vec![peer.clone()])),
        events: Arc::new(Mutex::new(Vec::new())),
        dir,
    };

    let running = f.node.start(&f.recorder()).await.unwrap();

    assert!(
        matches!(f.events()[0], NodeEvent::Initialised { .. }),
        "{:?}",
        f.events()
    );
    assert_eq!(running.api, format!("http://127.0.0.1:{api_port}"));
    let config = f.repo_config();
    assert_eq!(
        config["Addresses"]["API"],
        format!("/ip4/127.0.0.1/tcp/{api_port}")
    );
    assert!(config["Addresses"]["Gateway"]
        .as_str()
        .unwrap()
        .starts_with("/ip4/127.0.0.1/"));
    assert_eq!(config["Datastore"]["StorageMax"], "25GB");
    assert_eq!(
        config["Peering"]["Peers"],
        json!([{"ID": peer.id, "Addrs": peer.addrs}])
    );
    assert!(f.repo().join("api").exists());
    assert!(running.peer_id.starts_with("Qm"), "{running:?}");
    assert_ne!(running.peer_id, supernode.peer_id);
    let status = f.node.status().await;
    assert_eq!(status.version.as_deref(), Some("0.22.0"));
    assert!(status.repo_size.is_some());

    f.node.stop(&f.recorder()).await.unwrap();
    assert!(
        !f.repo().join("api").exists(),
        "a clean shutdown removes the api file"
    );
    assert_eq!(
        std::fs::read_to_string(f.repo().join("repo.lock")).unwrap(),
        ""
    );
    assert!(f.node.answering().await.is_none());
    assert!(std::fs::read_to_string(f.node.log_path())
        .unwrap()
        .contains("Daemon is ready"));
}

#[tokio::test]
async fn a_taken_port_moves_and_says_who_holds_it() {
    let program = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let other_ipfs = HarnessNode::start("other-ipfs").await;
    let config = LocalNodeConfig {
        gateway_port: program.local_addr().unwrap().port(),
        api_port: other_ipfs.api.port().unwrap(),
        ..config()
    };
    let f = fixture(config);

    let running = f.node.start(&f.recorder()).await.unwrap();

    let moves: Vec<(String, bool)> = f
        .events()
        .iter()
        .filter_map(|e| match e {
            NodeEvent::PortMoved { what, by_ipfs, .. } => Some((what.clone(), *by_ipfs)),
            _ => None,
        })
        .collect();
    assert_eq!(
        moves,
        [("API".to_owned(), true), ("gateway".to_owned(), false)]
    );
    assert_ne!(running.api, other_ipfs.api.as_str().trim_end_matches('/'));
    let described = f.events().iter().find_map(|e| match e {
        e @ NodeEvent::PortMoved { by_ipfs: true, .. } => Some(e.describe()),
        _ => None,
    });
    assert!(described
        .unwrap()
        .contains("another IPFS daemon answers there"));
}

#[tokio::test]
async fn an_api_file_and_a_lock_left_by_a_crash_are_recovered() {
    let f = fixture(config());
    f.node.start(&f.recorder()).await.unwrap();
    let crashed = f.node.pid().unwrap();
    f.node.kill(); // SIGKILL: no chance to clean up
    assert!(f.repo().join("api").exists());
    assert_eq!(
        std::fs::read_to_string(f.repo().join("repo.lock")).unwrap(),
        crashed.to_string()
    );

    // A fresh manager, as after a restart of the app.
    let again = LocalNode::new(config_for(&f), f.dir.path());
    let running = again.start(&f.recorder()).await;
    again.kill();

    assert!(running.is_ok(), "{running:?}");
    assert_eq!(f.count(|e| matches!(e, NodeEvent::StaleApiRemoved)), 1);
    assert_eq!(
        f.count(
            |e| matches!(e, NodeEvent::StaleLockRecovered { pid: Some(pid) } if *pid == crashed)
        ),
        1
    );
}

/// The fixture's settings with the ports it settled on.
fn config_for(f: &Fixture) -> LocalNodeConfig {
    let mut config = config();
    config.binary = Some(kubo_standin());
    let api = f.repo_config()["Addresses"]["API"]
        .as_str()
        .unwrap()
        .to_owned();
    config.api_port = api.rsplit('/').next().unwrap().parse().unwrap();
    config
}

#[tokio::test]
async fn a_lock_held_by_a_live_daemon_is_never_taken() {
    let f = fixture(config());
    f.node.start(&f.recorder()).await.unwrap();
    f.node.stop(&f.recorder()).await.unwrap();
    // Someone else runs a daemon on the same repo.
    let mut other = std::process::Command::new(kubo_standin())
        .arg("daemon")
        .env("IPFS_PATH", f.repo())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f.repo().join("api").exists() {
        assert!(Instant::now() < deadline, "the other daemon did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let lock_before = std::fs::read_to_string(f.repo().join("repo.lock")).unwrap();

    let again = LocalNode::new(config_for(&f), f.dir.path());
    let err = again.start(&f.recorder()).await.unwrap_err();

    assert!(
        matches!(err, NodeError::LockHeld { pid: Some(pid), .. } if pid == other.id()),
        "{err}"
    );
    assert!(
        err.to_string().contains("its lock is never taken over"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(f.repo().join("repo.lock")).unwrap(),
        lock_before
    );
    assert!(
        f.node.answering().await.is_some(),
        "the other daemon still runs"
    );
    let _ = other.kill();
    let _ = other.wait();
}

#[tokio::test]
async fn kubo_that_is_too_old_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("ipfs");
    std::fs::write(
        &old,
        format!(
            "#!/bin/sh\nSTANDIN_VERSION=0.10.0 exec {} \"$@\"\n",
            kubo_standin().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&old, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let f = fixture(LocalNodeConfig {
        binary: Some(old.clone()),
        ..config()
    });

    let err = f.node.start(&f.recorder()).await.unwrap_err();

    assert_eq!(
        err.to_string(),
        format!(
            "kubo 0.10.0 at {} is too old; version 0.18.0 or newer is needed",
            old.display()
        )
    );
}

#[tokio::test]
async fn a_repo_from_a_newer_kubo_gives_a_clear_error() {
    let f = fixture(config());
    f.node.start(&f.recorder()).await.unwrap();
    f.node.stop(&f.recorder()).await.unwrap();
    std::fs::write(f.repo().join("version"), "99\n").unwrap();

    let err = f.node.start(&f.recorder()).await.unwrap_err();

    assert!(matches!(err, NodeError::RepoTooNew { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("Your programs version (14) is lower than your repos (99)"),
        "{err}"
    );
}

#[tokio::test]
async fn a_crashed_daemon_is_restarted_with_backoff() {
    // Only crashes restart it here: a loaded machine's slow liveness answers
    // must not count as a hang.
    let f = fixture(LocalNodeConfig {
        unresponsive_after: 50,
        ..config()
    });
    f.node.start(&f.recorder()).await.unwrap();
    f.node.stop(&f.recorder()).await.unwrap();
    f.misbehave(json!({"crash_after": 0.5, "times": 2}));

    let (stop, task) = f.supervise();
    f.wait_for("two restarts", |events| {
        let crashes = events
            .iter()
            .filter(|e| matches!(e, NodeEvent::Crashed { .. }))
            .count();
        crashes >= 2 && events.last().is_some_and(is_ready)
    })
    .await;
    stop.cancel();
    task.await.unwrap().unwrap();

    let waits: Vec<u64> = f
        .events()
        .iter()
        .filter_map(|e| match e {
            NodeEvent::Crashed {
                restart_in_ms,
                exit,
            } => {
                assert_eq!(*exit, Some(2));
                Some(*restart_in_ms)
            }
            _ => None,
        })
        .collect();
    assert_eq!(waits, [200, 400], "backoff grows");
    assert!(matches!(f.events().last(), Some(NodeEvent::Stopped)));
}

#[tokio::test]
async fn a_crash_loop_gives_up_and_raises_the_alarm() {
    // Each start of the stand-in takes seconds on a loaded machine: the
    // window must hold four of them.
    let f = fixture(LocalNodeConfig {
        restart_window: ms(300_000),
        ..config()
    });
    f.node.start(&f.recorder()).await.unwrap();
    f.node.stop(&f.recorder()).await.unwrap();
    f.misbehave(json!({"crash_after": 0.3}));

    let (_stop, task) = f.supervise();
    let outcome = tokio::time::timeout(Duration::from_secs(240), task)
        .await
        .unwrap()
        .unwrap();

    assert!(matches!(outcome, Err(NodeError::GaveUp(_))), "{outcome:?}");
    let last = f.events().last().cloned().unwrap();
    assert!(last.is_alarm(), "{last:?}");
    assert!(
        last.describe().contains("exited 4 times"),
        "{}",
        last.describe()
    );
}

#[tokio::test]
async fn the_watchdog_heals_a_daemon_burning_cpu() {
    let f = fixture(LocalNodeConfig {
        cpu_limit_percent: 50.0,
        ..config()
    });
    f.node.start(&f.recorder()).await.unwrap();
    f.node.stop(&f.recorder()).await.unwrap();
    f.misbehave(json!({"burn_cpu": 2, "times": 1}));

    let (stop, task) = f.supervise();
    f.wait_for("a heal and a calm restart", |events| {
        events
            .iter()
            .any(|e| matches!(e, NodeEvent::Healing { step, .. } if step == "restart"))
            && events.iter().filter(|e| is_ready(e)).count() >= 3
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.cancel();
    task.await.unwrap().unwrap();

    let runaways =
        f.count(|e| matches!(e, NodeEvent::Runaway { reason } if reason.starts_with("CPU at")));
    assert_eq!(runaways, 1, "once healed, it stays calm: {:#?}", f.events());
}

#[tokio::test]
async fn the_watchdog_heals_a_daemon_growing_its_memory() {
    let f = fixture(LocalNodeConfig {
        rss_limit_mib: 300,
        ..config()
    });
    f.node.start(&f.recorder()).await.unwrap();
    f.node.stop(&f.recorder()).await.unwrap();
    f.misbehave(json!({"grow_mb_per_s": 100, "times": 1}));

    let (stop, task) = f.supervise();
    f.wait_for("a memory heal", |events| {
        events.iter().any(
            |e| matches!(e, NodeEvent::Runaway { reason } if reason.starts_with("resident memory")),
        ) && events.iter().filter(|e| is_ready(e)).count() >= 3
    })
    .await;
    stop.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn healing_escalates_from_restart_to_kill_to_giving_up() {
    let f = fixture(LocalNodeConfig {
        cpu_limit_percent: 50.0,
        ..config()
    });
    f.node.start(&f.recorder()).await.unwrap();
    f.node.stop(&f.recorder()).await.unwrap();
    f.misbehave(json!({"burn_cpu": 2}));

    let (_stop, task) = f.supervise();
    let outcome = tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .unwrap()
        .unwrap();

    assert!(matches!(outcome, Err(NodeError::GaveUp(_))), "{outcome:?}");
    let steps: Vec<String> = f
        .events()
        .iter()
        .filter_map(|e| match e {
            NodeEvent::Healing { step, .. } => Some(step.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(steps, ["restart", "kill_and_clean", "give_up"]);
    assert!(f.node.pid().is_none(), "nothing is left running");
}

#[tokio::test]
async fn a_daemon_that_stops_answering_is_restarted() {
    let f = fixture(config());
    f.node.start(&f.recorder()).await.unwrap();
    f.node.stop(&f.recorder()).await.unwrap();
    f.misbehave(json!({"hang_after": 0.5, "times": 1}));

    let (stop, task) = f.supervise();
    f.wait_for("an unresponsive heal", |events| {
        events
            .iter()
            .any(|e| matches!(e, NodeEvent::Unresponsive { .. }))
            && events.iter().filter(|e| is_ready(e)).count() >= 3
    })
    .await;
    stop.cancel();
    task.await.unwrap().unwrap();
    assert!(f.count(|e| matches!(e, NodeEvent::Healing { step, .. } if step == "restart")) >= 1);
}

#[tokio::test]
async fn a_stale_pid_file_never_stops_an_unrelated_process() {
    let f = fixture(config());
    let mut bystander = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let pid_file = f.dir.path().join("local-node").join("daemon.pid");
    std::fs::create_dir_all(pid_file.parent().unwrap()).unwrap();
    // A daemon long gone whose pid is now another program's: a record with
    // a start time that is not that program's, and one from a release that
    // wrote no start time.
    for record in [format!("{} 1", bystander.id()), bystander.id().to_string()] {
        std::fs::write(&pid_file, &record).unwrap();
        assert_eq!(f.node.pid(), None, "{record}");
        f.node.stop(&|_| {}).await.unwrap();
        f.node.kill();
        assert!(
            bystander.try_wait().unwrap().is_none(),
            "the bystander still runs after {record:?}"
        );
    }
    bystander.kill().unwrap();
    bystander.wait().unwrap();
}
