//! Test clips made by FFmpeg from its synthetic sources.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What a test clip looks like.
#[derive(Debug, Clone, Copy)]
pub struct Clip {
    pub width: u32,
    pub height: u32,
    pub seconds: f32,
    pub fps: u32,
    pub audio: bool,
}

impl Clip {
    pub const fn new(width: u32, height: u32, seconds: f32) -> Self {
        Clip {
            width,
            height,
            seconds,
            fps: 24,
            audio: true,
        }
    }

    pub const fn without_audio(mut self) -> Self {
        self.audio = false;
        self
    }

    /// Writes the clip as `<dir>/<name>` (the extension picks the container).
    pub fn write(&self, dir: &Path, name: &str) -> PathBuf {
        let video = format!(
            "testsrc2=size={}x{}:rate={}:duration={}",
            self.width, self.height, self.fps, self.seconds
        );
        let mut args = vec!["-f".to_owned(), "lavfi".to_owned(), "-i".to_owned(), video];
        if self.audio {
            args.extend(sine_input(self.seconds));
            args.extend(["-c:a".to_owned(), "aac".to_owned()]);
        }
        args.extend(
            [
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
            ]
            .map(String::from),
        );
        ffmpeg(&args, dir, name)
    }
}

/// An audio-only file: a valid media file with no video stream.
pub fn audio_only(dir: &Path, name: &str, seconds: f32) -> PathBuf {
    let mut args = sine_input(seconds);
    args.extend(["-c:a".to_owned(), "aac".to_owned()]);
    ffmpeg(&args, dir, name)
}

/// A 440 Hz tone at 48 kHz.
fn sine_input(seconds: f32) -> Vec<String> {
    let source = format!("sine=frequency=440:sample_rate=48000:duration={seconds}");
    vec!["-f".to_owned(), "lavfi".to_owned(), "-i".to_owned(), source]
}

/// Runs FFmpeg with `args`, writing `<dir>/<name>`.
fn ffmpeg(args: &[String], dir: &Path, name: &str) -> PathBuf {
    let out = dir.join(name);
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .arg(&out)
        .status()
        .expect("ffmpeg runs (apt-get install ffmpeg)");
    assert!(
        status.success(),
        "ffmpeg could not make the test clip {name}"
    );
    out
}
