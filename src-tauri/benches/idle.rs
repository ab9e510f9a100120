//! Idle cost of the running desktop app with 1,000 finished jobs in its
//! history: resident memory (PSS, so shared libraries are not counted once
//! per process) and CPU of the app and its WebKit processes, measured
//! while the window shows the Jobs view and the engine's background work
//! (health monitor, audits) runs against two real kubo harness nodes.
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

const JOBS: i64 = 1_000;
const SETTLE: Duration = Duration::from_secs(30);
const MEASURE: Duration = Duration::from_secs(60);

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
        .args([":97", "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb");
    std::thread::sleep(Duration::from_secs(1));
    let mut app = std::process::Command::new(env!("CARGO_BIN_EXE_tank-desktop"))
        .env("DISPLAY", ":97")
        .env("TANK_CONFIG", &config)
        .env("TANK_DATA_DIR", &data)
        .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
        .env("NO_AT_BRIDGE", "1")
        .spawn()
        .expect("the desktop app starts");
    let pid = app.id();
    std::thread::sleep(SETTLE);

    let tree = process_tree(pid);
    let cpu_before: u64 = tree.iter().map(|p| cpu_ticks(*p)).sum();
    let started = Instant::now();
    let mut peak_pss_kib = 0;
    let mut pss_samples = Vec::new();
    while started.elapsed() < MEASURE {
        let pss: u64 = process_tree(pid).iter().map(|p| pss_kib(*p)).sum();
        peak_pss_kib = peak_pss_kib.max(pss);
        pss_samples.push(pss);
        std::thread::sleep(Duration::from_secs(1));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_after: u64 = process_tree(pid).iter().map(|p| cpu_ticks(*p)).sum();
    let ticks_per_second = clock_ticks_per_second();
    let cpu_percent = (cpu_after - cpu_before) as f64 / ticks_per_second / elapsed * 100.0;
    pss_samples.sort_unstable();
    let median_pss_mib = pss_samples[pss_samples.len() / 2] as f64 / 1024.0;
    let processes: Vec<String> = process_tree(pid).iter().map(|p| process_name(*p)).collect();

    let _ = app.kill();
    let _ = app.wait();
    let _ = xvfb.kill();
    let _ = xvfb.wait();
    let result = serde_json::json!({
        "jobs_in_history": JOBS,
        "settle_seconds": SETTLE.as_secs(),
        "measured_seconds": elapsed,
        "median_pss_mib": (median_pss_mib * 10.0).round() / 10.0,
        "peak_pss_mib": (peak_pss_kib as f64 / 102.4).round() / 10.0,
        "cpu_percent_of_one_core": (cpu_percent * 100.0).round() / 100.0,
        "processes": processes,
    });
    println!("{}", serde_json::to_string_pretty(&result).unwrap());
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("idle.json"), result.to_string()).unwrap();
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

/// `pid` and all its descendants (the WebKit web and network processes).
fn process_tree(pid: u32) -> Vec<u32> {
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        let children = std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"))
            .unwrap_or_default();
        tree.extend(
            children
                .split_whitespace()
                .filter_map(|c| c.parse::<u32>().ok()),
        );
        i += 1;
    }
    tree
}

fn pss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Pss:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// User plus system CPU time, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

fn process_name(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// `getconf CLK_TCK`: 100 on Linux everywhere in practice, asked anyway.
fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}
