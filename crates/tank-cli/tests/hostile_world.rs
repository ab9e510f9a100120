//! A hostile world: servers that hang, inputs that only look like videos,
//! nodes with other defaults, a config that names one node twice. Each test
//! is named after the failure it proves cannot happen.

mod common;

use std::path::Path;
use std::time::Duration;

use common::World;
use serde_json::Value;
use tank_testkit::http::FileServer;
use tank_testkit::HarnessNode;

/// `tank encode <input> --json`, failed if it takes longer than `bound`.
async fn encode_within(world: &World, input: &str, bound: Duration) -> (i32, Value) {
    let run = tokio::time::timeout(bound, world.tank(&["encode", input, "--json"]))
        .await
        .unwrap_or_else(|_| panic!("tank encode {input} still running after {bound:?}"));
    (run.code, run.json())
}

#[tokio::test]
async fn a_server_that_never_sends_headers_cannot_hang_a_download() {
    let world = World::with_nodes(1).await;
    world.write_config("[downloads]\nheader_timeout = \"1s\"\nattempts = 2\n");
    // Accepts every connection and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/clip.mp4", listener.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });

    let (code, report) = encode_within(&world, &url, Duration::from_secs(30)).await;
    held.abort();

    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["state"], "failed");
    assert_eq!(
        report["retryable"], true,
        "a silent server is not bad input"
    );
    let error = report["error"].as_str().unwrap();
    assert!(
        error.contains(&url)
            && error
                .contains("no answer (response headers) within 1s ([downloads] header_timeout)"),
        "the timeout names the URL and what it waited for: {error}"
    );
    let tries = report["attempts"].as_array().unwrap();
    assert_eq!(tries.len(), 2, "each try was bounded: {tries:?}");
}

#[tokio::test]
async fn a_still_image_is_never_reported_as_a_video() {
    let world = World::with_nodes(1).await;
    let png = world.dir.path().join("photo.png");
    let made = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=640x480"])
        .args(["-frames:v", "1", "-y"])
        .arg(&png)
        .status()
        .unwrap();
    assert!(made.success());

    let (code, report) = world.encode(&png).await;

    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["state"], "failed");
    assert_eq!(report["retryable"], false);
    assert_eq!(
        report["error"],
        format!(
            "input file {} is a still image (png), not a video",
            png.display()
        )
    );
    assert_eq!(report["cid"], Value::Null);
    assert_eq!(world.node("supernode").calls().await.get("add"), None);
}

#[tokio::test]
async fn a_web_page_given_as_a_url_is_refused_naming_the_url() {
    let world = World::with_nodes(1).await;
    let site = world.dir.path().join("site");
    std::fs::create_dir(&site).unwrap();
    let page = "<!doctype html><html><body>Sign in to watch</body></html>\n";
    std::fs::write(site.join("watch.html"), page).unwrap();
    // The same page where a video was promised, and no type to tell.
    std::fs::write(site.join("video.mp4"), page).unwrap();
    let server = FileServer::serve(site).await;

    let typed = server.url("watch.html").to_string();
    let run = world.tank(&["encode", &typed, "--json"]).await;
    let (code, report) = (run.code, run.json());
    assert_eq!((code, &report["retryable"]), (1, &Value::Bool(false)));
    assert_eq!(
        report["error"],
        format!(
            "cannot download {typed}: the server answered with a web page (text/html), not a video"
        )
    );

    let untyped = server.url("video.mp4").to_string();
    let run = world.tank(&["encode", &untyped, "--json"]).await;
    let (code, report) = (run.code, run.json());
    assert_eq!((code, &report["retryable"]), (1, &Value::Bool(false)));
    let error = report["error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!("downloaded input {untyped}: "))
            && error.contains("not a video"),
        "{error}"
    );
}

#[tokio::test]
async fn a_node_with_other_import_defaults_still_returns_the_cid_we_computed() {
    let mut world = World::with_nodes(1).await;
    // A kubo 0.40+ node set to the unixfs-v1-2025 profile: left to its own
    // defaults, it imports as CIDv1 with raw leaves and 1 MiB chunks.
    world.nodes[0] = HarnessNode::start_with_import_profile("supernode", "unixfs-v1-2025").await;
    world.write_config("");
    let clip = world.short_clip();

    let (code, report) = world.encode(&clip).await;

    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["state"], "done");
    let cid = report["cid"].as_str().unwrap();
    assert!(cid.starts_with("Qm"), "the CIDv0 we computed: {cid}");
    assert!(world.node("supernode").has_pin(cid).await);
}

#[tokio::test]
async fn one_node_configured_twice_is_refused_before_it_can_count_as_two_replicas() {
    let world = World::with_nodes(1).await;
    let port = world.node("supernode").api.port().unwrap();
    world.write_config(&format!(
        "[[nodes]]\nname = \"same-node\"\napi = \"http://localhost:{port}\"\n"
    ));
    let clip = world.short_clip();

    let run = world.tank(&["encode", clip.to_str().unwrap()]).await;

    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "nodes \"same-node\" and \"supernode\" are the same API (http://localhost:{port} and http://127.0.0.1:{port})"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(world.node("supernode").calls().await.get("add"), None);
}

#[tokio::test]
async fn a_job_whose_run_panics_fails_retryable_and_the_next_job_still_runs() {
    let world = World::with_nodes(1).await;
    let incoming = world.dir.path().join("incoming");
    std::fs::create_dir(&incoming).unwrap();
    world.write_config(&format!(
        "[jobs]\nmax_concurrent = 1\n[watch]\nfolders = [{:?}]\nsettle = \"1s\"\n",
        incoming.to_str().unwrap()
    ));
    let (code, report) = world.encode(&world.short_clip()).await;
    assert_eq!(code, 0, "{report:#}");
    // Job 1 back in `encoding` without the probe's report it needs: a state
    // no release writes, and a run of it panics (a defect, not bad input).
    let db = rusqlite::Connection::open(world.data_dir().join("tank.db")).unwrap();
    db.execute(
        "UPDATE jobs SET state = 'encoding', source_info = NULL WHERE id = 1",
        [],
    )
    .unwrap();
    drop(db);

    let mut daemon = world.start_daemon_in(&world.data_dir(), &[], "daemon");
    let failed = world
        .wait_for_job(1, "failed after its panic", |job| job["state"] == "failed")
        .await;
    assert_eq!(failed["retryable"], true);
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.starts_with("internal error (a defect in Tank Encoder): job 1 reached encoding without its source info"),
        "{error}"
    );
    // With the one slot given back, a new video is still encoded.
    world.clip(
        "incoming/next.mp4",
        tank_testkit::clip::Clip::new(640, 360, 2.0),
    );
    let next = world
        .wait_for_job(2, "done after the panic", |job| job["state"] == "done")
        .await;
    common::stop_gracefully(&mut daemon).await;
    assert!(next["cid"].as_str().is_some(), "{next:#}");
}

/// A script at `<dir>/<name>` that writes its environment to
/// `<dir>/env/<name>.<pid>`, then runs `real` with its arguments.
fn environment_spy(
    dir: &std::path::Path,
    name: &str,
    real: &std::path::Path,
) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir.join("env")).unwrap();
    let spy = dir.join(name);
    let script = format!(
        "#!/bin/sh\nenv > \"{}/env/{name}.$$\"\nexec \"{}\" \"$@\"\n",
        dir.display(),
        real.display()
    );
    std::fs::write(&spy, script).unwrap();
    std::fs::set_permissions(&spy, std::fs::Permissions::from_mode(0o755)).unwrap();
    spy
}

/// `program` on PATH.
fn on_path(program: &str) -> std::path::PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("{program} is not on PATH"))
}

#[tokio::test]
async fn secrets_in_our_environment_never_reach_ffmpeg_or_kubo() {
    let world = World::with_nodes(1).await;
    let spies = world.dir.path().join("spies");
    let ffmpeg = environment_spy(&spies, "ffmpeg", &on_path("ffmpeg"));
    let ffprobe = environment_spy(&spies, "ffprobe", &on_path("ffprobe"));
    let kubo = environment_spy(&spies, "kubo", &tank_testkit::kubo_standin());
    world.write_config(&format!(
        "[local_node]\nenabled = true\nbinary = {kubo:?}\napi_port = {}\ngateway_port = {}\nswarm_port = {}\n",
        tank_testkit::free_port(),
        tank_testkit::free_port(),
        tank_testkit::free_port()
    ));
    world.edit_config(
        "[encoding]\n",
        &format!("[encoding]\nffmpeg = {ffmpeg:?}\nffprobe = {ffprobe:?}\n"),
    );
    let environment = [
        ("DIRECT_API_KEY", "direct-api-key-value"),
        ("ENCODER_PRIVATE_KEY", "encoder-private-key-value"),
        ("TANK_SECRET_NODE_PINATA", "pinata-token-value"),
        ("TANK_TEST_NOT_A_SECRET", "visible"),
    ];
    let run = |args: &[&str]| {
        let mut command = world.tank_command(args);
        command.envs(environment);
        command
    };

    let started = run(&["node", "start"]).output().await.unwrap();
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let clip = world.short_clip();
    let encoded = run(&["encode", clip.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    let stopped = run(&["node", "stop"]).output().await.unwrap();
    assert!(
        encoded.status.success(),
        "{}",
        String::from_utf8_lossy(&encoded.stderr)
    );
    assert!(stopped.status.success());

    let mut seen = std::collections::BTreeSet::new();
    for dump in std::fs::read_dir(spies.join("env")).unwrap() {
        let dump = dump.unwrap().path();
        let text = std::fs::read_to_string(&dump).unwrap();
        let program = dump.file_stem().unwrap().to_string_lossy().into_owned();
        assert!(
            text.contains("TANK_TEST_NOT_A_SECRET=visible"),
            "{program} gets the rest of the environment"
        );
        for (name, value) in &environment[..3] {
            assert!(
                !text.contains(name) && !text.contains(value),
                "{program} was given {name}"
            );
        }
        seen.insert(program);
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        ["ffmpeg", "ffprobe", "kubo"],
        "every kind of child process was watched"
    );
}

/// A TCP forwarder to `target` on a port of its own: one node behind a
/// second address, as a reverse proxy or a second DNS name gives it.
async fn forwarder(target: std::net::SocketAddr) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn one_node_behind_two_addresses_is_one_replica_not_two() {
    let world = World::with_nodes(2).await;
    let supernode = &world.node("supernode").api;
    let target = format!("127.0.0.1:{}", supernode.port().unwrap());
    let alias = forwarder(target.parse().unwrap()).await;
    // The alias is tried before backup-1 (tier 1 against tier 2).
    world.write_config(&format!(
        "[[nodes]]\nname = \"supernode-alias\"\napi = \"http://127.0.0.1:{alias}\"\ntier = 1\n"
    ));
    world.edit_config("[pinning]\n", "[pinning]\nquorum = 2\n");
    world.edit_config("name = \"backup-1\"", "name = \"backup-1\"\ntier = 2");

    let (code, report) = world.encode(&world.short_clip()).await;

    assert_eq!(code, 0, "{report:#}");
    let mut replicas = common::replica_nodes(&report);
    replicas.sort();
    assert_eq!(
        replicas,
        ["backup-1", "supernode"],
        "two distinct IPFS peers"
    );
    let skipped = common::attempts_of(&report, "supernode-alias", "pin");
    assert!(
        skipped.iter().any(|(_, ok, error)| !ok
            && error.starts_with("supernode-alias is the same IPFS node as supernode (peer ")),
        "{skipped:?}"
    );
}

#[tokio::test]
async fn ffmpeg_killed_mid_encode_is_retried_and_the_job_ends_done() {
    use std::os::unix::fs::PermissionsExt;
    let world = World::with_nodes(1).await;
    // The first FFmpeg run is killed with SIGKILL half a second in, as the
    // OOM killer or a user would; later runs are left alone.
    let ffmpeg = world.dir.path().join("ffmpeg-killed-once");
    let marker = world.dir.path().join("killed-once");
    std::fs::write(
        &ffmpeg,
        format!(
            "#!/bin/sh\nif [ ! -e {marker:?} ]; then\n  touch {marker:?}\n  (sleep 0.5; kill -9 $$) &\nfi\nexec {:?} \"$@\"\n",
            on_path("ffmpeg")
        ),
    )
    .unwrap();
    std::fs::set_permissions(&ffmpeg, std::fs::Permissions::from_mode(0o755)).unwrap();
    world.edit_config("retries = 0\n", "retries = 2\nretry_backoff = [\"1s\"]\n");
    world.edit_config(
        "[encoding]\n",
        &format!("[encoding]\nffmpeg = {ffmpeg:?}\n"),
    );
    let clip = world.clip("long.mp4", tank_testkit::clip::Clip::new(1280, 720, 12.0));

    let (code, report) = world.encode(&clip).await;

    assert!(marker.exists(), "the first run was killed");
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["state"], "done");
    let retried = common::attempts_of(&report, "this encoder", "encoding");
    assert_eq!(retried.len(), 1, "{retried:?}");
    assert!(
        retried[0].2.starts_with(
            "FFmpeg (libx264) was killed by signal 9 before it finished (trying again in "
        ),
        "{retried:?}"
    );
}

#[tokio::test]
async fn two_nodes_down_for_90_seconds_during_upload_cost_the_job_nothing() {
    let world = World::with_nodes(2).await;
    world.edit_config("retries = 0\n", "retries = 10\nretry_backoff = [\"15s\"]\n");
    for node in &world.nodes {
        node.refuse_connections().await;
    }
    let clip = world.short_clip();
    let args = ["encode", clip.to_str().unwrap(), "--json"];
    let encode = world.tank(&args);
    let outage = async {
        tokio::time::sleep(Duration::from_secs(90)).await;
        for node in &world.nodes {
            node.accept_connections().await;
        }
    };

    let (run, ()) = tokio::join!(encode, outage);

    let report = run.json();
    assert_eq!(run.code, 0, "{report:#}");
    assert_eq!(report["state"], "done");
    assert_eq!(common::replica_nodes(&report).len(), 2);
    let retried = common::attempts_of(&report, "this encoder", "uploading");
    assert!(
        retried.len() >= 5,
        "the upload waited out the outage: {retried:?}"
    );
}

/// Folders named `source` under the data dir's job folders.
fn source_folders(world: &World) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(world.data_dir().join("jobs"))
        .unwrap()
        .map(|job| job.unwrap().path().join("source"))
        .filter(|source| source.is_dir())
        .collect()
}

#[tokio::test]
async fn a_downloaded_source_does_not_stay_on_disk_after_its_encode() {
    let world = World::with_nodes(1).await;
    let site = world.dir.path().join("site");
    std::fs::create_dir(&site).unwrap();
    world.clip(
        "site/talk.mp4",
        tank_testkit::clip::Clip::new(640, 360, 2.0),
    );
    let server = FileServer::serve(site.clone()).await;
    let url = server.url("talk.mp4").to_string();

    let (code, report) = encode_within(&world, &url, Duration::from_secs(60)).await;
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(source_folders(&world), Vec::<std::path::PathBuf>::new());
    assert!(site.join("talk.mp4").is_file());

    world.write_config("[jobs]\nkeep_source = true\n");
    let (code, report) = encode_within(&world, &url, Duration::from_secs(60)).await;
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(source_folders(&world).len(), 1, "kept when asked");
}

#[tokio::test]
async fn an_error_body_that_never_ends_costs_one_timeout_not_the_job() {
    let world = World::with_nodes(2).await;
    // Every `add` on the primary answers 500 and then trickles its error
    // body, a byte every 0.2 s, for an hour.
    world
        .node("supernode")
        .fault(serde_json::json!({"op": "add", "action": "trickle"}))
        .await;

    let clip = world.short_clip();
    let (code, report) =
        encode_within(&world, clip.to_str().unwrap(), Duration::from_secs(60)).await;

    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["state"], "done");
    let primary = common::attempts_of(&report, "supernode", "add");
    assert!(
        !primary.is_empty()
            && primary
                .iter()
                .all(|(_, ok, error)| !ok && error.len() < 400),
        "the trickled body was cut short: {primary:?}"
    );
    let backup = common::attempts_of(&report, "backup-1", "add");
    assert!(backup.iter().any(|(_, ok, _)| *ok), "{backup:?}");
}

#[tokio::test]
async fn a_second_runner_on_one_data_dir_is_refused_and_each_video_is_encoded_once() {
    let world = World::with_nodes(1).await;
    let incoming = world.dir.path().join("incoming");
    std::fs::create_dir(&incoming).unwrap();
    world.write_config(&format!(
        "[watch]\nfolders = [{:?}]\nsettle = \"1s\"\n",
        incoming.to_str().unwrap()
    ));
    let mut first = world.start_daemon_in(&world.data_dir(), &[], "first");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !world.log("first").contains("daemon running") {
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            world.log("first")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let second = tokio::time::timeout(
        Duration::from_secs(30),
        world.tank_command(&["daemon"]).output(),
    )
    .await
    .expect("the second daemon exits at once")
    .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "already runs in pid {} (tank)",
            first.id().unwrap()
        )),
        "it names the runner: {stderr}"
    );

    for name in ["a.mp4", "b.mp4", "c.mp4"] {
        world.clip(
            &format!("incoming/{name}"),
            tank_testkit::clip::Clip::new(320, 240, 2.0),
        );
    }
    for id in 1..=3 {
        world
            .wait_for_job(id, "done", |job| job["state"] == "done")
            .await;
    }
    assert_eq!(common::stop_gracefully(&mut first).await, 0);
    let jobs = world.tank(&["jobs", "--json"]).await.json();
    assert_eq!(jobs.as_array().unwrap().len(), 3, "{jobs:#}");
    for id in 1..=3 {
        let report = world.tank(&["job", &id.to_string(), "--json"]).await.json();
        let uploads = common::attempts_of(&report, "supernode", "add");
        assert_eq!(uploads.len(), 1, "job {id} was uploaded once: {uploads:?}");
    }
}

/// A tmpfs of its own, unmounted when dropped (the tests run as root).
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(at: std::path::PathBuf, size: &str) -> SmallDisk {
        std::fs::create_dir_all(&at).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&at)
            .status()
            .unwrap();
        assert!(mounted.success(), "this test mounts a tmpfs: it needs root");
        SmallDisk(at)
    }

    fn grow(&self, size: &str) {
        let grown = std::process::Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(grown.success());
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// `tank encode` of a 30 s 720p clip (about 16 MB of HLS) on a data dir on
/// a 16 MiB tmpfs; the config gets `jobs` keys first. Answers the disk,
/// the data dir and the report.
async fn encode_on_a_small_disk(
    world: &World,
    jobs: &str,
) -> (SmallDisk, std::path::PathBuf, i32, Value) {
    let disk = SmallDisk::mount(world.dir.path().join("small-disk"), "16m");
    let data_dir = disk.0.join("data");
    world.edit_config("retries = 0\n", &format!("retries = 0\n{jobs}"));
    let clip = world.clip("long.mp4", tank_testkit::clip::Clip::new(1280, 720, 30.0));
    let output = world
        .tank_command_in(&data_dir, &["encode", clip.to_str().unwrap(), "--json"])
        .output()
        .await
        .unwrap();
    let run = common::Run::from(output);
    (disk, data_dir, run.code, run.json())
}

/// The job's error starts with `what` and names the disk holding
/// `data_dir` and its free space.
fn assert_names_the_disk(report: &Value, what: &str, data_dir: &Path) {
    let error = report["error"].as_str().unwrap();
    assert!(
        error.starts_with(what)
            && error.contains(&format!("the disk holding {}", data_dir.display()))
            && error.contains("MiB free"),
        "{error}"
    );
}

/// The job failed retryable, kept nothing of its output, and
/// `tank retry` finishes it once the disk has grown.
async fn retry_after_the_disk_grows(
    world: &World,
    disk: &SmallDisk,
    data_dir: &Path,
    report: &Value,
) {
    assert_eq!(report["state"], "failed", "{report:#}");
    assert_eq!(report["retryable"], true, "a full disk is not bad input");
    assert!(
        !data_dir.join("jobs/1/hls").exists(),
        "no partial output is left"
    );
    disk.grow("256m");
    let output = world
        .tank_command_in(data_dir, &["retry", "1", "--json"])
        .output()
        .await
        .unwrap();
    let retried = common::Run::from(output);
    let report = retried.json();
    assert_eq!(retried.code, 0, "{report:#}");
    assert_eq!(report["state"], "done");
    assert!(
        world
            .node("supernode")
            .has_pin(report["cid"].as_str().unwrap())
            .await
    );
}

#[tokio::test]
async fn a_data_dir_too_small_for_the_encode_is_said_before_encoding_and_retry_finishes_once_it_grows(
) {
    let world = World::with_nodes(1).await;
    let (disk, data_dir, code, report) = encode_on_a_small_disk(&world, "").await;

    assert_eq!(code, 1, "{report:#}");
    assert_names_the_disk(
        &report,
        "not enough disk space for the encode: it needs about ",
        &data_dir,
    );
    retry_after_the_disk_grows(&world, &disk, &data_dir, &report).await;
}

#[tokio::test]
async fn a_disk_that_fills_during_the_encode_fails_the_job_retryable_never_half_encoded() {
    let world = World::with_nodes(1).await;
    // Without the estimate, FFmpeg runs into the full disk itself: its HLS
    // muxer says nothing and exits 0 with empty playlists.
    let (disk, data_dir, code, report) =
        encode_on_a_small_disk(&world, "free_space_check = false\n").await;

    assert_eq!(code, 1, "{report:#}");
    assert_names_the_disk(&report, "the disk is full: ", &data_dir);
    retry_after_the_disk_grows(&world, &disk, &data_dir, &report).await;
}

#[tokio::test]
async fn files_a_file_manager_adds_to_the_hls_folder_are_never_published() {
    let world = World::with_nodes(2).await;
    // The upload to the primary is held 1.5 s, long enough for Finder to
    // write its .DS_Store into the folder the operator just opened.
    world
        .node("supernode")
        .fault(serde_json::json!({"op": "add", "action": "delay", "seconds": 1.5}))
        .await;
    let clip = world.short_clip();
    let args = ["encode", clip.to_str().unwrap(), "--json"];
    let encode = world.tank(&args);
    let hls = world.data_dir().join("jobs/1/hls");
    let stray = async {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !hls.join("manifest.m3u8").exists() {
            assert!(std::time::Instant::now() < deadline, "no HLS folder");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        std::fs::write(hls.join(".DS_Store"), b"\0\0\0\x01Bud1").unwrap();
        std::fs::write(hls.join("720p/notes.txt"), b"looks good").unwrap();
    };

    let (run, ()) = tokio::join!(encode, stray);

    let report = run.json();
    assert_eq!(run.code, 0, "{report:#}");
    assert_eq!(report["state"], "done");
    let cid = report["cid"].as_str().unwrap();
    let node = world.node("supernode");
    assert!(node.cat(&format!("{cid}/manifest.m3u8")).await.is_ok());
    for stray in [".DS_Store", "720p/notes.txt"] {
        assert!(
            node.cat(&format!("{cid}/{stray}")).await.is_err(),
            "{stray} was published"
        );
    }
    assert!(
        hls.join(".DS_Store").exists(),
        "the operator's file is left alone"
    );
}

#[tokio::test]
async fn a_segment_truncated_before_the_upload_is_encoded_again_once_and_the_job_ends_done() {
    let world = World::with_nodes(1).await;
    // The first add fails, so the job waits 3 s (`awaiting_retry`) before
    // it uploads again: long enough to truncate a segment, as a power cut
    // or a careless script would.
    world
        .node("supernode")
        .fault(serde_json::json!({"op": "add", "action": "fail", "count": 1, "message": "busy"}))
        .await;
    world.edit_config("retries = 0\n", "retries = 1\nretry_backoff = [\"3s\"]\n");
    let clip = world.short_clip();
    let args = ["encode", clip.to_str().unwrap(), "--json"];
    let encode = world.tank(&args);
    let segment = world.data_dir().join("jobs/1/hls/720p/720p_0.ts");
    let damage = async {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        // Until job 1 exists and waits to upload again.
        let waiting = || async {
            let run = world.tank(&["job", "1", "--json"]).await;
            serde_json::from_str::<Value>(&run.stdout).is_ok_and(|r| r["state"] == "awaiting_retry")
        };
        while !waiting().await {
            assert!(
                std::time::Instant::now() < deadline,
                "never waiting to upload again"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&segment)
            .unwrap();
        file.set_len(1000).unwrap();
    };

    let (run, ()) = tokio::join!(encode, damage);

    let report = run.json();
    assert_eq!(run.code, 0, "{report:#}");
    assert_eq!(report["state"], "done");
    let history = report["history"].as_array().unwrap();
    let encodes = history.iter().filter(|h| h["state"] == "encoding").count();
    assert_eq!(encodes, 2, "encoded once more: {history:#?}");
    assert!(
        history.iter().any(|h| h["detail"]
            .as_str()
            .is_some_and(|d| d.contains("720p/720p_0.ts is 1000 bytes"))),
        "the job's log says why: {history:#?}"
    );
    let cid = report["cid"].as_str().unwrap();
    let published = world
        .node("supernode")
        .cat(&format!("{cid}/720p/720p_0.ts"))
        .await
        .unwrap();
    assert_eq!(
        published.len() as u64,
        std::fs::metadata(&segment).unwrap().len()
    );
    assert!(published.len() > 1000, "the segment was made again");
}

/// Polls `tank job <id> --json` until `done(report)` (60 s at most).
async fn wait_for_job(world: &World, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let report = world.tank(&["job", id, "--json"]).await.json();
        if done(&report) {
            return report;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what} never happened: {report:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_failed_jobs_folder_is_deleted_after_keep_failed_for_and_its_retry_starts_over() {
    let world = World::with_nodes(1).await;
    world.edit_config("retries = 0\n", "retries = 0\nkeep_failed_for = \"2s\"\n");
    world.node("supernode").refuse_connections().await;
    let clip = world.short_clip();
    let (code, failed) = world.encode(&clip).await;
    assert_eq!(
        (code, &failed["state"]),
        (1, &Value::from("failed")),
        "{failed:#}"
    );
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.starts_with("no node could take the upload"),
        "{error}"
    );
    let hls = world.data_dir().join("jobs/1/hls");
    assert!(
        hls.join("manifest.m3u8").exists(),
        "the encode is kept at first"
    );

    let mut daemon = world.start_daemon();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while hls.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the folder was never deleted"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    world.node("supernode").accept_connections().await;
    let retry = world.tank(&["retry", "1"]).await;
    assert_eq!(retry.code, 0, "{}", retry.stderr);
    let done = wait_for_job(&world, "1", "the retried job ending", |r| {
        r["state"] == "done" || r["state"] == "failed"
    })
    .await;
    daemon.kill().await.unwrap();

    assert_eq!(done["state"], "done", "{done:#}");
    let states: Vec<&str> = done["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["state"].as_str().unwrap())
        .collect();
    let retried = states.iter().rposition(|s| *s == "failed").unwrap();
    assert_eq!(
        states[retried + 1..],
        [
            "queued",
            "probing",
            "encoding",
            "uploading",
            "pinning",
            "verifying",
            "done"
        ],
        "started over from its input: {states:?}"
    );
}
