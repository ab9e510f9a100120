//! The whole app: its status line, pausing all work, the identity, and the
//! stream of job and node events.

use serde::Serialize;
use tank_daemon::GatewayStatus;
use tank_model::JobEvent;
use tauri::ipc::Channel;
use tauri::State;
use ts_rs::TS;

use crate::error::AppResult;
use crate::runtime::Runtime;
use crate::watch;

#[derive(Debug, Clone, Serialize, TS)]
pub struct AppStatus {
    pub version: String,
    /// All work paused (from the window or the tray).
    pub paused: bool,
    /// Why the engine is not running (a config file it cannot use).
    pub problem: Option<String>,
    /// No config file yet: the window asks what this encoder is for.
    pub first_run: bool,
    pub config_path: String,
    pub data_dir: String,
}

#[tauri::command]
pub fn app_status(runtime: State<'_, Runtime>) -> AppStatus {
    status_of(&runtime)
}

pub fn status_of(runtime: &Runtime) -> AppStatus {
    AppStatus {
        version: env!("CARGO_PKG_VERSION").into(),
        paused: runtime.engine().is_ok_and(|e| e.is_paused()),
        problem: runtime.problem(),
        first_run: runtime.first_run(),
        config_path: runtime.paths().config.display().to_string(),
        data_dir: runtime.paths().data_dir.display().to_string(),
    }
}

/// Pauses or resumes all work; the tray's menu item does the same.
#[tauri::command]
pub fn set_paused(
    app: tauri::AppHandle,
    runtime: State<'_, Runtime>,
    paused: bool,
) -> AppResult<AppStatus> {
    runtime.engine()?.pause_all(paused);
    crate::tray::refresh(&app);
    Ok(status_of(&runtime))
}

/// The 3Speak gateway: state, this encoder's did:key, recent claims.
#[tauri::command]
pub fn gateway_status(runtime: State<'_, Runtime>) -> AppResult<GatewayStatus> {
    Ok(runtime.daemon()?.gateway_status(20)?)
}

/// Streams job and node events to the window until it goes away; progress
/// is throttled per job.
#[tauri::command]
pub fn watch_events(app: tauri::AppHandle, channel: Channel<JobEvent>) {
    watch::forward(app, channel);
}
