//! A `tank` killed at any point loses nothing: the job resumes from its last
//! committed state and finishes, without encoding twice what was encoded;
//! a parked job outlives a `tank daemon` killed while it waits.

mod common;

use std::time::{Duration, Instant};

use common::{replica_nodes, stop_gracefully, World};
use serde_json::Value;
use tank_testkit::clip::Clip;
use tank_testkit::http::{FileServer, Serving};

/// `tank encode` of a 12 s clip with a slow x264 preset, which keeps FFmpeg
/// busy long enough to be interrupted.
fn start_slow_encode(world: &World) -> tokio::process::Child {
    world.edit_config("preset = \"ultrafast\"", "preset = \"slow\"");
    let clip = world.clip("long.mp4", Clip::new(1280, 720, 12.0));
    world
        .tank_command(&["encode", clip.to_str().unwrap()])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// FFmpeg must die with the `tank` that started it, or it would keep writing
/// into the folder the resumed job encodes into.
async fn wait_until_no_process_mentions(path: &std::path::Path) {
    let needle = path.display().to_string();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let alive: Vec<String> = std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let status = std::fs::read_to_string(e.path().join("status")).ok()?;
                let zombie = status
                    .lines()
                    .any(|l| l.starts_with("State:") && l.contains('Z'));
                let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
                let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                (!zombie && cmdline.contains(&needle)).then_some(cmdline)
            })
            .collect();
        if alive.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still running after tank was killed: {alive:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn states(report: &Value) -> Vec<String> {
    report["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["state"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn killed_while_encoding_the_job_resumes_and_finishes() {
    let world = World::with_nodes(2).await;
    let mut tank = start_slow_encode(&world);

    let mid_encode = world
        .wait_for_job(1, "encoding", |r| {
            r["state"] == "encoding" && r["progress"]["percent"].as_f64().unwrap_or(0.0) > 0.0
        })
        .await;
    tank.start_kill().unwrap(); // SIGKILL: no chance to clean up
    tank.wait().await.unwrap();
    assert!(mid_encode["progress"]["fps"].as_f64().is_some());
    let job_dir = world.data_dir().canonicalize().unwrap().join("jobs/1");
    wait_until_no_process_mentions(&job_dir).await;

    let resumed = world.tank(&["resume", "--json"]).await;
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    let report = resumed.json();
    assert_eq!(report["id"], 1);
    assert_eq!(report["state"], "done");
    assert_eq!(report["replicas"].as_array().unwrap().len(), 2);
    assert_eq!(
        states(&report),
        [
            "queued",
            "probing",
            "encoding",
            "uploading",
            "pinning",
            "verifying",
            "done"
        ],
        "the interrupted encode was redone in place, not recorded as a new job"
    );
    assert_eq!(
        world
            .tank(&["jobs", "--json"])
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn killed_mid_download_each_piece_resumes_from_what_it_had_on_disk() {
    let world = World::with_nodes(1).await;
    world.write_config("[jobs]\nkeep_source = true\n[downloads]\nconnections = 3\n");
    let served = tempfile::tempdir().unwrap();
    let clip = Clip::new(854, 480, 10.0).write(served.path(), "talk.mp4");
    let original = std::fs::read(&clip).unwrap();
    // Three pieces of about 1.2 MB, each sent at 400 KB/s: about 3 s.
    let serving = Serving {
        bytes_per_second: Some(400_000),
        ..Serving::default()
    };
    let server = FileServer::serve_with(served.path().to_owned(), serving).await;
    let url = server.url("talk.mp4");
    let mut tank = world
        .tank_command(&["encode", url.as_str()])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();

    // Each piece records its progress once 1 MiB of it is on disk.
    let manifest = world.data_dir().join("jobs/1/source/talk.pieces");
    let recorded = loop {
        let pieces: Option<Value> = std::fs::read(&manifest)
            .ok()
            .and_then(|m| serde_json::from_slice(&m).ok());
        if let Some(pieces) = pieces.filter(|m| {
            m["pieces"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["done"].as_u64().unwrap() > 0)
        }) {
            break pieces;
        }
        assert!(
            tank.try_wait().unwrap().is_none(),
            "tank ended before the kill"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    tank.start_kill().unwrap();
    tank.wait().await.unwrap();
    let before = server.ranges().len();

    let resumed = world.tank(&["resume", "--json"]).await;

    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    let report = resumed.json();
    assert_eq!(report["state"], "done");
    let mut asked: Vec<String> = server.ranges()[before..]
        .iter()
        .map(|r| r.clone().expect("a range request"))
        .collect();
    asked.sort_by_key(|r| r.len());
    let mut resumed_from: Vec<u64> = asked
        .iter()
        .map(|r| {
            r["bytes=".len()..]
                .split('-')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    resumed_from.sort();
    let mut expected: Vec<u64> = recorded["pieces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["start"].as_u64().unwrap() + p["done"].as_u64().unwrap())
        .collect();
    expected.sort();
    // A piece may have recorded more after the manifest was read.
    assert_eq!(resumed_from.len(), 3, "{asked:?}");
    for (from, at_least) in resumed_from.iter().zip(&expected) {
        assert!(from >= at_least, "{asked:?} resumes {recorded}");
    }
    let source = world.data_dir().join("jobs/1/source/talk.mp4");
    assert!(std::fs::read(source).unwrap() == original, "byte for byte");
    assert!(!manifest.exists(), "the manifest is gone once complete");
}

#[tokio::test]
async fn killed_while_pinning_the_job_resumes_without_encoding_again() {
    let world = World::with_nodes(2).await;
    world.edit_config("attempt_timeout = \"3s\"", "attempt_timeout = \"60s\"");
    world.node("supernode").hang_next("pin/add", 1).await;
    let clip = world.short_clip();
    let mut tank = world
        .tank_command(&["encode", clip.to_str().unwrap()])
        .spawn()
        .unwrap();

    world
        .wait_for_job(1, "pinning", |r| r["state"] == "pinning")
        .await;
    tank.start_kill().unwrap();
    tank.wait().await.unwrap();
    world.node("supernode").clear_faults().await;

    let report = world.tank(&["resume", "--json"]).await.json();

    assert_eq!(report["state"], "done", "{report:#}");
    let encodes = states(&report).iter().filter(|s| *s == "encoding").count();
    assert_eq!(encodes, 1);
}

#[tokio::test]
async fn killed_while_waiting_to_upload_again_the_job_resumes_and_finishes() {
    let world = World::with_nodes(1).await;
    world.edit_config("retries = 0\n", "retries = 5\nretry_backoff = [\"3s\"]\n");
    world.node("supernode").refuse_connections().await;
    let clip = world.short_clip();
    let mut tank = world
        .tank_command(&["encode", clip.to_str().unwrap()])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();

    world
        .wait_for_job(1, "awaiting_retry", |r| r["state"] == "awaiting_retry")
        .await;
    tank.start_kill().unwrap();
    tank.wait().await.unwrap();
    world.node("supernode").accept_connections().await;
    let parked = world.tank(&["job", "1", "--json"]).await.json();
    assert_eq!(parked["state"], "awaiting_retry", "the wait is committed");
    assert_eq!(parked["retryable"], true);
    assert!(parked["next_try_at"].is_string(), "{parked:#}");

    // `resume` waits out what is left of the backoff, then uploads.
    let report = world.tank(&["resume", "--json"]).await.json();

    assert_eq!(report["state"], "done", "{report:#}");
    let states = states(&report);
    let encodes = states.iter().filter(|s| *s == "encoding").count();
    assert_eq!(encodes, 1, "{states:?}");
}

#[tokio::test]
async fn a_running_job_is_not_resumed_by_a_second_process() {
    let world = World::with_nodes(1).await;
    let mut tank = start_slow_encode(&world);
    world
        .wait_for_job(1, "encoding", |r| r["state"] == "encoding")
        .await;

    let second = world.tank(&["resume"]).await;

    assert_eq!(second.code, 0);
    assert!(
        second.stdout.contains("no unfinished jobs"),
        "{}",
        second.stdout
    );
    tank.start_kill().unwrap();
    tank.wait().await.unwrap();
}

/// Two nodes, quorum 2, the backup dead: `tank encode` parks the job and
/// exits 3.
async fn parked_job(world: &mut World) {
    world.edit_config("[pinning]\n", "[pinning]\npark_backoff = [\"500ms\"]\n");
    world.node_mut("backup-1").kill().await;
    let (code, report) = world.encode(&world.short_clip()).await;
    assert_eq!(code, 3, "{report:#}");
    assert_eq!(report["state"], "awaiting_replicas");
    assert_eq!(report["retryable"], true);
    assert_eq!(replica_nodes(&report), ["supernode"]);
    assert!(std::path::Path::new(report["output_dir"].as_str().unwrap()).exists());
}

fn parked_rounds(report: &Value) -> usize {
    report["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["state"] == "awaiting_replicas")
        .count()
}

#[tokio::test]
async fn parked_work_survives_a_daemon_crash() {
    let mut world = World::with_nodes(2).await;
    parked_job(&mut world).await;

    // The daemon tries while the node is still down, then dies.
    let mut daemon = world.start_daemon();
    world
        .wait_for_job(1, "a second parked round", |r| parked_rounds(r) >= 2)
        .await;
    daemon.start_kill().unwrap();
    daemon.wait().await.unwrap();
    assert_eq!(
        world.tank(&["job", "1", "--json"]).await.json()["state"],
        "awaiting_replicas"
    );

    world.node_mut("backup-1").restart().await;
    let mut daemon = world.start_daemon();
    let report = world
        .wait_for_job(1, "done", |r| r["state"] == "done")
        .await;

    assert_eq!(replica_nodes(&report).len(), 2);
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
}

/// Files under `hls` that no playlist names (a segment of an encode that
/// was killed and not cleaned up, say).
fn strays(hls: &std::path::Path) -> Vec<String> {
    let mut named = std::collections::BTreeSet::from(["manifest.m3u8".to_owned()]);
    let master = std::fs::read_to_string(hls.join("manifest.m3u8")).unwrap();
    for media in master
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let rung = media.split('/').next().unwrap();
        named.insert(media.to_owned());
        let playlist = std::fs::read_to_string(hls.join(media)).unwrap();
        for segment in playlist
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            named.insert(format!("{rung}/{segment}"));
        }
    }
    let mut found = Vec::new();
    for rung in std::fs::read_dir(hls).unwrap() {
        let rung = rung.unwrap().path();
        let files: Vec<std::path::PathBuf> = if rung.is_dir() {
            std::fs::read_dir(&rung)
                .unwrap()
                .map(|f| f.unwrap().path())
                .collect()
        } else {
            vec![rung]
        };
        for file in files {
            let relative = file
                .strip_prefix(hls)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if !named.contains(&relative) {
                found.push(relative);
            }
        }
    }
    found
}

async fn newest_job(world: &World) -> Option<u64> {
    let jobs = world.tank(&["jobs", "--json"]).await.json();
    jobs.as_array()?
        .iter()
        .filter_map(|j| j["id"].as_u64())
        .max()
}

#[tokio::test]
async fn killed_at_twenty_random_points_of_encode_and_resume_every_job_ends_done_and_exact() {
    let world = World::with_nodes(2).await;
    let seed = fastrand::u64(..);
    let mut random = fastrand::Rng::with_seed(seed);
    // x264's `medium` keeps each encode busy for a few seconds: long
    // enough for most kill points to land inside a stage.
    world.edit_config("preset = \"ultrafast\"", "preset = \"medium\"");
    let clip = world.clip("clip.mp4", Clip::new(1280, 720, 6.0));
    let mut kills = 0;
    for round in 1..=10u64 {
        let before = newest_job(&world).await;
        // One kill in `tank encode`, one in the `tank resume` after it.
        let mut encode = world
            .tank_command(&["encode", clip.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        for stage in ["encode", "resume"] {
            let at = Duration::from_millis(random.u64(100..3000));
            let mut tank = match stage {
                "encode" => encode,
                _ => world
                    .tank_command(&["resume"])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap(),
            };
            tokio::select! {
                _ = tank.wait() => {}
                _ = tokio::time::sleep(at) => {
                    tank.start_kill().unwrap();
                    tank.wait().await.unwrap();
                    kills += 1;
                }
            }
            encode = tank;
        }
        let Some(id) = newest_job(&world).await.filter(|id| Some(*id) != before) else {
            continue; // killed before the job was submitted: nothing to lose
        };
        let job_dir = world
            .data_dir()
            .canonicalize()
            .unwrap()
            .join(format!("jobs/{id}"));
        wait_until_no_process_mentions(&job_dir).await;
        let resumed = world.tank(&["resume", "--json"]).await;
        assert_eq!(
            resumed.code, 0,
            "seed {seed}, round {round}: {}",
            resumed.stderr
        );

        let report = world.tank(&["job", &id.to_string(), "--json"]).await.json();
        assert_eq!(
            report["state"], "done",
            "seed {seed}, round {round}: {report:#}"
        );
        let hls = job_dir.join("hls");
        assert_eq!(
            strays(&hls),
            Vec::<String>::new(),
            "seed {seed}, round {round}"
        );
        let cid = report["cid"].as_str().unwrap();
        assert_eq!(
            world.node("supernode").kubo_hash(&hls).await,
            cid,
            "seed {seed}, round {round}: the CID is kubo's for the folder"
        );
    }
    assert!(
        kills >= 10,
        "seed {seed}: only {kills} of the 20 points came before the end"
    );
}
