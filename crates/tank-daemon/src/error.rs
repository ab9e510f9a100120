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
    /// Taking embed jobs needs the report outbox (issue 13), which has not
    /// landed: claiming jobs we could not report would stall them.
    #[error("[gateway] mode = \"embed\" cannot take jobs yet: this build speaks the embed system's wire but has no report outbox; turn [gateway] off, or use mode = \"legacy\" for an old encoder gateway")]
    EmbedNotAvailable,
}
