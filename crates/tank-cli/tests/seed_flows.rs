//! The five flows of the operators' "tank mode" pinning strategy
//! (shared/seeds/tank-mode-pinning-strategy.md), and the weakness we remove
//! on top: a primary that cannot take the upload no longer stops the job.
//!
//! Three real kubo nodes: `supernode` (primary), `backup-1`, `backup-2`;
//! quorum 2. Faults are injected in front of the real nodes.

mod common;

use common::{attempts_of, replica_nodes, World};
use serde_json::Value;

/// What every finished job promises, checked on the nodes themselves.
async fn assert_durable(world: &World, report: &Value, on: &[&str]) {
    assert_eq!(report["state"], "done", "{report:#}");
    assert_eq!(report["error"], Value::Null);
    assert_eq!(replica_nodes(report), on);
    let cid = report["cid"].as_str().unwrap();
    let local = std::fs::read(format!(
        "{}/manifest.m3u8",
        report["output_dir"].as_str().unwrap()
    ))
    .unwrap();
    for name in on {
        let node = world.node(name);
        assert!(
            node.has_pin(cid).await,
            "{name} does not hold a recursive pin of {cid}"
        );
        assert_eq!(
            node.cat(&format!("{cid}/manifest.m3u8")).await.unwrap(),
            local
        );
    }
}

#[tokio::test]
async fn flow_1_happy_path_the_supernode_and_one_backup_confirm() {
    let world = World::with_nodes(3).await;

    let (code, report) = world.encode(&world.short_clip()).await;

    assert_eq!(code, 0);
    assert_durable(&world, &report, &["supernode", "backup-1"]).await;
    assert_eq!(report["renditions"], serde_json::json!(["720p", "480p"]));
    assert_eq!(
        attempts_of(&report, "supernode", "add"),
        [(1, true, String::new())]
    );
    assert_eq!(
        attempts_of(&report, "supernode", "pin/ls"),
        [(1, true, String::new())]
    );
    // The second replica is fetched by CID over bitswap, not uploaded again.
    assert!(attempts_of(&report, "backup-1", "add").is_empty());
    assert!(attempts_of(&report, "backup-1", "pin/add")[0].1);
    assert!(
        !world
            .node("backup-2")
            .has_pin(report["cid"].as_str().unwrap())
            .await
    );

    let output = std::path::Path::new(report["output_dir"].as_str().unwrap());
    assert!(output.is_absolute());
    let mut top: Vec<_> = std::fs::read_dir(output)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    top.sort();
    assert_eq!(
        top,
        ["480p", "720p", "manifest.m3u8"],
        "the source never goes into the output"
    );
}

#[tokio::test]
async fn flow_2_an_overloaded_supernode_recovers_on_the_third_attempt() {
    let world = World::with_nodes(3).await;
    let supernode = world.node("supernode");
    supernode.hang_next("pin/add", 1).await;
    supernode.fail_next("pin/add", 1).await;

    let (code, report) = world.encode(&world.short_clip()).await;

    assert_eq!(code, 0);
    assert_durable(&world, &report, &["supernode", "backup-1"]).await;
    let pins = attempts_of(&report, "supernode", "pin/add");
    assert_eq!(
        pins.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>(),
        [(1, false), (2, false), (3, true)]
    );
    assert!(
        pins[0].2.contains("got no answer within 3s"),
        "{}",
        pins[0].2
    );
    assert!(pins[1].2.contains("HTTP 500"), "{}", pins[1].2);
}

#[tokio::test]
async fn flow_3_a_supernode_whose_pins_are_not_real_is_caught_and_backups_carry_the_job() {
    let world = World::with_nodes(3).await;
    world.node("supernode").lie_on("pin/add").await;

    let (code, report) = world.encode(&world.short_clip()).await;

    assert_eq!(code, 0);
    assert_durable(&world, &report, &["backup-1", "backup-2"]).await;
    let checks = attempts_of(&report, "supernode", "pin/ls");
    assert_eq!(checks.len(), 5, "every attempt is verified");
    assert!(checks
        .iter()
        .all(|(_, ok, error)| !ok && error.contains("does not hold the pin")));
    assert!(
        !world
            .node("supernode")
            .has_pin(report["cid"].as_str().unwrap())
            .await
    );
}

#[tokio::test]
async fn flow_4_an_offline_supernode_does_not_stop_the_upload() {
    let world = World::with_nodes(3).await;
    world.node("supernode").refuse_connections().await;

    let (code, report) = world.encode(&world.short_clip()).await;

    assert_eq!(code, 0);
    assert_durable(&world, &report, &["backup-1", "backup-2"]).await;
    let upload = attempts_of(&report, "supernode", "add");
    assert_eq!(upload.len(), 1);
    assert!(
        upload[0].2.contains("Connection refused"),
        "{}",
        upload[0].2
    );
    assert_eq!(
        attempts_of(&report, "backup-1", "add"),
        [(1, true, String::new())]
    );
}

#[tokio::test]
async fn flow_4_a_supernode_that_dies_right_after_the_upload_is_replaced() {
    let world = World::with_nodes(3).await;
    world.node("supernode").die_after("add").await;

    let (code, report) = world.encode(&world.short_clip()).await;

    assert_eq!(code, 0);
    assert_durable(&world, &report, &["backup-1", "backup-2"]).await;
    assert!(
        attempts_of(&report, "supernode", "add")[0].1,
        "the upload itself succeeded"
    );
    // Nobody alive holds the content: the first backup gets it uploaded
    // directly, the second fetches it from the first.
    assert_eq!(attempts_of(&report, "backup-1", "add").len(), 1);
    assert!(attempts_of(&report, "backup-2", "add").is_empty());
    assert!(attempts_of(&report, "backup-2", "swarm/connect")[0].1);
}

#[tokio::test]
async fn flow_5_when_every_node_fails_the_job_fails_retryably_and_keeps_its_output() {
    let world = World::with_nodes(3).await;
    world
        .node("supernode")
        .fault(serde_json::json!({"op": "pin/add", "action": "fail"}))
        .await;
    world.node("backup-1").refuse_connections().await;
    world.node("backup-2").refuse_connections().await;

    let (code, report) = world.encode(&world.short_clip()).await;

    assert_ne!(code, 0);
    assert_eq!(report["state"], "failed");
    assert_eq!(report["retryable"], true);
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .contains("only 0 of the 2 required replicas"),
        "{report:#}"
    );
    let output = report["output_dir"].as_str().unwrap();
    assert!(
        std::path::Path::new(output).join("manifest.m3u8").exists(),
        "the HLS folder is kept"
    );
    for node in ["supernode", "backup-1", "backup-2"] {
        let tried: Vec<u64> = report["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["node"] == node && a["op"] != "add" && a["op"] != "id")
            .map(|a| a["attempt"].as_u64().unwrap())
            .collect();
        assert_eq!(
            tried.iter().max(),
            Some(&5),
            "{node} got all five attempts: {tried:?}"
        );
    }

    // Once the infrastructure is back, the job is retried where it stopped.
    world.node("supernode").clear_faults().await;
    world.node("backup-1").accept_connections().await;
    world.node("backup-2").accept_connections().await;
    let id = report["id"].to_string();
    let retried = world.tank(&["retry", &id, "--json"]).await;
    assert_eq!(retried.code, 0, "{}", retried.stderr);
    let report = retried.json();
    assert_durable(&world, &report, &["supernode", "backup-1"]).await;
    let encodes = report["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["state"] == "encoding")
        .count();
    assert_eq!(encodes, 1, "the retry did not encode again");
}

#[tokio::test]
async fn one_verified_replica_is_not_a_quorum_of_two() {
    let world = World::with_nodes(3).await;
    world.node("backup-1").refuse_connections().await;
    world.node("backup-2").refuse_connections().await;

    let (code, report) = world.encode(&world.short_clip()).await;

    assert_ne!(code, 0);
    assert_eq!(report["state"], "failed");
    assert_eq!(report["retryable"], true);
    assert!(report["error"]
        .as_str()
        .unwrap()
        .contains("only 1 of the 2 required replicas"));
}
