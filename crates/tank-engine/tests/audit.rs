//! Audits of a finished job, as the engine runs them: every replica is
//! verified again on its node, and a pin removed behind our back is pinned
//! again and recorded in the job's audit log. (Alerting on a replica that
//! cannot be restored, and audits on a schedule, are the daemon's:
//! crates/tank-daemon/tests/audits.rs.)

mod common;

use common::{encode, open_engine};
use tank_model::{AuditOutcome, AuditRecord, JobState};
use tank_testkit::World;

fn outcome_of(records: &[AuditRecord], node: &str) -> AuditOutcome {
    records
        .iter()
        .find(|r| r.replica.node == node)
        .unwrap_or_else(|| panic!("no audit of {node}: {records:?}"))
        .outcome
}

#[tokio::test]
async fn an_audit_repins_a_replica_removed_behind_our_back() {
    let world = World::with_nodes(2).await;
    let engine = open_engine(&world);
    let job = encode(&engine, &world.short_clip()).await;
    assert_eq!(job.state, JobState::Done, "{job:#?}");
    let cid = job.cid.unwrap();
    world.node("backup-1").remove_pin(&cid).await;
    assert!(!world.node("backup-1").has_pin(&cid).await);

    let records = engine.audit_job(job.id).await.unwrap();

    assert_eq!(outcome_of(&records, "supernode"), AuditOutcome::Verified);
    assert_eq!(outcome_of(&records, "backup-1"), AuditOutcome::Repaired);
    assert!(
        world.node("backup-1").has_pin(&cid).await,
        "the pin is back"
    );
    let report = engine.report(job.id).unwrap();
    assert!(report
        .audits
        .iter()
        .any(|a| a.replica.node == "backup-1" && a.outcome == AuditOutcome::Repaired));
}
