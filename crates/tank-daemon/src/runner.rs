//! One background runner per data directory.
//!
//! The services claim gateway jobs, report results and run the local kubo
//! node. Two processes doing that on one data directory (the desktop app
//! and `tank daemon` of the same user, or two daemons) would report twice,
//! mark each other's claims lost and stop each other's node. So
//! [`Daemon::run`](crate::Daemon::run) first takes an exclusive OS lock on
//! `<data dir>/runner.lock` (`flock`, `LockFileEx`), held until it
//! returns and released by the OS however the process ends. The file says
//! who holds it, for the second one's error. One-shot commands (`tank
//! jobs`, `tank encode` with its own job lock) need no runner lock.

use std::io::{Read, Seek, Write};
use std::path::Path;

use crate::DaemonError;

pub(crate) struct RunnerLock {
    _file: std::fs::File,
}

impl RunnerLock {
    /// The lock, or [`DaemonError::AlreadyRunning`] naming its holder.
    pub fn take(data_dir: &Path) -> Result<RunnerLock, DaemonError> {
        let path = data_dir.join("runner.lock");
        let io = |e: std::io::Error| DaemonError::RunnerLock(format!("{}: {e}", path.display()));
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(DaemonError::AlreadyRunning {
                    data_dir: data_dir.to_owned(),
                    holder: holder.trim().to_owned(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        let me = format!(
            "pid {} ({})",
            std::process::id(),
            std::env::current_exe()
                .ok()
                .and_then(|exe| exe.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "tank".into())
        );
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        file.write_all(me.as_bytes()).map_err(io)?;
        Ok(RunnerLock { _file: file })
    }
}
