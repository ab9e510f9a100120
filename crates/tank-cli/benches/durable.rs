//! Benchmark: how long until a video is durable (two verified replicas)
//! when the primary fails, with two healthy backups.
//!
//! 1. The primary, right after taking the upload, (a) refuses connections
//!    or (b) stops answering. Tank Encoder (`tank encode` with default
//!    settings) against the anchor: the 3Speak encoder's policy, five
//!    sequential pin attempts on the primary with 60 s timeouts and
//!    2/4/8/16 s waits, then the backups one by one. Both run in the same
//!    process on real kubo harness nodes, each on fresh nodes, timed from
//!    the moment the content is on the primary to the moment the manifest
//!    reads back from a replica.
//! 2. The primary fails from the start: it refuses connections, or
//!    accepts them and never answers. `tank encode` with
//!    `attempt_timeout = "10s"`, timed from `uploading` to `done`, against
//!    the same job with a healthy primary: a hanging node should cost one
//!    timeout, not one per stage.
//!
//!     cargo bench -p tank-cli --bench durable [-- from-start]
//!
//! The anchor's hang case alone takes about five and a half minutes.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tank_ipfs::{KuboClient, UploadLimits};
use tank_testkit::clip::Clip;
use tank_testkit::HarnessNode;

const ANCHOR_ATTEMPTS: u32 = 5;
const ANCHOR_TIMEOUT: Duration = Duration::from_secs(60);
const ANCHOR_WAITS: [u64; 4] = [2, 4, 8, 16];

#[derive(Clone, Copy, Debug)]
enum Fault {
    Refuses,
    Hangs,
}

impl Fault {
    /// Harness rules: the first `add` goes through, then the fault.
    fn rules(self) -> Vec<Value> {
        match self {
            Fault::Refuses => vec![json!({"op": "add", "action": "refuse_after", "count": 1})],
            Fault::Hangs => vec![
                json!({"op": "add", "action": "delay", "seconds": 0, "count": 1}),
                json!({"op": "*", "action": "hang"}),
            ],
        }
    }
}

async fn nodes(fault: Fault) -> [HarnessNode; 3] {
    let rules = fault.rules();
    let (primary, backup_1, backup_2) = tokio::join!(
        HarnessNode::start_with_faults("supernode", &rules),
        HarnessNode::start("backup-1"),
        HarnessNode::start("backup-2"),
    );
    [primary, backup_1, backup_2]
}

/// How the primary fails from the start of the job (part 2).
#[derive(Clone, Copy, Debug)]
enum FromStart {
    Healthy,
    Refuses,
    Hangs,
}

/// Tank Encoder: the whole job through the `tank` binary; returns the time
/// from entering `pinning` to `done`, and the HLS folder it made.
async fn tank_encoder(fault: Fault, clip: &Path, work: &Path) -> (Duration, String) {
    let nodes = nodes(fault).await;
    let report = tank_job(&nodes, &format!("{fault:?}"), "", clip, work).await;
    (
        between(&report, "pinning", "done"),
        report["output_dir"].as_str().unwrap().to_owned(),
    )
}

/// Part 2: the time from `uploading` to `done` with the primary failing
/// from the start.
async fn upload_to_durable(primary: FromStart, clip: &Path, work: &Path) -> Duration {
    let rules = match primary {
        FromStart::Hangs => vec![json!({"op": "*", "action": "hang"})],
        FromStart::Healthy | FromStart::Refuses => vec![],
    };
    let (supernode, backup_1, backup_2) = tokio::join!(
        HarnessNode::start_with_faults("supernode", &rules),
        HarnessNode::start("backup-1"),
        HarnessNode::start("backup-2"),
    );
    if let FromStart::Refuses = primary {
        supernode.refuse_connections().await;
    }
    let nodes = [supernode, backup_1, backup_2];
    let pinning = "[pinning]\nattempt_timeout = \"10s\"\n";
    let report = tank_job(&nodes, &format!("start-{primary:?}"), pinning, clip, work).await;
    between(&report, "uploading", "done")
}

/// Runs `tank encode` on `clip` with `nodes` (primary first) and `extra`
/// config; returns its report, which must be `done`.
async fn tank_job(
    nodes: &[HarnessNode; 3],
    name: &str,
    extra: &str,
    clip: &Path,
    work: &Path,
) -> Value {
    let [primary, backup_1, backup_2] = nodes;
    let config = work.join(format!("tank-{name}.toml"));
    let mut text = format!("[encoding]\npreset = \"ultrafast\"\n{extra}");
    for (node, role) in [
        (&primary, "primary"),
        (&backup_1, "backup"),
        (&backup_2, "backup"),
    ] {
        text.push_str(&format!(
            "[[nodes]]\nname = \"{}\"\napi = \"{}\"\nrole = \"{role}\"\n",
            node.name, node.api
        ));
    }
    std::fs::write(&config, text).unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_tank"))
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(work.join(format!("data-{name}")))
        .args(["encode", clip.to_str().unwrap(), "--json"])
        .output()
        .await
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).expect("tank prints its report");
    assert_eq!(report["state"], "done", "{report:#}");
    report
}

/// The time between the job's first entry to state `from` and to `to`.
fn between(report: &Value, from: &str, to: &str) -> Duration {
    let at = |state: &str| -> std::time::SystemTime {
        let change = report["history"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["state"] == state)
            .unwrap();
        let at: humantime::Timestamp = change["at"].as_str().unwrap().parse().unwrap();
        at.into()
    };
    at(to).duration_since(at(from)).unwrap()
}

/// The anchor's policy on the same HLS folder.
async fn anchor(fault: Fault, folder: &Path) -> Duration {
    let [primary, backup_1, backup_2] = nodes(fault).await;
    let client = |node: &HarnessNode| KuboClient::new(node.api.clone(), None);
    let limits = UploadLimits {
        stall_timeout: ANCHOR_TIMEOUT,
        answer_timeout: ANCHOR_TIMEOUT,
    };
    let cid = client(&primary)
        .add_folder(folder, limits)
        .await
        .expect("the upload goes through");
    let started = Instant::now();

    let mut replicas = Vec::new();
    if pin_with_retries(&client(&primary), &cid, None).await {
        replicas.push(client(&primary));
    }
    for backup in [&backup_1, &backup_2] {
        if replicas.len() >= 2 {
            break;
        }
        // The anchor's backups find the content on the network; here they
        // are told where the primary's swarm is.
        if pin_with_retries(&client(backup), &cid, Some(&primary.swarm)).await {
            replicas.push(client(backup));
        }
    }
    assert_eq!(replicas.len(), 2, "the anchor reached its quorum");
    let manifest = format!("{cid}/manifest.m3u8");
    replicas[1]
        .cat(&manifest, 1 << 20, ANCHOR_TIMEOUT)
        .await
        .expect("the manifest reads back");
    started.elapsed()
}

/// Five attempts of pin + verify with the anchor's waits between them.
async fn pin_with_retries(node: &KuboClient, cid: &str, source: Option<&[String]>) -> bool {
    for attempt in 1..=ANCHOR_ATTEMPTS {
        if let Some(source) = source {
            let _ = node.swarm_connect(source, ANCHOR_TIMEOUT).await;
        }
        if node.pin_add(cid, ANCHOR_TIMEOUT).await.is_ok()
            && matches!(node.is_pinned(cid, ANCHOR_TIMEOUT).await, Ok(true))
        {
            return true;
        }
        if let Some(wait) = ANCHOR_WAITS.get(attempt as usize - 1) {
            tokio::time::sleep(Duration::from_secs(*wait)).await;
        }
    }
    false
}

#[tokio::main]
async fn main() {
    let work = tempfile::tempdir().unwrap();
    let clip = Clip::new(1280, 720, 6.0).write(work.path(), "clip.mp4");
    // `-- from-start`: part 2 only (part 1's anchor takes minutes).
    let part_1 = !std::env::args().any(|a| a == "from-start");
    if part_1 {
        println!("time until durable (2 verified replicas), primary fails right after the upload, 2 healthy backups");
        for fault in [Fault::Refuses, Fault::Hangs] {
            let (ours, folder) = tank_encoder(fault, &clip, work.path()).await;
            let theirs = anchor(fault, Path::new(&folder)).await;
            println!(
                "primary {:<8} tank encoder {:>7.2}s   anchor policy {:>7.2}s   ratio {:.1}x faster",
                format!("{fault:?}").to_lowercase(),
                ours.as_secs_f64(),
                theirs.as_secs_f64(),
                theirs.as_secs_f64() / ours.as_secs_f64()
            );
        }
    }
    println!("time from upload to durable, primary failing from the start (attempt_timeout 10s), 2 healthy backups");
    let healthy = upload_to_durable(FromStart::Healthy, &clip, work.path()).await;
    println!("primary healthy   {:>7.2}s", healthy.as_secs_f64());
    for primary in [FromStart::Refuses, FromStart::Hangs] {
        let took = upload_to_durable(primary, &clip, work.path()).await;
        println!(
            "primary {:<8}  {:>7.2}s   {:+.2}s over healthy ({:.1}x its time)",
            format!("{primary:?}").to_lowercase(),
            took.as_secs_f64(),
            took.as_secs_f64() - healthy.as_secs_f64(),
            took.as_secs_f64() / healthy.as_secs_f64()
        );
    }
}
