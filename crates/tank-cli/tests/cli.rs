//! The command line as scripts and operators meet it: configuration errors,
//! the JSON shapes acceptance checks read, exit codes, and node status.

mod common;

use common::World;

#[tokio::test]
async fn an_unknown_config_key_names_the_file_the_line_and_the_key() {
    let world = World::with_nodes(1).await;
    std::fs::write(&world.config, "[pinning]\nquorum = 1\nretires = 3\n").unwrap();

    let run = world.tank(&["jobs"]).await;

    assert_eq!(run.code, 2);
    let expected = format!(
        "config file {}, line 3: unknown key `retires`",
        world.config.display()
    );
    assert!(run.stderr.contains(&expected), "{}", run.stderr);
}

#[tokio::test]
async fn a_missing_config_file_given_explicitly_is_an_error() {
    let world = World::with_nodes(1).await;
    std::fs::remove_file(&world.config).unwrap();
    let run = world.tank(&["jobs"]).await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("cannot read config file"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn encoding_without_any_node_is_refused_up_front() {
    let world = World::with_nodes(0).await;
    let run = world.tank(&["encode", "whatever.mp4"]).await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no IPFS nodes are configured"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn a_report_has_every_field_scripts_rely_on() {
    let world = World::with_nodes(2).await;
    let (code, report) = world.encode(&world.short_clip()).await;
    assert_eq!(code, 0);

    for key in [
        "id",
        "state",
        "cid",
        "output_dir",
        "renditions",
        "replicas",
        "attempts",
        "error",
        "retryable",
    ] {
        assert!(report.get(key).is_some(), "missing {key} in {report:#}");
    }
    for attempt in report["attempts"].as_array().unwrap() {
        for key in ["node", "op", "attempt", "ok", "error", "ms"] {
            assert!(attempt.get(key).is_some(), "missing {key} in {attempt}");
        }
    }
    assert_eq!(report["replicas"][0]["verified"], true);

    let id = report["id"].to_string();
    let again = world.tank(&["job", &id, "--json"]).await.json();
    assert_eq!(
        again, report,
        "`tank job` shows what `tank encode` reported"
    );
    let jobs = world.tank(&["jobs", "--json"]).await.json();
    assert_eq!(jobs[0]["id"], report["id"]);
    assert_eq!(jobs[0]["state"], "done");

    let text = world.tank(&["job", &id]).await.stdout;
    assert!(
        text.contains(&format!(
            "ipfs://{}/manifest.m3u8",
            report["cid"].as_str().unwrap()
        )),
        "{text}"
    );
}

#[tokio::test]
async fn a_jobs_log_tells_its_story_in_order_with_the_failed_node_calls() {
    let world = World::with_nodes(2).await;
    world.node("supernode").fail_next("pin/add", 1).await;
    let (code, _) = world.encode(&world.short_clip()).await;
    assert_eq!(code, 0);

    let run = world.tank(&["job", "1", "--log"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let position = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in the log:\n{}", run.stdout))
    };
    let failed_pin = position("supernode pin/add #1 failed");
    assert!(position("→ encoding") < position("→ uploading"));
    assert!(position("→ pinning") < failed_pin);
    assert_eq!(position("→ done"), lines.len() - 1, "done is the last word");
    let stamps: Vec<&str> = lines
        .iter()
        .map(|l| l.split("  ").next().unwrap())
        .collect();
    assert!(stamps.is_sorted(), "in time order:\n{}", run.stdout);
}

#[tokio::test]
async fn encode_progress_is_recorded() {
    let world = World::with_nodes(1).await;
    let (_, report) = world.encode(&world.short_clip()).await;
    let progress = &report["progress"];
    assert!(progress["percent"].as_f64().unwrap() > 90.0, "{progress}");
    assert!(progress["speed"].as_f64().unwrap() > 0.0, "{progress}");
}

#[tokio::test]
async fn nodes_shows_who_is_up_with_its_version() {
    let world = World::with_nodes(2).await;
    world.node("backup-1").refuse_connections().await;

    let run = world.tank(&["nodes", "--json"]).await;

    assert_eq!(run.code, 1, "a node is down");
    let nodes = run.json();
    assert_eq!(nodes[0]["name"], "supernode");
    assert_eq!(nodes[0]["reachable"], true);
    assert_eq!(nodes[0]["version"], "0.22.0");
    assert_eq!(nodes[0]["peer_id"], world.node("supernode").peer_id);
    assert_eq!(nodes[1]["reachable"], false);
    assert!(nodes[1]["error"].as_str().unwrap().contains("refused"));
}

#[tokio::test]
async fn the_3speak_encoders_environment_configures_the_nodes() {
    let world = World::with_nodes(2).await;
    std::fs::write(&world.config, "").unwrap();
    let mut cmd = world.tank_command(&["nodes", "--json"]);
    cmd.env(
        "THREESPEAK_IPFS_ENDPOINT",
        world.node("supernode").api.as_str(),
    )
    .env("IPFS_BACKUP_APIS", world.node("backup-1").api.as_str());

    let nodes: serde_json::Value =
        serde_json::from_slice(&cmd.output().await.unwrap().stdout).unwrap();

    assert_eq!(nodes[0]["name"], "supernode");
    assert_eq!(nodes[0]["role"], "primary");
    assert_eq!(nodes[1]["name"], "backup-1");
    assert_eq!(nodes[1]["peer_id"], world.node("backup-1").peer_id);
}

#[tokio::test]
async fn the_retry_history_lists_calls_across_jobs() {
    let world = World::with_nodes(2).await;
    world.node("supernode").fail_next("pin/add", 2).await;
    let (code, _) = world.encode(&world.short_clip()).await;
    assert_eq!(code, 0);
    let (code, _) = world.encode(&world.short_clip()).await;
    assert_eq!(code, 0);

    let failed = world.tank(&["attempts", "--failed", "--json"]).await.json();
    let failed = failed.as_array().unwrap();
    assert_eq!(failed.len(), 2, "{failed:#?}");
    assert!(failed
        .iter()
        .all(|a| a["job"] == 1 && a["node"] == "supernode" && a["op"] == "pin/add"));
    assert!(failed.iter().all(|a| a["http_status"] == 500));

    let backup = world
        .tank(&["attempts", "--node", "backup-1", "--json"])
        .await
        .json();
    let backup = backup.as_array().unwrap();
    assert!(!backup.is_empty() && backup.iter().all(|a| a["node"] == "backup-1"));
    assert!(backup.iter().any(|a| a["job"] == 1) && backup.iter().any(|a| a["job"] == 2));

    let only_two = world
        .tank(&["attempts", "--job", "2", "--json"])
        .await
        .json();
    assert!(only_two.as_array().unwrap().iter().all(|a| a["job"] == 2));
    let table = world.tank(&["attempts", "--failed"]).await.stdout;
    assert!(
        table.contains("pin/add") && table.contains("supernode"),
        "{table}"
    );
}

#[tokio::test]
async fn without_keep_output_the_hls_folder_goes_once_the_job_is_durable() {
    let world = World::with_nodes(2).await;
    world.write_config("[jobs]\nkeep_output = false\n");

    let (code, report) = world.encode(&world.short_clip()).await;

    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["replicas"].as_array().unwrap().len(), 2);
    assert!(!std::path::Path::new(report["output_dir"].as_str().unwrap()).exists());
    let cid = report["cid"].as_str().unwrap();
    assert!(world
        .node("backup-1")
        .cat(&format!("{cid}/manifest.m3u8"))
        .await
        .is_ok());
}

#[tokio::test]
async fn a_job_short_of_its_quorum_exits_3_and_tank_retry_finishes_it() {
    let world = World::with_nodes(2).await;
    world.node("backup-1").refuse_connections().await;

    let (code, report) = world.encode(&world.short_clip()).await;

    assert_eq!(code, 3, "awaiting replicas: {report:#}");
    assert_eq!(report["state"], "awaiting_replicas");
    assert_eq!(report["retryable"], true);

    world.node("backup-1").accept_connections().await;
    let id = report["id"].to_string();
    let retried = world.tank(&["retry", &id, "--json"]).await;
    assert_eq!(retried.code, 0, "{}", retried.stderr);
    let report = retried.json();
    assert_eq!(report["state"], "done", "{report:#}");
    assert_eq!(report["replicas"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn tank_audit_exits_1_while_a_replica_is_missing_and_0_once_it_is_restored() {
    let world = World::with_nodes(2).await;
    let (code, report) = world.encode(&world.short_clip()).await;
    assert_eq!(code, 0, "{report:#}");
    let cid = report["cid"].as_str().unwrap();
    world.node("backup-1").remove_pin(cid).await;
    world.node("backup-1").refuse_connections().await;
    let outcome_of = |records: &serde_json::Value, node: &str| {
        records
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["node"] == node)
            .unwrap()["outcome"]
            .clone()
    };

    let missing = world.tank(&["audit", "--job", "1", "--json"]).await;

    assert_eq!(missing.code, 1, "a missing replica fails the audit");
    assert_eq!(outcome_of(&missing.json(), "backup-1"), "missing");

    world.node("backup-1").accept_connections().await;
    let repaired = world.tank(&["audit", "--job", "1", "--json"]).await;

    assert_eq!(repaired.code, 0, "{}", repaired.stderr);
    let records = repaired.json();
    assert_eq!(outcome_of(&records, "supernode"), "verified");
    assert_eq!(outcome_of(&records, "backup-1"), "repaired");
}
