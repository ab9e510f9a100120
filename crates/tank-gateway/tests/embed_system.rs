//! The embed client and the webhook sender against the TEST DOUBLE of
//! 3Speak's embed system (`tests/embed-double`), which verifies every
//! signed request with the `dids` library the real server uses and keeps
//! its status codes and quirks (see `3speak-embed.md`).

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tank_gateway::{
    CallbackKey, EmbedGateway, Identity, NodeInfo, ProgressReport, WebhookReport, WebhookStatus,
    Webhooks,
};
use tank_testkit::embed::{EmbedDouble, EmbedOptions};

const TIMEOUT: Duration = Duration::from_secs(10);
const NOW: &str = "2026-12-02T12:00:00Z";

/// An encoder pointed at a host that does not resolve.
fn encoder(seed: u8) -> EmbedGateway {
    let identity = Arc::new(Identity::from_seed(&[seed; 32]));
    EmbedGateway::new(
        &url::Url::parse("http://unused.invalid").unwrap(),
        identity,
        TIMEOUT,
    )
}

fn at(double: &EmbedDouble, seed: u8) -> EmbedGateway {
    EmbedGateway::new(
        &double.api,
        Arc::new(Identity::from_seed(&[seed; 32])),
        TIMEOUT,
    )
}

fn info() -> NodeInfo {
    NodeInfo::new("tank-test", "", None, "0.1.0")
}

fn report(owner: &str, permlink: &str, status: WebhookStatus) -> WebhookReport {
    WebhookReport {
        owner: owner.into(),
        permlink: permlink.into(),
        input_cid: "QmInput".into(),
        status,
        progress: Some(100),
        manifest_cid: Some("QmManifest".into()),
        video_url: Some("ipfs://QmManifest/manifest.m3u8".into()),
        job_id: "tank-1".into(),
        processing_time_seconds: 12.5,
        qualities_encoded: vec!["480p".into()],
        encoder_id: "did:key:test".into(),
        error: None,
        frontend_app: Some("3speak-tv".into()),
        original_filename: None,
        timestamp: NOW.into(),
    }
}

#[tokio::test]
async fn an_unregistered_encoder_is_told_so_and_registering_answers_its_record() {
    let double = EmbedDouble::start(EmbedOptions::default()).await;
    let embed = at(&double, 7);

    let heartbeat = embed.heartbeat(NOW, "0.1.0").await.unwrap_err();
    assert!(heartbeat.is_not_registered(), "{heartbeat}");
    let claim = embed.my_job(NOW).await.unwrap_err();
    assert!(claim.is_not_registered(), "{claim}");

    let record = embed.update_node(&info()).await.unwrap();
    assert_eq!(record.did, embed.did());
    assert_eq!(
        record.name,
        format!("community-{}", &embed.did()[embed.did().len() - 12..])
    );
    assert_eq!(
        (record.tier.as_str(), record.access.as_str()),
        ("lite", "community")
    );
    assert!(record.enabled);

    embed.heartbeat(NOW, "0.1.0").await.unwrap();
    let registered = double.calls_to("updateNode").await;
    assert_eq!(
        registered[0]["did"],
        embed.did(),
        "the signer is who registered"
    );
    assert_eq!(registered[0]["body"]["node_info"]["name"], "tank-test");
}

#[tokio::test]
async fn my_job_claims_the_oldest_free_community_job_with_a_fresh_key_per_claim() {
    let double = EmbedDouble::start(EmbedOptions::default()).await;
    let embed = at(&double, 8);
    embed.update_node(&info()).await.unwrap();

    assert_eq!(embed.my_job(NOW).await.unwrap(), None, "nothing queued yet");
    double
        .push_job(json!({ "input_cid": "QmShort", "short": true }))
        .await;
    double
        .push_job(json!({ "owner": "alice", "permlink": "p1", "input_cid": "QmFirst" }))
        .await;
    double.push_job(json!({ "input_cid": "QmSecond" })).await;

    let job = embed.my_job(NOW).await.unwrap().expect("a job");
    assert_eq!((job.owner.as_str(), job.permlink.as_str()), ("alice", "p1"));
    assert_eq!(job.input_cid, "https://ipfs.3speak.tv/ipfs/QmFirst");
    assert!(!job.short, "short videos are not community work");
    assert_eq!(
        job.webhook_url.as_str(),
        double.api.join("webhook").unwrap().as_str()
    );
    assert_eq!(job.api_key.expose().len(), 64);
    assert!(
        !format!("{job:?}").contains(job.api_key.expose()),
        "Debug hides the key"
    );
    assert_eq!(
        double.job("alice", "p1").await["assignedWorker"],
        embed.did()
    );

    let next = embed.my_job(NOW).await.unwrap().expect("the second job");
    assert_ne!(next.api_key, job.api_key, "each claim mints its own key");
}

#[tokio::test]
async fn a_disabled_encoder_is_refused_work_as_banned() {
    let double = EmbedDouble::start(EmbedOptions::default()).await;
    let embed = at(&double, 9);
    embed.update_node(&info()).await.unwrap();
    double.disable(embed.did()).await;

    let refused = embed.my_job(NOW).await.unwrap_err();
    assert!(refused.is_banned(), "{refused}");
    assert!(!refused.is_not_registered());
}

#[tokio::test]
async fn a_request_that_cannot_reach_the_embed_system_says_where_it_went() {
    let unreachable = encoder(10).heartbeat(NOW, "0.1.0").await.unwrap_err();
    assert!(!unreachable.gateway_is_up(), "{unreachable}");
    assert!(
        unreachable.to_string().contains("unused.invalid"),
        "{unreachable}"
    );
}

#[tokio::test]
async fn progress_and_the_completion_webhook_go_out_with_the_jobs_key() {
    let double = EmbedDouble::start(EmbedOptions::default()).await;
    let embed = at(&double, 11);
    embed.update_node(&info()).await.unwrap();
    double
        .push_job(json!({ "owner": "bob", "permlink": "clip", "input_cid": "QmInput" }))
        .await;
    let job = embed.my_job(NOW).await.unwrap().unwrap();
    let webhooks = Webhooks::new(TIMEOUT);
    let progress = ProgressReport {
        owner: "bob".into(),
        permlink: "clip".into(),
        progress: 40,
        stage: "encoding".into(),
    };

    webhooks
        .progress(&job.webhook_url, &job.api_key, &progress)
        .await
        .unwrap();
    let seen = double.job("bob", "clip").await;
    assert_eq!(
        (
            seen["encodingProgress"].as_u64(),
            seen["encodingStage"].as_str()
        ),
        (Some(40), Some("encoding"))
    );

    let answer = webhooks
        .report(
            &job.webhook_url,
            &job.api_key,
            &report("bob", "clip", WebhookStatus::Complete),
        )
        .await
        .unwrap();
    assert!(answer.contains("processed"), "{answer}");
    let done = double.job("bob", "clip").await;
    assert_eq!(
        (done["status"].as_str(), done["manifest_cid"].as_str()),
        (Some("completed"), Some("QmManifest"))
    );
    let sent = &double.calls_to("webhook").await[0];
    assert_eq!(sent["key"], "job", "sent with the claim's own key");
    assert_eq!(sent["body"]["qualities_encoded"], json!(["480p"]));
    assert_eq!(sent["body"]["processing_time_seconds"], 12.5);

    // The quirk the daemon must never trigger: a progress call after the
    // completion re-opens the job on the embed system.
    webhooks
        .progress(&job.webhook_url, &job.api_key, &progress)
        .await
        .unwrap();
    let reopened = double.job("bob", "clip").await;
    assert_eq!(
        (reopened["status"].as_str(), reopened["reopened"].as_u64()),
        (Some("encoding"), Some(1))
    );
}

#[tokio::test]
async fn a_wrong_key_is_refused_for_good_and_a_down_receiver_is_not() {
    let double = EmbedDouble::start(EmbedOptions::default()).await;
    let embed = at(&double, 12);
    embed.update_node(&info()).await.unwrap();
    double
        .push_job(json!({ "owner": "carol", "permlink": "v", "input_cid": "QmInput" }))
        .await;
    let job = embed.my_job(NOW).await.unwrap().unwrap();
    let webhooks = Webhooks::new(TIMEOUT);
    let body = report("carol", "v", WebhookStatus::Failed);

    let wrong = CallbackKey::new("not-the-key".into());
    let refused = webhooks
        .report(&job.webhook_url, &wrong, &body)
        .await
        .unwrap_err();
    assert!(refused.is_final(), "{refused}");
    assert!(!refused.to_string().contains("not-the-key"), "{refused}");

    double.webhook_answers(503).await;
    let down = webhooks
        .report(&job.webhook_url, &job.api_key, &body)
        .await
        .unwrap_err();
    assert!(!down.is_final(), "a 503 may pass: {down}");
    double.webhook_answers(0).await;
    webhooks
        .report(&job.webhook_url, &job.api_key, &body)
        .await
        .unwrap();
    let requeued = double.job("carol", "v").await;
    assert_eq!(
        (
            requeued["status"].as_str(),
            requeued["attemptCount"].as_u64()
        ),
        (Some("pending"), Some(1))
    );

    let unknown = ProgressReport {
        owner: "nobody".into(),
        permlink: "x".into(),
        progress: 1,
        stage: "download".into(),
    };
    let missing = webhooks
        .progress(&job.webhook_url, &job.api_key, &unknown)
        .await
        .unwrap_err();
    assert!(
        matches!(
            missing,
            tank_gateway::GatewayError::Refused { status: 404, .. }
        ),
        "{missing}"
    );
}
