//! Work from the 3Speak gateway, end to end: `tank daemon` claims jobs from
//! a TEST DOUBLE of the gateway (`tests/harness/gateway_double.py`, which
//! verifies every signed request with its own Ed25519 code), encodes them,
//! makes them durable on real kubo nodes, pings while it works, and reports
//! each result exactly once, and only when durable.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{replica_nodes, stop_gracefully, Run, World};
use serde_json::{json, Value};
use tank_testkit::clip::Clip;
use tank_testkit::gateway::{calls_in, job_in, GatewayDouble, GatewayOptions};
use tank_testkit::http::{FileServer, WebhookSink};

/// `[gateway]` pointing at the double, with short waits.
fn gateway_config(double: &GatewayDouble) -> String {
    format!(
        r#"
[gateway]
enabled = true
mode = "legacy"
url = "{}"
hive_username = "tank-test"
node_name = "tank-under-test"
poll_interval = "300ms"
poll_jitter = "100ms"
ping_interval = "1s"
timeout = "3s"
max_backoff = "2s"
"#,
        double.api
    )
}

/// One encoder: its own data directory and identity, the world's config
/// and nodes.
struct Encoder {
    name: &'static str,
    data_dir: PathBuf,
    /// `ENCODER_PRIVATE_KEY`.
    seed: &'static str,
}

impl Encoder {
    fn new(world: &World, name: &'static str, seed: &'static str) -> Encoder {
        Encoder {
            name,
            data_dir: world.dir.path().join(format!("data-{name}")),
            seed,
        }
    }

    fn start(&self, world: &World) -> tokio::process::Child {
        world.start_daemon_in(
            &self.data_dir,
            &[("ENCODER_PRIVATE_KEY", self.seed)],
            self.name,
        )
    }

    async fn tank(&self, world: &World, args: &[&str]) -> Run {
        let output = world
            .tank_command_in(&self.data_dir, args)
            .env("ENCODER_PRIVATE_KEY", self.seed)
            .output()
            .await
            .unwrap();
        Run::from(output)
    }

    async fn did(&self, world: &World) -> String {
        let run = self.tank(world, &["identity"]).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout.trim().to_owned()
    }

    async fn job(&self, world: &World, id: u64) -> Value {
        self.tank(world, &["job", &id.to_string(), "--json"])
            .await
            .json()
    }

    /// Polls this encoder's job `id` until `ready` says so.
    async fn wait_for_job(
        &self,
        world: &World,
        id: u64,
        what: &str,
        ready: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            let run = self.tank(world, &["job", &id.to_string(), "--json"]).await;
            if run.code == 0 && ready(&run.json()) {
                return run.json();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{}: job {id} never reached: {what}\nlog:\n{}",
                self.name,
                world.log(self.name)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn gateway(&self, world: &World) -> Value {
        self.tank(world, &["gateway", "--json"]).await.json()
    }

    /// Polls `tank gateway --json` until `ready` holds.
    async fn wait_for_gateway(
        &self,
        world: &World,
        what: &str,
        ready: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            let status = self.gateway(world).await;
            if ready(&status) {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{} never saw: {what}\n{status:#}\nlog:\n{}",
                self.name,
                world.log(self.name)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

const SEED_A: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
const SEED_B: &str = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";

/// A world of `nodes` kubo nodes whose config takes work from `double`.
async fn world_for(double: &GatewayDouble, nodes: usize, extra: &str) -> World {
    let world = World::with_nodes(nodes).await;
    world.write_config(&format!("{}{extra}", gateway_config(double)));
    world
}

/// Serves the world's folder over HTTP, for inputs given as URLs.
async fn files(world: &World) -> FileServer {
    FileServer::serve(world.dir.path().to_owned()).await
}

/// The gateway offers a short clip, and encoder "a" is ready for it: the
/// file server (keep it alive), the gateway's job id, the encoder, its DID.
async fn offer_short_clip(
    double: &GatewayDouble,
    world: &World,
) -> (FileServer, String, Encoder, String) {
    world.short_clip();
    let files = files(world).await;
    let gateway_job = double.push_job(files.url("clip.mp4").as_str()).await;
    let encoder = Encoder::new(world, "a", SEED_A);
    let did = encoder.did(world).await;
    (files, gateway_job, encoder, did)
}

/// One field of every entry of a history (the gateway's or ours).
fn history<'a>(of: &'a Value, field: &str) -> Vec<&'a Value> {
    of["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| &h[field])
        .collect()
}

fn was_reassigned(job: &Value) -> bool {
    history(job, "reason").contains(&&json!("reassigned"))
}

fn first_claim(status: &Value) -> &Value {
    status["claims"]
        .as_array()
        .unwrap()
        .last()
        .expect("a claim")
}

#[tokio::test]
async fn a_claimed_job_is_reported_finished_once_and_only_after_it_is_durable() {
    let double = GatewayDouble::start(GatewayOptions::default()).await;
    let world = world_for(&double, 2, "").await;
    let (_files, gateway_job, encoder, did) = offer_short_clip(&double, &world).await;

    let mut daemon = encoder.start(&world);
    let job = double.wait_for_status(&gateway_job, "complete").await;

    let report = encoder.job(&world, 1).await;
    assert_eq!(report["state"], "done", "{report:#}");
    let cid = report["cid"].as_str().unwrap();
    assert_eq!(job["result"]["cid"], cid);
    assert_eq!(job["finished_by"], did);
    let mut replicas = replica_nodes(&report);
    replicas.sort();
    assert_eq!(replicas, ["backup-1", "supernode"]);
    for node in &world.nodes {
        assert!(node.has_pin(cid).await, "{} holds the result", node.name);
    }
    let finishes = double.calls_to("finishJob").await;
    assert_eq!(finishes.len(), 1, "{finishes:#?}");
    assert_eq!(finishes[0]["did"], did);
    assert_eq!(
        finishes[0]["payload"],
        json!({"job_id": gateway_job, "output": {"cid": cid}})
    );
    let done_at = report["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["state"] == "done")
        .unwrap()["at"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        finishes[0]["at"].as_str().unwrap() >= done_at.as_str(),
        "finishJob at {} came before the job was durable at {done_at}",
        finishes[0]["at"]
    );

    let state = double.state().await;
    assert_eq!(state["jws_rejections"], json!([]));
    let node = &state["nodes"][&did];
    assert_eq!(node["name"], "tank-under-test");
    assert_eq!(node["cryptoAccounts"]["hive"], "tank-test");
    assert!(node["commit_hash"]
        .as_str()
        .unwrap()
        .starts_with("tank-encoder/"));
    let pings = double.calls_to("pingJob").await;
    assert!(!pings.is_empty(), "the job was pinged");
    assert!(pings
        .iter()
        .all(|p| p["did"] == did && p["payload"]["job_id"] == gateway_job));
    assert_eq!(
        history(&job, "status"),
        ["queued", "assigned", "running", "complete"]
    );

    let status = encoder.gateway(&world).await;
    assert_eq!(status["did"], did);
    assert_eq!(status["state"], "healthy");
    let claim = first_claim(&status);
    assert_eq!(claim["phase"], "reported");
    assert_eq!(claim["answer"], "accepted");
    assert_eq!(claim["report"], json!({"kind": "finish", "cid": cid}));
    assert_eq!(report["gateway"]["gateway_id"], gateway_job);
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
}

#[tokio::test]
async fn of_two_encoders_racing_for_a_job_exactly_one_gets_it_and_the_other_moves_on() {
    // The legacy gateway's refusal says nothing ("Internal server error"):
    // the loser learns from `jobstatus` that the job is not its own.
    let double = GatewayDouble::start(GatewayOptions {
        opaque_errors: true,
        ..Default::default()
    })
    .await;
    let world = world_for(&double, 2, "").await;
    world.short_clip();
    let files = files(&world).await;
    let first = double.push_job(files.url("clip.mp4").as_str()).await;
    let second = double.push_job(files.url("clip.mp4").as_str()).await;
    double.hold_get_job(2, 30.0).await;
    let (a, b) = (
        Encoder::new(&world, "a", SEED_A),
        Encoder::new(&world, "b", SEED_B),
    );
    let (did_a, did_b) = (a.did(&world).await, b.did(&world).await);

    let mut daemons = [a.start(&world), b.start(&world)];
    let one = double.wait_for_status(&first, "complete").await;
    let two = double.wait_for_status(&second, "complete").await;

    let accepts = double.calls_to("acceptJob").await;
    let for_first: Vec<&Value> = accepts
        .iter()
        .filter(|c| c["payload"]["job_id"] == first)
        .collect();
    assert_eq!(
        for_first.len(),
        2,
        "both encoders asked for the first job: {accepts:#?}"
    );
    let winners: Vec<&Value> = for_first
        .iter()
        .copied()
        .filter(|c| c["status"] == 201)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one won: {for_first:#?}");
    let winner = winners[0]["did"].as_str().unwrap();
    let loser = if winner == did_a { &did_b } else { &did_a };
    assert_eq!(one["finished_by"], winner);
    assert_eq!(two["finished_by"], *loser, "the loser took the next job");

    for (encoder, did) in [(&a, &did_a), (&b, &did_b)] {
        let jobs = encoder.tank(&world, &["jobs", "--json"]).await.json();
        assert_eq!(
            jobs.as_array().unwrap().len(),
            1,
            "{did} worked on one job only"
        );
        let claims = encoder.gateway(&world).await["claims"].clone();
        let phases: Vec<(&str, &str)> = claims
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["gateway_id"].as_str().unwrap(),
                    c["phase"].as_str().unwrap(),
                )
            })
            .collect();
        if did == winner {
            assert_eq!(phases, [(first.as_str(), "reported")]);
        } else {
            assert_eq!(
                phases,
                [(second.as_str(), "reported"), (first.as_str(), "lost")]
            );
        }
    }
    assert_eq!(double.calls_to("finishJob").await.len(), 2);
    for daemon in &mut daemons {
        assert_eq!(stop_gracefully(daemon).await, 0);
    }
}

#[tokio::test]
async fn progress_pings_keep_a_long_job_assigned() {
    // The gateway gives away jobs silent for 3 s; encoding takes longer.
    let double = GatewayDouble::start(GatewayOptions::reassigning_after(3)).await;
    let world = world_for(&double, 1, "").await;
    world.edit_config("preset = \"ultrafast\"", "preset = \"medium\"");
    world.clip("long.mp4", Clip::new(1280, 720, 10.0));
    let files = files(&world).await;
    let gateway_job = double.push_job(files.url("long.mp4").as_str()).await;
    let encoder = Encoder::new(&world, "a", SEED_A);

    let mut daemon = encoder.start(&world);
    let job = double.wait_for_status(&gateway_job, "complete").await;

    assert!(!was_reassigned(&job), "{job:#}");
    let pings = double.calls_to("pingJob").await;
    let progress: Vec<f64> = pings
        .iter()
        .map(|p| p["payload"]["progressPct"].as_f64().unwrap())
        .collect();
    assert!(pings.len() >= 4, "pinged every second: {progress:?}");
    assert!(
        progress.windows(2).all(|w| w[0] <= w[1]),
        "progress never goes back: {progress:?}"
    );
    assert!(
        progress.iter().any(|p| *p > 10.0 && *p < 85.0),
        "encoding progress was reported: {progress:?}"
    );
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
}

#[tokio::test]
async fn a_gateway_outage_holds_the_report_until_the_gateway_is_back() {
    let double = GatewayDouble::start(GatewayOptions::reassigning_after(600)).await;
    let sink = WebhookSink::start().await;
    let world = world_for(
        &double,
        2,
        "[health]\ninterval = \"1s\"\n[[alerts]]\nname = \"ops\"\nkind = \"json\"\n",
    )
    .await;
    world.secret("alert:ops", sink.url.as_str()).await;
    world.clip("clip.mp4", Clip::new(1280, 720, 6.0));
    let files = files(&world).await;
    let gateway_job = double.push_job(files.url("clip.mp4").as_str()).await;
    let encoder = Encoder::new(&world, "a", SEED_A);

    let mut daemon = encoder.start(&world);
    double.wait_for_status(&gateway_job, "running").await;
    double.refuse_connections().await;
    let report = encoder
        .wait_for_job(&world, 1, "done", |r| r["state"] == "done")
        .await;
    let down = encoder
        .wait_for_gateway(
            &world,
            "the gateway down, the report tried and waiting",
            |s| {
                s["state"] == "down"
                    && first_claim(s)["phase"] == "reporting"
                    && first_claim(s)["answer"].is_string()
            },
        )
        .await;
    assert!(
        first_claim(&down)["answer"]
            .as_str()
            .unwrap()
            .contains("cannot reach 3Speak"),
        "{down:#}"
    );
    assert!(
        sink.received().iter().any(|a| a["event"] == "gateway_down"),
        "an alert said the gateway is down: {:?}",
        sink.received()
    );

    double.accept_connections().await;
    let job = double.wait_for_status(&gateway_job, "complete").await;
    assert_eq!(job["result"]["cid"], report["cid"]);
    assert_eq!(double.calls_to("finishJob").await.len(), 1);
    encoder
        .wait_for_gateway(&world, "the gateway healthy again", |s| {
            s["state"] == "healthy"
        })
        .await;
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
}

#[tokio::test]
async fn a_crash_between_sending_finish_and_recording_it_sends_the_same_result_once_more() {
    let double = GatewayDouble::start(GatewayOptions::default()).await;
    let world = world_for(&double, 2, "").await;
    // The gateway takes the result, and its answer never comes.
    double
        .fault(json!({"op": "finishJob", "action": "hang", "after": true, "count": 1}))
        .await;
    let (_files, gateway_job, encoder, did) = offer_short_clip(&double, &world).await;

    let mut daemon = encoder.start(&world);
    double.wait_for_status(&gateway_job, "complete").await;
    daemon.start_kill().unwrap();
    daemon.wait().await.unwrap();
    let status = encoder.gateway(&world).await;
    assert_eq!(
        first_claim(&status)["phase"],
        "reporting",
        "the answer never came: {status:#}"
    );

    let mut daemon = encoder.start(&world);
    let status = encoder
        .wait_for_gateway(&world, "the report settled", |s| {
            first_claim(s)["phase"] == "reported"
        })
        .await;

    let cid = encoder.job(&world, 1).await["cid"].clone();
    let finishes = double.calls_to("finishJob").await;
    assert_eq!(finishes.len(), 2, "{finishes:#?}");
    for finish in &finishes {
        assert_eq!(finish["did"], did);
        assert_eq!(
            finish["payload"]["output"]["cid"], cid,
            "never a different result"
        );
    }
    assert_eq!(
        finishes[1]["status"], 500,
        "the gateway said it already had it"
    );
    assert!(
        first_claim(&status)["answer"]
            .as_str()
            .unwrap()
            .starts_with("the gateway already had it"),
        "{status:#}"
    );
    assert!(double.calls_to("failJob").await.is_empty());
    assert_eq!(double.job(&gateway_job).await["result"]["cid"], cid);
    let jobs = encoder.tank(&world, &["jobs", "--json"]).await.json();
    assert_eq!(jobs.as_array().unwrap().len(), 1, "no job lost, none added");
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
}

#[tokio::test]
async fn a_result_that_is_not_durable_is_never_reported_finished() {
    let double = GatewayDouble::start(GatewayOptions::reassigning_after(5)).await;
    let mut world = world_for(&double, 2, "").await;
    world.edit_config(
        "[pinning]\n",
        "[pinning]\npark_backoff = [\"500ms\"]\npark_for = \"8s\"\n",
    );
    world.node_mut("backup-1").kill().await;
    let (_files, gateway_job, encoder, _) = offer_short_clip(&double, &world).await;

    let mut daemon = encoder.start(&world);
    let parked = encoder
        .wait_for_job(&world, 1, "parked", |r| r["state"] == "awaiting_replicas")
        .await;
    let pings_then = double.calls_to("pingJob").await.len();
    let failed = encoder
        .wait_for_job(&world, 1, "failed after park_for", |r| {
            r["state"] == "failed"
        })
        .await;
    let state = double
        .wait_for("failJob", |s| !calls_in(s, "failJob").is_empty())
        .await;

    assert!(
        double.calls_to("pingJob").await.len() >= pings_then + 3,
        "a parked job is still pinged, so the gateway does not give it away"
    );
    let job = job_in(&state, &gateway_job).unwrap();
    assert!(!was_reassigned(job), "{job:#}");
    assert!(
        double.calls_to("finishJob").await.is_empty(),
        "never reported finished"
    );
    let fail = &double.calls_to("failJob").await[0];
    assert_eq!(fail["payload"]["job_id"], gateway_job);
    assert_eq!(fail["payload"]["error"]["retryable"], true);
    assert_eq!(fail["payload"]["error"]["error"], failed["error"]);
    assert!(
        Path::new(parked["output_dir"].as_str().unwrap()).exists(),
        "the HLS folder is kept"
    );
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
}

#[tokio::test]
async fn bad_input_is_reported_failed_and_not_retryable() {
    let double = GatewayDouble::start(GatewayOptions::default()).await;
    let world = world_for(&double, 1, "").await;
    std::fs::write(world.dir.path().join("notes.txt"), "not a video\n").unwrap();
    let files = files(&world).await;
    let text_job = double.push_job(files.url("notes.txt").as_str()).await;
    let local_path_job = double.push_job("/etc/hostname").await;
    let encoder = Encoder::new(&world, "a", SEED_A);

    let mut daemon = encoder.start(&world);
    // A report whose answer is slow is sent again: wait for each job's.
    let failed = |s: &Value, id: &str| {
        calls_in(s, "failJob")
            .iter()
            .any(|c| c["payload"]["job_id"] == id)
    };
    let state = double
        .wait_for("a failJob for each job", |s| {
            failed(s, &text_job) && failed(s, &local_path_job)
        })
        .await;
    assert_eq!(stop_gracefully(&mut daemon).await, 0);

    let fails = calls_in(&state, "failJob");
    let error_of = |id: &str| {
        fails
            .iter()
            .find(|c| c["payload"]["job_id"] == id)
            .unwrap_or_else(|| panic!("no failJob for {id}"))["payload"]["error"]
            .clone()
    };
    let text = error_of(&text_job);
    assert_eq!(text["retryable"], false);
    assert!(
        text["error"].as_str().unwrap().contains("notes.txt"),
        "{text}"
    );
    let local = error_of(&local_path_job);
    assert_eq!(local["retryable"], false);
    assert_eq!(
        local["error"],
        "the gateway's input \"/etc/hostname\" is not an http(s) or ipfs:// URL"
    );
    assert!(double.calls_to("finishJob").await.is_empty());
    let jobs = encoder.tank(&world, &["jobs", "--json"]).await.json();
    let hostname_job = jobs
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["input"] == "/etc/hostname")
        .unwrap();
    let report = encoder
        .job(&world, hostname_job["id"].as_u64().unwrap())
        .await;
    assert_eq!(
        history(&report, "state"),
        ["queued", "failed"],
        "never read: {report:#}"
    );
}

#[tokio::test]
async fn a_graceful_shutdown_gives_back_jobs_not_yet_encoding_and_keeps_the_rest() {
    let double = GatewayDouble::start(GatewayOptions::default()).await;
    let world = world_for(&double, 1, "[jobs]\nmax_concurrent = 2\n").await;
    world.edit_config("preset = \"ultrafast\"", "preset = \"medium\"");
    world.clip("long.mp4", Clip::new(1280, 720, 10.0));
    let files = files(&world).await;
    // A source that never answers: its job stays downloading.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let stuck = double
        .push_job(&format!(
            "http://{}/never.mp4",
            silent.local_addr().unwrap()
        ))
        .await;
    let long = double.push_job(files.url("long.mp4").as_str()).await;
    let encoder = Encoder::new(&world, "a", SEED_A);
    let did = encoder.did(&world).await;

    let mut daemon = encoder.start(&world);
    encoder
        .wait_for_job(&world, 2, "encoding", |r| r["state"] == "encoding")
        .await;
    assert_eq!(encoder.job(&world, 1).await["state"], "downloading");
    assert_eq!(stop_gracefully(&mut daemon).await, 0);

    let rejects = double.calls_to("rejectJob").await;
    assert_eq!(rejects.len(), 1, "{rejects:#?}");
    assert_eq!(rejects[0]["did"], did);
    assert_eq!(rejects[0]["payload"]["job_id"], stuck);
    let given_back = double.job(&stuck).await;
    assert_eq!(given_back["status"], "queued");
    assert_eq!(given_back["assigned_to"], Value::Null);
    let cancelled = encoder.job(&world, 1).await;
    assert_eq!(cancelled["state"], "cancelled");
    assert_eq!(cancelled["gateway"]["phase"], "released");
    let kept = double.job(&long).await;
    assert_eq!(
        kept["assigned_to"], did,
        "a job already encoding stays ours"
    );

    // The next start resumes it and reports it.
    let mut daemon = encoder.start(&world);
    let done = double.wait_for_status(&long, "complete").await;
    assert_eq!(done["finished_by"], did);
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
    drop(silent);
}

#[tokio::test]
async fn the_retired_v2_mode_names_its_replacement() {
    let double = GatewayDouble::start(GatewayOptions::default()).await;
    let world = World::with_nodes(1).await;
    let legacy = gateway_config(&double);

    world.write_config(&legacy.replace("mode = \"legacy\"", "mode = \"v2\""));
    let run = world.tank(&["daemon"]).await;
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("mode = \"embed\""), "{}", run.stderr);
    assert_eq!(
        double.calls_to("updateNode").await.len(),
        0,
        "nothing was sent"
    );
}
