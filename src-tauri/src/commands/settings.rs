//! The Settings view: nodes and tiers, quorum and retries, the ladder,
//! webhooks, launch at login. Secrets go to the OS keyring and come back
//! only as "set" or "not set".

use serde::Deserialize;
use tank_config::{FieldError, Secrets, Settings};
use tauri::State;
use tauri_plugin_autostart::ManagerExt;
use ts_rs::TS;

use crate::error::{AppError, AppResult, ErrorCode};
use crate::runtime::Runtime;

/// A password, token or webhook URL typed into the form, for the keyring.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct SecretUpdate {
    /// `node:<name>` or `alert:<name>`, of a node or webhook in the settings.
    pub key: String,
    pub value: String,
}

#[tauri::command]
pub fn get_settings(runtime: State<'_, Runtime>) -> AppResult<Settings> {
    let config = runtime.file_config()?;
    let secrets = Secrets::new(&config.secrets.service);
    Ok(Settings::of(&config, |key| secrets.get(key).is_ok()))
}

/// Checks every field, stores the secrets, writes the config file whole and
/// restarts the engine with it; nothing is saved when a field is wrong.
#[tauri::command]
pub async fn save_settings(
    runtime: State<'_, Runtime>,
    settings: Settings,
    secrets: Vec<SecretUpdate>,
) -> AppResult<Settings> {
    let base = runtime.file_config()?;
    let config = settings
        .apply_to(&base)
        .map_err(AppError::invalid_settings)?;
    let known = |key: &str| {
        config.nodes.iter().any(|n| n.secret_key() == key)
            || config.alerts.iter().any(|a| a.secret_key() == key)
    };
    let unknown: Vec<FieldError> = secrets
        .iter()
        .filter(|s| !known(&s.key))
        .map(|s| FieldError {
            field: String::new(),
            message: format!("secret {:?} belongs to no node or webhook", s.key),
        })
        .collect();
    if !unknown.is_empty() {
        return Err(AppError::invalid_settings(unknown));
    }
    let keyring = Secrets::new(&config.secrets.service);
    for secret in secrets.iter().filter(|s| !s.value.is_empty()) {
        keyring.set(&secret.key, &secret.value)?;
    }
    runtime.reconfigure(config).await?;
    get_settings(runtime)
}

#[tauri::command]
pub fn launch_at_login(app: tauri::AppHandle) -> AppResult<bool> {
    app.autolaunch()
        .is_enabled()
        .map_err(|e| AppError::new(ErrorCode::Internal, format!("launch at login: {e}")))
}

#[tauri::command]
pub fn set_launch_at_login(app: tauri::AppHandle, enabled: bool) -> AppResult<bool> {
    let manager = app.autolaunch();
    let outcome = match enabled {
        true => manager.enable(),
        false => manager.disable(),
    };
    outcome.map_err(|e| AppError::new(ErrorCode::Internal, format!("launch at login: {e}")))?;
    launch_at_login(app)
}
