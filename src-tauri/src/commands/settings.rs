//! The Settings view: nodes and tiers, quorum and retries, the ladder,
//! webhooks, launch at login. Secrets go to the OS keyring and come back
//! only as "set" or "not set".

use serde::Deserialize;
use tank_config::{FieldError, Purpose, Secrets, Settings, DIRECT_API_SECRET};
use tauri::State;
use tauri_plugin_autostart::ManagerExt;
use ts_rs::TS;

use crate::commands::app::{status_of, AppStatus};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::runtime::Runtime;

/// A password, token or webhook URL typed into the form, for the keyring.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct SecretUpdate {
    /// `node:<name>` or `alert:<name>`, of a node or webhook in the
    /// settings, or `direct-api`, the Direct API's key.
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
            || (config.direct_api.enabled && key == DIRECT_API_SECRET)
    };
    let mut refused: Vec<FieldError> = secrets
        .iter()
        .filter(|s| !known(&s.key))
        .map(|s| FieldError {
            field: String::new(),
            message: format!(
                "secret {:?} belongs to no node, webhook or Direct API",
                s.key
            ),
        })
        .collect();
    let keyring = Secrets::new(&config.secrets.service);
    let key_given = secrets
        .iter()
        .any(|s| s.key == DIRECT_API_SECRET && !s.value.is_empty());
    if config.direct_api.enabled && !key_given && keyring.get(DIRECT_API_SECRET).is_err() {
        refused.push(FieldError {
            field: "threespeak.direct_api_key".into(),
            message: "the Direct API needs a key: 3Speak calls with it".into(),
        });
    }
    if !refused.is_empty() {
        return Err(AppError::invalid_settings(refused));
    }
    for secret in secrets.iter().filter(|s| !s.value.is_empty()) {
        keyring.set(&secret.key, &secret.value)?;
    }
    runtime.reconfigure(config).await?;
    get_settings(runtime)
}

/// The first run's one question, answered: the config for `purpose`, with
/// what it needs made first (the 3Speak identity, kept in the keyring) or
/// stored (the Direct API's key, for a managed encoder). Only on a first
/// run: an existing config is changed in Settings.
#[tauri::command]
pub async fn set_up(
    runtime: State<'_, Runtime>,
    purpose: Purpose,
    direct_api_key: Option<String>,
) -> AppResult<AppStatus> {
    if !runtime.first_run() {
        return Err(AppError::new(
            ErrorCode::WrongState,
            "this encoder is already set up: change it in Settings",
        ));
    }
    let base = runtime.file_config()?;
    if let Some(key) = direct_api_key.filter(|k| !k.is_empty()) {
        Secrets::new(&base.secrets.service).set(DIRECT_API_SECRET, &key)?;
    }
    let set_up = tank_daemon::set_up(purpose, base)?;
    if let Some(did) = &set_up.did {
        tracing::info!(%did, ?purpose, "set up");
    }
    runtime.reconfigure(set_up.config).await?;
    Ok(status_of(&runtime))
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
