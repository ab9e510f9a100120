//! Uploading a folder streams it from disk: the memory the upload needs does
//! not grow with the size of the folder. This file holds a single test so it
//! runs in a process of its own and the measurement sees only the upload.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tank_ipfs::{folder_cid, KuboClient, UploadLimits};
use tank_testkit::HarnessNode;

const MIB: u64 = 1024 * 1024;

fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}

/// Runs `work` while sampling resident memory; returns the peak above the
/// resident size at the start.
async fn peak_growth<F: std::future::Future<Output = ()>>(work: F) -> u64 {
    let baseline = resident_bytes();
    let peak = Arc::new(AtomicU64::new(baseline));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(resident_bytes(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    work.await;
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    peak.load(Ordering::Relaxed).saturating_sub(baseline)
}

fn folder_of(size: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("1080p")).unwrap();
    std::fs::write(dir.path().join("manifest.m3u8"), "#EXTM3U\n").unwrap();
    // Segments of 8 MiB with varying bytes, like real video segments.
    let mut block = vec![0u8; MIB as usize];
    for segment in 0..size / (8 * MIB) {
        let mut file =
            std::fs::File::create(dir.path().join(format!("1080p/1080p_{segment}.ts"))).unwrap();
        for i in 0..8 {
            block[..8].copy_from_slice(&(segment * 8 + i).to_le_bytes());
            file.write_all(&block).unwrap();
        }
    }
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_does_not_grow_with_the_size_of_the_upload() {
    let node = HarnessNode::start("sink").await;
    let client = KuboClient::new(node.api.clone(), None);
    let limits = UploadLimits {
        stall_timeout: Duration::from_secs(60),
        answer_timeout: Duration::from_secs(300),
    };
    let small = folder_of(32 * MIB);
    let large = folder_of(512 * MIB);

    // Warm up connection pools and allocator arenas first.
    client.add_folder(small.path(), limits).await.unwrap();

    let small_growth = peak_growth(async {
        client.add_folder(small.path(), limits).await.unwrap();
        folder_cid(small.path()).unwrap();
    })
    .await;
    let large_growth = peak_growth(async {
        let uploaded = client.add_folder(large.path(), limits).await.unwrap();
        assert_eq!(uploaded, folder_cid(large.path()).unwrap());
    })
    .await;

    println!(
        "peak growth: 32 MiB folder {} KiB, 512 MiB folder {} KiB",
        small_growth / 1024,
        large_growth / 1024
    );
    assert!(
        large_growth < small_growth + 16 * MIB,
        "uploading 16x more data took {} KiB more memory at peak",
        (large_growth.saturating_sub(small_growth)) / 1024
    );
    assert!(
        large_growth < 64 * MIB,
        "a 512 MiB upload held {} MiB",
        large_growth / MIB
    );
}
