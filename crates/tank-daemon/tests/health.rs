//! The daemon's health monitor: node states with hysteresis (`down` only
//! after `down_after` failed probes in a row, `healthy` again only after
//! `up_after` good ones), samples for history, canaries, repo usage, the
//! circuit breaker a `down` node gets, and alerts to webhooks: a node going
//! down or recovering, and a spike of failed calls, each sent once.
//!
//! Most tests drive the monitor round by round (`HealthMonitor::round`, what
//! the daemon runs every `[health] interval`), so each step of the
//! hysteresis is seen; one runs the whole daemon.

mod common;

use std::time::{Duration, Instant};

use common::{encode, open_daemon, open_engine, set_secret, Running};
use tank_daemon::{Daemon, NodeReport};
use tank_model::{HealthState, JobState};
use tank_testkit::http::WebhookSink;
use tank_testkit::World;

const MONITOR: &str = "[health]\ndown_after = 2\nup_after = 2\ncanary_interval = \"1s\"\n\
                       [alerting]\nmin_interval = \"1h\"\n[[alerts]]\nname = \"ops\"\nkind = \"json\"\n";

/// What `tank nodes` shows for `node`: how it answers now, its monitored
/// state and its latest samples.
async fn report_of(daemon: &Daemon, node: &str) -> NodeReport {
    daemon
        .health()
        .node_reports(20)
        .await
        .into_iter()
        .find(|r| r.now.name == node)
        .unwrap_or_else(|| panic!("no report for {node}"))
}

/// `node`'s state as the monitor last saw it.
fn monitored_state(daemon: &Daemon, node: &str) -> HealthState {
    daemon
        .health()
        .monitored_health()
        .unwrap()
        .into_iter()
        .find(|row| row.node == node)
        .map_or(HealthState::Unknown, |row| row.state)
}

fn events(sink: &WebhookSink, event: &str, node: &str) -> usize {
    sink.received()
        .iter()
        .filter(|a| a["event"] == event && a["node"] == node)
        .count()
}

#[tokio::test]
async fn a_dead_node_goes_down_is_alerted_once_and_recovers() {
    let mut world = World::with_nodes(2).await;
    let sink = WebhookSink::start().await;
    world.write_config(MONITOR);
    set_secret(&world, "alert:ops", sink.url.as_str());
    let daemon = open_daemon(&world);
    let monitor = daemon.health();

    monitor.round().await;
    let healthy = report_of(&daemon, "backup-1").await;
    assert_eq!(healthy.state, HealthState::Healthy, "{healthy:#?}");
    let history = &healthy.history;
    assert!(history.iter().any(|s| s.probe == "liveness" && s.ok));
    assert!(
        history.iter().any(|s| s.probe == "canary" && s.ok),
        "{history:#?}"
    );

    world.node_mut("backup-1").kill().await;
    monitor.round().await;
    assert_ne!(
        monitored_state(&daemon, "backup-1"),
        HealthState::Down,
        "one failed probe is not enough (down_after = 2)"
    );
    monitor.round().await;
    let down = report_of(&daemon, "backup-1").await;
    assert_eq!(down.state, HealthState::Down, "{down:#?}");
    assert!(!down.history[0].ok, "the newest sample failed");
    // More failed probes pass, but the alert is sent once.
    monitor.round().await;
    monitor.round().await;
    assert_eq!(
        events(&sink, "node_down", "backup-1"),
        1,
        "{:?}",
        sink.received()
    );

    world.node_mut("backup-1").restart().await;
    monitor.round().await;
    assert_ne!(
        monitored_state(&daemon, "backup-1"),
        HealthState::Healthy,
        "one good probe is not enough (up_after = 2)"
    );
    monitor.round().await;
    assert_eq!(monitored_state(&daemon, "backup-1"), HealthState::Healthy);
    assert_eq!(
        events(&sink, "node_recovered", "backup-1"),
        1,
        "{:?}",
        sink.received()
    );
    assert_eq!(events(&sink, "node_down", "supernode"), 0);
}

#[tokio::test]
async fn a_nearly_full_repo_makes_a_node_degraded() {
    let world = World::with_nodes(2).await;
    world
        .node("backup-1")
        .report_repo_usage(Some((95, 100)))
        .await;
    let daemon = open_daemon(&world);

    daemon.health().round().await;

    let degraded = report_of(&daemon, "backup-1").await;
    assert_eq!(degraded.state, HealthState::Degraded, "{degraded:#?}");
    let repo = degraded
        .history
        .iter()
        .find(|s| s.probe == "repo")
        .expect("a repo sample");
    assert_eq!(repo.repo_size, Some(95));
    assert_eq!(repo.storage_max, Some(100));
    assert!(!repo.ok);
    assert_eq!(
        report_of(&daemon, "supernode").await.state,
        HealthState::Healthy
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_the_monitor_found_down_is_skipped_by_jobs_at_once() {
    let mut world = World::with_nodes(3).await;
    world.write_config("[health]\ninterval = \"200ms\"\ndown_after = 2\n");
    world.edit_config("breaker_cooldown = \"2s\"", "breaker_cooldown = \"10m\"");
    let daemon = open_daemon(&world);
    let running = Running::start(&daemon);
    world.node_mut("backup-1").kill().await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while monitored_state(&daemon, "backup-1") != HealthState::Down {
        assert!(Instant::now() < deadline, "backup-1 never became down");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    running.stop().await;
    drop(daemon);

    // Another engine on the same data directory, as a later `tank encode`.
    let engine = open_engine(&world);
    let report = encode(&engine, &world.short_clip()).await;

    assert_eq!(report.state, JobState::Done, "{report:#?}");
    let backup_1: Vec<_> = report
        .attempts
        .iter()
        .filter(|a| a.node == "backup-1")
        .collect();
    assert_eq!(backup_1.len(), 1, "only a skip record: {backup_1:#?}");
    let error = backup_1[0].error.as_deref().unwrap_or_default();
    assert!(error.contains("circuit breaker open"), "{error}");
}

#[tokio::test]
async fn a_spike_of_failed_calls_is_alerted() {
    let world = World::with_nodes(2).await;
    let sink = WebhookSink::start().await;
    world.write_config(
        "[alerting]\nwindow = \"1m\"\nretry_spike = 2\nmin_interval = \"1h\"\n[[alerts]]\nname = \"ops\"\nkind = \"slack\"\n",
    );
    set_secret(&world, "alert:ops", sink.url.as_str());
    world.node("supernode").fail_next("pin/add", 2).await;
    let daemon = open_daemon(&world);
    let report = encode(daemon.engine(), &world.short_clip()).await;
    assert_eq!(report.state, JobState::Done, "{report:#?}");

    // Two looks for spikes, as the daemon takes every few seconds.
    daemon.alerts().check_spikes().await;
    daemon.alerts().check_spikes().await;

    let alerts = sink.received();
    assert_eq!(alerts.len(), 1, "once, rate-limited: {alerts:?}");
    let text = alerts[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("Tank Encoder: 2 calls to IPFS nodes failed in the last 1m"),
        "{text}"
    );
}
