//! Errors as they cross to the window: `{code, message, fields}`. The code
//! is what the UI decides on; the message is for people; `fields` names the
//! settings a save was refused for. The UI never parses messages.

use serde::Serialize;
use tank_config::{ConfigError, FieldError, SecretError};
use tank_daemon::DaemonError;
use tank_engine::EngineError;
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    pub fields: Vec<FieldError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The config file cannot be used; the message says where and why.
    Config,
    /// Settings refused; `fields` says which and why.
    InvalidSettings,
    /// A job's input (path or URL) cannot be used.
    InvalidInput,
    NoNodes,
    NoSuchJob,
    /// The job is in a state that does not allow the action.
    WrongState,
    /// Another process works on the job.
    Busy,
    Keyring,
    /// The job database or data folder failed.
    Storage,
    Internal,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> AppError {
        AppError {
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    pub fn invalid_settings(fields: Vec<FieldError>) -> AppError {
        let message = match fields.as_slice() {
            [one] if one.field.is_empty() => one.message.clone(),
            [_] => "one setting is not valid; nothing was saved".into(),
            many => format!("{} settings are not valid; nothing was saved", many.len()),
        };
        AppError {
            code: ErrorCode::InvalidSettings,
            message,
            fields,
        }
    }
}

impl From<EngineError> for AppError {
    fn from(error: EngineError) -> AppError {
        let code = match &error {
            EngineError::Config(_) => ErrorCode::Config,
            EngineError::Input(_) => ErrorCode::InvalidInput,
            EngineError::NoNodes => ErrorCode::NoNodes,
            _ if error.is_no_such_job() => ErrorCode::NoSuchJob,
            EngineError::Store(_) | EngineError::DataDir { .. } => ErrorCode::Storage,
            EngineError::JobBusy(_) => ErrorCode::Busy,
            EngineError::NotFailed { .. }
            | EngineError::NotRetryable(_)
            | EngineError::NotRunning { .. }
            | EngineError::NotDone { .. }
            | EngineError::Stopped(_)
            | EngineError::IllegalMove { .. } => ErrorCode::WrongState,
        };
        AppError::new(code, error.to_string())
    }
}

impl From<DaemonError> for AppError {
    fn from(error: DaemonError) -> AppError {
        let code = match error {
            DaemonError::Engine(e) => return e.into(),
            DaemonError::Store(_) => ErrorCode::Storage,
            DaemonError::Identity(_) => ErrorCode::Config,
            DaemonError::LocalNodeDisabled => ErrorCode::WrongState,
            DaemonError::DirectApi(_) => ErrorCode::Config,
            DaemonError::AlreadyRunning { .. } => ErrorCode::WrongState,
            DaemonError::RunnerLock(_) => ErrorCode::Storage,
        };
        AppError::new(code, error.to_string())
    }
}

impl From<ConfigError> for AppError {
    fn from(error: ConfigError) -> AppError {
        AppError::new(ErrorCode::Config, error.to_string())
    }
}

impl From<SecretError> for AppError {
    fn from(error: SecretError) -> AppError {
        AppError::new(ErrorCode::Keyring, error.to_string())
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

pub type AppResult<T> = Result<T, AppError>;
