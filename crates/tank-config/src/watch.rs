//! `[watch]`: folders whose new videos become jobs.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WatchConfig {
    /// Absolute paths. Videos put directly in them (not in subfolders) are
    /// queued by `tank daemon` and the desktop app, each file once.
    pub folders: Vec<PathBuf>,
    /// A new file is queued once its size and time stamp have stayed the
    /// same this long: a file still being copied in is left alone.
    #[serde(with = "humantime_serde")]
    pub settle: Duration,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            folders: vec![],
            settle: Duration::from_secs(5),
        }
    }
}

impl WatchConfig {
    /// What is wrong with the section, if anything. A folder that does not
    /// exist (yet) is not wrong here: a drive may be mounted later, and the
    /// daemon says so while it waits.
    pub fn problem(&self) -> Option<String> {
        if let Some(folder) = self.folders.iter().find(|f| !f.is_absolute()) {
            return Some(format!(
                "folder {} must be an absolute path",
                folder.display()
            ));
        }
        None
    }
}
