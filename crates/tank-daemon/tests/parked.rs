//! Parked jobs. A job that cannot reach its quorum parks
//! (`awaiting_replicas`) and keeps its HLS folder; the daemon's scheduler
//! finishes it on its own once nodes come back, or gives up, retryably,
//! after `park_for`. A stage that fails for a reason of the network parks
//! too (`awaiting_retry`), and the scheduler runs that stage again when its
//! backoff is over. (That parked
//! work survives a `tank` process killed mid-wait is the binary's:
//! crates/tank-cli/tests/crash_resume.rs.)

mod common;

use common::{encode, open_daemon, open_engine, replica_nodes, wait_for_job, Running};
use tank_daemon::Daemon;
use tank_model::{JobInput, JobReport, JobState};
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

/// How many times `report`'s job entered `state`.
fn times_in(report: &JobReport, state: JobState) -> usize {
    report.history.iter().filter(|h| h.state == state).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_failed_for_the_network_parks_and_the_daemon_uploads_again_after_its_backoff() {
    let world = World::with_nodes(1).await;
    world.edit_config("retries = 0\n", "retries = 50\nretry_backoff = [\"1s\"]\n");
    world.node("supernode").refuse_connections().await;
    let daemon = open_daemon(&world);
    let engine = daemon.engine();
    let id = engine.submit(&JobInput::File(world.short_clip())).unwrap();

    let running = Running::start(&daemon);
    let waiting = wait_for_job(engine, id, "awaiting_retry", |r| {
        r.state == JobState::AwaitingRetry
    })
    .await;
    assert_eq!(waiting.retryable, Some(true));
    assert!(waiting.next_try_at.is_some(), "{waiting:#?}");
    let detail = waiting.history.last().unwrap().detail.clone().unwrap();
    assert!(
        detail.ends_with("(trying uploading again in 1s)"),
        "{detail}"
    );
    let listed = engine.jobs().unwrap();
    assert_eq!(
        listed[0].stopped_in,
        Some(JobState::Uploading),
        "{listed:#?}"
    );
    // Woken into the stage it stopped in, which fails again while the node
    // refuses.
    let again = wait_for_job(engine, id, "a second wait", |r| {
        times_in(r, JobState::AwaitingRetry) >= 2
    })
    .await;
    assert!(
        again.history.iter().any(|h| h.state == JobState::Uploading
            && h.detail.as_deref() == Some("trying uploading again")),
        "{again:#?}"
    );
    world.node("supernode").accept_connections().await;

    let done = wait_for_job(engine, id, "done", |r| r.state == JobState::Done).await;
    assert_eq!(times_in(&done, JobState::Encoding), 1, "encoded once");
    assert_eq!(replica_nodes(&done), ["supernode"]);
    assert_eq!(done.error, None);
    running.stop().await;
}
