//! The multipart body of kubo's `add`, streamed from disk.
//!
//! One part per directory (`application/x-directory`, empty) and per file
//! (`application/octet-stream`), named by the path relative to the folder,
//! the way kubo's own Go client sends a folder. File parts open their file
//! only when the body reaches them and read it in chunks, so neither memory
//! nor open file handles grow with the number or size of segments.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::TryStreamExt;
use reqwest::multipart::{Form, Part};
use reqwest::Body;
use tokio_util::io::ReaderStream;

use crate::folder::FolderEntry;

/// How far an upload has got, shared between the body stream and the
/// watchdog that detects a stalled upload.
#[derive(Debug)]
pub struct UploadProgress {
    sent: AtomicU64,
    last_progress: Mutex<Instant>,
}

impl UploadProgress {
    pub fn new() -> Self {
        UploadProgress {
            sent: AtomicU64::new(0),
            last_progress: Mutex::new(Instant::now()),
        }
    }

    /// File bytes handed to the connection so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Time since the last bytes were handed to the connection.
    pub fn idle(&self) -> std::time::Duration {
        self.last_progress.lock().expect("not poisoned").elapsed()
    }

    fn advance(&self, bytes: usize) {
        self.sent.fetch_add(bytes as u64, Ordering::Relaxed);
        *self.last_progress.lock().expect("not poisoned") = Instant::now();
    }
}

impl Default for UploadProgress {
    fn default() -> Self {
        Self::new()
    }
}

/// The `add` form for a folder listing.
pub fn folder_form(entries: &[FolderEntry], progress: Arc<UploadProgress>) -> Form {
    // Names are escaped here exactly as kubo unescapes them; reqwest must not
    // escape them a second time.
    let mut form = Form::new().percent_encode_noop();
    for entry in entries {
        let name = query_escape(&entry.relative);
        let part = match entry.file_len {
            None => Part::bytes(Vec::new())
                .file_name(name)
                .mime_str("application/x-directory"),
            Some(len) => Part::stream_with_length(lazy_file_body(entry, progress.clone()), len)
                .file_name(name)
                .mime_str("application/octet-stream"),
        }
        .expect("static MIME types parse");
        form = form.part("file", part);
    }
    form
}

fn lazy_file_body(entry: &FolderEntry, progress: Arc<UploadProgress>) -> Body {
    let path = entry.path.clone();
    let chunks = futures_util::stream::once(async move { tokio::fs::File::open(path).await })
        .map_ok(|file| ReaderStream::with_capacity(file, 256 * 1024))
        .try_flatten()
        .inspect_ok(move |chunk| progress.advance(chunk.len()));
    Body::wrap_stream(chunks)
}

/// Go's `url.QueryEscape`, which kubo's `url.QueryUnescape` reverses: keeps
/// `A-Z a-z 0-9 - _ . ~`, turns a space into `+`, escapes every other byte.
/// Escaping `/` matters: Go's multipart reader keeps only the last path
/// element of an unescaped filename.
pub fn query_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_the_way_go_unescapes_them() {
        assert_eq!(query_escape("720p/index.m3u8"), "720p%2Findex.m3u8");
        assert_eq!(query_escape("a b+c"), "a+b%2Bc");
        assert_eq!(query_escape("é"), "%C3%A9");
    }
}
