//! Encode never waits on the network: with `[jobs] pipeline` on, a job
//! that pins on slow nodes holds no encode slot, so the next job encodes
//! meanwhile; with it off, each job holds its slot to the end. (How much
//! time that saves is benches/pipeline.rs.)

mod common;

use common::{open_daemon, wait_for_job, Running};
use serde_json::json;
use tank_model::{JobInput, JobReport, JobState};
use tank_testkit::World;

/// Two jobs, one encode slot, every `pin/add` delayed 4 s: the daemon runs
/// both to `done`; their reports, in order of submission.
async fn two_jobs_on_slow_pins(pipeline: bool) -> (JobReport, JobReport) {
    let world = World::with_nodes(2).await;
    for node in &world.nodes {
        node.fault(json!({"op": "pin/add", "action": "delay", "seconds": 4}))
            .await;
    }
    world.write_config(&format!(
        "[jobs]\nmax_concurrent = 1\npipeline = {pipeline}\n"
    ));
    world.edit_config("attempt_timeout = \"3s\"", "attempt_timeout = \"20s\"");
    let daemon = open_daemon(&world);
    let engine = daemon.engine();
    let first = world.clip("first.mp4", tank_testkit::clip::Clip::new(640, 360, 2.0));
    let second = world.clip("second.mp4", tank_testkit::clip::Clip::new(640, 360, 3.0));
    let first = engine.submit(&JobInput::File(first)).unwrap();
    let second = engine.submit(&JobInput::File(second)).unwrap();

    let running = Running::start(&daemon);
    let done = |r: &JobReport| r.state.is_resting();
    let first = wait_for_job(engine, first, "the end", done).await;
    let second = wait_for_job(engine, second, "the end", done).await;
    running.stop().await;
    assert_eq!(first.state, JobState::Done, "{first:#?}");
    assert_eq!(second.state, JobState::Done, "{second:#?}");
    (first, second)
}

/// When `report`'s job first entered `state` (RFC 3339 sorts as time does).
fn entered(report: &JobReport, state: JobState) -> &str {
    report
        .history
        .iter()
        .find(|h| h.state == state)
        .map(|h| h.at.as_str())
        .unwrap_or_else(|| panic!("job {} never entered {state}", report.id))
}

#[tokio::test(flavor = "multi_thread")]
async fn pipelined_the_next_job_encodes_while_the_last_one_pins() {
    let (first, second) = two_jobs_on_slow_pins(true).await;

    // The second job's encode was over before the first job's pins were.
    assert!(
        entered(&second, JobState::Uploading) < entered(&first, JobState::Verifying),
        "second encoded by {}, first pinned by {}",
        entered(&second, JobState::Uploading),
        entered(&first, JobState::Verifying)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn not_pipelined_a_job_holds_its_slot_until_it_is_done() {
    let (first, second) = two_jobs_on_slow_pins(false).await;

    assert!(
        entered(&second, JobState::Probing) >= entered(&first, JobState::Done),
        "second started probing at {}, first was done at {}",
        entered(&second, JobState::Probing),
        entered(&first, JobState::Done)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_past_its_encode_does_not_wait_behind_encodes() {
    let world = World::with_nodes(2).await;
    world.write_config("[jobs]\nmax_concurrent = 1\n");
    world.edit_config("preset = \"ultrafast\"", "preset = \"medium\"");
    world.edit_config("attempt_timeout = \"3s\"", "attempt_timeout = \"60s\"");
    let daemon = open_daemon(&world);
    let engine = daemon.engine();
    // Two long encodes, first in line: one encoding and one ready behind
    // it take both places of the one encode slot.
    let long = |name: &str| {
        let clip = world.clip(name, tank_testkit::clip::Clip::new(1280, 720, 12.0));
        engine.submit(&JobInput::File(clip)).unwrap()
    };
    let first = long("first.mp4");
    long("second.mp4");
    // A later job, stopped while pinning, as a crashed process leaves it.
    world.node("supernode").hang_next("pin/add", 1).await;
    let late = engine.submit(&JobInput::File(world.short_clip())).unwrap();
    let run = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run(late).await }
    });
    wait_for_job(engine, late, "pinning", |r| r.state == JobState::Pinning).await;
    run.abort();
    let _ = run.await;
    world.node("supernode").clear_faults().await;

    let running = Running::start(&daemon);
    let done = wait_for_job(engine, late, "done", |r| r.state == JobState::Done).await;

    let first = engine.report(first).unwrap();
    assert!(
        first.state.needs_encode(),
        "the late job ended while the first still encoded: {first:#?}"
    );
    assert_eq!(done.replicas.len(), 2, "{done:#?}");
    running.stop().await;
}
