use std::path::PathBuf;

/// Why the local node could not be prepared, started or kept running. Each
/// says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("cannot run kubo at {}: {reason}. Install kubo (https://docs.ipfs.tech/install/command-line/) so that `ipfs` is on PATH, or set [local_node] binary to its path", path.display())]
    NoKubo { path: PathBuf, reason: String },
    #[error("kubo {version} at {} is too old; version {minimum} or newer is needed", path.display())]
    TooOld {
        path: PathBuf,
        version: String,
        minimum: String,
    },
    #[error("the repo at {} is in use by another running ipfs process{}; stop it first (its lock is never taken over)", repo.display(), pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    LockHeld { repo: PathBuf, pid: Option<u32> },
    #[error("the repo at {} was written by a newer kubo than {version}: {message}", repo.display())]
    RepoTooNew {
        repo: PathBuf,
        version: String,
        message: String,
    },
    #[error("the repo at {} needs a migration that failed: {message}", repo.display())]
    MigrationFailed { repo: PathBuf, message: String },
    #[error("`ipfs {command}` failed: {message}")]
    Command { command: String, message: String },
    #[error("the daemon exited{} before it was ready: {log}", code.map(|c| format!(" with code {c}")).unwrap_or_default())]
    Exited { code: Option<i32>, log: String },
    #[error("the daemon was not ready within {}", humantime::format_duration(*.after))]
    NotReady { after: std::time::Duration },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the local node is down: {0}")]
    GaveUp(String),
}

pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> NodeError + '_ {
    move |source| NodeError::Io {
        path: path.to_owned(),
        source,
    }
}
