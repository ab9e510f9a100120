//! The durable pin queue: a job that cannot reach its quorum parks
//! (`awaiting_replicas`) and keeps its HLS folder; the daemon's scheduler
//! finishes it on its own once nodes come back, or gives up, retryably,
//! after `park_for`. (That parked work survives a `tank daemon` process
//! killed mid-wait is the binary's: crates/tank-cli/tests/crash_resume.rs.)

mod common;

use common::{encode, open_daemon, open_engine, replica_nodes, wait_for_job, Running};
use tank_daemon::Daemon;
use tank_model::{JobReport, JobState};
use tank_testkit::World;

/// Two nodes, quorum 2, the backup dead: the job parks. The daemon on the
/// world's config, and the parked job's report.
async fn parked_job(world: &mut World) -> (Daemon, JobReport) {
    world.edit_config("[pinning]\n", "[pinning]\npark_backoff = [\"500ms\"]\n");
    world.node_mut("backup-1").kill().await;
    let daemon = open_daemon(world);
    let report = encode(daemon.engine(), &world.short_clip()).await;
    assert_eq!(report.state, JobState::AwaitingReplicas, "{report:#?}");
    assert_eq!(report.retryable, Some(true));
    assert_eq!(replica_nodes(&report), ["supernode"]);
    assert!(std::path::Path::new(report.output_dir.as_deref().unwrap()).exists());
    (daemon, report)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_parked_job_completes_under_the_daemon_once_the_node_is_back() {
    let mut world = World::with_nodes(2).await;
    let (daemon, parked) = parked_job(&mut world).await;
    world.node_mut("backup-1").restart().await;

    let running = Running::start(&daemon);
    let report = wait_for_job(daemon.engine(), parked.id, "done", |r| {
        r.state == JobState::Done
    })
    .await;

    assert_eq!(replica_nodes(&report), ["backup-1", "supernode"]);
    assert!(
        world
            .node("backup-1")
            .has_pin(report.cid.as_deref().unwrap())
            .await
    );
    assert_eq!(report.error, None);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_parked_longer_than_park_for_fails_retryably() {
    let mut world = World::with_nodes(2).await;
    world.edit_config("[pinning]\n", "[pinning]\npark_for = \"1s\"\n");
    let (daemon, parked) = parked_job(&mut world).await;

    let running = Running::start(&daemon);
    let report = wait_for_job(daemon.engine(), parked.id, "failed", |r| {
        r.state == JobState::Failed
    })
    .await;

    assert_eq!(report.retryable, Some(true));
    let error = report.error.as_deref().unwrap();
    assert!(
        error.starts_with("gave up after waiting 1s for enough replicas"),
        "{error}"
    );
    assert!(
        std::path::Path::new(report.output_dir.as_deref().unwrap()).exists(),
        "the HLS folder is kept"
    );
    running.stop().await;
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
    let engine = open_engine(&world);

    let report = encode(&engine, &world.short_clip()).await;

    assert_eq!(report.state, JobState::AwaitingReplicas, "{report:#?}");
    let error = report.error.as_deref().unwrap();
    assert!(
        error.contains("the pinning deadline of 2s passed"),
        "{error}"
    );
}
