//! The desktop app, end to end: what an operator does in the window, on the
//! real app, with real FFmpeg and real kubo nodes.

mod window;

use std::time::Duration;

use serde_json::json;
use tank_testkit::clip::Clip;
use tank_testkit::HarnessNode;
use window::{DesktopApp, FAST};

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
    app.type_into("[data-testid=add-input]", clip.to_str().unwrap())
        .await;
    app.click("add-button").await;
    app.wait_for("[data-testid=job-row-1]").await;
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
