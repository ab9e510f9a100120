//! The durable pin queue: a job that cannot reach its quorum parks
//! (`awaiting_replicas`, exit code 3), keeps its HLS folder, and `tank
//! daemon` finishes it on its own once nodes come back, across restarts.

mod common;

use common::{replica_nodes, stop_gracefully, World};
use serde_json::Value;

/// Two nodes, quorum 2, the backup dead: the job parks.
async fn parked_job(world: &mut World) -> Value {
    world.edit_config("[pinning]\n", "[pinning]\npark_backoff = [\"500ms\"]\n");
    world.node_mut("backup-1").kill().await;
    let (code, report) = world.encode(&world.short_clip()).await;
    assert_eq!(code, 3, "{report:#}");
    assert_eq!(report["state"], "awaiting_replicas");
    assert_eq!(report["retryable"], true);
    assert_eq!(replica_nodes(&report), ["supernode"]);
    assert!(std::path::Path::new(report["output_dir"].as_str().unwrap()).exists());
    report
}

fn parked_rounds(report: &Value) -> usize {
    report["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["state"] == "awaiting_replicas")
        .count()
}

#[tokio::test]
async fn a_parked_job_completes_under_the_daemon_once_the_node_is_back() {
    let mut world = World::with_nodes(2).await;
    parked_job(&mut world).await;
    world.node_mut("backup-1").restart().await;

    let mut daemon = world.start_daemon();
    let report = world
        .wait_for_job(1, "done", |r| r["state"] == "done")
        .await;

    let mut replicas = replica_nodes(&report);
    replicas.sort();
    assert_eq!(replicas, ["backup-1", "supernode"]);
    assert!(
        world
            .node("backup-1")
            .has_pin(report["cid"].as_str().unwrap())
            .await
    );
    assert_eq!(report["error"], Value::Null);
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
}

#[tokio::test]
async fn parked_work_survives_a_daemon_crash() {
    let mut world = World::with_nodes(2).await;
    parked_job(&mut world).await;

    // The daemon tries while the node is still down, then dies.
    let mut daemon = world.start_daemon();
    world
        .wait_for_job(1, "a second parked round", |r| parked_rounds(r) >= 2)
        .await;
    daemon.start_kill().unwrap();
    daemon.wait().await.unwrap();
    assert_eq!(
        world.tank(&["job", "1", "--json"]).await.json()["state"],
        "awaiting_replicas"
    );

    world.node_mut("backup-1").restart().await;
    let mut daemon = world.start_daemon();
    let report = world
        .wait_for_job(1, "done", |r| r["state"] == "done")
        .await;

    assert_eq!(replica_nodes(&report).len(), 2);
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
}

#[tokio::test]
async fn a_job_parked_longer_than_park_for_fails_retryably() {
    let mut world = World::with_nodes(2).await;
    world.edit_config("[pinning]\n", "[pinning]\npark_for = \"1s\"\n");
    parked_job(&mut world).await;

    let mut daemon = world.start_daemon();
    let report = world
        .wait_for_job(1, "failed", |r| r["state"] == "failed")
        .await;

    assert_eq!(report["retryable"], true);
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .starts_with("gave up after waiting 1s for enough replicas"),
        "{report:#}"
    );
    assert!(
        std::path::Path::new(report["output_dir"].as_str().unwrap()).exists(),
        "the HLS folder is kept"
    );
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
}

#[tokio::test]
async fn a_job_whose_nodes_all_hang_parks_at_its_pinning_deadline() {
    let world = World::with_nodes(2).await;
    world.edit_config(
        "attempt_timeout = \"3s\"",
        "attempt_timeout = \"60s\"\ndeadline = \"2s\"\nhedge_after = \"1s\"",
    );
    world
        .node("backup-1")
        .fault(serde_json::json!({"op": "*", "action": "hang"}))
        .await;

    let (code, report) = world.encode(&world.short_clip()).await;

    assert_eq!(code, 3, "{report:#}");
    assert_eq!(report["state"], "awaiting_replicas");
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .contains("the pinning deadline of 2s passed"),
        "{report:#}"
    );
}
