//! Idle cost of the running desktop app with 1,000 finished jobs in its
//! history: resident memory (PSS, so shared libraries are not counted once
//! per process) and CPU of the app and every process under it (its WebKit
//! processes), while the engine's background work (health monitor,
//! audits) runs against two real kubo harness nodes (not counted):
//!
//! 1. the window open on the Jobs view;
//! 2. the window closed by its close button (a `WM_DELETE_WINDOW`), the
//!    app in the tray;
//! 3. then the time a second launch takes to bring the window back, until
//!    it is shown.
//!
//!   cargo bench -p tank-desktop --bench idle
//!
//! The history is written straight into the job database the app opens: a
//! realistic record per job (5 state changes, 12 node calls, 2 replicas).
//! Results are printed and written to `target/bench/idle.json`.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tank_testkit::HarnessNode;

#[path = "../tests/host/mod.rs"]
mod host;
use host::processes;
use host::x11::Display;

const JOBS: i64 = 1_000;
const SETTLE: Duration = Duration::from_secs(30);
const MEASURE: Duration = Duration::from_secs(60);
const DISPLAY: &str = ":97";
/// The window's title (`tauri.conf.json`).
const TITLE: &str = "Tank Encoder";

#[tokio::main]
async fn main() {
    let (primary, backup) = tokio::join!(
        HarnessNode::start("supernode"),
        HarnessNode::start("backup-1")
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[secrets]\nservice = \"tank-bench-idle\"\n\
             [[nodes]]\nname = \"supernode\"\napi = \"{}\"\nrole = \"primary\"\n\
             [[nodes]]\nname = \"backup-1\"\napi = \"{}\"\n",
            primary.api, backup.api
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    // Opening the engine once creates the database with its current schema.
    let engine_config = tank_config::Config::load(&config, true).unwrap();
    drop(tank_engine::Engine::open(engine_config, &data).unwrap());
    seed_history(&data.join("tank.db"));

    let mut xvfb = std::process::Command::new("Xvfb")
        .args([DISPLAY, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb");
    std::thread::sleep(Duration::from_secs(1));
    let launch = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_tank-desktop"))
            .env("DISPLAY", DISPLAY)
            .env("TANK_CONFIG", &config)
            .env("TANK_DATA_DIR", &data)
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
            .env("NO_AT_BRIDGE", "1")
            .spawn()
            .expect("the desktop app starts")
    };
    let mut app = launch();
    let pid = app.id();
    let x = Display::open(DISPLAY);
    x.wait(TITLE, true, Duration::from_secs(60));
    std::thread::sleep(SETTLE);
    let open = measure(pid);

    // Closed as its close button closes it: the app stays in the tray.
    x.close(TITLE);
    x.wait(TITLE, false, Duration::from_secs(10));
    std::thread::sleep(SETTLE);
    let closed = measure(pid);
    assert!(
        app.try_wait().unwrap().is_none(),
        "the app runs on in the tray"
    );

    // A second launch asks the first to open its window, and exits.
    let started = Instant::now();
    let mut second = launch();
    x.wait(TITLE, true, Duration::from_secs(30));
    let reopen_ms = started.elapsed().as_millis();
    let _ = second.wait();

    let _ = app.kill();
    let _ = app.wait();
    let _ = xvfb.kill();
    let _ = xvfb.wait();
    let result = serde_json::json!({
        "jobs_in_history": JOBS,
        "settle_seconds": SETTLE.as_secs(),
        "window_open": open,
        "window_closed": closed,
        "reopen_ms": reopen_ms,
    });
    println!("{}", serde_json::to_string_pretty(&result).unwrap());
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("idle.json"), result.to_string()).unwrap();
}

/// PSS and CPU of `pid` and every process under it, sampled each second
/// for [`MEASURE`].
fn measure(pid: u32) -> serde_json::Value {
    let cpu = |tree: &[u32]| -> u64 { tree.iter().map(|p| processes::cpu_ticks(*p)).sum() };
    let cpu_before = cpu(&processes::tree(pid));
    let started = Instant::now();
    let mut pss_samples = Vec::new();
    while started.elapsed() < MEASURE {
        let pss: u64 = processes::tree(pid)
            .iter()
            .map(|p| processes::pss_kib(*p))
            .sum();
        pss_samples.push(pss);
        std::thread::sleep(Duration::from_secs(1));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ticks = cpu(&processes::tree(pid)) - cpu_before;
    let cpu_percent = ticks as f64 / processes::clock_ticks_per_second() / elapsed * 100.0;
    pss_samples.sort_unstable();
    let mib = |kib: u64| (kib as f64 / 102.4).round() / 10.0;
    let by_process: serde_json::Map<String, serde_json::Value> = processes::tree(pid)
        .into_iter()
        .map(|p| (processes::name(p), mib(processes::pss_kib(p)).into()))
        .collect();
    serde_json::json!({
        "measured_seconds": elapsed,
        "median_pss_mib": mib(pss_samples[pss_samples.len() / 2]),
        "peak_pss_mib": mib(*pss_samples.last().unwrap()),
        "cpu_percent_of_one_core": (cpu_percent * 100.0).round() / 100.0,
        "pss_mib_by_process_at_the_end": by_process,
    })
}

/// 1,000 jobs that ran to `done`, each with the record a real one leaves.
fn seed_history(db: &Path) {
    let mut conn = rusqlite::Connection::open(db).unwrap();
    let tx = conn.transaction().unwrap();
    let day_ago = now_ms() - 86_400_000;
    for id in 1..=JOBS {
        let at = day_ago + id * 60_000;
        let cid = format!("Qm{:044}", id);
        tx.execute(
            "INSERT INTO jobs (id, input, state, created_at, updated_at, work_dir, encoder, output_dir, renditions, cid)
             VALUES (?1, ?2, 'done', ?3, ?4, ?5, 'libx264', ?6, ?7, ?8)",
            rusqlite::params![
                id,
                format!("/videos/talk-{id}.mp4"),
                at,
                at + 50_000,
                format!("/data/jobs/{id}"),
                format!("/data/jobs/{id}/hls"),
                r#"[{"name":"1080p","width":1920,"height":1080},{"name":"720p","width":1280,"height":720},{"name":"480p","width":854,"height":480}]"#,
                cid,
            ],
        )
        .unwrap();
        for (i, state) in [
            "probing",
            "encoding",
            "uploading",
            "pinning",
            "verifying",
            "done",
        ]
        .iter()
        .enumerate()
        {
            tx.execute(
                "INSERT INTO job_states (job_id, state, at) VALUES (?1, ?2, ?3)",
                rusqlite::params![id, state, at + i as i64 * 8_000],
            )
            .unwrap();
        }
        let calls = [
            ("supernode", "add", true),
            ("supernode", "pin/add", false),
            ("supernode", "pin/add", true),
            ("backup-1", "swarm/connect", true),
            ("backup-1", "pin/add", true),
            ("supernode", "pin/ls", true),
            ("backup-1", "pin/ls", true),
            ("supernode", "dag/stat", true),
            ("backup-1", "dag/stat", true),
            ("backup-1", "cat", true),
            ("supernode", "id", true),
            ("backup-1", "id", true),
        ];
        for (i, (node, op, ok)) in calls.iter().enumerate() {
            tx.execute(
                "INSERT INTO attempts (job_id, node, op, attempt, started_at, duration_ms, ok, http_status, error)
                 VALUES (?1, ?2, ?3, 1, ?4, 120, ?5, ?6, ?7)",
                rusqlite::params![
                    id,
                    node,
                    op,
                    at + 30_000 + i as i64 * 500,
                    ok,
                    if *ok { 200 } else { 500 },
                    (!ok).then_some("pin: context deadline exceeded"),
                ],
            )
            .unwrap();
        }
        for node in ["supernode", "backup-1"] {
            tx.execute(
                "INSERT INTO replicas (job_id, node, cid, verified_at) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![id, node, cid, at + 48_000],
            )
            .unwrap();
        }
    }
    tx.commit().unwrap();
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
