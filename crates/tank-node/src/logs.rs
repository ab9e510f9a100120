//! The daemon's output, captured to a log file that is rotated so it never
//! grows without bound.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// A log file is rotated past this size.
pub const MAX_LOG_BYTES: u64 = 5 * 1024 * 1024;
/// Rotated files kept: `daemon.log.1` … `daemon.log.3`.
const KEEP: u32 = 3;

/// Opens the log for appending, rotating it first when too large.
pub(crate) fn open(path: &Path) -> std::io::Result<File> {
    rotate_if_large(path)?;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

/// Shifts `log.1` → `log.2` … and moves a too-large log to `log.1`, by
/// copying then truncating: a running daemon keeps writing to the same file.
pub(crate) fn rotate_if_large(path: &Path) -> std::io::Result<()> {
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if len <= MAX_LOG_BYTES {
        return Ok(());
    }
    for n in (1..KEEP).rev() {
        let from = numbered(path, n);
        if from.exists() {
            std::fs::rename(&from, numbered(path, n + 1))?;
        }
    }
    std::fs::copy(path, numbered(path, 1))?;
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)?
        .set_len(0)
}

fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// The last `count` lines of the log.
pub fn tail(path: &Path, count: usize) -> Vec<String> {
    let Ok(mut file) = File::open(path) else {
        return vec![];
    };
    // Reading the last 256 KiB is plenty for the tail.
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(256 * 1024)));
    let lines: Vec<String> = BufReader::new(file).lines().map_while(Result::ok).collect();
    lines[lines.len().saturating_sub(count)..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_large_log_is_rotated_and_the_old_ones_shift() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("daemon.log");
        for round in 0..5u8 {
            let mut file = open(&log).unwrap();
            file.write_all(&vec![b'a' + round; MAX_LOG_BYTES as usize + 1])
                .unwrap();
        }
        open(&log).unwrap();
        assert_eq!(std::fs::metadata(&log).unwrap().len(), 0);
        for n in 1..=KEEP {
            assert_eq!(
                std::fs::metadata(numbered(&log, n)).unwrap().len(),
                MAX_LOG_BYTES + 1
            );
        }
        assert!(!numbered(&log, KEEP + 1).exists(), "only {KEEP} are kept");
        assert_eq!(
            std::fs::read(numbered(&log, 1)).unwrap()[0],
            b'e',
            "the newest is .1"
        );
    }

    #[test]
    fn the_tail_is_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("daemon.log");
        std::fs::write(&log, "one\ntwo\nthree\n").unwrap();
        assert_eq!(tail(&log, 2), ["two", "three"]);
    }
}
