//! Watch folders: a video put in a configured folder becomes a job.
//!
//! Files are noticed two ways: file-system notifications (`notify`), so a
//! dropped file is picked up within seconds, and a rescan of every folder
//! each [`RESCAN`], which catches what notifications miss (network shares,
//! a folder that is mounted later, files that arrived while the app was not
//! running). A noticed file is queued once its size and time stamp have
//! stayed the same for `[watch] settle`, so a file still being copied in is
//! never encoded half-way. The store records the file in the same
//! transaction as its job: a crash or a rescan never queues it twice.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, UNIX_EPOCH};

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use tank_engine::Engine;
use tank_model::{JobEvent, JobState};
use tank_store::WatchedFile;

/// How often every folder is listed again.
const RESCAN: Duration = Duration::from_secs(30);
/// How often noticed files are checked for having settled.
const TICK: Duration = Duration::from_millis(500);

/// What counts as a video, by extension (case does not matter).
const VIDEO_EXTENSIONS: &[&str] = &[
    "3gp", "avi", "flv", "m2ts", "m4v", "mkv", "mov", "mp4", "mpeg", "mpg", "mts", "ogv", "ts",
    "webm", "wmv",
];

/// Whether a watch folder should take `path`: a video by its extension,
/// and not a hidden file (editors and copy tools write those first).
fn is_video(path: &Path) -> bool {
    let hidden = path
        .file_name()
        .and_then(|name| name.to_str())
        .is_none_or(|name| name.starts_with('.'));
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    !hidden && extension.is_some_and(|e| VIDEO_EXTENSIONS.contains(&e.as_str()))
}

/// A file seen, not yet settled.
struct Pending {
    seen: WatchedFile,
    unchanged_since: Instant,
}

/// The folders and what is known about the files in them.
struct FolderWatch {
    folders: Vec<PathBuf>,
    settle: Duration,
    /// Kept alive to keep notifications coming; `None` when the platform
    /// has no notifications (rescans still work).
    notifier: Option<notify::RecommendedWatcher>,
    /// Folders the notifier watches.
    notified: HashSet<PathBuf>,
    /// Folders found missing, so that is said once, not every rescan.
    missing: HashSet<PathBuf>,
    pending: HashMap<PathBuf, Pending>,
    /// Files already decided on (queued now or before), as they were then.
    settled: HashMap<PathBuf, WatchedFile>,
}

/// The watch-folder job source: a file that settled becomes a queued job.
pub struct WatchFolders {
    engine: Engine,
}

impl WatchFolders {
    pub fn new(engine: Engine) -> WatchFolders {
        WatchFolders { engine }
    }

    /// Queues the videos that appear in the watch folders, until `stop`.
    pub async fn run(&self, stop: CancellationToken) {
        let config = &self.engine.config().watch;
        if config.folders.is_empty() {
            return;
        }
        let (sender, mut noticed) = mpsc::unbounded_channel();
        let mut watch = FolderWatch::new(config.folders.clone(), config.settle, sender);
        tracing::info!(folders = ?watch.folders, "watching folders for new videos");
        let mut rescans = tokio::time::interval(RESCAN);
        let mut ticks = tokio::time::interval(TICK);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                Some(path) = noticed.recv() => watch.notice(&path),
                _ = rescans.tick() => watch.rescan(),
                _ = ticks.tick() => {
                    for file in watch.settled_files() {
                        self.queue_watched(&file);
                    }
                }
            }
        }
    }

    fn queue_watched(&self, file: &WatchedFile) {
        match self
            .engine
            .store()
            .queue_watched_file(file, self.engine.jobs_root())
        {
            Ok(Some(id)) => {
                tracing::info!(job = id, file = %file.path, "job queued from a watch folder");
                self.engine.events().send(JobEvent::State {
                    job: id,
                    state: JobState::Queued,
                    detail: Some("from a watch folder".into()),
                });
            }
            Ok(None) => {}
            Err(e) => tracing::error!(file = %file.path, %e, "cannot queue a watched file"),
        }
    }
}

impl FolderWatch {
    fn new(
        folders: Vec<PathBuf>,
        settle: Duration,
        noticed: mpsc::UnboundedSender<PathBuf>,
    ) -> FolderWatch {
        let notifier = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event {
                for path in event.paths {
                    let _ = noticed.send(path);
                }
            }
        })
        .inspect_err(|e| {
            tracing::warn!(%e, "no file notifications here; watch folders are rescanned instead")
        })
        .ok();
        FolderWatch {
            folders,
            settle,
            notifier,
            notified: HashSet::new(),
            missing: HashSet::new(),
            pending: HashMap::new(),
            settled: HashMap::new(),
        }
    }

    /// A notification about `path`: a file that may have appeared or grown.
    fn notice(&mut self, path: &Path) {
        let in_a_folder = path
            .parent()
            .is_some_and(|parent| self.folders.iter().any(|f| f == parent));
        if in_a_folder && is_video(path) {
            self.consider(path);
        }
    }

    /// Lists every folder: files that arrived unnoticed, folders that came
    /// back (watched again) or went away (said once).
    fn rescan(&mut self) {
        for folder in self.folders.clone() {
            match std::fs::read_dir(&folder) {
                Ok(entries) => {
                    if self.missing.remove(&folder) {
                        tracing::info!(folder = %folder.display(), "watch folder is back");
                    }
                    self.notify_on(&folder);
                    for entry in entries.flatten() {
                        let path = entry.path();
                        if is_video(&path) {
                            self.consider(&path);
                        }
                    }
                }
                Err(e) => {
                    if self.missing.insert(folder.clone()) {
                        tracing::warn!(folder = %folder.display(), %e, "cannot read a watch folder; trying again");
                    }
                    self.notified.remove(&folder);
                }
            }
        }
    }

    fn notify_on(&mut self, folder: &Path) {
        let Some(notifier) = &mut self.notifier else {
            return;
        };
        if self.notified.contains(folder) {
            return;
        }
        match notifier.watch(folder, RecursiveMode::NonRecursive) {
            Ok(()) => {
                self.notified.insert(folder.to_owned());
            }
            Err(e) => {
                tracing::warn!(folder = %folder.display(), %e, "no notifications for a watch folder; it is rescanned")
            }
        }
    }

    /// Starts or restarts the settle clock of `path` when it is new or has
    /// changed since last seen.
    fn consider(&mut self, path: &Path) {
        let Some(seen) = look_at(path) else {
            self.pending.remove(path);
            return;
        };
        if self.settled.get(path) == Some(&seen) {
            return;
        }
        match self.pending.get_mut(path) {
            Some(pending) if pending.seen == seen => {}
            _ => {
                let unchanged_since = Instant::now();
                self.pending.insert(
                    path.to_owned(),
                    Pending {
                        seen,
                        unchanged_since,
                    },
                );
            }
        }
    }

    /// Files unchanged for the settle time, now taken off the pending list.
    fn settled_files(&mut self) -> Vec<WatchedFile> {
        let paths: Vec<PathBuf> = self.pending.keys().cloned().collect();
        for path in &paths {
            // A file still being written changes between looks.
            self.consider(path);
        }
        let ready: Vec<PathBuf> = self
            .pending
            .iter()
            .filter(|(_, p)| p.seen.size > 0 && p.unchanged_since.elapsed() >= self.settle)
            .map(|(path, _)| path.clone())
            .collect();
        ready
            .into_iter()
            .filter_map(|path| {
                let pending = self.pending.remove(&path)?;
                self.settled.insert(path, pending.seen.clone());
                Some(pending.seen)
            })
            .collect()
    }
}

/// The file at `path` as it is now; `None` when it is gone, not a regular
/// file, or has a name that is not UTF-8 (a job input is stored as text).
fn look_at(path: &Path) -> Option<WatchedFile> {
    let metadata = std::fs::metadata(path).ok().filter(|m| m.is_file())?;
    let modified_ms = metadata
        .modified()
        .ok()?
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_millis() as i64;
    Some(WatchedFile {
        path: path.to_str()?.to_owned(),
        size: metadata.len(),
        modified_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn videos_are_known_by_their_extension_and_hidden_files_are_not_taken() {
        for video in ["talk.mp4", "TALK.MOV", "a.b.mkv", "clip.webm"] {
            assert!(is_video(Path::new(video)), "{video}");
        }
        for other in [
            "notes.txt",
            ".talk.mp4",
            "talk.mp4.part",
            "talk",
            "talk.crdownload",
        ] {
            assert!(!is_video(Path::new(other)), "{other}");
        }
    }
}
