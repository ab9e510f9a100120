//! A download as pieces of one file. A plain download is one piece, from
//! what the partial file already holds to the end. A large one from a
//! server that takes ranges is split into `[downloads] connections`
//! pieces fetched at once, each over its own connection, because
//! long-distance TCP gives each connection only so much bandwidth.
//!
//! A split download keeps a manifest beside the partial file
//! (`<name>.pieces`): each piece's range and how many of its bytes are on
//! disk. A piece's progress is written there only after its bytes are
//! synced, so a crash or a broken connection costs at most
//! [`SYNC_EVERY`] per piece, and each piece resumes on its own.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tank_ipfs::root_cause;
use tank_model::JobEvent;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use tokio::time::Instant;

use super::{DownloadError, ANNOUNCE_EVERY};
use crate::stages::Stage;

/// No piece is smaller than this: below it, another connection's setup
/// costs more than it saves.
pub(super) const MIN_PIECE: u64 = 1024 * 1024;

/// A split piece syncs its bytes and records its progress this often.
const SYNC_EVERY: u64 = 1024 * 1024;

/// One range of the file: bytes `start..end`, of which `done` are on disk.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(super) struct Piece {
    pub start: u64,
    pub end: u64,
    pub done: u64,
}

impl Piece {
    /// The next byte to fetch.
    pub fn next(&self) -> u64 {
        self.start + self.done
    }

    pub fn is_complete(&self) -> bool {
        self.next() >= self.end
    }
}

/// Splits `total` bytes into at most `connections` pieces of at least
/// [`MIN_PIECE`]; one piece means "do not split".
pub(super) fn plan(total: u64, connections: u32) -> Vec<Piece> {
    let count = (total / MIN_PIECE).clamp(1, u64::from(connections.max(1)));
    let size = total.div_ceil(count);
    (0..count)
        .map(|i| Piece {
            start: i * size,
            end: ((i + 1) * size).min(total),
            done: 0,
        })
        .collect()
}

/// What `<name>.pieces` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Manifest {
    pub total: u64,
    pub pieces: Vec<Piece>,
}

impl Manifest {
    pub fn path(partial: &Path) -> PathBuf {
        partial.with_extension("pieces")
    }

    /// The manifest of a split download in progress, if one is.
    pub async fn load(partial: &Path) -> Option<Manifest> {
        let text = tokio::fs::read(Self::path(partial)).await.ok()?;
        // An unreadable manifest (a crash while it was written) is none:
        // the download starts over.
        serde_json::from_slice(&text).ok()
    }

    /// Writes it whole (a temporary file renamed over it).
    async fn save(&self, partial: &Path) -> std::io::Result<()> {
        let path = Self::path(partial);
        let temp = path.with_extension("pieces.new");
        tokio::fs::write(&temp, serde_json::to_vec(self).expect("plain data")).await?;
        tokio::fs::rename(&temp, &path).await
    }

    pub async fn remove(partial: &Path) -> std::io::Result<()> {
        match tokio::fs::remove_file(Self::path(partial)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// What every piece of one try shares: the limits, the progress shown,
/// and (when split) the manifest.
pub(super) struct Transfer<'a> {
    pub stage: &'a Stage<'a>,
    pub partial: &'a Path,
    pub total: Option<u64>,
    pub started: Instant,
    /// The whole try must end within this ([`super::deadline`]).
    pub deadline: Duration,
    /// Bytes on disk, across pieces.
    received: AtomicU64,
    announced: AtomicU64,
    manifest: Option<tokio::sync::Mutex<Manifest>>,
}

impl<'a> Transfer<'a> {
    pub fn new(
        stage: &'a Stage<'a>,
        partial: &'a Path,
        total: Option<u64>,
        received: u64,
        started: Instant,
    ) -> Transfer<'a> {
        Transfer {
            stage,
            partial,
            total,
            started,
            deadline: super::deadline(stage.config, total),
            received: AtomicU64::new(received),
            announced: AtomicU64::new(received),
            manifest: None,
        }
    }

    /// A split try, resuming what `manifest` records.
    pub async fn split(
        stage: &'a Stage<'a>,
        partial: &'a Path,
        manifest: Manifest,
        started: Instant,
    ) -> Result<Transfer<'a>, DownloadError> {
        manifest.save(partial).await?;
        let mut transfer = Transfer::new(
            stage,
            partial,
            Some(manifest.total),
            manifest.pieces.iter().map(|p| p.done).sum(),
            started,
        );
        transfer.manifest = Some(tokio::sync::Mutex::new(manifest));
        Ok(transfer)
    }

    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Streams `body` into the partial file from piece `index`'s next
    /// byte, until the piece is complete or the body ends (when the
    /// piece's end is unknown). The stall timeout applies to this
    /// connection, the deadline and the size limit to the whole download.
    pub async fn receive<B, C, E>(
        &self,
        index: usize,
        mut piece: Piece,
        body: B,
    ) -> Result<Piece, DownloadError>
    where
        B: Stream<Item = Result<C, E>>,
        C: AsRef<[u8]>,
        E: std::error::Error + 'static,
    {
        let limits = &self.stage.config.jobs;
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(self.partial)
            .await?;
        file.seek(SeekFrom::Start(piece.next())).await?;
        let mut body = std::pin::pin!(body);
        let mut unsynced = 0;
        while !piece.is_complete() {
            let left = self.deadline.saturating_sub(self.started.elapsed());
            let stall = limits.download_stall_timeout;
            let chunk = match tokio::time::timeout(stall.min(left), body.next()).await {
                Err(_) if left <= stall => {
                    return Err(DownloadError::TooSlow {
                        deadline: self.deadline,
                        received: self.received(),
                    })
                }
                Err(_) => return Err(DownloadError::Stalled(stall)),
                Ok(None) => break,
                Ok(Some(Err(e))) => {
                    self.record(index, piece, &mut file).await?;
                    return Err(DownloadError::Broken {
                        received: self.received(),
                        reason: root_cause(&e),
                    });
                }
                Ok(Some(Ok(chunk))) => chunk,
            };
            let chunk = chunk.as_ref();
            // The first piece reads the start of a whole-file answer.
            let wanted = usize::try_from(piece.end - piece.next()).unwrap_or(usize::MAX);
            let chunk = &chunk[..chunk.len().min(wanted)];
            let received = self
                .received
                .fetch_add(chunk.len() as u64, Ordering::Relaxed)
                + chunk.len() as u64;
            if received > limits.max_input_size {
                return Err(DownloadError::TooBig {
                    bytes: received,
                    limit: limits.max_input_size,
                });
            }
            file.write_all(chunk).await?;
            piece.done += chunk.len() as u64;
            unsynced += chunk.len() as u64;
            if self.manifest.is_some() && unsynced >= SYNC_EVERY {
                unsynced = 0;
                self.record(index, piece, &mut file).await?;
            }
            self.announce(received);
        }
        self.record(index, piece, &mut file).await?;
        Ok(piece)
    }

    /// Syncs the piece's bytes, then records its progress in the manifest.
    async fn record(
        &self,
        index: usize,
        piece: Piece,
        file: &mut tokio::fs::File,
    ) -> Result<(), DownloadError> {
        file.flush().await?;
        file.sync_data().await?;
        if let Some(manifest) = &self.manifest {
            let mut manifest = manifest.lock().await;
            manifest.pieces[index] = piece;
            manifest.save(self.partial).await?;
        }
        Ok(())
    }

    fn announce(&self, received: u64) {
        let announced = self.announced.load(Ordering::Relaxed);
        if received.saturating_sub(announced) >= ANNOUNCE_EVERY
            && self
                .announced
                .compare_exchange(announced, received, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.stage.events.send(JobEvent::Download {
                job: self.stage.job.id,
                bytes: received,
                total: self.total,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_split_into_at_most_the_configured_connections_of_at_least_a_mebibyte() {
        let ends = |total, connections| -> Vec<(u64, u64)> {
            plan(total, connections)
                .iter()
                .map(|p| (p.start, p.end))
                .collect()
        };
        assert_eq!(ends(100, 8), [(0, 100)], "a small file is one piece");
        assert_eq!(
            ends(3 * MIN_PIECE + 1, 8),
            [
                (0, MIN_PIECE + 1),
                (MIN_PIECE + 1, 2 * MIN_PIECE + 2),
                (2 * MIN_PIECE + 2, 3 * MIN_PIECE + 1)
            ]
        );
        let pieces = plan(1_000_000_007, 8);
        assert_eq!(pieces.len(), 8);
        assert_eq!(pieces[0].start, 0);
        assert_eq!(pieces[7].end, 1_000_000_007);
        assert!(pieces.windows(2).all(|w| w[0].end == w[1].start));
        assert_eq!(plan(10 * MIN_PIECE, 1).len(), 1);
    }
}
