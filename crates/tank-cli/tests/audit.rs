//! Audits: replicas of finished jobs are verified again; a pin removed
//! behind our back is restored and recorded; one that cannot be restored
//! is reported and alerted.

mod common;

use common::{stop_gracefully, World};
use serde_json::Value;
use tank_testkit::http::WebhookSink;

/// A finished job durable on `supernode` and `backup-1`; its CID.
async fn durable_job(world: &World) -> String {
    let (code, report) = world.encode(&world.short_clip()).await;
    assert_eq!(code, 0, "{report:#}");
    report["cid"].as_str().unwrap().to_owned()
}

fn outcome_of<'a>(records: &'a Value, node: &str) -> &'a Value {
    &records
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["node"] == node)
        .unwrap()["outcome"]
}

#[tokio::test]
async fn an_audit_repins_a_replica_removed_behind_our_back() {
    let world = World::with_nodes(2).await;
    let cid = durable_job(&world).await;
    world.node("backup-1").remove_pin(&cid).await;
    assert!(!world.node("backup-1").has_pin(&cid).await);

    let run = world.tank(&["audit", "--job", "1", "--json"]).await;

    assert_eq!(run.code, 0, "{}", run.stderr);
    let records = run.json();
    assert_eq!(outcome_of(&records, "supernode"), "verified");
    assert_eq!(outcome_of(&records, "backup-1"), "repaired");
    assert!(
        world.node("backup-1").has_pin(&cid).await,
        "the pin is back"
    );
    let report = world.tank(&["job", "1", "--json"]).await.json();
    assert!(report["audits"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["outcome"] == "repaired"));
}

#[tokio::test]
async fn a_replica_that_cannot_be_restored_is_reported_and_alerted() {
    let world = World::with_nodes(2).await;
    let sink = WebhookSink::start().await;
    world.write_config("[[alerts]]\nname = \"ops\"\nkind = \"json\"\n");
    world.secret("alert:ops", sink.url.as_str()).await;
    let cid = durable_job(&world).await;
    world.node("backup-1").remove_pin(&cid).await;
    world.node("backup-1").refuse_connections().await;

    let run = world.tank(&["audit", "--job", "1", "--json"]).await;

    assert_eq!(run.code, 1, "a missing replica fails the audit");
    assert_eq!(outcome_of(&run.json(), "backup-1"), "missing");
    let alerts = sink.received();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["event"], "replica_missing");
    assert_eq!(alerts[0]["replica"], "backup-1");
    assert_eq!(alerts[0]["job"], 1);
}

#[tokio::test]
async fn the_daemon_audits_finished_jobs_on_its_own() {
    let world = World::with_nodes(2).await;
    world.write_config("[audit]\ninterval = \"500ms\"\nsample = 10\n");
    let cid = durable_job(&world).await;
    world.node("backup-1").remove_pin(&cid).await;

    let mut daemon = world.start_daemon();
    let report = world
        .wait_for_job(1, "a repaired audit", |r| {
            r["audits"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["outcome"] == "repaired")
        })
        .await;

    assert!(world.node("backup-1").has_pin(&cid).await);
    assert_eq!(report["state"], "done");
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
}
