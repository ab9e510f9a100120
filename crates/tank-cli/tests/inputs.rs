//! Inputs: local files and http(s) URLs; bad inputs fail with a message that
//! names the thing and the reason, are recorded, and never reach a node.

mod common;

use std::path::Path;

use common::World;
use serde_json::Value;
use tank_testkit::clip::{audio_only, Clip};
use tank_testkit::http::{FileServer, Ranges, Serving};

/// A bad input: the job exists, failed, not retryable, nothing uploaded
/// (the only calls recorded are downloads).
fn assert_refused(code: i32, report: &Value, message: &str) {
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["state"], "failed");
    assert_eq!(report["retryable"], false);
    assert_eq!(report["error"], message);
    assert_eq!(report["cid"], Value::Null);
    let attempts = report["attempts"].as_array().unwrap();
    assert!(
        attempts.iter().all(|a| a["op"] == "download"),
        "no node was called: {attempts:?}"
    );
}

#[tokio::test]
async fn an_empty_file() {
    let world = World::with_nodes(1).await;
    let path = world.dir.path().join("empty.mp4");
    std::fs::write(&path, b"").unwrap();
    let (code, report) = world.encode(&path).await;
    assert_refused(
        code,
        &report,
        &format!("input file {} is empty (0 bytes)", path.display()),
    );
}

#[tokio::test]
async fn a_file_that_is_not_a_video() {
    let world = World::with_nodes(1).await;
    let path = world.dir.path().join("notes.mp4");
    std::fs::write(&path, "meeting notes\n").unwrap();
    let (code, report) = world.encode(&path).await;
    let error = report["error"].as_str().unwrap().to_owned();
    assert!(
        error.starts_with(&format!(
            "input file {} is not a video FFmpeg can read: ",
            path.display()
        )),
        "{error}"
    );
    assert_refused(code, &report, &error);
}

#[tokio::test]
async fn a_file_without_a_video_stream() {
    let world = World::with_nodes(1).await;
    let path = audio_only(world.dir.path(), "podcast.m4a", 1.0);
    let (code, report) = world.encode(&path).await;
    assert_refused(
        code,
        &report,
        &format!(
            "input file {} has no video stream (streams found: audio)",
            path.display()
        ),
    );
}

#[tokio::test]
async fn a_file_that_does_not_exist() {
    let world = World::with_nodes(1).await;
    let path = world.dir.path().join("gone.mp4");
    let (code, report) = world.encode(&path).await;
    assert_refused(
        code,
        &report,
        &format!("input file {} does not exist", path.display()),
    );
}

#[tokio::test]
async fn a_relative_path_is_taken_from_the_working_directory() {
    let world = World::with_nodes(1).await;
    world.short_clip();
    let run = world.tank(&["encode", "clip.mp4", "--json"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.json()["input"],
        world.dir.path().join("clip.mp4").display().to_string()
    );
}

#[tokio::test]
async fn an_unsupported_scheme_is_refused_before_any_job_exists() {
    let world = World::with_nodes(1).await;
    let run = world.tank(&["encode", "ftp://example.org/video.mp4"]).await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("the ftp:// scheme is not supported"),
        "{}",
        run.stderr
    );
    assert_eq!(
        world.tank(&["jobs", "--json"]).await.json(),
        serde_json::json!([])
    );
}

#[tokio::test]
async fn a_video_at_a_url_is_downloaded_and_encoded() {
    let world = World::with_nodes(1).await;
    let served = tempfile::tempdir().unwrap();
    Clip::new(854, 480, 2.0).write(served.path(), "talk.mp4");
    let server = FileServer::serve(served.path().to_owned()).await;

    let (code, report) = world
        .encode(Path::new(server.url("talk.mp4").as_str()))
        .await;

    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["state"], "done");
    assert_eq!(report["renditions"], serde_json::json!(["480p"]));
    let states: Vec<&str> = report["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["state"].as_str().unwrap())
        .collect();
    assert_eq!(states[..3], ["queued", "downloading", "probing"]);
}

#[tokio::test]
async fn a_download_over_the_size_limit_is_refused() {
    let world = World::with_nodes(1).await;
    world.write_config("[jobs]\nmax_input_size = \"10 KB\"\n");
    let served = tempfile::tempdir().unwrap();
    Clip::new(854, 480, 2.0).write(served.path(), "big.mp4");
    let server = FileServer::serve(served.path().to_owned()).await;
    let url = server.url("big.mp4");

    let (code, report) = world.encode(Path::new(url.as_str())).await;

    let error = report["error"].as_str().unwrap().to_owned();
    assert!(
        error.starts_with(&format!("input {url} is too big: it is ")),
        "{error}"
    );
    assert!(
        error.ends_with("bytes, over the limit of 10000 bytes ([jobs] max_input_size)"),
        "{error}"
    );
    assert_refused(code, &report, &error);
}

#[tokio::test]
async fn a_url_that_does_not_exist() {
    let world = World::with_nodes(1).await;
    let served = tempfile::tempdir().unwrap();
    let server = FileServer::serve(served.path().to_owned()).await;
    let url = server.url("missing.mp4");

    let (code, report) = world.encode(Path::new(url.as_str())).await;

    assert_refused(
        code,
        &report,
        &format!(
            "cannot download {}: the server answered 404 Not Found",
            url.as_str().trim_end_matches('/')
        ),
    );
}

#[tokio::test]
async fn an_interrupted_download_resumes_where_it_broke_off() {
    let world = World::with_nodes(1).await;
    let served = tempfile::tempdir().unwrap();
    let clip = Clip::new(854, 480, 2.0).write(served.path(), "talk.mp4");
    let size = std::fs::metadata(&clip).unwrap().len() as usize;
    let server = FileServer::serve_cutting(served.path().to_owned(), Some(size / 3)).await;

    let (code, report) = world
        .encode(Path::new(server.url("talk.mp4").as_str()))
        .await;

    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        server.ranges(),
        [None, Some(format!("bytes={}-", size / 3))],
        "the second request resumed"
    );
    let downloads = download_attempts(&report);
    assert_eq!(downloads.len(), 2);
    assert!(
        downloads[0]["error"]
            .as_str()
            .unwrap()
            .contains(&format!("broke off after {} bytes", size / 3)),
        "{downloads:?}"
    );
    assert_eq!(downloads[1]["ok"], true);
}

/// A clip of about 3.7 MB: three pieces of at least 1 MiB.
fn large_clip(dir: &Path) -> (std::path::PathBuf, u64) {
    let clip = Clip::new(854, 480, 10.0).write(dir, "talk.mp4");
    let size = std::fs::metadata(&clip).unwrap().len();
    assert!(
        size >= 3 << 20,
        "the clip makes three pieces ({size} bytes)"
    );
    (clip, size)
}

/// `tank encode` of a large clip's URL, served as `serving` says, with
/// `[downloads] connections` when given: it must end `done`, with the
/// download equal to the clip byte for byte. The report, the server (which
/// saw the requests), and the clip's size.
async fn encode_large_download(
    connections: Option<u32>,
    serving: Serving,
) -> (Value, FileServer, u64) {
    let world = World::with_nodes(1).await;
    let connections = connections
        .map(|n| format!("[downloads]\nconnections = {n}\n"))
        .unwrap_or_default();
    // The source is kept, to be compared.
    world.write_config(&format!("[jobs]\nkeep_source = true\n{connections}"));
    let served = tempfile::tempdir().unwrap();
    let (clip, size) = large_clip(served.path());
    let server = FileServer::serve_with(served.path().to_owned(), serving).await;

    let (code, report) = world
        .encode(Path::new(server.url("talk.mp4").as_str()))
        .await;

    assert_eq!(code, 0, "{report:#}");
    let hls = Path::new(report["output_dir"].as_str().unwrap());
    let downloaded = std::fs::read(hls.parent().unwrap().join("source/talk.mp4")).unwrap();
    assert!(downloaded == std::fs::read(&clip).unwrap(), "byte for byte");
    (report, server, size)
}

/// The download attempts in `report`, in order.
fn download_attempts(report: &Value) -> Vec<&Value> {
    report["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["op"] == "download")
        .collect()
}

#[tokio::test]
async fn a_large_download_from_a_server_that_takes_ranges_comes_in_pieces_over_several_connections()
{
    let (_, server, size) = encode_large_download(Some(3), Serving::default()).await;

    let third = size.div_ceil(3);
    let mut ranges = server.ranges();
    ranges.sort();
    assert_eq!(
        ranges,
        [
            None,
            Some(format!("bytes={third}-{}", 2 * third - 1)),
            Some(format!("bytes={}-{}", 2 * third, size - 1)),
        ],
        "the first answer gave the first piece; the others came at once"
    );
}

#[tokio::test]
async fn a_piece_that_breaks_off_resumes_on_its_own_and_the_others_are_not_fetched_again() {
    // The first answer (the whole file, of which the first piece is read)
    // breaks off half way through that piece.
    let cut = 600_000;
    let serving = Serving {
        cut_first_after: Some(cut),
        ..Serving::default()
    };
    let (report, server, size) = encode_large_download(Some(3), serving).await;

    let third = size.div_ceil(3);
    let ranges = server.ranges();
    assert_eq!(ranges.len(), 4, "{ranges:?}");
    assert_eq!(
        ranges[3],
        Some(format!("bytes={cut}-{}", third - 1)),
        "the second try asked for the rest of the first piece only"
    );
    let downloads = download_attempts(&report);
    assert_eq!(downloads.len(), 2, "{downloads:?}");
    assert!(
        downloads[0]["error"]
            .as_str()
            .unwrap()
            .contains("broke off"),
        "{downloads:?}"
    );
}

#[tokio::test]
async fn a_server_without_ranges_is_downloaded_in_one_stream() {
    let serving = Serving {
        ranges: Ranges::Unsupported,
        ..Serving::default()
    };
    let (_, server, _) = encode_large_download(None, serving).await;

    assert_eq!(server.ranges(), [None], "one request");
}

#[tokio::test]
async fn a_server_that_claims_ranges_and_ignores_them_is_asked_again_in_one_stream() {
    let serving = Serving {
        ranges: Ranges::Claimed,
        ..Serving::default()
    };
    let (report, server, _) = encode_large_download(None, serving).await;

    let downloads = download_attempts(&report);
    assert_eq!(downloads.len(), 2, "{downloads:?}");
    assert!(
        downloads[0]["error"]
            .as_str()
            .unwrap()
            .ends_with("the server does not keep to ranges: it answered a range request with the whole file; trying again in one stream"),
        "{downloads:?}"
    );
    let ranges = server.ranges();
    assert_eq!(
        ranges.last(),
        Some(&None),
        "the last request is one stream: {ranges:?}"
    );
}

#[tokio::test]
async fn a_bare_cid_is_fetched_through_a_gateway() {
    let world = World::with_nodes(1).await;
    let holder = tank_testkit::HarnessNode::start("holder").await;
    let dir = tempfile::tempdir().unwrap();
    Clip::new(854, 480, 2.0).write(dir.path(), "talk.mp4");
    let cid = tank_ipfs::KuboClient::new(holder.api.clone(), None)
        .add_folder(
            dir.path(),
            tank_ipfs::UploadLimits {
                stall_timeout: std::time::Duration::from_secs(30),
                answer_timeout: std::time::Duration::from_secs(30),
            },
        )
        .await
        .unwrap();
    world.write_config(&format!(
        "[downloads]\ngateways = [\"{}\"]\n",
        holder.gateway
    ));

    let run = world
        .tank(&["encode", &format!("{cid}/talk.mp4"), "--json"])
        .await;

    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["input"], format!("ipfs://{cid}/talk.mp4"));
    assert_eq!(report["renditions"], serde_json::json!(["480p"]));
}
