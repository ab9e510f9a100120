//! What a Tank Encoder job is, with no IO: its id and input, its state
//! machine (which moves are legal, what follows each stage), the report and
//! records people and scripts see (attempts, replicas, audits, gateway
//! claims, embed jobs and their outbox, node health) and the events
//! watchers receive.
//!
//! Every other crate speaks these types: the store persists them, the
//! engine moves jobs through [`JobState`]'s table, and with the `ts`
//! feature they become the desktop window's TypeScript bindings, so the
//! window never re-declares them.

mod audit;
mod claim;
mod embed;
mod event;
mod health;
mod job;
mod log;
mod report;
mod state;

pub use audit::{AuditOutcome, AuditRecord};
pub use claim::{ClaimId, GatewayClaim, GatewayPhase, Report};
pub use embed::{EmbedClaim, EmbedId, EmbedVia, EmbedVideo, OutboxEntry, OutboxStatus};
pub use event::JobEvent;
pub use health::{HealthChange, HealthRow, HealthSample, HealthState};
pub use job::{InputError, JobId, JobInput, JobRules};
pub use log::{log_of, JobLogLine, LogTone};
pub use report::{
    Attempt, AttemptFilter, DiskUsage, JobAttempt, JobFolderSize, JobReport, JobSummary, Replica,
    StateChange, VerifiedReplica,
};
pub use state::{JobState, StageKind};
