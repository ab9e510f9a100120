//! The engine of Tank Encoder: one job, from its input to durable HLS on
//! IPFS.
//!
//! A job moves through committed states, `queued → (downloading) → probing
//! → encoding → uploading → pinning → verifying → done`, or ends `failed`
//! with a `retryable` flag. Each state's work is a stage (`stages/`,
//! `pinning/`) that can be redone from scratch and returns what it
//! produced; `lifecycle.rs` commits that, with the move to the next state,
//! to SQLite before the next stage starts, so a process killed at any line
//! resumes the job where it stood.
//!
//! The promise: a job is `done` only when a quorum of nodes hold a verified
//! pin of its CID and its manifest reads back byte for byte. One node
//! failing, hanging or lying never fails a job that another node can carry.
//! How nodes are chosen, retried, hedged and waited for is one file:
//! `pinning/policy.rs`.
//!
//! Entry point: [`Engine`]. The engine knows nothing of terminals, windows
//! or background services; the `tank` binary, the desktop app and the
//! services of `tank-daemon` are built on it.

mod disk;
mod engine;
mod error;
mod events;

mod lock;
mod nodes;
mod pinning;
mod stages;
#[cfg(test)]
mod test_support;

pub use engine::Engine;
pub use error::EngineError;
pub use events::Events;
pub use nodes::{test_node, Node, NodeStatus};
pub use pinning::breakers::Breakers;
