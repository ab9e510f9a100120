//! `[direct_api]`: managed mode. 3Speak's embed system pushes jobs to this
//! encoder's `POST /encode`; results go back by the job's webhook.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// The keyring entry of the key callers must present (`tank secret set
/// direct-api`); `DIRECT_API_KEY` on a server without a keyring.
pub const DIRECT_API_SECRET: &str = "direct-api";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DirectApiConfig {
    /// Serve the Direct API (`tank daemon` and the desktop app).
    pub enabled: bool,
    /// Where it listens. 3Speak's dispatcher must reach it: on a server,
    /// `0.0.0.0:3002` (what `DIRECT_API_PORT` sets), behind TLS.
    pub listen: SocketAddr,
    /// The largest request body taken, in bytes; a job is a few hundred.
    pub max_body: usize,
}

impl Default for DirectApiConfig {
    fn default() -> Self {
        DirectApiConfig {
            enabled: false,
            listen: SocketAddr::from(([127, 0, 0, 1], 3002)),
            max_body: 64 * 1024,
        }
    }
}

impl DirectApiConfig {
    /// What is wrong with these settings, if anything.
    pub(crate) fn problem(&self) -> Option<String> {
        (self.max_body < 1024).then(|| "max_body must be at least 1024 bytes".into())
    }
}
