//! The operator's controls against a real FFmpeg: a paused job's folder is
//! free for another run only once nothing writes to it any more.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use tank_model::{JobEvent, JobInput};
use tank_testkit::clip::Clip;
use tank_testkit::World;

/// Processes whose command line mentions `path` (FFmpeg writing into it).
fn processes_writing(path: &Path) -> Vec<u32> {
    let needle = path.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| {
            let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            String::from_utf8_lossy(&cmdline)
                .contains(&needle)
                .then_some(pid)
        })
        .collect()
}

#[tokio::test]
async fn a_paused_job_is_free_to_run_again_only_once_ffmpeg_has_stopped() {
    let world = World::with_nodes(1).await;
    let engine = common::open_engine(&world);
    let clip = Clip::new(1280, 720, 30.0).write(world.dir.path(), "long.mp4");
    let id = engine.submit(&JobInput::File(clip)).unwrap();
    let mut events = engine.subscribe();
    let run = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run(id).await }
    });
    loop {
        match events.recv().await.unwrap() {
            JobEvent::Encode { job, .. } if job == id => break,
            _ => {}
        }
    }
    let work_dir = engine.jobs_root().join(id.to_string());
    let hls = work_dir.join("hls");
    assert!(!processes_writing(&hls).is_empty(), "FFmpeg is encoding");

    engine.pause(id).unwrap();
    let _stopped = run.await.unwrap();

    // The moment another run (this process or another) could take the
    // job's lock, no FFmpeg may still write its folder.
    let lock = std::fs::File::open(work_dir.join("job.lock")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while lock.try_lock().is_err() {
        assert!(
            Instant::now() < deadline,
            "the job's lock was never given back"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(
        processes_writing(&hls),
        Vec::<u32>::new(),
        "the lock was free while FFmpeg still wrote the folder"
    );
}
