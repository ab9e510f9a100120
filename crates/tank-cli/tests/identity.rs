//! The encoder's gateway identity: a did:key from `ENCODER_PRIVATE_KEY`,
//! else kept in the OS keyring (made on first use), never shown or logged.

mod common;

use common::World;
use serde_json::json;
use tank_testkit::gateway::{GatewayDouble, GatewayOptions};

const SEVENS: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
const SEVENS_DID: &str = "did:key:z6MkvDqGT54cXesYGvABpF1UapVNwjCqRcafi4Px6Thv5T3Z";

#[tokio::test]
async fn encoder_private_key_gives_the_did_of_the_research_test_vector() {
    let world = World::with_nodes(0).await;
    let output = world
        .tank_command(&["identity", "--json"])
        .env("ENCODER_PRIVATE_KEY", SEVENS)
        .output()
        .await
        .unwrap();
    let run = common::Run::from(output);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.json(),
        json!({"did": SEVENS_DID, "source": "environment"})
    );
}

#[tokio::test]
async fn a_new_identity_is_made_once_and_kept_in_the_keyring() {
    let world = World::with_nodes(0).await;
    let first = world.tank(&["identity", "--json"]).await.json();
    assert_eq!(first["source"], "generated");
    let did = first["did"].as_str().unwrap();
    assert!(did.starts_with("did:key:z6Mk"), "{did}");
    let again = world.tank(&["identity", "--json"]).await.json();
    assert_eq!(again, json!({"did": did, "source": "keyring"}));
    // Another data directory on the same machine is the same encoder.
    let elsewhere = world
        .tank_command_in(&world.dir.path().join("other"), &["identity"])
        .output()
        .await
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&elsewhere.stdout).trim(), did);
}

#[tokio::test]
async fn a_malformed_private_key_is_refused_by_name() {
    let world = World::with_nodes(0).await;
    let output = world
        .tank_command(&["identity"])
        .env("ENCODER_PRIVATE_KEY", "c2hvcnQ=")
        .output()
        .await
        .unwrap();
    let run = common::Run::from(output);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr.trim(),
        "tank: gateway identity: ENCODER_PRIVATE_KEY: the private key is 5 bytes; an Ed25519 seed is 32 bytes"
    );
}

#[tokio::test]
async fn the_private_key_never_reaches_a_log_or_the_database() {
    let double = GatewayDouble::start(GatewayOptions::default()).await;
    let world = World::with_nodes(1).await;
    world.write_config(&format!(
        "[gateway]\nenabled = true\nmode = \"legacy\"\nurl = \"{}\"\nhive_username = \"tank-test\"\npoll_interval = \"200ms\"\nping_interval = \"1s\"\n",
        double.api
    ));
    let mut daemon = world.start_daemon_in(
        &world.data_dir(),
        &[("ENCODER_PRIVATE_KEY", SEVENS), ("RUST_LOG", "trace")],
        "daemon",
    );
    double
        .wait_for("the encoder announced itself", |s| {
            s["nodes"].get(SEVENS_DID).is_some()
        })
        .await;
    assert_eq!(common::stop_gracefully(&mut daemon).await, 0);

    let log = world.log("daemon");
    assert!(log.contains(SEVENS_DID), "the log names the identity");
    let database = std::fs::read(world.data_dir().join("tank.db")).unwrap();
    for shown in [SEVENS, SEVENS.trim_end_matches('='), "BwcHBwcHBwcHBwcH"] {
        assert!(!log.contains(shown), "the seed is in the log");
        assert!(
            !database.windows(shown.len()).any(|w| w == shown.as_bytes()),
            "the seed is in the database"
        );
    }
    assert_eq!(double.state().await["jws_rejections"], json!([]));
}

#[tokio::test]
async fn without_a_keyring_a_switched_off_gateway_reports_no_error_and_a_switched_on_one_does() {
    let world = World::with_nodes(0).await;
    let no_keyring = |args: &'static [&'static str]| {
        let mut command = world.tank_command(args);
        command.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
        command
    };

    let off = common::Run::from(no_keyring(&["gateway", "--json"]).output().await.unwrap());
    assert_eq!(off.code, 0, "{}", off.stderr);
    let status = off.json();
    assert_eq!(
        (status["enabled"].clone(), status["did"].clone()),
        (json!(false), json!(null))
    );

    world.write_config("[gateway]\nenabled = true\n");
    let on = common::Run::from(no_keyring(&["gateway", "--json"]).output().await.unwrap());
    assert_ne!(on.code, 0, "a switched-on gateway needs its identity");
    assert!(on.stderr.contains("keyring"), "{}", on.stderr);
}
