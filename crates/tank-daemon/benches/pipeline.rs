//! Benchmark: encode never waits on the network. Four local jobs, one
//! encode slot, three real kubo harness nodes that delay every `pin/add`
//! by 20 s (a slow supernode day). The daemon's scheduler runs them with
//! `[jobs] pipeline` off (each job holds its slot from start to end) and
//! on (a job's network stages take network slots, so the next job encodes
//! while the last one pins), each on fresh nodes and a fresh data folder.
//!
//! Reported: each run's wall time (first job started to last job done),
//! their ratio, and the goal: pipelined wall time ≤ the sum of the encode
//! times (probe and encode, measured in the run without pipelining, where
//! no job waits for another) + one pin delay + 10%. Each job's pin stage
//! is printed too.
//!
//!     cargo bench -p tank-daemon --bench pipeline

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;
use tank_config::Config;
use tank_daemon::Scheduler;
use tank_engine::Engine;
use tank_model::{JobId, JobInput, JobReport, JobState};
use tank_testkit::clip::Clip;
use tank_testkit::World;

const JOBS: usize = 4;
const PIN_DELAY: Duration = Duration::from_secs(20);

struct Run {
    wall: Duration,
    /// Per job: from `probing` to `uploading`.
    encodes: Vec<Duration>,
    /// Per job: from `pinning` to `verifying`.
    pins: Vec<Duration>,
    /// The last job to finish: its time in each network stage.
    last_job: String,
}

async fn run(pipeline: bool) -> Run {
    let world = World::with_nodes(3).await;
    for node in &world.nodes {
        node.fault(json!({"op": "pin/add", "action": "delay", "seconds": PIN_DELAY.as_secs()}))
            .await;
    }
    world.write_config(&format!(
        "[jobs]\nmax_concurrent = 1\npipeline = {pipeline}\n"
    ));
    // The delayed pins must not count as hung nodes, nor as fetches too
    // slow to wait for (which would upload to the node and pin again).
    world.edit_config("attempt_timeout = \"3s\"", "attempt_timeout = \"60s\"");
    world.edit_config("fetch_timeout = \"5s\"", "fetch_timeout = \"60s\"");
    // The default preset: encodes of real length.
    world.edit_config("preset = \"ultrafast\"", "preset = \"veryfast\"");
    let config = Config::read_file(&world.config, true).unwrap();
    config.validate(Some(&world.config)).unwrap();
    let engine = Engine::open(config, &world.data_dir()).unwrap();
    // Different lengths, so each job has a CID of its own.
    let clips: Vec<PathBuf> = (0..JOBS)
        .map(|i| {
            world.clip(
                &format!("clip-{i}.mp4"),
                Clip::new(1280, 720, 12.0 + i as f32),
            )
        })
        .collect();
    let ids: Vec<JobId> = clips
        .iter()
        .map(|clip| engine.submit(&JobInput::File(clip.clone())).unwrap())
        .collect();

    let started = Instant::now();
    let mut scheduler = Scheduler::new(engine.clone());
    let reports = loop {
        scheduler.round();
        let reports: Vec<JobReport> = ids.iter().map(|id| engine.report(*id).unwrap()).collect();
        if reports.iter().all(|r| r.state.is_resting()) {
            break reports;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the jobs never finished"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let wall = started.elapsed();
    scheduler.stop().await;
    for report in &reports {
        assert_eq!(report.state, JobState::Done, "{report:#?}");
    }
    let between = |r: &JobReport, from: JobState, to: JobState| {
        entered(r, to).duration_since(entered(r, from)).unwrap()
    };
    let last = reports
        .iter()
        .max_by_key(|r| entered(r, JobState::Done))
        .unwrap();
    let last_job = [
        ("upload", JobState::Uploading, JobState::Pinning),
        ("pin", JobState::Pinning, JobState::Verifying),
        ("verify", JobState::Verifying, JobState::Done),
    ]
    .map(|(name, from, to)| format!("{name} {:.2}s", between(last, from, to).as_secs_f64()))
    .join(", ");
    Run {
        wall,
        encodes: reports
            .iter()
            .map(|r| between(r, JobState::Probing, JobState::Uploading))
            .collect(),
        pins: reports
            .iter()
            .map(|r| between(r, JobState::Pinning, JobState::Verifying))
            .collect(),
        last_job,
    }
}

/// When `report`'s job first entered `state`.
fn entered(report: &JobReport, state: JobState) -> SystemTime {
    let change = report
        .history
        .iter()
        .find(|h| h.state == state)
        .unwrap_or_else(|| panic!("job {} never entered {state}", report.id));
    let at: humantime::Timestamp = change.at.parse().unwrap();
    at.into()
}

#[tokio::main]
async fn main() {
    println!(
        "{JOBS} jobs, 1 encode slot, every pin/add delayed {}s on 3 real kubo nodes",
        PIN_DELAY.as_secs()
    );
    let serial = run(false).await;
    let pipelined = run(true).await;
    let encodes: Duration = serial.encodes.iter().sum();
    let goal = (encodes + PIN_DELAY).mul_f64(1.10);
    let seconds = |d: Duration| d.as_secs_f64();
    println!(
        "pipeline off  {:>7.2}s   (encodes {}; pins {})",
        seconds(serial.wall),
        list(&serial.encodes),
        list(&serial.pins)
    );
    println!(
        "pipeline on   {:>7.2}s   {:.2}x faster   (encodes {}, each from its probe, waits for the encode slot included; the last job's {})",
        seconds(pipelined.wall),
        seconds(serial.wall) / seconds(pipelined.wall),
        list(&pipelined.encodes),
        pipelined.last_job
    );
    println!(
        "goal: ≤ sum of encodes {:.2}s + one pin delay {}s + 10% = {:.2}s: {}",
        seconds(encodes),
        PIN_DELAY.as_secs(),
        seconds(goal),
        if pipelined.wall <= goal {
            "met"
        } else {
            "NOT met"
        }
    );
}

fn list(durations: &[Duration]) -> String {
    durations
        .iter()
        .map(|d| format!("{:.2}s", d.as_secs_f64()))
        .collect::<Vec<_>>()
        .join(", ")
}
