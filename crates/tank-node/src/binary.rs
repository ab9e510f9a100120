//! Which kubo to run, and whether it is new enough.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::NodeError;

/// The oldest kubo we run: `dag/stat --offline`, `Peering.Peers` and
/// `Datastore.GCPeriod` as used here all work from this version on.
pub const MIN_VERSION: (u32, u32, u32) = (0, 18, 0);

/// A kubo binary that answered `ipfs version --number`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KuboBinary {
    pub path: PathBuf,
    pub version: String,
}

/// The configured binary, else `ipfs` next to `exe_dir` (an installed
/// app's sidecar), else `ipfs` on PATH. Refuses versions older than
/// [`MIN_VERSION`].
pub fn find(configured: Option<&Path>, exe_dir: Option<&Path>) -> Result<KuboBinary, NodeError> {
    let name = if cfg!(windows) { "ipfs.exe" } else { "ipfs" };
    let path = match (configured, exe_dir.map(|d| d.join(name))) {
        (Some(path), _) => path.to_owned(),
        (None, Some(sidecar)) if sidecar.is_file() => sidecar,
        _ => PathBuf::from(name),
    };
    let output = Command::new(&path)
        .args(["version", "--number"])
        .output()
        .map_err(|e| NodeError::NoKubo {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    if !output.status.success() {
        return Err(NodeError::NoKubo {
            path,
            reason: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let parsed = parse_version(&version).ok_or_else(|| NodeError::NoKubo {
        path: path.clone(),
        reason: format!("`ipfs version --number` said {version:?}"),
    })?;
    if parsed < MIN_VERSION {
        let (a, b, c) = MIN_VERSION;
        return Err(NodeError::TooOld {
            path,
            version,
            minimum: format!("{a}.{b}.{c}"),
        });
    }
    Ok(KuboBinary { path, version })
}

/// `0.22.0`, `v0.22.0`, `0.23.0-rc1` → (0, 22, 0).
fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let core = text
        .trim()
        .trim_start_matches('v')
        .split(['-', '+'])
        .next()?;
    let mut parts = core.split('.').map(|p| p.parse().ok());
    Some((
        parts.next()??,
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_the_way_kubo_prints_them() {
        assert_eq!(parse_version("0.22.0"), Some((0, 22, 0)));
        assert_eq!(parse_version("v0.29.1-rc2"), Some((0, 29, 1)));
        assert_eq!(parse_version("0.9"), Some((0, 9, 0)));
        assert_eq!(parse_version("kubo"), None);
        assert!(parse_version("0.17.0").unwrap() < MIN_VERSION);
    }
}
