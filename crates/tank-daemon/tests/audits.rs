//! The daemon's audits: a replica of a finished job that cannot be restored
//! is reported and alerted, and the daemon audits finished jobs on its own
//! schedule, re-pinning what vanished. (What one audit checks and repairs
//! is the engine's: crates/tank-engine/tests/audit.rs.)

mod common;

use common::{encode, open_daemon, set_secret, wait_for_job, Running};
use tank_daemon::Daemon;
use tank_model::{AuditOutcome, JobReport, JobState};
use tank_testkit::http::WebhookSink;
use tank_testkit::World;

/// A finished job, durable on `supernode` and `backup-1`.
async fn durable_job(daemon: &Daemon, world: &World) -> JobReport {
    let report = encode(daemon.engine(), &world.short_clip()).await;
    assert_eq!(report.state, JobState::Done, "{report:#?}");
    report
}

#[tokio::test]
async fn a_replica_that_cannot_be_restored_is_reported_and_alerted() {
    let world = World::with_nodes(2).await;
    let sink = WebhookSink::start().await;
    world.write_config("[[alerts]]\nname = \"ops\"\nkind = \"json\"\n");
    set_secret(&world, "alert:ops", sink.url.as_str());
    let daemon = open_daemon(&world);
    let job = durable_job(&daemon, &world).await;
    let cid = job.cid.unwrap();
    world.node("backup-1").remove_pin(&cid).await;
    world.node("backup-1").refuse_connections().await;

    let records = daemon.audits().audit_job(job.id).await.unwrap();

    let backup_1 = records
        .iter()
        .find(|r| r.replica.node == "backup-1")
        .unwrap();
    assert_eq!(backup_1.outcome, AuditOutcome::Missing, "{records:#?}");
    let alerts = sink.received();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["event"], "replica_missing");
    assert_eq!(alerts[0]["replica"], "backup-1");
    assert_eq!(alerts[0]["job"], job.id);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_audits_finished_jobs_on_its_own() {
    let world = World::with_nodes(2).await;
    world.write_config("[audit]\ninterval = \"500ms\"\nsample = 10\n");
    let daemon = open_daemon(&world);
    let job = durable_job(&daemon, &world).await;
    let cid = job.cid.unwrap();
    world.node("backup-1").remove_pin(&cid).await;

    let running = Running::start(&daemon);
    let report = wait_for_job(daemon.engine(), job.id, "a repaired audit", |r| {
        r.audits
            .iter()
            .any(|a| a.replica.node == "backup-1" && a.outcome == AuditOutcome::Repaired)
    })
    .await;

    assert!(world.node("backup-1").has_pin(&cid).await);
    assert_eq!(report.state, JobState::Done);
    running.stop().await;
}
