//! Community work from 3Speak's embed system, end to end: `tank daemon`
//! registers with a TEST DOUBLE of the embed system
//! (`tests/embed-double`, which verifies every signed request with the
//! `dids` library the real one uses and keeps its quirks), claims jobs only
//! while it has room, downloads them from an IPFS HTTP gateway (a real kubo
//! node's), makes them durable on real kubo nodes, sends progress while it
//! works, and reports each result from a durable outbox, never sending
//! progress after it.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{attempts_of, downloads_of, replica_nodes, stop_gracefully, Run, World};
use serde_json::{json, Value};
use tank_testkit::clip::Clip;
use tank_testkit::embed::{job_in, EmbedDouble, EmbedOptions};
use tank_testkit::HarnessNode;

const SEED: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

/// `[gateway]` in embed mode, pointing at the double (its traffic director
/// too), with short waits.
fn embed_config(double: &EmbedDouble, extra: &str) -> String {
    let extra = if extra.contains("max_backoff") {
        extra.to_owned()
    } else {
        format!("max_backoff = \"2s\"\n{extra}")
    };
    format!(
        r#"
[gateway]
enabled = true
mode = "embed"
url = "{api}"
traffic_director = "{api}api/hotnode"
node_name = "tank-under-test"
poll_interval = "300ms"
poll_jitter = "100ms"
heartbeat_interval = "1s"
progress_interval = "1s"
timeout = "3s"
{extra}
"#,
        api = double.api
    )
}

/// A world of two kubo nodes, a clip added to the supernode (the double's
/// IPFS HTTP gateway is that node's), and an embed double serving jobs.
struct EmbedWorld {
    world: World,
    double: EmbedDouble,
    /// The node the double's traffic director names, when it names one.
    hotnode: Option<HarnessNode>,
    /// The clip's path as the embed system names it: `<cid>/clip.mp4`.
    clip: String,
    data_dir: PathBuf,
}

/// Which IPFS HTTP gateway the embed system's input URLs name.
#[derive(PartialEq)]
enum InputGateway {
    /// The supernode's, which has the clip.
    Serving,
    /// One nobody answers at; the supernode's is only in `[downloads]`.
    Dead,
}

/// Whether the double's traffic director names a hotnode.
#[derive(PartialEq)]
enum Director {
    /// It answers 503, as when no hotnode is available.
    NoHotnode,
    /// A harness node of its own, outside the config's nodes.
    Hotnode,
}

impl EmbedWorld {
    async fn new(gateway_extra: &str, jobs_extra: &str) -> EmbedWorld {
        EmbedWorld::build(
            InputGateway::Serving,
            Director::NoHotnode,
            gateway_extra,
            jobs_extra,
        )
        .await
    }

    async fn build(
        input: InputGateway,
        director: Director,
        gateway_extra: &str,
        jobs_extra: &str,
    ) -> EmbedWorld {
        let (world, hotnode) = match director {
            Director::NoHotnode => (World::with_nodes(2).await, None),
            Director::Hotnode => {
                let (world, hotnode) =
                    tokio::join!(World::with_nodes(2), HarnessNode::start("hotnode"));
                (world, Some(hotnode))
            }
        };
        let cid = world
            .add_clip_to("supernode", "clip.mp4", Clip::new(854, 480, 2.0))
            .await;
        let serving = world.node("supernode").gateway.clone();
        let (ipfs_gateway, downloads) = match input {
            InputGateway::Serving => (serving, String::new()),
            InputGateway::Dead => (
                format!("http://127.0.0.1:{}", tank_testkit::free_port())
                    .parse()
                    .unwrap(),
                format!("[downloads]\ngateways = [\"{serving}\"]\nattempts = 1\n"),
            ),
        };
        let double = EmbedDouble::start(EmbedOptions {
            ipfs_gateway,
            hotnode: hotnode.as_ref().map(|h| h.api.join("api/v0/add").unwrap()),
            ..EmbedOptions::default()
        })
        .await;
        world.write_config(&format!(
            "{downloads}{jobs_extra}\n{}",
            embed_config(&double, gateway_extra)
        ));
        let data_dir = world.data_dir();
        EmbedWorld {
            world,
            double,
            hotnode,
            clip: format!("{cid}/clip.mp4"),
            data_dir,
        }
    }

    fn start(&self) -> tokio::process::Child {
        self.start_with(&[])
    }

    /// `tank daemon` with more of the environment.
    fn start_with(&self, env: &[(&str, &str)]) -> tokio::process::Child {
        let mut all = vec![("ENCODER_PRIVATE_KEY", SEED)];
        all.extend_from_slice(env);
        self.world.start_daemon_in(&self.data_dir, &all, "daemon")
    }

    async fn tank(&self, args: &[&str]) -> Run {
        let output = self
            .world
            .tank_command_in(&self.data_dir, args)
            .env("ENCODER_PRIVATE_KEY", SEED)
            .output()
            .await
            .unwrap();
        Run::from(output)
    }

    async fn push(&self, permlink: &str) -> Value {
        self.double
            .push_job(json!({ "owner": "alice", "permlink": permlink, "input_cid": self.clip }))
            .await
    }

    async fn status(&self) -> Value {
        self.tank(&["gateway", "--json"]).await.json()
    }

    /// Polls `tank gateway --json` until `ready` holds.
    async fn wait_for_status(&self, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            let status = self.status().await;
            if ready(&status) {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "never saw: {what}\n{status:#}\nlog:\n{}",
                self.world.log("daemon")
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until the embed system has `owner/permlink` in `status`.
    async fn wait_for_job(&self, permlink: &str, status: &str) -> Value {
        let state = self
            .double
            .wait_for(&format!("alice/{permlink} {status}"), |state| {
                job_in(state, "alice", permlink).is_some_and(|j| j["status"] == status)
            })
            .await;
        job_in(&state, "alice", permlink).unwrap().clone()
    }
}

/// The calls about `permlink` to `route`, oldest first.
fn calls_about<'a>(state: &'a Value, route: &str, permlink: &str) -> Vec<&'a Value> {
    state["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["route"] == route && c["body"]["permlink"] == permlink)
        .collect()
}

fn at(call: &Value) -> &str {
    call["at"].as_str().unwrap()
}

#[tokio::test]
async fn a_community_job_is_reported_complete_once_durable_and_no_progress_follows() {
    let embed = EmbedWorld::new("", "").await;
    embed.push("first").await;

    let mut daemon = embed.start();
    let published = embed.wait_for_job("first", "completed").await;

    let report = embed.tank(&["job", "1", "--json"]).await.json();
    assert_eq!(report["state"], "done", "{report:#}");
    let cid = report["cid"].as_str().unwrap();
    let mut replicas = replica_nodes(&report);
    replicas.sort();
    assert_eq!(
        replicas,
        ["backup-1", "supernode"],
        "durable before reported"
    );
    assert_eq!(published["manifest_cid"], cid);
    assert_eq!(
        (
            report["embed"]["owner"].as_str(),
            report["embed"]["permlink"].as_str()
        ),
        (Some("alice"), Some("first")),
        "the job says where it came from"
    );

    // The daemon keeps running: a late progress call would show now.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let state = embed.double.state().await;
    let webhooks = calls_about(&state, "webhook", "first");
    assert_eq!(webhooks.len(), 1, "reported once: {webhooks:#?}");
    let sent = &webhooks[0];
    assert_eq!(
        (sent["status"].as_u64(), sent["key"].as_str()),
        (Some(200), Some("job"))
    );
    let body = &sent["body"];
    assert_eq!(body["status"], "complete");
    assert_eq!(body["progress"], 100);
    assert_eq!(
        body["input_cid"],
        format!(
            "{}ipfs/{}",
            embed.world.node("supernode").gateway,
            embed.clip
        ),
        "the input as the embed system handed it out"
    );
    assert_eq!(body["video_url"], format!("ipfs://{cid}/manifest.m3u8"));
    assert_eq!(body["qualities_encoded"], report["renditions"]);
    assert!(!report["renditions"].as_array().unwrap().is_empty());
    assert_eq!(body["encoder_id"], "tank-under-test");
    assert_eq!(body["job_id"], "tank-1");
    assert!(body["processing_time_seconds"].as_f64().unwrap() > 0.0);
    assert_eq!(body["frontend_app"], "3speak-tv");

    let progress = calls_about(&state, "progress", "first");
    assert!(!progress.is_empty(), "progress was sent while it worked");
    assert!(
        progress
            .iter()
            .all(|p| at(p) <= at(sent) && p["status"] == 200),
        "every progress call came before the report: {progress:#?}"
    );
    let stages: Vec<&str> = progress
        .iter()
        .map(|p| p["body"]["stage"].as_str().unwrap())
        .collect();
    assert!(
        stages.iter().any(|s| *s != "encoding"),
        "progress outside the encode too: {stages:?}"
    );
    let job = job_in(&state, "alice", "first").unwrap();
    assert_eq!(job["status"], "completed", "never re-opened");
    assert_eq!(job.get("reopened"), None);

    let status = embed.status().await;
    assert_eq!(status["state"], "healthy", "{status:#}");
    assert_eq!(status["encoder"]["tier"], "lite");
    assert_eq!(status["encoder"]["name"], state["encoders"][0]["name"]);
    assert_eq!(status["outbox"][0]["status"], "delivered");
    assert_eq!(status["outbox"][0]["tries"], 1);
    assert_eq!(status["embed_jobs"][0]["permlink"], "first");
    assert!(status["embed_jobs"][0]["closed_at"].is_string());

    let shown = embed.tank(&["gateway"]).await.stdout;
    assert!(
        shown.contains("tier lite, access community, enabled"),
        "{shown}"
    );
    assert!(
        shown.contains("alice/first  job 1 (done)  community  closed"),
        "{shown}"
    );
    assert!(
        shown.contains("alice/first  complete  delivered, 1 try: "),
        "{shown}"
    );

    // The claim's key reaches the webhook and nothing else.
    let key = job["callbackToken"].as_str().unwrap();
    let shown = [
        status.to_string(),
        report.to_string(),
        shown,
        embed.world.log("daemon"),
    ];
    for text in shown {
        assert!(!text.contains(key), "the job's key leaked: {text}");
    }
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
}

#[tokio::test]
async fn a_3speak_job_is_also_handed_to_the_hotnode_which_never_counts_as_a_replica() {
    let embed = EmbedWorld::build(InputGateway::Serving, Director::Hotnode, "", "").await;
    let hotnode = embed.hotnode.as_ref().unwrap();
    embed.push("hot").await;
    let mut daemon = embed.start();
    embed.wait_for_job("hot", "completed").await;

    let report = embed.tank(&["job", "1", "--json"]).await.json();
    let cid = report["cid"].as_str().unwrap();
    assert!(
        hotnode.recursive_pins().await.iter().any(|p| p == cid),
        "the hotnode holds the result, so 3Speak's gateway serves it"
    );
    let mut replicas = replica_nodes(&report);
    replicas.sort();
    assert_eq!(
        replicas,
        ["backup-1", "supernode"],
        "the quorum is of durable replicas only"
    );
    let asked = attempts_of(&report, "3speak-hotnode", "traffic director");
    let added = attempts_of(&report, "3speak-hotnode", "add");
    assert_eq!((asked.len(), asked[0].1), (1, true), "{asked:?}");
    assert_eq!((added.len(), added[0].1), (1, true), "{added:?}");

    // Without a hotnode the job is made durable all the same, and its
    // history says why no copy went to 3Speak.
    embed.double.refuse_director(true).await;
    let other = embed
        .world
        .add_clip_to("supernode", "other.mp4", Clip::new(640, 360, 2.0))
        .await;
    embed
        .double
        .push_job(json!({ "owner": "alice", "permlink": "cold", "input_cid": format!("{other}/other.mp4") }))
        .await;
    embed.wait_for_job("cold", "completed").await;
    let report = embed.tank(&["job", "2", "--json"]).await.json();
    assert_eq!(report["state"], "done", "{report:#}");
    let asked = attempts_of(&report, "3speak-hotnode", "traffic director");
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(
        !asked[0].1 && asked[0].2.contains("503") && asked[0].2.contains("no hotnode available"),
        "{asked:?}"
    );
    assert!(attempts_of(&report, "3speak-hotnode", "add").is_empty());
    let cold = report["cid"].as_str().unwrap();
    assert_ne!(cold, cid, "another video");
    assert!(!hotnode.recursive_pins().await.iter().any(|p| p == cold));
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
}

#[tokio::test]
async fn a_portrait_short_is_cut_at_60_seconds_and_keeps_its_shape() {
    // 3Speak pushes shorts to managed encoders; myJob never hands one out.
    let (embed, api) = managed().await;
    let tall = embed
        .world
        .add_clip_to("supernode", "tall.mp4", Clip::new(540, 960, 65.0))
        .await;
    embed
        .double
        .push_job(json!({ "owner": "alice", "permlink": "tall", "input_cid": format!("{tall}/tall.mp4"), "short": true }))
        .await;
    let mut daemon = embed.start_with(&[("DIRECT_API_KEY", DIRECT_KEY)]);
    wait_for_api(&api, &embed).await;
    assert_eq!(embed.double.dispatch(&api, DIRECT_KEY).await["status"], 200);
    embed.wait_for_job("tall", "completed").await;

    let report = embed.tank(&["job", "1", "--json"]).await.json();
    assert_eq!(
        report["renditions"],
        json!(["480p"]),
        "a short is 480p only"
    );
    let cid = report["cid"].as_str().unwrap();
    let backup = embed.world.node("backup-1");
    let read =
        |path: String| async move { String::from_utf8(backup.cat(&path).await.unwrap()).unwrap() };
    let master = read(format!("{cid}/manifest.m3u8")).await;
    assert!(
        master.contains("RESOLUTION=480x854"),
        "upright, fitted to the 480p box turned on its side:\n{master}"
    );
    let media = read(format!("{cid}/480p/index.m3u8")).await;
    let seconds: f64 = media
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .map(|l| l.trim_end_matches(',').parse::<f64>().unwrap())
        .sum();
    assert!(
        (59.0..=60.5).contains(&seconds),
        "cut at 60 s of the 65 s source: {seconds} s\n{media}"
    );
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
}

#[tokio::test]
async fn progress_keeps_the_claim_alive_through_a_slow_upload() {
    let embed = EmbedWorld::new("", "").await;
    // Under the upload's stall limit ([pinning] attempt_timeout, 3 s here),
    // but long enough for more than one progress call.
    embed
        .world
        .node("supernode")
        .fault(json!({ "op": "add", "action": "delay", "seconds": 2.6 }))
        .await;
    embed.push("slow").await;
    let mut daemon = embed.start();
    embed.wait_for_job("slow", "completed").await;

    let state = embed.double.state().await;
    let progress = calls_about(&state, "progress", "slow");
    let uploading: Vec<&&Value> = progress
        .iter()
        .filter(|p| p["body"]["stage"] == "uploading")
        .collect();
    let report = embed.tank(&["job", "1", "--json"]).await.json();
    assert!(
        uploading.len() >= 2 && uploading.iter().all(|p| p["status"] == 200),
        "progress went on while the upload was slow: {progress:#?}\n{:#?}",
        report["attempts"]
    );
    let job = job_in(&state, "alice", "slow").unwrap();
    assert_eq!(job.get("reopened"), None);
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
}

#[tokio::test]
async fn an_input_its_own_gateway_cannot_serve_comes_from_another_by_its_cid() {
    let embed = EmbedWorld::build(InputGateway::Dead, Director::NoHotnode, "", "").await;
    embed.push("elsewhere").await;

    let mut daemon = embed.start();
    embed.wait_for_job("elsewhere", "completed").await;

    let report = embed.tank(&["job", "1", "--json"]).await.json();
    let downloads = downloads_of(&report);
    let serving = embed.world.node("supernode").gateway.clone();
    assert_eq!(downloads.len(), 2, "{downloads:?}");
    assert!(
        !downloads[0].1 && downloads[0].0.contains("/ipfs/"),
        "the URL as given, first: {downloads:?}"
    );
    assert_eq!(
        downloads[1],
        (format!("gateway {}", tank_ipfs::redacted(&serving)), true),
        "then the same CID from [downloads] gateways"
    );
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
}

#[tokio::test]
async fn a_quorum_not_met_by_the_replica_deadline_is_reported_failed_for_3speak_to_requeue() {
    let embed = EmbedWorld::new("replica_deadline = \"4s\"", "").await;
    embed.world.node("backup-1").refuse_connections().await;
    embed.push("short-of-replicas").await;

    let mut daemon = embed.start();
    let job = embed
        .double
        .wait_for("a failed report", |s| {
            calls_about(s, "webhook", "short-of-replicas")
                .iter()
                .any(|w| w["status"] == 200)
        })
        .await;
    let sent = calls_about(&job, "webhook", "short-of-replicas")[0].clone();
    assert_eq!(sent["body"]["status"], "failed", "{sent:#}");
    let error = sent["body"]["error"].as_str().unwrap();
    assert!(
        error.contains("replica_deadline") && error.contains("pins made so far are kept"),
        "{error}"
    );
    // Requeued by 3Speak (and maybe claimed again already: we have room).
    let requeued = job_in(&job, "alice", "short-of-replicas").unwrap();
    assert_eq!(requeued["attemptCount"], 1, "{requeued:#}");
    assert_eq!(requeued["lastError"], error);

    let report = embed.tank(&["job", "1", "--json"]).await.json();
    assert_eq!(
        (report["state"].as_str(), report["retryable"].as_bool()),
        (Some("failed"), Some(true))
    );
    assert_eq!(
        replica_nodes(&report),
        ["supernode"],
        "the replica made is kept"
    );
    let progress = calls_about(&job, "progress", "short-of-replicas");
    assert!(
        progress
            .iter()
            .any(|p| p["body"]["stage"] == "awaiting_replicas" || p["body"]["stage"] == "pinning"),
        "progress kept the claim alive while replicas were missing: {progress:#?}"
    );
    assert!(progress.iter().all(|p| at(p) <= at(&sent)));
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
}

#[tokio::test]
async fn a_job_is_claimed_only_when_an_encode_slot_is_free() {
    let embed = EmbedWorld::new("", "[jobs]\nmax_concurrent = 1\n").await;
    embed.push("one").await;
    embed.push("two").await;

    let mut daemon = embed.start();
    embed.wait_for_job("two", "completed").await;

    let state = embed.double.state().await;
    let one = embed.tank(&["job", "1", "--json"]).await.json();
    // Job one's encode is committed when it moves on to uploading.
    let one_encoded = one["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["state"] == "uploading")
        .expect("job 1 encoded")["at"]
        .as_str()
        .unwrap()
        .to_owned();
    let two = job_in(&state, "alice", "two").unwrap();
    assert!(
        two["assignedAt"].as_str().unwrap() >= one_encoded.as_str(),
        "the second job was claimed at {} while the first still needed the encode slot (encoded at {one_encoded})",
        two["assignedAt"]
    );
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
}

#[tokio::test]
async fn a_report_waits_in_the_outbox_through_an_outage_and_a_crash() {
    let embed = EmbedWorld::new("", "").await;
    embed.double.webhook_answers(503).await;
    embed.push("held").await;

    let mut daemon = embed.start();
    let status = embed
        .wait_for_status("the report waiting after a failed try", |s| {
            s["outbox"][0]["status"] == "waiting" && s["outbox"][0]["tries"].as_u64() >= Some(1)
        })
        .await;
    assert!(
        status["outbox"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("503"),
        "{status:#}"
    );
    daemon.start_kill().unwrap();
    daemon.wait().await.unwrap();
    embed.double.webhook_answers(0).await;

    let mut daemon = embed.start();
    embed.wait_for_job("held", "completed").await;
    let state = embed.double.state().await;
    let webhooks = calls_about(&state, "webhook", "held");
    let statuses: Vec<u64> = webhooks
        .iter()
        .map(|w| w["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses.last(), Some(&200), "{statuses:?}");
    assert!(
        statuses[..statuses.len() - 1].iter().all(|s| *s == 503),
        "{statuses:?}"
    );
    let first_try = at(webhooks[0]);
    assert!(
        calls_about(&state, "progress", "held")
            .iter()
            .all(|p| at(p) <= first_try),
        "no progress once the report was committed"
    );
    let bodies: Vec<&Value> = webhooks.iter().map(|w| &w["body"]).collect();
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "the same report every time"
    );
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
}

#[tokio::test]
async fn a_forgotten_encoder_registers_again_and_a_disabled_one_stops_asking() {
    // A refused encoder asks again only after max_backoff.
    let embed = EmbedWorld::new("max_backoff = \"1m\"", "").await;
    let mut daemon = embed.start();
    embed
        .double
        .wait_for("a first registration", |s| {
            s["encoders"].as_array().is_some_and(|e| !e.is_empty())
        })
        .await;

    embed.double.forget_encoders().await;
    let state = embed
        .double
        .wait_for("a second registration", |s| {
            s["calls"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["route"] == "updateNode")
                .count()
                >= 2
        })
        .await;
    let did = state["encoders"][0]["did"].as_str().unwrap().to_owned();

    embed.double.disable(&did).await;
    embed
        .double
        .wait_for("a refused myJob", |s| {
            s["calls"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["route"] == "myJob" && c["status"] == 403)
        })
        .await;
    embed.push("unclaimed").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let state = embed.double.state().await;
    let refused_at = state["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["route"] == "myJob" && c["status"] == 403)
        .map(|c| at(c).to_owned())
        .unwrap();
    let asked_after = state["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["route"] == "myJob" && at(c) > refused_at.as_str())
        .count();
    assert_eq!(asked_after, 0, "no more asking after a 403");
    assert_eq!(
        job_in(&state, "alice", "unclaimed").unwrap()["status"],
        "pending"
    );
    assert!(embed
        .world
        .log("daemon")
        .contains("refuses this encoder work"));
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
}

/// The key the Direct API is started with in these tests.
const DIRECT_KEY: &str = "direct-api-key-for-tests";

/// Managed mode only: community off, the Direct API on a free port.
/// Answers the world and the Direct API's root.
async fn managed() -> (EmbedWorld, String) {
    let port = tank_testkit::free_port();
    let embed = EmbedWorld::new(
        "",
        &format!("[direct_api]\nenabled = true\nlisten = \"127.0.0.1:{port}\"\n"),
    )
    .await;
    embed
        .world
        .edit_config("[gateway]\nenabled = true", "[gateway]\nenabled = false");
    (embed, format!("http://127.0.0.1:{port}"))
}

/// Waits until the Direct API answers `/health`.
async fn wait_for_api(api: &str, embed: &EmbedWorld) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while reqwest::get(format!("{api}/health")).await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the Direct API never answered\nlog:\n{}",
            embed.world.log("daemon")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A call to the Direct API: its status and JSON answer.
async fn call(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_pushed_job_answered_200_survives_a_kill_and_is_reported_complete_once_durable() {
    let (embed, api) = managed().await;
    embed.push("pushed").await;
    let mut daemon = embed.start_with(&[("DIRECT_API_KEY", DIRECT_KEY)]);
    wait_for_api(&api, &embed).await;

    let dispatched = embed.double.dispatch(&api, DIRECT_KEY).await;
    // Killed right after the answer: the job was committed before it.
    daemon.start_kill().unwrap();
    daemon.wait().await.unwrap();
    assert_eq!(dispatched["status"], 200, "{dispatched:#}");
    let answer = &dispatched["answer"];
    assert_eq!(
        (answer["job_id"].as_str(), answer["status"].as_str()),
        (Some("tank-1"), Some("queued"))
    );
    assert_eq!(answer["message"], "Job submitted successfully");

    let mut daemon = embed.start_with(&[("DIRECT_API_KEY", DIRECT_KEY)]);
    embed.wait_for_job("pushed", "completed").await;
    let report = embed.tank(&["job", "1", "--json"]).await.json();
    assert_eq!(report["state"], "done");
    let cid = report["cid"].as_str().unwrap();
    let mut replicas = replica_nodes(&report);
    replicas.sort();
    assert_eq!(replicas, ["backup-1", "supernode"]);
    assert_eq!(report["embed"]["via"], "managed");

    let state = embed.double.state().await;
    let webhooks = calls_about(&state, "webhook", "pushed");
    assert_eq!(webhooks.len(), 1, "{webhooks:#?}");
    assert_eq!(
        webhooks[0]["key"], "global",
        "sent with the key the push carried"
    );
    assert_eq!(webhooks[0]["body"]["job_id"], "tank-1");
    assert_eq!(webhooks[0]["body"]["manifest_cid"], cid);

    let client = reqwest::Client::new();
    let (status, job) = call(
        client
            .get(format!("{api}/job/tank-1"))
            .header("X-API-Key", DIRECT_KEY),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(job["status"], "complete");
    assert_eq!(job["result"][0]["ipfsHash"], cid);
    assert_eq!(
        job["result"][0]["uri"],
        format!("ipfs://{cid}/manifest.m3u8")
    );
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
}

#[tokio::test]
async fn the_direct_api_refuses_wrong_keys_and_bad_jobs_and_answers_duplicates_with_the_same_job() {
    let (embed, api) = managed().await;
    let mut daemon = embed.start_with(&[("DIRECT_API_KEY", DIRECT_KEY)]);
    wait_for_api(&api, &embed).await;
    let client = reqwest::Client::new();
    let encode = || client.post(format!("{api}/encode"));
    let job = json!({
        "owner": "alice",
        "permlink": "twice",
        "input_cid": format!("{}ipfs/{}", embed.world.node("supernode").gateway, embed.clip),
        "short": false,
        "webhook_url": embed.double.api.join("webhook").unwrap().to_string(),
        "api_key": "global-webhook-key",
    });
    embed.push("twice").await;

    let (status, answer) = call(encode().json(&job)).await;
    assert_eq!(
        (status, answer["status"].as_str(), answer["job_id"].as_str()),
        (401, Some("failed"), Some(""))
    );
    assert_eq!(
        call(encode().header("X-API-Key", "wrong").json(&job))
            .await
            .0,
        401
    );
    let health = client.get(format!("{api}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200, "health needs no key");
    assert!(
        health
            .headers()
            .get("access-control-allow-origin")
            .is_none(),
        "no CORS"
    );

    let (status, first) = call(encode().bearer_auth(DIRECT_KEY).json(&job)).await;
    assert_eq!(status, 200, "{first:#}");
    let (status, again) = call(encode().header("X-API-Key", DIRECT_KEY).json(&job)).await;
    assert_eq!(status, 200);
    assert_eq!(
        again["job_id"], first["job_id"],
        "a duplicate is the same job"
    );
    assert_eq!(again["message"], "Job already submitted");

    let with = |field: &str, value: Value| {
        let mut job = job.clone();
        job[field] = value;
        job
    };
    let mut missing = job.clone();
    missing.as_object_mut().unwrap().remove("permlink");
    missing.as_object_mut().unwrap().remove("short");
    let refusals = [
        (missing, "Missing required fields: permlink, short"),
        (
            with("short", json!("yes")),
            "short field must be true or false",
        ),
        (
            with("webhook_url", json!("not a url")),
            "webhook_url must be a valid URL",
        ),
        (
            with("input_cid", json!("/etc/passwd")),
            "not an http(s) or ipfs:// URL",
        ),
    ];
    for (body, error) in refusals {
        let (status, answer) = call(encode().header("X-API-Key", DIRECT_KEY).json(&body)).await;
        assert_eq!(status, 400, "{answer:#}");
        assert!(
            answer["error"].as_str().unwrap().contains(error),
            "{answer:#}"
        );
    }
    let huge = with("frontend_app", json!("x".repeat(100 * 1024)));
    assert_eq!(
        call(encode().header("X-API-Key", DIRECT_KEY).json(&huge))
            .await
            .0,
        413
    );

    let (status, _) = call(
        client
            .get(format!("{api}/job/tank-999"))
            .header("X-API-Key", DIRECT_KEY),
    )
    .await;
    assert_eq!(status, 404);
    let (status, counts) = call(
        client
            .get(format!("{api}/jobs"))
            .header("X-API-Key", DIRECT_KEY),
    )
    .await;
    assert_eq!(status, 200);
    assert!(counts["total"].as_u64() <= Some(1), "{counts:#}");
    assert!(
        !embed.world.log("daemon").contains(DIRECT_KEY),
        "the key is never logged"
    );
    assert!(
        embed
            .world
            .log("daemon")
            .contains(&format!("address={}", api.trim_start_matches("http://"))),
        "the address is logged"
    );
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
}

#[tokio::test]
async fn the_direct_api_does_not_start_without_a_key() {
    let (embed, _) = managed().await;
    let run = embed.tank(&["daemon"]).await;
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("DIRECT_API_KEY") && run.stderr.contains("tank secret set direct-api"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn each_pushed_job_gets_3speaks_ladder_for_its_kind() {
    let (embed, api) = managed().await;
    let hd = embed
        .world
        .add_clip_to(
            "supernode",
            "hd.mp4",
            Clip {
                fps: 60,
                ..Clip::new(1280, 720, 3.0).without_audio()
            },
        )
        .await;
    let kinds = [
        ("plain", json!({})),
        ("premium", json!({ "premium": true })),
        ("short", json!({ "short": true })),
    ];
    for (permlink, flags) in &kinds {
        let mut job =
            json!({ "owner": "alice", "permlink": permlink, "input_cid": format!("{hd}/hd.mp4") });
        job.as_object_mut()
            .unwrap()
            .extend(flags.as_object().unwrap().clone());
        embed.double.push_job(job).await;
    }
    let mut daemon = embed.start_with(&[("DIRECT_API_KEY", DIRECT_KEY)]);
    wait_for_api(&api, &embed).await;
    for _ in &kinds {
        assert_eq!(embed.double.dispatch(&api, DIRECT_KEY).await["status"], 200);
    }
    for (permlink, _) in &kinds {
        embed.wait_for_job(permlink, "completed").await;
    }

    assert_eq!(
        renditions(&embed, 1).await,
        (json!("plain"), json!(["480p"])),
        "not premium: 480p only"
    );
    assert_eq!(
        renditions(&embed, 2).await,
        (json!("premium"), json!(["720p", "480p"])),
        "premium: the ladder, never above the source"
    );
    assert_eq!(
        renditions(&embed, 3).await,
        (json!("short"), json!(["480p"]))
    );
    let state = embed.double.state().await;
    let qualities = &calls_about(&state, "webhook", "premium")[0]["body"]["qualities_encoded"];
    assert_eq!(qualities, &json!(["720p", "480p"]));

    // The silent 60 fps source came out at 30 fps, with a silent track.
    let report = embed.tank(&["job", "1", "--json"]).await.json();
    let cid = report["cid"].as_str().unwrap();
    let segment = embed
        .world
        .node("backup-1")
        .cat(&format!("{cid}/480p/480p_0.ts"))
        .await
        .unwrap();
    let file = embed.world.dir.path().join("segment.ts");
    std::fs::write(&file, segment).unwrap();
    let probe = |stream: &str, field: &str| {
        let out = std::process::Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", stream, "-show_entries"])
            .arg(format!("stream={field}"))
            .args(["-of", "csv=p=0"])
            .arg(&file)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(probe("v:0", "avg_frame_rate"), "30/1");
    assert_eq!(probe("a:0", "codec_name"), "aac");
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
}

/// The video and renditions of this encoder's job `id`.
async fn renditions(embed: &EmbedWorld, id: u64) -> (Value, Value) {
    let report = embed.tank(&["job", &id.to_string(), "--json"]).await.json();
    (
        report["embed"]["permlink"].clone(),
        report["renditions"].clone(),
    )
}

/// A listener on `127.0.0.2` (loopback, but not the host 3Speak's system
/// is on here) that counts the connections it gets and answers none.
async fn private_sink() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let url = format!("http://{}/clip.mp4", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = seen.clone();
    tokio::spawn(async move {
        while let Ok((_socket, _)) = listener.accept().await {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    (url, seen)
}

/// A server on 127.0.0.1 that answers every request `302 Location: to`.
async fn redirect_to(to: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/video.mp4", listener.local_addr().unwrap());
    let reply = format!(
        "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut head = [0u8; 4096];
            let _ = socket.read(&mut head).await;
            let _ = socket.write_all(reply.as_bytes()).await;
        }
    });
    url
}

#[tokio::test]
async fn a_pushed_job_cannot_make_the_encoder_fetch_from_a_private_address() {
    let (embed, api) = managed().await;
    let (sink, connections) = private_sink().await;
    let redirect = redirect_to(&sink).await;
    let mut daemon = embed.start_with(&[("DIRECT_API_KEY", DIRECT_KEY)]);
    wait_for_api(&api, &embed).await;
    let client = reqwest::Client::new();
    for (permlink, input) in [("direct", &sink), ("redirected", &redirect)] {
        let job = json!({
            "owner": "alice",
            "permlink": permlink,
            "input_cid": input,
            "short": false,
            "webhook_url": embed.double.api.join("webhook").unwrap().to_string(),
            "api_key": "global-webhook-key",
        });
        embed.push(permlink).await;
        let (status, answer) = call(
            client
                .post(format!("{api}/encode"))
                .header("X-API-Key", DIRECT_KEY)
                .json(&job),
        )
        .await;
        assert_eq!(status, 200, "{answer:#}");
    }

    for permlink in ["direct", "redirected"] {
        let state = embed
            .double
            .wait_for(&format!("alice/{permlink} reported"), |s| {
                calls_about(s, "webhook", permlink)
                    .iter()
                    .any(|w| w["status"] == 200)
            })
            .await;
        let sent = calls_about(&state, "webhook", permlink)[0].clone();
        assert_eq!(sent["body"]["status"], "failed", "{sent:#}");
        assert_eq!(
            sent["body"]["error"], "refused: not a public address",
            "nothing about the address goes back: {sent:#}"
        );
    }
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the private address was never connected to"
    );
    let log = embed.world.log("daemon");
    assert!(
        log.contains("127.0.0.2 is 127.0.0.2, not a public address"),
        "{log}"
    );
}
