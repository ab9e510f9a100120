//! Which H.264 encoder to use, and the FFmpeg options each one needs.
//!
//! Hardware encoders are only known to work by opening them: a driver, a
//! GPU or a licence may be missing even when FFmpeg lists the encoder. So
//! `auto` test-encodes a fraction of a second with each candidate and takes
//! the first that works.

use std::process::Stdio;

use serde::{Deserialize, Serialize};

use crate::Tools;

/// An H.264 encoder FFmpeg knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VideoEncoder {
    Libx264,
    H264Nvenc,
    H264Qsv,
    H264Vaapi,
    H264Videotoolbox,
}

/// Hardware encoders in the order `auto` tries them.
pub const HARDWARE_ENCODERS: [VideoEncoder; 4] = [
    VideoEncoder::H264Nvenc,
    VideoEncoder::H264Qsv,
    VideoEncoder::H264Vaapi,
    VideoEncoder::H264Videotoolbox,
];

/// The presets libx264 takes (`[encoding] preset`), fastest first. Any
/// other word makes FFmpeg refuse to open the encoder.
pub const X264_PRESETS: [&str; 10] = [
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
];

/// The render node VAAPI encodes on.
const VAAPI_DEVICE: &str = "/dev/dri/renderD128";

impl VideoEncoder {
    /// FFmpeg's name for it.
    pub fn ffmpeg_name(self) -> &'static str {
        match self {
            VideoEncoder::Libx264 => "libx264",
            VideoEncoder::H264Nvenc => "h264_nvenc",
            VideoEncoder::H264Qsv => "h264_qsv",
            VideoEncoder::H264Vaapi => "h264_vaapi",
            VideoEncoder::H264Videotoolbox => "h264_videotoolbox",
        }
    }

    /// Parses FFmpeg's name.
    pub fn from_ffmpeg_name(name: &str) -> Option<VideoEncoder> {
        [VideoEncoder::Libx264]
            .into_iter()
            .chain(HARDWARE_ENCODERS)
            .find(|e| e.ffmpeg_name() == name)
    }

    pub fn is_hardware(self) -> bool {
        self != VideoEncoder::Libx264
    }

    /// Options that go before the input (device set-up).
    pub(crate) fn global_args(self) -> Vec<String> {
        match self {
            VideoEncoder::H264Vaapi => vec!["-vaapi_device".into(), VAAPI_DEVICE.into()],
            _ => vec![],
        }
    }

    /// The end of each rung's filter chain: the pixel format the encoder
    /// takes (and, for VAAPI, the upload to the GPU).
    pub(crate) fn output_filter(self) -> &'static str {
        match self {
            VideoEncoder::H264Vaapi => "format=nv12,hwupload",
            VideoEncoder::H264Qsv => "format=nv12",
            _ => "format=yuv420p",
        }
    }

    /// Encoder options shared by every rung. `preset` applies to libx264.
    pub(crate) fn codec_args(self, preset: &str) -> Vec<String> {
        let mut args = vec!["-c:v".to_owned(), self.ffmpeg_name().to_owned()];
        let extra: &[&str] = match self {
            VideoEncoder::Libx264 => &["-preset", preset, "-profile:v", "high"],
            VideoEncoder::H264Nvenc => &["-preset", "p4", "-profile:v", "high"],
            VideoEncoder::H264Qsv => &["-preset", "medium", "-profile:v", "high"],
            VideoEncoder::H264Vaapi => &["-profile:v", "high"],
            VideoEncoder::H264Videotoolbox => &["-profile:v", "high", "-allow_sw", "0"],
        };
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    }

    /// Whether this encoder opens and encodes on this machine: a 0.1 s test
    /// encode of a small synthetic picture. Blocking.
    pub fn works(self, tools: &Tools) -> bool {
        let mut cmd = tools.command(&tools.ffmpeg);
        cmd.args(["-hide_banner", "-loglevel", "error", "-nostdin"])
            .args(self.global_args())
            .args(["-f", "lavfi", "-i", "color=c=black:s=256x144:r=25:d=0.1"])
            .args(["-vf", self.output_filter()])
            .args(self.codec_args("ultrafast"))
            .args(["-f", "null", "-"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd.status().is_ok_and(|s| s.success())
    }
}

/// The encoder setting: a fixed encoder, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodecChoice {
    Fixed(VideoEncoder),
    /// The first hardware encoder that works here, else libx264.
    Auto,
}

impl CodecChoice {
    pub fn parse(text: &str) -> Option<CodecChoice> {
        if text == "auto" {
            Some(CodecChoice::Auto)
        } else {
            VideoEncoder::from_ffmpeg_name(text).map(CodecChoice::Fixed)
        }
    }

    /// The encoder to start with. Blocking when `Auto` (it probes).
    pub fn resolve(self, tools: &Tools) -> VideoEncoder {
        match self {
            CodecChoice::Fixed(encoder) => encoder,
            CodecChoice::Auto => HARDWARE_ENCODERS
                .into_iter()
                .find(|e| e.works(tools))
                .unwrap_or(VideoEncoder::Libx264),
        }
    }
}

impl std::fmt::Display for CodecChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CodecChoice::Fixed(e) => f.write_str(e.ffmpeg_name()),
            CodecChoice::Auto => f.write_str("auto"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_by_ffmpeg_name() {
        assert_eq!(CodecChoice::parse("auto"), Some(CodecChoice::Auto));
        assert_eq!(
            CodecChoice::parse("h264_nvenc"),
            Some(CodecChoice::Fixed(VideoEncoder::H264Nvenc))
        );
        assert_eq!(CodecChoice::parse("x265"), None);
    }
}
