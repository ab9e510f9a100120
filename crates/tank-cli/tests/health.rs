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
