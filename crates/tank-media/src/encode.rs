//! The ladder in one FFmpeg process: the source is decoded once, split, and
//! every rung is scaled and encoded from the same frames
//! (`-filter_complex split` + `-var_stream_map`).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use ffmpeg_sidecar::command::FfmpegCommand;
use ffmpeg_sidecar::event::{FfmpegEvent, LogLevel};
use serde::{Deserialize, Serialize};

use crate::codec::{CodecChoice, VideoEncoder};
use crate::ladder::PlannedRung;
use crate::playlist::{self, FFMPEG_SEGMENT_PREFIX, MASTER_PLAYLIST, MEDIA_PLAYLIST};
use crate::probe::SourceInfo;
use crate::Tools;

/// How many of FFmpeg's last error lines an error message keeps.
const ERROR_LINES_KEPT: usize = 5;
/// Seconds between forced keyframes: divides the segment length, so every
/// segment starts on a keyframe and players can switch rungs cleanly.
const KEYFRAME_SECS: u32 = 2;
/// swscale's algorithm for every rung (rungs only ever scale down). The
/// `settings` benchmark found no faster one worth its loss: from 1080p to
/// 480p, `area` and `bilinear` saved at most 2 % of the time and cost
/// 0.0015 to 0.004 of SSIM, so it stays FFmpeg's default, `bicubic`.
const SCALER: &str = "bicubic";

/// Everything one encode needs.
#[derive(Debug, Clone)]
pub struct LadderJob<'a> {
    pub tools: &'a Tools,
    pub source: &'a Path,
    pub info: &'a SourceInfo,
    pub rungs: &'a [PlannedRung],
    /// Created (or emptied) by the encode; holds only the HLS output.
    pub output_dir: &'a Path,
    /// x264 preset (`ultrafast` … `veryslow`).
    pub preset: &'a str,
    /// x264 preset for rungs at most half the source's size (a 1080p
    /// source's 480p): small enough to encode slower at little cost, and
    /// the detail a large downscale keeps is what a fast preset loses at
    /// the capped rate (measured: `benches/settings.rs`).
    pub downscaled_preset: &'a str,
    /// x264's constant rate factor, capped by each rung's maximum rate.
    /// Hardware encoders, which have no CRF of the same meaning, get each
    /// rung's average rate instead.
    pub crf: u8,
    pub segment_secs: u32,
    /// The output stops after this many seconds of the source (a short).
    pub max_secs: Option<u32>,
    /// Frames per second above this are dropped to it; a slower source
    /// keeps its own rate (no duplicated frames).
    pub max_fps: Option<u32>,
    /// A source without sound gets a silent AAC track, for players that
    /// expect one.
    pub silent_audio: bool,
}

impl LadderJob<'_> {
    /// How long the output is: the source's duration, cut to `max_secs`.
    fn duration(&self) -> Option<f64> {
        let source = self.info.duration_secs?;
        Some(
            self.max_secs
                .map_or(source, |max| source.min(f64::from(max))),
        )
    }
}

/// How far an encode has got.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EncodeProgress {
    /// Percent of the source duration encoded, when the duration is known.
    pub percent: Option<f64>,
    /// Frames encoded per second.
    pub fps: f32,
    /// Seconds of video encoded per second of wall time.
    pub speed: f32,
    /// Seconds of video encoded so far.
    pub encoded_secs: f64,
}

/// One rung as it came out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Rendition {
    pub name: String,
    pub width: u32,
    pub height: u32,
}

/// The result of a successful encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub renditions: Vec<Rendition>,
    /// The encoder that produced the output.
    pub encoder: VideoEncoder,
    /// Why a hardware encoder was abandoned for libx264, if it was.
    pub fallback_reason: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("FFmpeg ({encoder}) failed{}: {log}", exit_text(*.exit_code))]
    Ffmpeg {
        encoder: &'static str,
        exit_code: Option<i32>,
        log: String,
    },
    /// FFmpeg did not exit: something ended it from outside (the OOM
    /// killer, a user, a GPU driver's session limit). Not the source's fault.
    #[error("FFmpeg ({encoder}) was killed{} before it finished", signal_text(*.signal))]
    Killed {
        encoder: &'static str,
        signal: Option<i32>,
    },
    #[error("the encode was cancelled")]
    Cancelled,
    #[error("cannot run {tool}: {reason} (install FFmpeg, e.g. `apt-get install ffmpeg`)")]
    ToolMissing { tool: String, reason: String },
    #[error("the encoded HLS folder is not usable: {0}")]
    InvalidOutput(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl EncodeError {
    /// Whether the input itself is at fault, so that retrying cannot help:
    /// FFmpeg refused the source. A machine out of disk or memory, a
    /// missing tool, unusable output or IO trouble of our own are worth
    /// retrying.
    pub fn is_bad_input(&self) -> bool {
        match self {
            EncodeError::Ffmpeg { log, .. } => !RESOURCE_EXHAUSTED
                .iter()
                .any(|symptom| log.contains(symptom)),
            EncodeError::Killed { .. }
            | EncodeError::Cancelled
            | EncodeError::ToolMissing { .. }
            | EncodeError::InvalidOutput(_)
            | EncodeError::Io { .. } => false,
        }
    }
}

impl EncodeError {
    /// FFmpeg could not write its output: the disk is full.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, EncodeError::Ffmpeg { log, .. } if log.contains(NO_SPACE))
            || matches!(self, EncodeError::Io { source, .. } if source.kind() == std::io::ErrorKind::StorageFull)
    }
}

const NO_SPACE: &str = "No space left";

/// What FFmpeg logs when the machine, not the source, ran out of something.
const RESOURCE_EXHAUSTED: &[&str] = &[NO_SPACE, "Cannot allocate memory"];

fn signal_text(signal: Option<i32>) -> String {
    signal
        .map(|s| format!(" by signal {s}"))
        .unwrap_or_default()
}

/// The signal that ended a process, where the OS has signals.
fn signal_of(status: &std::process::ExitStatus) -> Option<i32> {
    #[cfg(unix)]
    {
        std::os::unix::process::ExitStatusExt::signal(status)
    }
    #[cfg(not(unix))]
    {
        let _ = status;
        None
    }
}

fn exit_text(code: Option<i32>) -> String {
    match code {
        Some(0) => " to write its output".into(),
        Some(c) => format!(" with exit code {c}"),
        None => String::new(),
    }
}

/// Encodes the ladder with the chosen encoder. With `auto`, a hardware
/// encoder that fails is abandoned and the whole ladder is encoded again
/// with libx264. Blocking; checks `cancel` between FFmpeg's progress reports.
pub fn encode_ladder(
    job: &LadderJob<'_>,
    codec: CodecChoice,
    cancel: &AtomicBool,
    on_progress: &mut dyn FnMut(EncodeProgress),
) -> Result<Encoded, EncodeError> {
    let encoder = codec.resolve(job.tools);
    match encode_with(job, encoder, cancel, on_progress) {
        Ok(renditions) => Ok(Encoded {
            renditions,
            encoder,
            fallback_reason: None,
        }),
        Err(err @ EncodeError::Ffmpeg { .. })
            if codec == CodecChoice::Auto && encoder.is_hardware() =>
        {
            tracing::warn!(%err, "hardware encoder failed; encoding again with libx264");
            let renditions = encode_with(job, VideoEncoder::Libx264, cancel, on_progress)?;
            Ok(Encoded {
                renditions,
                encoder: VideoEncoder::Libx264,
                fallback_reason: Some(err.to_string()),
            })
        }
        Err(err) => Err(err),
    }
}

/// One encode with one encoder: FFmpeg, then the output finished and checked.
pub fn encode_with(
    job: &LadderJob<'_>,
    encoder: VideoEncoder,
    cancel: &AtomicBool,
    on_progress: &mut dyn FnMut(EncodeProgress),
) -> Result<Vec<Rendition>, EncodeError> {
    fresh_dir(job.output_dir)?;
    run_ffmpeg(job, encoder, cancel, on_progress)?;
    playlist::adopt_segment_names(job.output_dir, job.rungs)?;
    let renditions = playlist::check_output(job.tools, job.output_dir, job.rungs, job.duration())?;
    // On disk before the encode is committed: a power cut after the move to
    // `uploading` must not leave playlists that name lost segments.
    playlist::sync_folder(job.output_dir)?;
    Ok(renditions)
}

fn run_ffmpeg(
    job: &LadderJob<'_>,
    encoder: VideoEncoder,
    cancel: &AtomicBool,
    on_progress: &mut dyn FnMut(EncodeProgress),
) -> Result<(), EncodeError> {
    let tool_missing = |e: &dyn std::fmt::Display| EncodeError::ToolMissing {
        tool: job.tools.ffmpeg.display().to_string(),
        reason: e.to_string(),
    };
    let mut command = FfmpegCommand::new_with_path(&job.tools.ffmpeg);
    command.args(ffmpeg_args(job, encoder));
    die_with_parent(command.as_inner_mut());
    job.tools.hide_env(command.as_inner_mut());
    let mut child = command.spawn().map_err(|e| tool_missing(&e))?;
    let mut errors: VecDeque<String> = VecDeque::with_capacity(ERROR_LINES_KEPT);
    for event in child.iter().map_err(|e| tool_missing(&e))? {
        if cancel.load(Ordering::Relaxed) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(EncodeError::Cancelled);
        }
        match event {
            FfmpegEvent::Progress(p) => on_progress(EncodeProgress {
                percent: percent_of(p.time.as_str(), job.duration()),
                fps: p.fps,
                speed: p.speed,
                encoded_secs: parse_clock(&p.time).unwrap_or(0.0),
            }),
            FfmpegEvent::Log(LogLevel::Error | LogLevel::Fatal, line)
            | FfmpegEvent::Error(line) => {
                if errors.len() == ERROR_LINES_KEPT {
                    errors.pop_front();
                }
                errors.push_back(line.trim().to_owned());
            }
            _ => {}
        }
    }
    let status = child.wait().map_err(|e| tool_missing(&e))?;
    // FFmpeg's HLS muxer logs a failed write and carries on, even to a
    // clean exit: a full disk must not pass for a finished encode.
    let wrote_everything = !errors.iter().any(|line| line.contains(NO_SPACE));
    if status.success() && wrote_everything {
        Ok(())
    } else if status.code().is_none() {
        // No exit code: a signal ended it. What it logged while dying
        // ("No streams found", a broken pipe) says nothing of the source.
        Err(EncodeError::Killed {
            encoder: encoder.ffmpeg_name(),
            signal: signal_of(&status),
        })
    } else {
        Err(EncodeError::Ffmpeg {
            encoder: encoder.ffmpeg_name(),
            exit_code: status.code(),
            log: if errors.is_empty() {
                "no error message".to_owned()
            } else {
                Vec::from(errors).join(" | ")
            },
        })
    }
}

/// FFmpeg's arguments for the whole ladder.
pub fn ffmpeg_args(job: &LadderJob<'_>, encoder: VideoEncoder) -> Vec<String> {
    let rungs = job.rungs;
    let silence = job.silent_audio && job.info.audio.is_none();
    let audio = job.info.audio.is_some() || silence;
    let mut args: Vec<String> = ["-hide_banner", "-nostdin", "-y"]
        .map(String::from)
        .to_vec();
    args.extend(encoder.global_args());
    args.push("-i".into());
    args.push(job.source.display().to_string());
    if silence {
        args.extend(
            [
                "-f",
                "lavfi",
                "-i",
                "anullsrc=channel_layout=stereo:sample_rate=48000",
            ]
            .map(String::from),
        );
    }
    let audio_input = if silence { "1:a:0" } else { "0:a:0" };
    let fps = match (job.max_fps, job.info.video.fps) {
        (Some(max), Some(source)) if source > f64::from(max) + 0.01 => format!("fps={max},"),
        _ => String::new(),
    };

    // Decode once (and drop frames once), split, scale each branch to its
    // exact size.
    let mut graph = format!("[0:v]{fps}split={}", rungs.len());
    for i in 0..rungs.len() {
        graph.push_str(&format!("[s{i}]"));
    }
    for (i, planned) in rungs.iter().enumerate() {
        graph.push_str(&format!(
            ";[s{i}]scale={}:{}:flags={SCALER},setsar=1,{}[v{i}]",
            planned.width,
            planned.height,
            encoder.output_filter()
        ));
    }
    args.extend(["-filter_complex".into(), graph]);
    for i in 0..rungs.len() {
        args.extend(["-map".into(), format!("[v{i}]")]);
    }
    if audio {
        for _ in rungs {
            args.extend(["-map".into(), audio_input.into()]);
        }
    }

    args.extend(encoder.codec_args(job.preset));
    let constant_quality = encoder == VideoEncoder::Libx264;
    if constant_quality {
        // After the preset for every rung, so it wins for these.
        let source = &job.info.video;
        for (i, planned) in rungs.iter().enumerate() {
            if 2 * planned.width.min(planned.height) <= source.width.min(source.height)
                && job.downscaled_preset != job.preset
            {
                args.extend([format!("-preset:v:{i}"), job.downscaled_preset.into()]);
            }
        }
        args.extend(["-crf".into(), job.crf.to_string()]);
    }
    for (i, planned) in rungs.iter().enumerate() {
        let rung = &planned.rung;
        if !constant_quality {
            args.extend([format!("-b:v:{i}"), format!("{}k", rung.video_kbps)]);
        }
        args.extend([
            format!("-maxrate:v:{i}"),
            format!("{}k", rung.max_video_kbps),
            format!("-bufsize:v:{i}"),
            format!("{}k", rung.max_video_kbps * 2),
        ]);
    }
    args.extend([
        "-force_key_frames".into(),
        format!("expr:gte(t,n_forced*{KEYFRAME_SECS})"),
    ]);
    if encoder == VideoEncoder::Libx264 {
        // Keyframes only where forced: segments of equal length.
        args.extend(["-sc_threshold".into(), "0".into()]);
    }
    if audio {
        args.extend(["-c:a", "aac", "-ar", "48000", "-ac", "2"].map(String::from));
        for (i, planned) in rungs.iter().enumerate() {
            args.extend([format!("-b:a:{i}"), format!("{}k", planned.rung.audio_kbps)]);
        }
    }

    let out = job.output_dir.display();
    let stream_map = rungs
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if audio {
                format!("v:{i},a:{i},name:{}", p.rung.name)
            } else {
                format!("v:{i},name:{}", p.rung.name)
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(max) = job.max_secs {
        args.extend(["-t".into(), max.to_string()]);
    }
    if silence {
        // The silence never ends: the video's end is the output's.
        args.push("-shortest".into());
    }
    args.extend([
        "-f".into(),
        "hls".into(),
        "-hls_time".into(),
        job.segment_secs.to_string(),
        "-hls_playlist_type".into(),
        "vod".into(),
        "-hls_flags".into(),
        "independent_segments".into(),
        "-hls_segment_type".into(),
        "mpegts".into(),
        "-hls_segment_filename".into(),
        format!("{out}/%v/{FFMPEG_SEGMENT_PREFIX}%d.ts"),
        "-master_pl_name".into(),
        MASTER_PLAYLIST.into(),
        "-var_stream_map".into(),
        stream_map,
        format!("{out}/%v/{MEDIA_PLAYLIST}"),
    ]);
    args
}

/// 3Speak's segment length for a video of `duration` seconds: 6 s up to
/// an hour, 15 s up to 4 h, 30 s up to 12 h, then 60 s, and long enough
/// that there are at most 2,000 segments.
pub fn adaptive_segment_secs(duration: f64) -> u32 {
    let hours = duration / 3600.0;
    let by_length = match hours {
        h if h <= 1.0 => 6,
        h if h <= 4.0 => 15,
        h if h <= 12.0 => 30,
        _ => 60,
    };
    by_length.max((duration / 2000.0).ceil() as u32)
}

/// If we are killed, FFmpeg must not live on writing into a folder the
/// resumed job is about to encode into again. Linux can tie a child's life
/// to its parent; elsewhere the resumed encode still starts from an emptied
/// folder.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches no memory of ours.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut std::process::Command) {}

fn fresh_dir(dir: &Path) -> Result<(), EncodeError> {
    let io = |source| EncodeError::Io {
        path: dir.to_owned(),
        source,
    };
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
        _ => {}
    }
    std::fs::create_dir_all(dir).map_err(io)
}

fn percent_of(clock: &str, duration: Option<f64>) -> Option<f64> {
    let done = parse_clock(clock)?;
    let total = duration?;
    Some((done / total * 100.0).clamp(0.0, 100.0))
}

/// FFmpeg's `time=` value, `HH:MM:SS.xx`, in seconds (negative at the very
/// start, `N/A` when unknown).
fn parse_clock(clock: &str) -> Option<f64> {
    let (negative, clock) = match clock.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, clock),
    };
    let mut secs = 0.0;
    for part in clock.split(':') {
        secs = secs * 60.0 + part.parse::<f64>().ok()?;
    }
    Some(if negative { 0.0 } else { secs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_source_ffmpeg_refuses_is_bad_input() {
        let ffmpeg = |log: &str| EncodeError::Ffmpeg {
            encoder: "libx264",
            exit_code: Some(1),
            log: log.into(),
        };
        assert!(ffmpeg("Invalid data found when processing input").is_bad_input());
        assert!(!ffmpeg("av_interleaved_write_frame(): No space left on device").is_bad_input());
        assert!(!ffmpeg("Cannot allocate memory").is_bad_input());
        let killed = EncodeError::Killed {
            encoder: "libx264",
            signal: Some(9),
        };
        assert!(!killed.is_bad_input());
        assert_eq!(
            killed.to_string(),
            "FFmpeg (libx264) was killed by signal 9 before it finished"
        );
        let missing = EncodeError::ToolMissing {
            tool: "ffmpeg".into(),
            reason: "not found".into(),
        };
        assert!(!missing.is_bad_input());
        assert!(!EncodeError::InvalidOutput("no playlist".into()).is_bad_input());
    }
    use crate::ladder::{default_ladder, plan};
    use crate::probe::{AudioInfo, VideoInfo};

    fn info(audio: bool) -> SourceInfo {
        SourceInfo {
            duration_secs: Some(10.0),
            video: VideoInfo {
                codec: "h264".into(),
                width: 1280,
                height: 720,
                fps: Some(30.0),
            },
            audio: audio.then(|| AudioInfo {
                codec: "aac".into(),
                channels: 2,
                sample_rate: 44100,
            }),
            container: "mov".into(),
        }
    }

    fn args_for(audio: bool) -> String {
        args_for_source(&info(audio))
    }

    /// FFmpeg's arguments for the default ladder of `info`, at `veryfast`
    /// (`faster` for rungs of half its size), crf 18.
    fn args_for_source(info: &SourceInfo) -> String {
        let tools = Tools::discover();
        let rungs = plan(&default_ladder(), &info.video);
        let job = LadderJob {
            tools: &tools,
            source: Path::new("/in/source.mp4"),
            info,
            rungs: &rungs,
            output_dir: Path::new("/out/hls"),
            preset: "veryfast",
            downscaled_preset: "faster",
            crf: 18,
            segment_secs: 6,
            max_secs: None,
            max_fps: None,
            silent_audio: false,
        };
        ffmpeg_args(&job, VideoEncoder::Libx264).join(" ")
    }

    #[test]
    fn the_source_is_decoded_once_and_split_per_rung() {
        let args = args_for(true);
        assert_eq!(args.matches("-i ").count(), 1);
        assert!(args.contains(
            "[0:v]split=2[s0][s1];[s0]scale=1280:720:flags=bicubic,setsar=1,format=yuv420p[v0];[s1]scale=854:480:flags=bicubic,setsar=1,format=yuv420p[v1]"
        ));
        assert!(args.contains("-var_stream_map v:0,a:0,name:720p v:1,a:1,name:480p"));
        assert!(
            args.contains("-crf 18 -maxrate:v:0 2996k -bufsize:v:0 5992k"),
            "x264 encodes at constant quality, capped per rung"
        );
        assert!(!args.contains("-b:v"));
        assert!(
            !args.contains("-preset:v:"),
            "720p to 480p is not downscaled far enough for another preset"
        );
        assert!(args.contains("-c:a aac -ar 48000 -ac 2 -b:a:0 128k -b:a:1 96k"));
        assert!(args.ends_with("-master_pl_name manifest.m3u8 -var_stream_map v:0,a:0,name:720p v:1,a:1,name:480p /out/hls/%v/index.m3u8"));
    }

    #[test]
    fn a_rung_at_most_half_the_source_gets_the_downscaled_preset() {
        let mut info = info(true);
        (info.video.width, info.video.height) = (1920, 1080);
        let args = args_for_source(&info);

        assert!(
            args.contains("-preset veryfast -profile:v high -preset:v:2 faster -crf 18"),
            "1080p and 720p at veryfast, 480p (of 1080p) at faster: {args}"
        );
        assert_eq!(args.matches("-preset:v:").count(), 1);
    }

    #[test]
    fn segments_grow_with_the_video_and_never_number_over_2000() {
        assert_eq!(adaptive_segment_secs(90.0), 6);
        assert_eq!(adaptive_segment_secs(3600.0), 6);
        assert_eq!(adaptive_segment_secs(2.0 * 3600.0), 15);
        assert_eq!(adaptive_segment_secs(10.0 * 3600.0), 30);
        assert_eq!(adaptive_segment_secs(30.0 * 3600.0), 60);
        assert_eq!(
            adaptive_segment_secs(48.0 * 3600.0),
            87,
            "48 h in at most 2,000 segments"
        );
    }

    #[test]
    fn a_silent_source_maps_no_audio() {
        let args = args_for(false);
        assert!(!args.contains("0:a"));
        assert!(args.contains("-var_stream_map v:0,name:720p v:1,name:480p"));
    }

    #[test]
    fn ffmpeg_clock_values_become_seconds() {
        assert_eq!(parse_clock("00:01:02.50"), Some(62.5));
        assert_eq!(parse_clock("-00:00:00.02"), Some(0.0));
        assert_eq!(parse_clock("N/A"), None);
        assert_eq!(percent_of("00:00:05.00", Some(10.0)), Some(50.0));
        assert_eq!(percent_of("00:00:05.00", None), None);
    }
}
