//! Tank Encoder's local IPFS node: a kubo daemon the app runs, supervises,
//! heals, and uses as its Tier-2 source (and, if so configured, a replica).
//!
//! [`LocalNode`] finds kubo (configured path, else the `tank-kubo`
//! sidecar next to our executable, else `ipfs` on PATH) and refuses versions that are too old.
//! It initialises its own repo on first use and binds the API and gateway
//! to 127.0.0.1, moving to free ports when the wanted ones are taken (and
//! saying whether another IPFS answers there). It sets peering with the
//! configured nodes, the storage limit and GC, and starts the daemon with
//! `--migrate`, capturing its output to a rotating log.
//!
//! It fixes what IPFS Desktop leaves its users to fix by hand: a stale
//! `api` file or a `repo.lock` left by a dead daemon is recovered at once,
//! while a lock held by a live process is never taken. Migration and
//! version-mismatch output become clear errors. [`LocalNode::supervise`]
//! restarts crashes with backoff and a cap, probes liveness, and heals a
//! daemon running away with CPU or memory, step by step. Every step is a
//! [`NodeEvent`].

mod binary;
mod config;
mod error;
mod events;
mod logs;
mod node;
mod ports;
mod supervisor;
mod watchdog;

pub use binary::{KuboBinary, MIN_VERSION};
pub use config::LocalNodeConfig;
pub use error::NodeError;
pub use events::NodeEvent;
pub use logs::tail as log_tail;
pub use node::{LocalNode, LocalStatus, PeeringPeer, Running};
