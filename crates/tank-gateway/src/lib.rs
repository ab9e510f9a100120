//! Tank Encoder's side of the 3Speak encoder gateway, the service that hands
//! out encoding jobs and takes back their results.
//!
//! - [`Identity`]: the encoder's Ed25519 key and the `did:key` the gateway
//!   knows it by. Every POST is signed with it as a general JWS in JSON form,
//!   the shape the gateway's `dids` library verifies.
//! - [`EncoderGateway`]: the gateway's endpoints (`updateNode`, `getJob`,
//!   `acceptJob`, `pingJob`, `finishJob`, `failJob`, `rejectJob`,
//!   `jobstatus`, and the 2026 `myJob` and `heartbeat`), with the answers
//!   that mean "another encoder won the job" and "this result was already
//!   reported" told apart from real failures.
//!
//! This crate knows nothing of our jobs or when to report them: that policy
//! (claim, ping, report exactly once and only when durable) lives in
//! `tank-engine`.

mod client;
mod error;
mod identity;
mod wire;

pub use client::{Claim, EncoderGateway, Finish};
pub use error::GatewayError;
pub use identity::{Identity, IdentityError, Jws};
pub use wire::{FailReport, GatewayJob, JobInputInfo, NodeInfo, RemoteStatus};
