//! The kubo RPC client against real kubo nodes, healthy and faulty.

use std::path::Path;
use std::time::{Duration, Instant};

use tank_ipfs::{folder_cid, IpfsError, KuboClient, UploadLimits};
use tank_testkit::HarnessNode;

const SHORT: Duration = Duration::from_secs(2);
const LIMITS: UploadLimits = UploadLimits {
    stall_timeout: Duration::from_secs(2),
    answer_timeout: Duration::from_secs(2),
};

fn hls_folder(dir: &Path) {
    std::fs::create_dir_all(dir.join("480p")).unwrap();
    std::fs::write(dir.join("manifest.m3u8"), "#EXTM3U\n480p/index.m3u8\n").unwrap();
    std::fs::write(
        dir.join("480p/index.m3u8"),
        "#EXTM3U\n#EXTINF:6,\n480p_0.ts\n",
    )
    .unwrap();
    std::fs::write(dir.join("480p/480p_0.ts"), vec![7u8; 400_000]).unwrap();
}

#[tokio::test]
async fn an_uploaded_folder_is_pinned_and_readable() {
    let node = HarnessNode::start("primary").await;
    let client = KuboClient::new(node.api.clone(), None);
    let dir = tempfile::tempdir().unwrap();
    hls_folder(dir.path());

    let cid = client.add_folder(dir.path(), LIMITS).await.unwrap();

    assert!(client.is_pinned(&cid, SHORT).await.unwrap());
    client.pin_add(&cid, SHORT).await.unwrap();
    let manifest = client
        .cat(&format!("{cid}/manifest.m3u8"), 1 << 20, SHORT)
        .await
        .unwrap();
    assert_eq!(
        manifest,
        std::fs::read(dir.path().join("manifest.m3u8")).unwrap()
    );
    assert_eq!(client.version(SHORT).await.unwrap().version, "0.22.0");
    assert_eq!(client.id(SHORT).await.unwrap().id, node.peer_id);
}

#[tokio::test]
async fn a_cid_never_added_is_reported_as_not_pinned() {
    let node = HarnessNode::start("primary").await;
    let client = KuboClient::new(node.api.clone(), None);
    let dir = tempfile::tempdir().unwrap();
    hls_folder(dir.path());
    let cid = folder_cid(dir.path()).unwrap();

    assert!(!client.is_pinned(&cid, SHORT).await.unwrap());
}

#[tokio::test]
async fn a_second_node_pins_by_cid_over_bitswap() {
    let source = HarnessNode::start("source").await;
    let backup = HarnessNode::start("backup").await;
    let dir = tempfile::tempdir().unwrap();
    hls_folder(dir.path());
    let cid = KuboClient::new(source.api.clone(), None)
        .add_folder(dir.path(), LIMITS)
        .await
        .unwrap();
    let client = KuboClient::new(backup.api.clone(), None);

    client.swarm_connect(&source.swarm, SHORT).await.unwrap();
    client.pin_add(&cid, Duration::from_secs(30)).await.unwrap();

    assert!(client.is_pinned(&cid, SHORT).await.unwrap());
    assert!(backup.recursive_pins().await.contains(&cid));
}

#[tokio::test]
async fn a_refused_connection_is_an_unreachable_node() {
    let node = HarnessNode::start("down").await;
    node.refuse_connections().await;

    let err = KuboClient::new(node.api.clone(), None)
        .version(SHORT)
        .await
        .unwrap_err();

    assert!(matches!(err, IpfsError::Unreachable { .. }), "{err:?}");
    assert!(err.is_node_unavailable());
    assert!(err.to_string().contains("refused"), "{err}");
}

#[tokio::test]
async fn a_node_that_never_answers_times_out_on_time() {
    let node = HarnessNode::start("hung").await;
    node.hang_next("pin/add", 1).await;
    let started = Instant::now();

    let err = KuboClient::new(node.api.clone(), None)
        .pin_add("QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN", SHORT)
        .await
        .unwrap_err();

    assert!(matches!(err, IpfsError::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < SHORT * 3);
}

#[tokio::test]
async fn an_upload_to_a_hung_node_is_abandoned() {
    let node = HarnessNode::start("hung").await;
    node.hang_next("add", 1).await;
    let dir = tempfile::tempdir().unwrap();
    hls_folder(dir.path());
    let started = Instant::now();

    let err = KuboClient::new(node.api.clone(), None)
        .add_folder(dir.path(), LIMITS)
        .await
        .unwrap_err();

    assert!(matches!(err, IpfsError::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn an_error_answer_keeps_kubos_status_and_message() {
    let node = HarnessNode::start("failing").await;
    node.fail_next("pin/add", 1).await;

    let err = KuboClient::new(node.api.clone(), None)
        .pin_add("QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN", SHORT)
        .await
        .unwrap_err();

    assert_eq!(err.http_status(), Some(500));
    assert!(err.to_string().contains("injected failure"), "{err}");
    assert!(!err.is_node_unavailable());
}

#[tokio::test]
async fn a_lying_pin_is_caught_by_pin_ls() {
    let node = HarnessNode::start("liar").await;
    let client = KuboClient::new(node.api.clone(), None);
    let dir = tempfile::tempdir().unwrap();
    hls_folder(dir.path());
    let cid = client.add_folder(dir.path(), LIMITS).await.unwrap();
    node.lie_on("pin/add").await;

    client.pin_add(&cid, SHORT).await.unwrap();

    assert!(!client.is_pinned(&cid, SHORT).await.unwrap());
}
