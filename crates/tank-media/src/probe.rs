//! What a source file is, from `ffprobe -of json`, and why it cannot be
//! encoded when it cannot.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Tools;

/// What the encoder needs to know about a source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// Seconds, when the container knows.
    pub duration_secs: Option<f64>,
    pub video: VideoInfo,
    pub audio: Option<AudioInfo>,
    /// ffprobe's container name, e.g. `mov,mp4,m4a,3gp,3g2,mj2`.
    pub container: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoInfo {
    pub codec: String,
    /// Display size: rotation applied, non-square pixels made square.
    pub width: u32,
    pub height: u32,
    pub fps: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioInfo {
    pub codec: String,
    pub channels: u32,
    pub sample_rate: u32,
}

/// Why a source cannot be encoded. Each names the file and the reason.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("input file {} does not exist", .0.display())]
    Missing(PathBuf),
    #[error("input {} is not a regular file", .0.display())]
    NotAFile(PathBuf),
    #[error("input file {} is empty (0 bytes)", .0.display())]
    Empty(PathBuf),
    #[error("cannot read input file {}: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error("input file {} is not a video FFmpeg can read: {reason}", path.display())]
    NotMedia { path: PathBuf, reason: String },
    #[error("input file {} has no video stream (streams found: {found})", path.display())]
    NoVideo { path: PathBuf, found: String },
    #[error("input file {} is a still image ({format}), not a video", path.display())]
    StillImage { path: PathBuf, format: String },
    #[error("input file {} lasts {seconds:.2} s; a video must last at least 1 s", path.display())]
    TooShort { path: PathBuf, seconds: f64 },
    #[error("cannot run {tool}: {reason} (install FFmpeg, e.g. `apt-get install ffmpeg`)")]
    ToolMissing { tool: String, reason: String },
}

impl ProbeError {
    /// Bad input stays bad however often it is retried; a missing tool does not.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, ProbeError::ToolMissing { .. })
    }
}

/// Probes `path` with ffprobe. Blocking.
pub fn probe(tools: &Tools, path: &Path) -> Result<SourceInfo, ProbeError> {
    check_readable_file(path)?;
    let output = tools
        .command(&tools.ffprobe)
        .args([
            "-v",
            "error",
            "-of",
            "json",
            "-show_format",
            "-show_streams",
        ])
        .arg(path)
        .output()
        .map_err(|e| ProbeError::ToolMissing {
            tool: tools.ffprobe.display().to_string(),
            reason: e.to_string(),
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(ProbeError::NotMedia {
            path: path.to_owned(),
            reason: last_line(&stderr)
                .unwrap_or("ffprobe failed without a message")
                .to_owned(),
        });
    }
    let report: ProbeReport =
        serde_json::from_slice(&output.stdout).map_err(|e| ProbeError::NotMedia {
            path: path.to_owned(),
            reason: format!("ffprobe's report could not be read: {e}"),
        })?;
    report.into_source_info(path)
}

fn check_readable_file(path: &Path) -> Result<(), ProbeError> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ProbeError::Missing(path.to_owned()),
        _ => ProbeError::Unreadable {
            path: path.to_owned(),
            reason: e.to_string(),
        },
    })?;
    if !meta.is_file() {
        return Err(ProbeError::NotAFile(path.to_owned()));
    }
    if meta.len() == 0 {
        return Err(ProbeError::Empty(path.to_owned()));
    }
    std::fs::File::open(path).map_err(|e| ProbeError::Unreadable {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(())
}

fn last_line(text: &str) -> Option<&str> {
    text.lines().map(str::trim).rfind(|l| !l.is_empty())
}

#[derive(Deserialize)]
struct ProbeReport {
    #[serde(default)]
    streams: Vec<ProbeStream>,
    format: Option<ProbeFormat>,
}

#[derive(Deserialize)]
struct ProbeFormat {
    format_name: Option<String>,
    duration: Option<String>,
}

#[derive(Deserialize)]
struct ProbeStream {
    codec_type: Option<String>,
    codec_name: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    sample_aspect_ratio: Option<String>,
    avg_frame_rate: Option<String>,
    r_frame_rate: Option<String>,
    duration: Option<String>,
    channels: Option<u32>,
    sample_rate: Option<String>,
    #[serde(default)]
    tags: std::collections::HashMap<String, String>,
    #[serde(default)]
    side_data_list: Vec<serde_json::Value>,
    #[serde(default)]
    disposition: std::collections::HashMap<String, u8>,
}

impl ProbeReport {
    fn into_source_info(self, path: &Path) -> Result<SourceInfo, ProbeError> {
        let kinds = |s: &ProbeStream| s.codec_type.clone().unwrap_or_else(|| "unknown".into());
        // Cover art is a one-frame "video" stream; it does not make a file a video.
        let video = self.streams.iter().find(|s| {
            s.codec_type.as_deref() == Some("video")
                && s.disposition.get("attached_pic").copied().unwrap_or(0) == 0
                && s.width.unwrap_or(0) > 0
                && s.height.unwrap_or(0) > 0
        });
        let Some(video) = video else {
            let found: Vec<String> = self.streams.iter().map(kinds).collect();
            return Err(ProbeError::NoVideo {
                path: path.to_owned(),
                found: if found.is_empty() {
                    "none".into()
                } else {
                    found.join(", ")
                },
            });
        };
        let audio = self
            .streams
            .iter()
            .find(|s| s.codec_type.as_deref() == Some("audio"))
            .map(|a| AudioInfo {
                codec: a.codec_name.clone().unwrap_or_default(),
                channels: a.channels.unwrap_or(0),
                sample_rate: a
                    .sample_rate
                    .as_deref()
                    .and_then(|r| r.parse().ok())
                    .unwrap_or(0),
            });
        let format = self.format.as_ref();
        let container = format
            .and_then(|f| f.format_name.clone())
            .unwrap_or_default();
        // FFmpeg reads a PNG or JPEG as a one-frame video through its image
        // demuxers (`png_pipe`, `image2`): encoded, it would be a 0.04 s clip.
        if container == "image2" || container.ends_with("_pipe") {
            return Err(ProbeError::StillImage {
                path: path.to_owned(),
                format: video.codec_name.clone().unwrap_or(container),
            });
        }
        let duration_secs = format
            .and_then(|f| f.duration.as_deref())
            .or(video.duration.as_deref())
            .and_then(|d| d.parse::<f64>().ok())
            .filter(|d| d.is_finite() && *d >= 0.0);
        if let Some(seconds) = duration_secs.filter(|d| *d < 1.0) {
            return Err(ProbeError::TooShort {
                path: path.to_owned(),
                seconds,
            });
        }
        Ok(SourceInfo {
            duration_secs,
            video: display_video(video),
            audio,
            container,
        })
    }
}

/// Width and height as a player shows them: FFmpeg rotates on decode, and
/// non-square pixels are stretched to square ones.
fn display_video(stream: &ProbeStream) -> VideoInfo {
    let (mut width, mut height) = (stream.width.unwrap_or(0), stream.height.unwrap_or(0));
    if let Some((num, den)) = stream.sample_aspect_ratio.as_deref().and_then(ratio) {
        if num > 0.0 && den > 0.0 && (num - den).abs() > f64::EPSILON {
            width = (f64::from(width) * num / den).round() as u32;
        }
    }
    if rotation(stream).rem_euclid(180) == 90 {
        std::mem::swap(&mut width, &mut height);
    }
    let fps = [&stream.avg_frame_rate, &stream.r_frame_rate]
        .into_iter()
        .filter_map(|r| r.as_deref().and_then(ratio))
        .find(|(n, d)| *n > 0.0 && *d > 0.0)
        .map(|(n, d)| n / d);
    VideoInfo {
        codec: stream.codec_name.clone().unwrap_or_default(),
        width,
        height,
        fps,
    }
}

/// Degrees from the display matrix (newer files) or the `rotate` tag (older).
fn rotation(stream: &ProbeStream) -> i64 {
    stream
        .side_data_list
        .iter()
        .find_map(|d| d.get("rotation").and_then(serde_json::Value::as_i64))
        .or_else(|| stream.tags.get("rotate").and_then(|r| r.parse().ok()))
        .unwrap_or(0)
}

/// `"30000/1001"` or `"16:9"` as (numerator, denominator).
fn ratio(text: &str) -> Option<(f64, f64)> {
    let (num, den) = text.split_once(['/', ':'])?;
    Some((num.parse().ok()?, den.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(json: &str) -> ProbeReport {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_portrait_phone_video_is_seen_upright() {
        let info = report(
            r#"{"streams":[{"codec_type":"video","codec_name":"h264","width":1920,"height":1080,
                "avg_frame_rate":"30000/1001","side_data_list":[{"rotation":-90}]}],
                "format":{"format_name":"mov","duration":"12.5"}}"#,
        )
        .into_source_info(Path::new("phone.mp4"))
        .unwrap();
        assert_eq!((info.video.width, info.video.height), (1080, 1920));
        assert!((info.video.fps.unwrap() - 29.97).abs() < 0.01);
        assert_eq!(info.duration_secs, Some(12.5));
        assert!(info.audio.is_none());
    }

    #[test]
    fn non_square_pixels_are_made_square() {
        let info = report(
            r#"{"streams":[{"codec_type":"video","width":720,"height":576,"sample_aspect_ratio":"16:11"}]}"#,
        )
        .into_source_info(Path::new("dv.avi"))
        .unwrap();
        assert_eq!((info.video.width, info.video.height), (1047, 576));
    }

    #[test]
    fn cover_art_alone_is_not_a_video() {
        let err = report(
            r#"{"streams":[{"codec_type":"audio","codec_name":"mp3"},
                {"codec_type":"video","width":500,"height":500,"disposition":{"attached_pic":1}}]}"#,
        )
        .into_source_info(Path::new("song.mp3"))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "input file song.mp3 has no video stream (streams found: audio, video)"
        );
    }

    #[test]
    fn a_still_image_or_a_clip_under_a_second_is_not_a_video() {
        let png = report(
            r#"{"streams":[{"codec_type":"video","codec_name":"png","width":640,"height":480}],
                "format":{"format_name":"png_pipe","duration":"0.040000"}}"#,
        )
        .into_source_info(Path::new("photo.png"))
        .unwrap_err();
        assert_eq!(
            png.to_string(),
            "input file photo.png is a still image (png), not a video"
        );
        assert!(png.is_bad_input());
        let blink = report(
            r#"{"streams":[{"codec_type":"video","codec_name":"h264","width":640,"height":480}],
                "format":{"format_name":"mov,mp4,m4a,3gp,3g2,mj2","duration":"0.400000"}}"#,
        )
        .into_source_info(Path::new("blink.mp4"))
        .unwrap_err();
        assert_eq!(
            blink.to_string(),
            "input file blink.mp4 lasts 0.40 s; a video must last at least 1 s"
        );
    }
}
