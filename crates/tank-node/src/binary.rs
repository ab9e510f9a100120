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

/// The installed app's kubo sidecar, named apart from any `ipfs` the system
/// has (packages put it beside our executable, in `/usr/bin` on Linux).
pub const SIDECAR: &str = "tank-kubo";

/// `kubo` at `path`, to run without the `hidden_env` variables.
pub(crate) fn command(path: &Path, hidden_env: &[String]) -> Command {
    let mut command = Command::new(path);
    for name in hidden_env {
        command.env_remove(name);
    }
    command
}

/// The configured binary, else [`SIDECAR`] next to `exe_dir`, else `ipfs`
/// on PATH, asked for its version without the `hidden_env` variables.
/// Refuses versions older than [`MIN_VERSION`].
pub fn find(
    configured: Option<&Path>,
    exe_dir: Option<&Path>,
    hidden_env: &[String],
) -> Result<KuboBinary, NodeError> {
    let sidecar = format!("{SIDECAR}{}", std::env::consts::EXE_SUFFIX);
    let path = match (configured, exe_dir.map(|d| d.join(sidecar))) {
        (Some(path), _) => path.to_owned(),
        (None, Some(sidecar)) if sidecar.is_file() => sidecar,
        _ => PathBuf::from("ipfs"),
    };
    let output = command(&path, hidden_env)
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

    #[test]
    fn without_a_sidecar_kubo_is_looked_for_on_path() {
        let no_sidecar = tempfile::tempdir().unwrap();
        let tried = match find(None, Some(no_sidecar.path()), &[]) {
            Ok(found) => found.path,
            Err(NodeError::NoKubo { path, .. } | NodeError::TooOld { path, .. }) => path,
            Err(other) => panic!("unexpected: {other}"),
        };
        assert_eq!(tried, PathBuf::from("ipfs"));
    }

    #[test]
    fn a_missing_kubo_says_how_to_install_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("ipfs");

        let message = find(Some(&missing), None, &[]).unwrap_err().to_string();

        assert!(
            message.contains(&missing.display().to_string()),
            "{message}"
        );
        assert!(
            message.contains("https://docs.ipfs.tech/install/"),
            "{message}"
        );
        assert!(message.contains("[local_node] binary"), "{message}");
    }

    #[test]
    fn a_sidecar_next_to_the_executable_is_preferred_to_path() {
        let dir = tempfile::tempdir().unwrap();
        let sidecar = dir
            .path()
            .join(format!("{SIDECAR}{}", std::env::consts::EXE_SUFFIX));
        std::fs::write(&sidecar, b"not a program").unwrap();

        let error = find(None, Some(dir.path()), &[]).unwrap_err();

        assert!(
            matches!(&error, NodeError::NoKubo { path, .. } if *path == sidecar),
            "the sidecar was run: {error}"
        );
    }
}
