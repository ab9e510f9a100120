//! Where the FFmpeg binaries are.

use std::path::PathBuf;

/// Paths of `ffmpeg` and `ffprobe`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tools {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
}

impl Tools {
    /// Binaries shipped next to our executable (an installed app's sidecars),
    /// else the ones on `PATH`. Nothing is ever downloaded.
    pub fn discover() -> Tools {
        Tools {
            ffmpeg: ffmpeg_sidecar::paths::ffmpeg_path(),
            ffprobe: ffmpeg_sidecar::ffprobe::ffprobe_path(),
        }
    }
}

impl Default for Tools {
    fn default() -> Self {
        Self::discover()
    }
}
