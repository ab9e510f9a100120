//! The health monitor under `tank daemon`: node states with hysteresis,
//! samples for history, canaries, repo usage, and alerts to webhooks.

mod common;

use common::{stop_gracefully, World};
use serde_json::Value;
use tank_testkit::http::WebhookSink;

const MONITOR: &str = "[health]\ninterval = \"200ms\"\ndown_after = 2\nup_after = 2\ncanary_interval = \"1s\"\n\
                       [alerting]\nmin_interval = \"1h\"\n[[alerts]]\nname = \"ops\"\nkind = \"json\"\n";

/// Polls `tank nodes --json` until `node` is in `state`.
async fn wait_for_state(world: &World, node: &str, state: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let nodes = world.tank(&["nodes", "--json"]).await.json();
        let entry = nodes
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == node)
            .unwrap()
            .clone();
        if entry["state"] == state {
            return entry;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{node} never became {state}: {entry:#}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
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
    world.secret("alert:ops", sink.url.as_str()).await;
    let mut daemon = world.start_daemon();
    let healthy = wait_for_state(&world, "backup-1", "healthy").await;
    let history = healthy["history"].as_array().unwrap();
    assert!(history
        .iter()
        .any(|s| s["probe"] == "liveness" && s["ok"] == true));
    assert!(
        history
            .iter()
            .any(|s| s["probe"] == "canary" && s["ok"] == true),
        "{history:?}"
    );

    world.node_mut("backup-1").kill().await;
    let down = wait_for_state(&world, "backup-1", "down").await;
    assert!(down["history"][0]["ok"] == false);
    // More failed probes pass, but the alert is sent once.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(
        events(&sink, "node_down", "backup-1"),
        1,
        "{:?}",
        sink.received()
    );

    world.node_mut("backup-1").restart().await;
    wait_for_state(&world, "backup-1", "healthy").await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        events(&sink, "node_recovered", "backup-1"),
        1,
        "{:?}",
        sink.received()
    );
    assert_eq!(events(&sink, "node_down", "supernode"), 0);
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
}

#[tokio::test]
async fn a_nearly_full_repo_makes_a_node_degraded() {
    let world = World::with_nodes(2).await;
    world.write_config("[health]\ninterval = \"200ms\"\n");
    world
        .node("backup-1")
        .report_repo_usage(Some((95, 100)))
        .await;

    let mut daemon = world.start_daemon();
    let degraded = wait_for_state(&world, "backup-1", "degraded").await;

    let repo = degraded["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["probe"] == "repo")
        .unwrap();
    assert_eq!(repo["repo_size"], 95);
    assert_eq!(repo["storage_max"], 100);
    assert_eq!(repo["ok"], false);
    wait_for_state(&world, "supernode", "healthy").await;
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
}

#[tokio::test]
async fn a_node_the_monitor_found_down_is_skipped_by_jobs_at_once() {
    let mut world = World::with_nodes(3).await;
    world.write_config("[health]\ninterval = \"200ms\"\ndown_after = 2\n");
    world.edit_config("breaker_cooldown = \"2s\"", "breaker_cooldown = \"10m\"");
    let mut daemon = world.start_daemon();
    world.node_mut("backup-1").kill().await;
    wait_for_state(&world, "backup-1", "down").await;
    assert_eq!(stop_gracefully(&mut daemon).await, 0);

    let (code, report) = world.encode(&world.short_clip()).await;

    assert_eq!(code, 0, "{report:#}");
    let attempts = report["attempts"].as_array().unwrap();
    let backup_1: Vec<_> = attempts
        .iter()
        .filter(|a| a["node"] == "backup-1")
        .collect();
    assert_eq!(backup_1.len(), 1, "only a skip record: {backup_1:?}");
    assert!(backup_1[0]["error"]
        .as_str()
        .unwrap()
        .contains("circuit breaker open"));
}

#[tokio::test]
async fn a_spike_of_failed_calls_is_alerted() {
    let world = World::with_nodes(2).await;
    let sink = WebhookSink::start().await;
    world.write_config(
        "[alerting]\nwindow = \"1m\"\nretry_spike = 2\nmin_interval = \"1h\"\n[[alerts]]\nname = \"ops\"\nkind = \"slack\"\n",
    );
    world.secret("alert:ops", sink.url.as_str()).await;
    world.node("supernode").fail_next("pin/add", 2).await;
    let (code, _) = world.encode(&world.short_clip()).await;
    assert_eq!(code, 0);

    let mut daemon = world.start_daemon();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while sink.received().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no alert arrived");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;

    let alerts = sink.received();
    assert_eq!(alerts.len(), 1, "once, rate-limited: {alerts:?}");
    let text = alerts[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("Tank Encoder: 2 calls to IPFS nodes failed in the last 1m"),
        "{text}"
    );
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
}
