//! Tank Encoder's side of 3Speak's services, which hand out encoding jobs
//! and take back their results.
//!
//! - [`Identity`]: the encoder's Ed25519 key and the `did:key` 3Speak
//!   knows it by. Every signed POST carries a general JWS in JSON form, the
//!   shape 3Speak's `dids` library verifies.
//! - [`EmbedGateway`]: the embed system (2026), `updateNode`, `heartbeat`
//!   and `myJob`; [`Webhooks`]: its result and progress webhooks;
//!   [`TrafficDirector`]: which hotnode takes uploads now.
//! - [`EncoderGateway`]: the legacy gateway's endpoints (`updateNode`,
//!   `getJob`, `acceptJob`, `pingJob`, `finishJob`, `failJob`, `rejectJob`,
//!   `jobstatus`), with the answers that mean "another encoder won the
//!   job" and "this result was already reported" told apart from real
//!   failures.
//!
//! This crate knows nothing of our jobs or when to report them: that policy
//! (claim, ping, report exactly once and only when durable) lives in
//! `tank-daemon`.

mod client;
mod embed;
mod error;
mod identity;
mod traffic_director;
mod transport;
mod webhook;
mod wire;

pub use client::{Claim, EncoderGateway, Finish};
pub use embed::EmbedGateway;
pub use error::GatewayError;
pub use identity::{Identity, IdentityError, Jws};
pub use traffic_director::TrafficDirector;
pub use webhook::Webhooks;
pub use wire::{
    CallbackKey, EmbedJob, EncoderRecord, FailReport, GatewayJob, JobInputInfo, NodeInfo,
    ProgressReport, RemoteStatus, WebhookReport, WebhookStatus,
};
