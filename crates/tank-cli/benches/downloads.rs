//! Benchmark: a download over several connections against one, from a
//! server that sends each connection at most 2 MB/s, as long-distance TCP
//! limits each connection.
//!
//! The source is a video of about 32 MiB (incompressible noise, lossless
//! x264, so it stays small to encode). `tank encode <url>` runs it with
//! `[downloads] connections` set to 1, then to 4 and 8, each on a fresh
//! data dir and one real kubo harness node; the figure is the time from
//! entering `downloading` to entering `probing`, read from the job's
//! history, and the ratio is against one connection in the same run.
//!
//!     cargo bench -p tank-cli --bench downloads

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use tank_testkit::http::{FileServer, Serving};
use tank_testkit::HarnessNode;

const PER_CONNECTION: u64 = 2_000_000;

/// About 32 MiB of video: 320x240 noise at 24 fps, lossless.
fn noise_video(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("noise.mp4");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("nullsrc=size=320x240:rate=24:duration=12,geq=lum='random(1)*255':cb=128:cr=128")
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-qp", "0"])
        .args(["-pix_fmt", "yuv420p"])
        .arg(&path)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg made the noise video");
    path
}

/// `tank encode <url> --json` with `connections`; returns the time from
/// `downloading` to `probing`.
async fn download(url: &str, connections: u32, node: &HarnessNode, work: &Path) -> Duration {
    let config = work.join(format!("tank-{connections}.toml"));
    std::fs::write(
        &config,
        format!(
            "[encoding]\npreset = \"ultrafast\"\n[pinning]\nquorum = 1\n\
             [downloads]\nconnections = {connections}\n\
             [[nodes]]\nname = \"{}\"\napi = \"{}\"\nrole = \"primary\"\n",
            node.name, node.api
        ),
    )
    .unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_tank"))
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(work.join(format!("data-{connections}")))
        .args(["encode", url, "--json"])
        .output()
        .await
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
        panic!(
            "tank prints its report: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_eq!(report["state"], "done", "{report:#}");
    let at = |state: &str| -> std::time::SystemTime {
        let change = report["history"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["state"] == state)
            .unwrap_or_else(|| panic!("the job went through {state}"));
        let at: humantime::Timestamp = change["at"].as_str().unwrap().parse().unwrap();
        at.into()
    };
    at("probing").duration_since(at("downloading")).unwrap()
}

#[tokio::main]
async fn main() {
    let work = tempfile::tempdir().unwrap();
    let served = work.path().join("served");
    std::fs::create_dir(&served).unwrap();
    let video = noise_video(&served);
    let size = std::fs::metadata(&video).unwrap().len();
    let server = FileServer::serve_with(
        served,
        Serving {
            bytes_per_second: Some(PER_CONNECTION),
            ..Serving::default()
        },
    )
    .await;
    let url = server.url("noise.mp4");
    let node = HarnessNode::start("supernode").await;

    println!(
        "download of {:.1} MiB from a server sending {} MB/s per connection",
        size as f64 / f64::from(1 << 20),
        PER_CONNECTION / 1_000_000
    );
    let one = download(url.as_str(), 1, &node, work.path()).await;
    println!(
        "connections 1   {:>6.2}s   {:>5.2} MB/s",
        one.as_secs_f64(),
        size as f64 / one.as_secs_f64() / 1e6
    );
    for connections in [4, 8] {
        let took = download(url.as_str(), connections, &node, work.path()).await;
        println!(
            "connections {connections}   {:>6.2}s   {:>5.2} MB/s   ratio {:.1}x faster than 1",
            took.as_secs_f64(),
            size as f64 / took.as_secs_f64() / 1e6,
            one.as_secs_f64() / took.as_secs_f64()
        );
    }
}
