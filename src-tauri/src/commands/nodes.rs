//! The Nodes view and Settings' "test connection".

use std::time::Duration;

use tank_config::{NodeSettings, Secrets};
use tank_daemon::{DaemonError, LocalNodeAction, LocalNodeReport, NodeReport};
use tank_engine::NodeStatus;
use tauri::State;

use crate::error::{AppError, AppResult};
use crate::runtime::Runtime;

/// Samples per node for the latency chart.
const HISTORY: u32 = 120;
/// Lines of the local node's log shown.
const LOCAL_LOG_LINES: usize = 200;

/// Every node: how it answers now, its monitored state, recent samples.
#[tauri::command]
pub async fn node_reports(runtime: State<'_, Runtime>) -> AppResult<Vec<NodeReport>> {
    Ok(runtime.daemon()?.health().node_reports(HISTORY).await)
}

/// Asks node `index` of the Settings form (maybe not saved yet) how it
/// is, with the secret typed in the form when given, else the keyring's,
/// but only while the node still points where it was saved.
#[tauri::command]
pub async fn test_node(
    runtime: State<'_, Runtime>,
    node: NodeSettings,
    index: usize,
    secret: Option<String>,
) -> AppResult<NodeStatus> {
    let config = node.check(index).map_err(AppError::invalid_settings)?;
    let saved_config = runtime.file_config().unwrap_or_default();
    let saved = saved_config.nodes.iter().find(|n| n.name == config.name);
    let secrets = Secrets::new(&saved_config.secrets.service);
    let secret = secret.filter(|s| !s.is_empty());
    Ok(tank_engine::test_node(
        &config,
        secret.as_deref(),
        saved,
        &secrets,
        Duration::from_secs(10),
    )
    .await)
}

/// The local kubo node, or `null` when it is not enabled.
#[tauri::command]
pub async fn local_node(runtime: State<'_, Runtime>) -> AppResult<Option<LocalNodeReport>> {
    match runtime.daemon()?.local_node().report(LOCAL_LOG_LINES).await {
        Ok(report) => Ok(Some(report)),
        Err(DaemonError::LocalNodeDisabled) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Starts, stops or restarts the local node.
#[tauri::command]
pub fn local_node_action(runtime: State<'_, Runtime>, action: LocalNodeAction) -> AppResult<()> {
    Ok(runtime.daemon()?.local_node().action(action)?)
}
