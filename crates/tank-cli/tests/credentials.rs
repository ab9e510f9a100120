//! Credentials live in the OS keyring: a node whose secret is missing or
//! refused is reported clearly and passed over, and a secret never shows up
//! in output, logs, reports or the job database.

mod common;

use common::{attempts_of, replica_nodes, World};
use tank_testkit::HarnessNode;

#[tokio::test]
async fn a_node_without_its_secret_is_passed_over_with_a_clear_message() {
    let world = World::with_nodes(2).await;
    let guarded = HarnessNode::start_with_auth("guarded", "bearer:the-token").await;
    world.write_config(&format!(
        "[[nodes]]\nname = \"guarded\"\napi = \"{}\"\nauth = \"bearer\"\ntier = 1\n",
        guarded.api
    ));
    world.edit_config("[pinning]\n", "[pinning]\nquorum = 3\n");

    let (code, report) = world.encode(&world.short_clip()).await;

    assert_eq!(code, 3, "two of three replicas: parked");
    let skipped = attempts_of(&report, "guarded", "pin");
    assert_eq!(skipped.len(), 1, "{:#}", report["attempts"]);
    assert!(
        skipped[0].2.starts_with(
            "no secret node:guarded in the OS keyring (run `tank secret set node:guarded`"
        ),
        "{}",
        skipped[0].2
    );
    let nodes = world.tank(&["nodes", "--json"]).await.json();
    let status = nodes
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "guarded")
        .unwrap();
    assert_eq!(status["reachable"], false);
    assert!(status["error"]
        .as_str()
        .unwrap()
        .contains("tank secret set node:guarded"));
}

#[tokio::test]
async fn a_refused_secret_gives_a_clear_error_and_never_leaks() {
    let world = World::with_nodes(2).await;
    let guarded = HarnessNode::start_with_auth("guarded", "bearer:right-token-7").await;
    world.write_config(&format!(
        "[[nodes]]\nname = \"guarded\"\napi = \"{}\"\nauth = \"bearer\"\ntier = 1\n",
        guarded.api
    ));
    world.secret("node:guarded", "wrong-token-9").await;

    let clip = world.short_clip();
    let run = world
        .tank_command(&["-vv", "encode", clip.to_str().unwrap(), "--json"])
        .env("RUST_LOG", "trace")
        .output()
        .await
        .unwrap();
    let nodes = world.tank(&["nodes", "--json"]).await;

    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["state"], "done", "the other nodes carry the job");
    assert!(!replica_nodes(&report).contains(&"guarded".to_owned()));
    let refused = report["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["node"] == "guarded" && a["ok"] == false)
        .unwrap();
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("the credentials were refused (HTTP 403"),
        "{refused}"
    );
    let mut everything = Vec::new();
    everything.extend(run.stdout);
    everything.extend(run.stderr);
    everything.extend(nodes.stdout.into_bytes());
    everything.extend(nodes.stderr.into_bytes());
    everything.extend(std::fs::read(&world.config).unwrap());
    for entry in std::fs::read_dir(world.data_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            everything.extend(std::fs::read(path).unwrap());
        }
    }
    let text = String::from_utf8_lossy(&everything);
    assert!(text.len() > 10_000, "trace logs were captured");
    for secret in ["wrong-token-9", "right-token-7"] {
        assert!(!text.contains(secret), "{secret} leaked");
    }
}
