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
    /// The Direct API cannot start (no key, the address taken).
    #[error("Direct API: {0}")]
    DirectApi(String),
}
