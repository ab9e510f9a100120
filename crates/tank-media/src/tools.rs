//! Where the FFmpeg binaries are.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Paths of `ffmpeg` and `ffprobe`, and what their processes must not see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tools {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
    /// Environment variables removed from every FFmpeg process: our
    /// secrets (keys, tokens) have no business in a child's environment,
    /// where crash reports and `/proc/<pid>/environ` would show them.
    pub hidden_env: Vec<String>,
}

impl Tools {
    /// The installed app's sidecars (`tank-ffmpeg` and `tank-ffprobe` next
    /// to our executable), else `ffmpeg` and `ffprobe` on `PATH`. Nothing is
    /// ever downloaded.
    pub fn discover() -> Tools {
        let exe = std::env::current_exe().ok();
        Self::discover_next_to(exe.as_deref().and_then(Path::parent))
    }

    fn discover_next_to(exe_dir: Option<&Path>) -> Tools {
        Tools {
            ffmpeg: sidecar_or_path(exe_dir, "ffmpeg"),
            ffprobe: sidecar_or_path(exe_dir, "ffprobe"),
            hidden_env: Vec::new(),
        }
    }

    /// `ffmpeg` or `ffprobe` (`program`) to run, without the hidden variables.
    pub(crate) fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        self.hide_env(&mut command);
        command
    }

    pub(crate) fn hide_env(&self, command: &mut Command) {
        for name in &self.hidden_env {
            command.env_remove(name);
        }
    }
}

impl Default for Tools {
    fn default() -> Self {
        Self::discover()
    }
}

/// `tank-<tool>` in `exe_dir` if the installer put it there, else the bare
/// name for `PATH`. The prefix keeps our copies from clashing with the
/// system's own `ffmpeg` where packages install into `/usr/bin`.
fn sidecar_or_path(exe_dir: Option<&Path>, tool: &str) -> PathBuf {
    let sidecar = format!("tank-{tool}{}", std::env::consts::EXE_SUFFIX);
    exe_dir
        .map(|dir| dir.join(sidecar))
        .filter(|path| path.is_file())
        .unwrap_or_else(|| PathBuf::from(tool))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecars_next_to_the_executable_win_over_path() {
        let dir = tempfile::tempdir().unwrap();
        let ffmpeg = dir
            .path()
            .join(format!("tank-ffmpeg{}", std::env::consts::EXE_SUFFIX));
        std::fs::write(&ffmpeg, b"").unwrap();

        let tools = Tools::discover_next_to(Some(dir.path()));

        assert_eq!(tools.ffmpeg, ffmpeg);
        assert_eq!(tools.ffprobe, PathBuf::from("ffprobe"), "no sidecar: PATH");
    }

    #[test]
    fn without_an_executable_directory_the_tools_come_from_path() {
        let tools = Tools::discover_next_to(None);
        assert_eq!(tools.ffmpeg, PathBuf::from("ffmpeg"));
        assert_eq!(tools.ffprobe, PathBuf::from("ffprobe"));
    }
}
