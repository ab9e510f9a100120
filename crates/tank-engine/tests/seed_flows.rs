//! The five flows of the operators' "tank mode" pinning strategy
//! (shared/seeds/tank-mode-pinning-strategy.md), and the weakness we remove
//! on top: a primary that cannot take the upload no longer stops the job.
//!
//! The engine runs each job in-process and answers with its typed report.
//! Real kubo nodes: `supernode` (primary), `backup-1`, `backup-2` (and a
//! fourth where a test needs it); quorum 2. Faults are injected in front of
//! the real nodes. Nodes work in parallel, so replicas are compared as sets.

mod common;

use common::{attempts_of, encode, open_engine, replica_nodes};
use tank_model::{JobReport, JobState};
use tank_testkit::World;

/// What every finished job promises, checked on the nodes themselves.
async fn assert_durable(world: &World, report: &JobReport, on: &[&str]) {
    assert_eq!(report.state, JobState::Done, "{report:#?}");
    assert_eq!(report.error, None);
    let mut expected: Vec<&str> = on.to_vec();
    expected.sort();
    assert_eq!(replica_nodes(report), expected);
    let cid = report.cid.as_deref().expect("a done job has a CID");
    let output_dir = report.output_dir.as_deref().expect("an output folder");
    let local = std::fs::read(format!("{output_dir}/manifest.m3u8")).unwrap();
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
    let engine = open_engine(&world);

    let report = encode(&engine, &world.short_clip()).await;

    assert_durable(&world, &report, &["supernode", "backup-1"]).await;
    assert_eq!(report.renditions, ["720p", "480p"]);
    assert_eq!(attempts_of(&report, "supernode", "add"), [(1, true, "")]);
    assert_eq!(attempts_of(&report, "supernode", "pin/ls"), [(1, true, "")]);
    // The second replica is fetched by CID over bitswap, not uploaded again.
    assert!(attempts_of(&report, "backup-1", "add").is_empty());
    assert!(attempts_of(&report, "backup-1", "pin/add")[0].1);
    assert!(
        !world
            .node("backup-2")
            .has_pin(report.cid.as_deref().unwrap())
            .await
    );

    let output = std::path::Path::new(report.output_dir.as_deref().unwrap());
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
    // Two nodes and a quorum of two: the job needs the supernode back.
    let world = World::with_nodes(2).await;
    let supernode = world.node("supernode");
    supernode.hang_next("pin/add", 1).await;
    supernode.fail_next("pin/add", 1).await;
    let engine = open_engine(&world);

    let report = encode(&engine, &world.short_clip()).await;

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
async fn a_struggling_supernode_does_not_hold_the_backups_back() {
    let world = World::with_nodes(3).await;
    world
        .node("supernode")
        .fault(serde_json::json!({"op": "pin/add", "action": "hang"}))
        .await;
    let engine = open_engine(&world);

    let report = encode(&engine, &world.short_clip()).await;

    assert_durable(&world, &report, &["backup-1", "backup-2"]).await;
    // backup-2 started as soon as the supernode's first attempt failed: had
    // it waited for every supernode retry, the supernode would show five.
    let supernode_pins = attempts_of(&report, "supernode", "pin/add");
    assert!(
        supernode_pins.len() <= 2,
        "the job waited for the supernode's retries: {supernode_pins:?}"
    );
    assert!(supernode_pins.iter().all(|(_, ok, _)| !ok));
}

#[tokio::test]
async fn flow_3_a_supernode_whose_pins_are_not_real_is_caught_and_backups_carry_the_job() {
    let world = World::with_nodes(3).await;
    world.node("supernode").lie_on("pin/add").await;
    let engine = open_engine(&world);

    let report = encode(&engine, &world.short_clip()).await;

    assert_durable(&world, &report, &["backup-1", "backup-2"]).await;
    let checks = attempts_of(&report, "supernode", "pin/ls");
    assert!(!checks.is_empty(), "every pin is verified");
    assert!(checks
        .iter()
        .all(|(_, ok, error)| !ok && error.contains("does not hold the pin")));
    assert!(
        !world
            .node("supernode")
            .has_pin(report.cid.as_deref().unwrap())
            .await
    );
}

#[tokio::test]
async fn flow_4_an_offline_supernode_does_not_stop_the_upload() {
    let world = World::with_nodes(3).await;
    world.node("supernode").refuse_connections().await;
    let engine = open_engine(&world);

    let report = encode(&engine, &world.short_clip()).await;

    assert_durable(&world, &report, &["backup-1", "backup-2"]).await;
    // The supernode cannot even say who it is: no upload is tried on it.
    let asked = attempts_of(&report, "supernode", "id");
    assert!(
        !asked.is_empty()
            && asked
                .iter()
                .all(|(_, ok, e)| !ok && e.contains("Connection refused")),
        "{asked:?}"
    );
    assert!(attempts_of(&report, "supernode", "add").is_empty());
    assert_eq!(attempts_of(&report, "backup-1", "add"), [(1, true, "")]);
}

#[tokio::test]
async fn flow_4_a_supernode_that_dies_right_after_the_upload_is_replaced() {
    let world = World::with_nodes(3).await;
    world.node("supernode").die_after("add").await;
    let engine = open_engine(&world);

    let report = encode(&engine, &world.short_clip()).await;

    assert_durable(&world, &report, &["backup-1", "backup-2"]).await;
    assert!(
        attempts_of(&report, "supernode", "add")[0].1,
        "the upload itself succeeded"
    );
    // Nobody alive holds the content: backup-1 gets it uploaded directly
    // (backup-2, started alongside, fetches or gets an upload likewise).
    assert_eq!(attempts_of(&report, "backup-1", "add"), [(1, true, "")]);
}

#[tokio::test]
async fn flow_5_when_every_node_fails_the_job_waits_retryably_and_keeps_its_output() {
    let world = World::with_nodes(3).await;
    world
        .node("supernode")
        .fault(serde_json::json!({"op": "pin/add", "action": "fail"}))
        .await;
    world.node("backup-1").refuse_connections().await;
    world.node("backup-2").refuse_connections().await;
    let engine = open_engine(&world);

    let report = encode(&engine, &world.short_clip()).await;

    assert_eq!(report.state, JobState::AwaitingReplicas, "{report:#?}");
    assert_eq!(report.retryable, Some(true));
    let error = report.error.as_deref().unwrap();
    assert!(
        error.contains("only 0 of the 2 required replicas"),
        "{error}"
    );
    let output = report.output_dir.as_deref().unwrap();
    assert!(
        std::path::Path::new(output).join("manifest.m3u8").exists(),
        "the HLS folder is kept"
    );
    for node in ["supernode", "backup-1", "backup-2"] {
        let tried = report
            .attempts
            .iter()
            .filter(|a| a.node == node && a.op != "id" && !a.ok)
            .count();
        assert!(tried >= 1, "{node}'s failures are recorded");
    }

    // Once the infrastructure is back, the job is retried where it stopped.
    world.node("supernode").clear_faults().await;
    world.node("backup-1").accept_connections().await;
    world.node("backup-2").accept_connections().await;
    engine.retry(report.id).unwrap();
    let report = engine.run(report.id).await.unwrap();
    assert_durable(&world, &report, &["supernode", "backup-1"]).await;
    let encodes = report
        .history
        .iter()
        .filter(|h| h.state == JobState::Encoding)
        .count();
    assert_eq!(encodes, 1, "the retry did not encode again");
}

#[tokio::test]
async fn one_verified_replica_is_not_a_quorum_of_two() {
    let world = World::with_nodes(3).await;
    world.node("backup-1").refuse_connections().await;
    world.node("backup-2").refuse_connections().await;
    let engine = open_engine(&world);

    let report = encode(&engine, &world.short_clip()).await;

    assert_eq!(report.state, JobState::AwaitingReplicas);
    assert_eq!(report.retryable, Some(true));
    assert!(report
        .error
        .as_deref()
        .unwrap()
        .contains("only 1 of the 2 required replicas"));
    assert_eq!(
        replica_nodes(&report),
        ["supernode"],
        "the verified replica is kept for the next round"
    );
}

#[tokio::test]
async fn a_lying_supernode_and_a_lying_backup_are_both_caught() {
    let world = World::with_nodes(4).await;
    world.node("supernode").lie_on("pin/add").await;
    world.node("backup-1").lie_on("pin/add").await;
    let engine = open_engine(&world);

    let report = encode(&engine, &world.short_clip()).await;

    assert_durable(&world, &report, &["backup-2", "backup-3"]).await;
    for liar in ["supernode", "backup-1"] {
        assert!(
            !world
                .node(liar)
                .has_pin(report.cid.as_deref().unwrap())
                .await
        );
        let checks = attempts_of(&report, liar, "pin/ls");
        assert!(checks.iter().all(|(_, ok, _)| !ok), "{liar}: {checks:?}");
    }
}
