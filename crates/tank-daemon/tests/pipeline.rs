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
