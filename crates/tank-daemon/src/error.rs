//! Why a background service could not do what it was asked.

use tank_engine::EngineError;
use tank_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("gateway identity: {0}")]
    Identity(String),
    #[error("the local node is not enabled: turn it on in Settings or set `enabled = true` under [local_node]")]
    LocalNodeDisabled,
    /// Another process runs the background work on this data directory.
    #[error("the background work for {} already runs in {} (one runner per data directory: stop it first, or use another --data-dir)", data_dir.display(), if holder.is_empty() { "another process" } else { holder.as_str() })]
    AlreadyRunning {
        data_dir: std::path::PathBuf,
        holder: String,
    },
    #[error("cannot take the runner lock: {0}")]
    RunnerLock(String),
    /// The Direct API cannot start (no key, the address taken).
    #[error("Direct API: {0}")]
    DirectApi(String),
}
