//! The ladder encode against real FFmpeg.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use tank_media::{
    default_ladder, encode_ladder, plan, probe, CodecChoice, EncodeError, EncodeProgress, Encoded,
    LadderJob, PlannedRung, SourceInfo, Tools, VideoEncoder,
};
use tank_testkit::clip::Clip;

/// What an encode of a source needs from its probe.
struct Planned {
    info: SourceInfo,
    rungs: Vec<PlannedRung>,
}

impl Planned {
    fn of(tools: &Tools, source: &Path) -> Planned {
        let info = probe(tools, source).unwrap();
        let rungs = plan(&default_ladder(), &info.video);
        Planned { info, rungs }
    }
}

/// The fast settings these tests encode with (a test changes what it is
/// about), writing to `out`.
fn fast_job<'a>(
    tools: &'a Tools,
    source: &'a Path,
    planned: &'a Planned,
    out: &'a Path,
) -> LadderJob<'a> {
    LadderJob {
        tools,
        source,
        info: &planned.info,
        rungs: &planned.rungs,
        output_dir: out,
        preset: "ultrafast",
        downscaled_preset: "ultrafast",
        crf: 18,
        segment_secs: 2,
        max_secs: None,
        max_fps: None,
        silent_audio: false,
    }
}

fn encode(
    tools: &Tools,
    source: &Path,
    out: &Path,
    codec: CodecChoice,
) -> (Result<Encoded, EncodeError>, Vec<EncodeProgress>) {
    let planned = Planned::of(tools, source);
    let job = fast_job(tools, source, &planned, out);
    let mut progress = Vec::new();
    let result = encode_ladder(&job, codec, &AtomicBool::new(false), &mut |p| {
        progress.push(p)
    });
    (result, progress)
}

fn names(encoded: &Encoded) -> Vec<(String, u32, u32)> {
    encoded
        .renditions
        .iter()
        .map(|r| (r.name.clone(), r.width, r.height))
        .collect()
}

fn ffprobe_field(file: &Path, stream: &str, field: &str) -> String {
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            stream,
            "-show_entries",
            &format!("stream={field}"),
            "-of",
            "csv=p=0",
        ])
        .arg(file)
        .output()
        .unwrap();
    // MPEG-TS lists each stream twice (again under its program).
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines().next().unwrap_or("").trim().to_owned()
}

#[test]
fn a_720p_source_becomes_720p_and_480p_in_the_layout_players_know() {
    let tools = Tools::discover();
    let dir = tempfile::tempdir().unwrap();
    let source = Clip::new(1280, 720, 5.0).write(dir.path(), "source.mp4");
    let out = dir.path().join("hls");

    let (result, progress) = encode(
        &tools,
        &source,
        &out,
        CodecChoice::Fixed(VideoEncoder::Libx264),
    );
    let encoded = result.unwrap();

    assert_eq!(
        names(&encoded),
        [("720p".into(), 1280, 720), ("480p".into(), 854, 480)]
    );
    assert_eq!(encoded.encoder, VideoEncoder::Libx264);
    let master = std::fs::read_to_string(out.join("manifest.m3u8")).unwrap();
    assert!(master.contains("RESOLUTION=1280x720"), "{master}");
    assert!(master.contains("RESOLUTION=854x480"), "{master}");
    assert!(!master.contains("1080p"));
    let mut top: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    top.sort();
    assert_eq!(top, ["480p", "720p", "manifest.m3u8"]);
    for rung in ["720p", "480p"] {
        let playlist = std::fs::read_to_string(out.join(rung).join("index.m3u8")).unwrap();
        assert!(playlist.contains(&format!("{rung}_0.ts")), "{playlist}");
        assert!(playlist.contains("#EXT-X-ENDLIST"));
        let first = out.join(rung).join(format!("{rung}_0.ts"));
        assert_eq!(ffprobe_field(&first, "a:0", "sample_rate"), "48000");
        assert_eq!(ffprobe_field(&first, "v:0", "codec_name"), "h264");
    }
    let last = progress.last().expect("progress was reported");
    assert!(last.percent.unwrap() > 90.0, "{last:?}");
    assert!(progress.iter().all(|p| p.percent.unwrap() <= 100.0));
}

#[test]
fn a_portrait_source_without_audio_keeps_its_shape() {
    let tools = Tools::discover();
    let dir = tempfile::tempdir().unwrap();
    let source = Clip::new(720, 1280, 3.0)
        .without_audio()
        .write(dir.path(), "vertical.mp4");

    let (result, _) = encode(
        &tools,
        &source,
        &dir.path().join("hls"),
        CodecChoice::Fixed(VideoEncoder::Libx264),
    );

    assert_eq!(
        names(&result.unwrap()),
        [("720p".into(), 720, 1280), ("480p".into(), 480, 854)]
    );
    let segment = dir.path().join("hls/480p/480p_0.ts");
    assert_eq!(ffprobe_field(&segment, "a", "codec_name"), "");
}

#[test]
fn a_source_smaller_than_every_rung_is_kept_at_its_size() {
    let tools = Tools::discover();
    let dir = tempfile::tempdir().unwrap();
    let source = Clip::new(426, 240, 2.0).write(dir.path(), "tiny.mp4");

    let (result, _) = encode(
        &tools,
        &source,
        &dir.path().join("hls"),
        CodecChoice::Fixed(VideoEncoder::Libx264),
    );

    assert_eq!(names(&result.unwrap()), [("240p".into(), 426, 240)]);
}

#[test]
fn a_hardware_encoder_that_fails_mid_job_falls_back_to_libx264() {
    // An ffmpeg in front of the real one that lets the NVENC probe pass, as a
    // GPU with a broken driver would; the real encode then fails to open it.
    let dir = tempfile::tempdir().unwrap();
    let wrapper = dir.path().join("ffmpeg");
    std::fs::write(
        &wrapper,
        "#!/bin/sh\ncase \"$*\" in *h264_nvenc*\" -f null -\"*) exit 0;; esac\nexec ffmpeg \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let tools = Tools {
        ffmpeg: wrapper,
        ..Tools::discover()
    };
    let source = Clip::new(854, 480, 2.0).write(dir.path(), "source.mp4");
    assert_eq!(CodecChoice::Auto.resolve(&tools), VideoEncoder::H264Nvenc);

    let (result, _) = encode(&tools, &source, &dir.path().join("hls"), CodecChoice::Auto);

    let encoded = result.unwrap();
    assert_eq!(encoded.encoder, VideoEncoder::Libx264);
    assert!(encoded
        .fallback_reason
        .as_deref()
        .unwrap()
        .contains("h264_nvenc"));
    assert_eq!(names(&encoded), [("480p".into(), 854, 480)]);
}

#[test]
fn a_fixed_hardware_encoder_that_fails_is_an_error_not_a_silent_switch() {
    if Path::new("/dev/nvidia0").exists() {
        return; // this machine may really have NVENC
    }
    let tools = Tools::discover();
    let dir = tempfile::tempdir().unwrap();
    let source = Clip::new(854, 480, 1.0).write(dir.path(), "source.mp4");

    let (result, _) = encode(
        &tools,
        &source,
        &dir.path().join("hls"),
        CodecChoice::Fixed(VideoEncoder::H264Nvenc),
    );

    let err = result.unwrap_err();
    assert!(
        matches!(
            err,
            EncodeError::Ffmpeg {
                encoder: "h264_nvenc",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn auto_picks_libx264_where_no_hardware_encoder_opens() {
    if Path::new("/dev/nvidia0").exists() || Path::new("/dev/dri").exists() {
        return; // a GPU may be usable here
    }
    let tools = Tools::discover();
    for encoder in tank_media::HARDWARE_ENCODERS {
        assert!(!encoder.works(&tools), "{encoder:?} opened without a GPU");
    }
    assert_eq!(CodecChoice::Auto.resolve(&tools), VideoEncoder::Libx264);
}

#[test]
fn a_cancelled_encode_stops_and_says_so() {
    let tools = Tools::discover();
    let dir = tempfile::tempdir().unwrap();
    let source = Clip::new(1280, 720, 20.0).write(dir.path(), "long.mp4");
    let planned = Planned::of(&tools, &source);
    let out = dir.path().join("hls");
    let job = LadderJob {
        preset: "medium",
        downscaled_preset: "medium",
        segment_secs: 6,
        ..fast_job(&tools, &source, &planned, &out)
    };
    let cancel = AtomicBool::new(false);

    let result = tank_media::encode_with(&job, VideoEncoder::Libx264, &cancel, &mut |_| {
        cancel.store(true, Ordering::Relaxed)
    });

    assert!(matches!(result, Err(EncodeError::Cancelled)), "{result:?}");
}

#[test]
fn a_cut_encode_stops_at_its_limit_and_its_playlists_say_so() {
    let tools = Tools::discover();
    let dir = tempfile::tempdir().unwrap();
    let source = Clip::new(854, 480, 6.0).write(dir.path(), "six.mp4");
    let planned = Planned::of(&tools, &source);
    let out = dir.path().join("hls");
    let job = LadderJob {
        max_secs: Some(2),
        ..fast_job(&tools, &source, &planned, &out)
    };

    let mut last: Option<EncodeProgress> = None;
    let encoded = encode_ladder(
        &job,
        CodecChoice::Fixed(VideoEncoder::Libx264),
        &AtomicBool::new(false),
        &mut |p| last = Some(p),
    )
    .unwrap();

    assert_eq!(names(&encoded)[0].0, "480p");
    let playlist = std::fs::read_to_string(out.join("480p/index.m3u8")).unwrap();
    let seconds: f64 = playlist
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .map(|d| d.trim_end_matches(',').parse::<f64>().unwrap())
        .sum();
    assert!(
        (1.9..=2.2).contains(&seconds),
        "{seconds} s of a 6 s source cut at 2 s:\n{playlist}"
    );
    let percent = last.and_then(|p| p.percent).unwrap_or(0.0);
    assert!(
        percent > 50.0,
        "progress is measured against the cut, got {percent}%"
    );
}

#[test]
fn a_silent_60_fps_source_gets_a_silent_track_and_30_fps_when_the_rules_say_so() {
    let tools = Tools::discover();
    let dir = tempfile::tempdir().unwrap();
    let clip = Clip {
        fps: 60,
        ..Clip::new(854, 480, 2.0).without_audio()
    };
    let source = clip.write(dir.path(), "silent60.mp4");
    let planned = Planned::of(&tools, &source);
    let out = dir.path().join("hls");
    let job = LadderJob {
        max_fps: Some(30),
        silent_audio: true,
        ..fast_job(&tools, &source, &planned, &out)
    };

    encode_ladder(
        &job,
        CodecChoice::Fixed(VideoEncoder::Libx264),
        &AtomicBool::new(false),
        &mut |_| {},
    )
    .unwrap();

    let segment = out.join("480p/480p_0.ts");
    assert_eq!(
        ffprobe_field(&segment, "a:0", "codec_name"),
        "aac",
        "a silent track was added"
    );
    assert_eq!(ffprobe_field(&segment, "v:0", "avg_frame_rate"), "30/1");
}

#[test]
fn a_slower_source_keeps_its_frame_rate_under_the_cap() {
    let tools = Tools::discover();
    let dir = tempfile::tempdir().unwrap();
    let source = Clip::new(854, 480, 2.0).write(dir.path(), "film.mp4");
    let planned = Planned::of(&tools, &source);
    let out = dir.path().join("hls");
    let job = LadderJob {
        max_fps: Some(30),
        silent_audio: true,
        ..fast_job(&tools, &source, &planned, &out)
    };
    let args = tank_media::ffmpeg_args(&job, VideoEncoder::Libx264).join(" ");
    assert!(!args.contains("fps="), "24 fps is not raised to 30: {args}");
    assert!(
        !args.contains("anullsrc"),
        "a source with sound keeps its own: {args}"
    );
}
