//! A folder listed the way kubo's own client walks it: sorted by name,
//! each directory before its contents, paths relative to the folder with `/`.
//!
//! Both the local CID computation and the multipart upload read this one
//! listing, so what we hash is exactly what we send.

use std::path::{Path, PathBuf};

use crate::IpfsError;

/// One file or directory inside the folder being added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderEntry {
    /// Path relative to the folder, `/`-separated, e.g. `720p/index.m3u8`.
    pub relative: String,
    /// Where it is on disk.
    pub path: PathBuf,
    /// `None` for a directory, the byte length for a file.
    pub file_len: Option<u64>,
}

/// Lists `root` recursively. Symlinks and names that are not UTF-8 are
/// refused: kubo would add them differently from what we hash.
pub fn list(root: &Path) -> Result<Vec<FolderEntry>, IpfsError> {
    let mut entries = Vec::new();
    walk(root, root, &mut entries)?;
    Ok(entries)
}

/// The entries of a listing that are `files` (relative paths), and the
/// folders that hold them: what is uploaded and hashed when a folder may
/// hold more than is to be published.
pub fn only(
    entries: Vec<FolderEntry>,
    files: &std::collections::BTreeSet<String>,
) -> Vec<FolderEntry> {
    entries
        .into_iter()
        .filter(|entry| match entry.file_len {
            Some(_) => files.contains(&entry.relative),
            None => files
                .iter()
                .any(|file| file.starts_with(&format!("{}/", entry.relative))),
        })
        .collect()
}

/// Total bytes of all files in a listing.
pub fn total_bytes(entries: &[FolderEntry]) -> u64 {
    entries.iter().filter_map(|e| e.file_len).sum()
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<FolderEntry>) -> Result<(), IpfsError> {
    let io_err = |path: &Path, source| IpfsError::Io {
        path: path.to_owned(),
        source,
    };
    let mut children = std::fs::read_dir(dir)
        .map_err(|e| io_err(dir, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| io_err(dir, e))?;
    children.sort_by_key(|c| c.file_name());
    for child in children {
        let path = child.path();
        let meta = std::fs::symlink_metadata(&path).map_err(|e| io_err(&path, e))?;
        let relative = path
            .strip_prefix(root)
            .expect("walked paths stay under the root")
            .to_str()
            .ok_or_else(|| IpfsError::UnsupportedEntry {
                path: path.clone(),
                reason: "its name is not valid UTF-8".into(),
            })?
            .replace(std::path::MAIN_SEPARATOR, "/");
        if meta.is_dir() {
            out.push(FolderEntry {
                relative,
                path: path.clone(),
                file_len: None,
            });
            walk(root, &path, out)?;
        } else if meta.is_file() {
            out.push(FolderEntry {
                relative,
                path,
                file_len: Some(meta.len()),
            });
        } else {
            return Err(IpfsError::UnsupportedEntry {
                path,
                reason: "it is neither a regular file nor a directory".into(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_directories_before_their_contents_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("720p")).unwrap();
        std::fs::write(dir.path().join("720p/index.m3u8"), "x").unwrap();
        std::fs::write(dir.path().join("720p/720p_0.ts"), "xy").unwrap();
        std::fs::write(dir.path().join("manifest.m3u8"), "xyz").unwrap();
        std::fs::create_dir(dir.path().join("480p")).unwrap();
        std::fs::write(dir.path().join("480p/index.m3u8"), "").unwrap();

        let entries = list(dir.path()).unwrap();
        let names: Vec<_> = entries
            .iter()
            .map(|e| (e.relative.as_str(), e.file_len))
            .collect();
        assert_eq!(
            names,
            [
                ("480p", None),
                ("480p/index.m3u8", Some(0)),
                ("720p", None),
                ("720p/720p_0.ts", Some(2)),
                ("720p/index.m3u8", Some(1)),
                ("manifest.m3u8", Some(3)),
            ]
        );
        assert_eq!(total_bytes(&entries), 6);
    }
}
