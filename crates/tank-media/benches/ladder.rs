//! Benchmark: the whole ladder in one FFmpeg process (decode once) against
//! one FFmpeg run per rung (decode three times, as the 3Speak encoder does),
//! on the same 1080p source. Prints wall times and their ratio.
//!
//!     cargo bench -p tank-media --bench ladder
//!
//! Settings (environment): TANK_BENCH_SECONDS (clip length, default 20),
//! TANK_BENCH_PRESET (x264 preset, default veryfast), TANK_BENCH_ROUNDS
//! (default 3; the median is reported).

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use tank_media::{default_ladder, encode_with, plan, probe, LadderJob, Tools, VideoEncoder};
use tank_testkit::clip::Clip;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let seconds: f32 = env_or("TANK_BENCH_SECONDS", 20.0);
    let preset: String = env_or("TANK_BENCH_PRESET", "veryfast".to_owned());
    let rounds: usize = env_or("TANK_BENCH_ROUNDS", 3);
    let tools = Tools::discover();
    let work = tempfile::tempdir().unwrap();
    let source = Clip::new(1920, 1080, seconds).write(work.path(), "source.mp4");
    let info = probe(&tools, &source).unwrap();
    let rungs = plan(&default_ladder(), &info.video);
    let job = |rungs: &[tank_media::PlannedRung], out: &Path| {
        let job = LadderJob {
            tools: &tools,
            source: &source,
            info: &info,
            rungs,
            output_dir: out,
            preset: &preset,
            downscaled_preset: &preset,
            crf: 18,
            segment_secs: 6,
            max_secs: None,
            max_fps: None,
            silent_audio: false,
        };
        encode_with(
            &job,
            VideoEncoder::Libx264,
            &AtomicBool::new(false),
            &mut |_| {},
        )
        .unwrap();
    };

    println!(
        "ladder benchmark: {seconds}s 1920x1080 source, rungs {:?}, x264 preset {preset}, {rounds} rounds, {} cores",
        rungs.iter().map(|r| r.rung.name.as_str()).collect::<Vec<_>>(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let (mut single, mut separate) = (Vec::new(), Vec::new());
    for round in 1..=rounds {
        let started = Instant::now();
        job(&rungs, &work.path().join("single"));
        single.push(started.elapsed());

        let started = Instant::now();
        for (i, rung) in rungs.iter().enumerate() {
            job(
                std::slice::from_ref(rung),
                &work.path().join(format!("separate-{i}")),
            );
        }
        separate.push(started.elapsed());
        println!(
            "round {round}: one process {:.2}s, one process per rung {:.2}s",
            single[round - 1].as_secs_f64(),
            separate[round - 1].as_secs_f64()
        );
    }
    let (single, separate) = (median(single), median(separate));
    println!(
        "median: one process {:.2}s, one process per rung {:.2}s, ratio {:.2}x faster",
        single.as_secs_f64(),
        separate.as_secs_f64(),
        separate.as_secs_f64() / single.as_secs_f64()
    );
}
