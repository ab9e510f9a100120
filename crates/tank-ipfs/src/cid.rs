//! The root CID kubo will give a folder, computed locally.
//!
//! kubo's defaults for `add --wrap-with-directory`: CIDv0, dag-pb leaves (no
//! raw leaves), 256 KiB fixed-size chunks, sha2-256, balanced layout with 174
//! links per node, HAMT sharding above 256 KiB of directory links.
//! `rust-unixfs` implements that importer; tests check it against real kubo.
//! Files are read in chunks and the blocks thrown away, so memory stays flat
//! whatever the size of the folder.

use std::io::Read;
use std::path::Path;

use ipld_core::cid::Version;
use rust_unixfs::dir::builder::{BufferingTreeBuilder, TreeOptions};
use rust_unixfs::file::adder::FileAdder;

use crate::folder::{self, FolderEntry};
use crate::IpfsError;

/// The import parameters this module computes CIDs with, sent on every
/// `add`. A node's own defaults can differ (kubo 0.40's `unixfs-v1-2025`
/// profile, `Import.CidVersion = 1`), and then it would report another CID
/// for the same bytes: so they are never left to the node.
pub const IMPORT_OPTIONS: [(&str, &str); 4] = [
    ("cid-version", "0"),
    ("raw-leaves", "false"),
    ("chunker", "size-262144"),
    ("hash", "sha2-256"),
];

/// The CID kubo reports for `add --wrap-with-directory` of the folder's
/// contents (the folder's own name is not part of it). Blocking: run it on a
/// blocking thread.
pub fn folder_cid(root: &Path) -> Result<String, IpfsError> {
    let entries = folder::list(root)?;
    entries_cid(&entries)
}

/// Same as [`folder_cid`] for an existing listing.
pub fn entries_cid(entries: &[FolderEntry]) -> Result<String, IpfsError> {
    let mut options = TreeOptions::default();
    options.cid_version(Version::V0);
    options.wrap_with_directory();
    // kubo has no directory block limit of its own; sharding bounds block size.
    options.block_size_limit(None);
    let mut tree = BufferingTreeBuilder::new(options);
    for entry in entries.iter().filter(|e| e.file_len.is_some()) {
        let (cid, total_size) = file_cid(&entry.path)?;
        tree.put_link(&entry.relative, cid, total_size)
            .map_err(|e| IpfsError::UnsupportedEntry {
                path: entry.path.clone(),
                reason: e.to_string(),
            })?;
    }
    let mut root = None;
    for node in tree.build() {
        let node = node.map_err(|e| IpfsError::UnsupportedEntry {
            path: entries.first().map(|e| e.path.clone()).unwrap_or_default(),
            reason: e.to_string(),
        })?;
        root = Some(node.cid);
    }
    Ok(root.expect("a wrapped tree always has a root").to_string())
}

/// The CID of one file and the total size of its blocks (what the parent
/// directory records as the link size).
fn file_cid(path: &Path) -> Result<(ipld_core::cid::Cid, u64), IpfsError> {
    let io_err = |source| IpfsError::Io {
        path: path.to_owned(),
        source,
    };
    let mut adder = FileAdder::builder()
        .with_cid_version(Version::V0)
        .with_raw_leaves(false)
        .build();
    let mut file = std::fs::File::open(path).map_err(io_err)?;
    let mut buf = vec![0u8; adder.size_hint()];
    let mut total = 0u64;
    let mut last = None;
    let mut record = |blocks: &mut dyn Iterator<Item = (ipld_core::cid::Cid, Vec<u8>)>| {
        for (cid, block) in blocks {
            total += block.len() as u64;
            last = Some(cid);
        }
    };
    loop {
        let filled = read_full(&mut file, &mut buf).map_err(io_err)?;
        if filled == 0 {
            break;
        }
        let mut offset = 0;
        while offset < filled {
            let (mut blocks, consumed) = adder.push(&buf[offset..filled]);
            record(&mut blocks);
            offset += consumed;
        }
    }
    record(&mut adder.finish());
    Ok((last.expect("finish always yields the root block"), total))
}

/// Reads until `buf` is full or the file ends, so chunks line up with the
/// chunker and no internal buffering copy is needed.
fn read_full(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_saying_hello_has_the_cid_kubo_gives_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hello");
        std::fs::write(&file, "hello\n").unwrap();
        let (cid, _) = file_cid(&file).unwrap();
        assert_eq!(
            cid.to_string(),
            "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN"
        );
    }

    #[test]
    fn an_empty_folder_is_the_empty_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            folder_cid(dir.path()).unwrap(),
            "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
        );
    }
}
