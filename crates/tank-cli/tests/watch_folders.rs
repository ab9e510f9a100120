//! Watch folders: a video put in a watched folder becomes a job under
//! `tank daemon`, once, and only after it has been copied in whole.

mod common;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{stop_gracefully, World};
use serde_json::Value;
use tank_testkit::clip::Clip;

/// A world with two nodes whose config watches `<world>/incoming`, with a
/// two-second settle time.
async fn watching_world() -> World {
    let world = World::with_nodes(2).await;
    let incoming = world.dir.path().join("incoming");
    std::fs::create_dir(&incoming).unwrap();
    world.write_config(&format!(
        "[watch]\nfolders = [{:?}]\nsettle = \"2s\"\n",
        incoming.to_str().unwrap()
    ));
    world
}

async fn jobs(world: &World) -> Vec<Value> {
    let run = world.tank(&["jobs", "--json"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json().as_array().unwrap().clone()
}

/// Polls the jobs list until `count` jobs are there (30 s at most).
async fn wait_for_jobs(world: &World, count: usize, log: &str) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let jobs = jobs(world).await;
        if jobs.len() >= count {
            return jobs;
        }
        assert!(
            Instant::now() < deadline,
            "{count} job(s) never appeared; the daemon's log:\n{}",
            world.log(log)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Copies `from` to `to` slowly, in ten parts over about three seconds, as
/// a copy from a camera card or over the network would.
async fn copy_slowly(from: &Path, to: &Path) {
    let bytes = std::fs::read(from).unwrap();
    let mut file = std::fs::File::create(to).unwrap();
    for part in bytes.chunks(bytes.len().div_ceil(10)) {
        file.write_all(part).unwrap();
        file.flush().unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn a_video_copied_into_a_watch_folder_is_queued_once_whole_and_encoded() {
    let world = watching_world().await;
    let incoming = world.dir.path().join("incoming");
    let mut daemon = world.start_daemon_in(&world.data_dir(), &[], "daemon");

    let clip = world.clip("source.mp4", Clip::new(640, 360, 3.0));
    std::fs::write(incoming.join("notes.txt"), "not a video").unwrap();
    copy_slowly(&clip, &incoming.join("talk.mp4")).await;
    assert!(
        jobs(&world).await.is_empty(),
        "nothing is queued while the file is still being copied in"
    );

    let queued = wait_for_jobs(&world, 1, "daemon").await;
    assert_eq!(queued.len(), 1, "one video, one job: {queued:#?}");
    let input = incoming.join("talk.mp4");
    assert_eq!(queued[0]["input"], input.to_str().unwrap());
    // The whole file was taken: it probes and encodes to the end.
    let report = world
        .wait_for_job(1, "done", |r| r["state"] == "done")
        .await;
    assert!(report["cid"].is_string(), "{report:#}");

    // Restarted, the daemon does not queue the same file again.
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
    let mut daemon = world.start_daemon_in(&world.data_dir(), &[], "daemon-again");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(jobs(&world).await.len(), 1, "{}", world.log("daemon-again"));
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
}

#[tokio::test]
async fn videos_that_arrived_while_the_daemon_was_stopped_are_queued_when_it_starts() {
    let world = watching_world().await;
    let incoming = world.dir.path().join("incoming");
    let clip = world.clip("source.mp4", Clip::new(320, 240, 1.0));
    std::fs::copy(&clip, incoming.join("a.mp4")).unwrap();
    std::fs::copy(&clip, incoming.join("b.MOV")).unwrap();
    std::fs::copy(&clip, incoming.join(".hidden.mp4")).unwrap();

    let mut daemon = world.start_daemon_in(&world.data_dir(), &[], "daemon");
    let queued = wait_for_jobs(&world, 2, "daemon").await;
    let mut inputs: Vec<&str> = queued
        .iter()
        .map(|j| j["input"].as_str().unwrap())
        .collect();
    inputs.sort();
    assert_eq!(
        inputs,
        [
            incoming.join("a.mp4").to_str().unwrap(),
            incoming.join("b.MOV").to_str().unwrap()
        ]
    );
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
}

#[tokio::test]
async fn a_watch_folder_that_is_missing_is_waited_for_not_fatal() {
    let world = World::with_nodes(1).await;
    let later = world.dir.path().join("mounted-later");
    world.write_config(&format!(
        "[watch]\nfolders = [{:?}]\nsettle = \"1s\"\n",
        later.to_str().unwrap()
    ));
    let mut daemon = world.start_daemon_in(&world.data_dir(), &[], "daemon");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !world.log("daemon").contains("cannot read a watch folder") {
        assert!(Instant::now() < deadline, "{}", world.log("daemon"));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        world.log("daemon").contains(later.to_str().unwrap()),
        "the log names the folder: {}",
        world.log("daemon")
    );
    assert_eq!(
        stop_gracefully(&mut daemon).await,
        0,
        "the daemon kept running"
    );
}

#[tokio::test]
async fn a_relative_watch_folder_is_refused_with_its_name() {
    let world = World::with_nodes(1).await;
    world.write_config("[watch]\nfolders = [\"incoming\"]\n");
    let run = world.tank(&["jobs"]).await;
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("[watch]") && run.stderr.contains("incoming"),
        "{}",
        run.stderr
    );
}
