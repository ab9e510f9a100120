//! The disk the data directory is on: how much of it is free, and a small
//! reserve file kept beside the job database.
//!
//! SQLite lives on the same disk as the job folders. When an encode fills
//! that disk, the failure could not be committed, and the job would stay
//! in `encoding` with nothing recorded. So a few MiB are kept in
//! `reserve.space`, written (not sparse) when the engine opens; a commit
//! that fails for a full disk frees it, and the job's failure is committed
//! in the space it leaves.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The reserve's size: far more than one failed commit needs.
const RESERVE_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone)]
pub(crate) struct Disk {
    data_dir: PathBuf,
}

impl Disk {
    pub fn of(data_dir: &Path) -> Disk {
        Disk {
            data_dir: data_dir.to_owned(),
        }
    }

    fn reserve_path(&self) -> PathBuf {
        self.data_dir.join("reserve.space")
    }

    /// Writes the reserve when it is missing. Best effort: a disk too full
    /// for it says so at the next failure.
    pub fn keep_reserve(&self) {
        let path = self.reserve_path();
        if std::fs::metadata(&path).is_ok_and(|m| m.len() >= RESERVE_BYTES as u64) {
            return;
        }
        let written = std::fs::File::create(&path).and_then(|mut file| {
            file.write_all(&vec![0u8; RESERVE_BYTES])?;
            file.sync_all()
        });
        if let Err(e) = written {
            let _ = std::fs::remove_file(&path);
            tracing::warn!(path = %path.display(), %e, "no room for the disk reserve");
        }
    }

    /// Frees the reserve, so that a commit can go through on a full disk.
    pub fn release_reserve(&self) {
        let _ = std::fs::remove_file(self.reserve_path());
    }

    /// "the disk holding <data dir> has 1.2 MiB free", for error messages.
    pub fn describe(&self) -> String {
        match free_bytes(&self.data_dir) {
            Some(free) => format!(
                "the disk holding {} has {} free",
                self.data_dir.display(),
                mebibytes(free)
            ),
            None => format!("the disk holding {}", self.data_dir.display()),
        }
    }
}

/// Less free than this, and a write that failed is taken for a full disk.
const NEARLY_FULL: u64 = 1024 * 1024;

/// Whether the disk holding `path` is full. FFmpeg's HLS muxer can run
/// out of space without a word and exit 0 with empty playlists, so a
/// failed encode asks the disk itself.
pub(crate) fn is_full(path: &Path) -> bool {
    free_bytes(path).is_some_and(|free| free < NEARLY_FULL)
}

/// Bytes free to us on the disk that holds `path` (the nearest existing
/// folder of it).
pub(crate) fn free_bytes(path: &Path) -> Option<u64> {
    let existing = path.ancestors().find(|p| p.exists())?;
    fs4::available_space(existing).ok()
}

pub(crate) fn mebibytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
