//! The engine of Tank Encoder: jobs from input to durable HLS on IPFS.
//!
//! A job moves through committed states, `queued → (downloading) → probing
//! → encoding → uploading → pinning → verifying → done`, or ends `failed`
//! with a `retryable` flag. Each state's work is a stage (`stages/`) that
//! can be redone from scratch, and the move to the next state is committed
//! to SQLite before the next stage starts, so a process killed at any line
//! resumes the job where it stood.
//!
//! The promise: a job is `done` only when a quorum of nodes hold a verified
//! pin of its CID and its manifest reads back byte for byte. One node
//! failing, hanging or lying never fails a job that another node can carry.
//!
//! Entry point: [`Engine`]. The engine knows nothing of terminals or windows;
//! the `tank` binary and the desktop app are thin shells over it.

mod alerts;
mod attempts;
mod audit;
mod breakers;
mod config;
mod controls;
mod daemon;
mod engine;
mod error;
mod events;
mod gateway;
mod health;
mod identity;
mod job;
mod job_log;
mod local_control;
mod lock;
mod nodes;
mod paths;
mod scheduler;
mod secrets;
mod stages;
mod store;
#[cfg(test)]
mod test_support;
mod watch_folders;

pub use alerts::Alert;
pub use config::{
    AlertKind, AlertSettings, AuthKind, Config, ConfigError, EncodingConfig, FieldError,
    GatewayConfig, GatewayMode, JobsConfig, NodeConfig, NodeKind, NodeRole, NodeSettings,
    PinningConfig, Settings, WatchConfig,
};
pub use engine::Engine;
pub use error::EngineError;
pub use events::JobEvent;
pub use gateway::{GatewayStatus, GATEWAY_HEALTH};
pub use health::{HealthChange, NodeReport};
pub use identity::{IdentitySource, IDENTITY_KEY};
pub use job::{
    Attempt, AttemptFilter, InputError, JobAttempt, JobId, JobInput, JobReport, JobState,
    JobSummary, Replica, StateChange,
};
pub use job_log::{JobLogLine, LogTone};
pub use local_control::{LocalNodeAction, LocalNodeEvent, LocalNodeReport};
pub use nodes::{test_node, NodeStatus};
pub use paths::Paths;
pub use secrets::{SecretError, Secrets};
pub use store::{
    AuditOutcome, AuditRecord, ClaimId, GatewayClaim, GatewayPhase, HealthRow, HealthSample, Report,
};
