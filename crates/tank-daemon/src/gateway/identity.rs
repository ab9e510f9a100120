//! The encoder's gateway identity (an Ed25519 key, known to the gateway as
//! a `did:key`). Where it comes from, in order:
//!
//! 1. `ENCODER_PRIVATE_KEY` (a base64 32-byte seed, as the 3Speak encoder
//!    takes it), kept in the keyring too when the keyring has none yet;
//! 2. the OS keyring, entry `identity:ed25519`;
//! 3. a new key, made on first use and kept in the keyring. If the keyring
//!    cannot keep it, nothing is made: an identity that would change at
//!    every start is worse than none.
//!
//! The seed is never logged, printed or written anywhere else.

use serde::Serialize;
use tank_gateway::Identity;

use crate::error::DaemonError;
use tank_config::{SecretError, Secrets};

/// The keyring entry of the identity's seed.
pub const IDENTITY_KEY: &str = "identity:ed25519";

/// Where the identity in use came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum IdentitySource {
    /// `ENCODER_PRIVATE_KEY`.
    Environment,
    Keyring,
    /// Made now, and kept in the keyring.
    Generated,
}

/// The identity, from the environment, the keyring, or made now.
pub fn load(secrets: &Secrets) -> Result<(Identity, IdentitySource), DaemonError> {
    let from_env = std::env::var("ENCODER_PRIVATE_KEY")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let stored = match secrets.get(IDENTITY_KEY) {
        Ok(seed) => Some(Identity::from_base64(seed.expose()).map_err(|e| {
            DaemonError::Identity(format!(
                "the keyring entry {IDENTITY_KEY} is damaged ({e}); delete it with `tank secret delete {IDENTITY_KEY}` or set ENCODER_PRIVATE_KEY"
            ))
        })?),
        Err(SecretError::Missing { .. }) => None,
        // No keyring: the environment may still carry the identity.
        Err(e) if from_env.is_some() => {
            tracing::debug!(%e, "no keyring; using ENCODER_PRIVATE_KEY");
            None
        }
        Err(e) => return Err(DaemonError::Identity(e.to_string())),
    };
    if let Some(text) = from_env {
        let identity = Identity::from_base64(&text)
            .map_err(|e| DaemonError::Identity(format!("ENCODER_PRIVATE_KEY: {e}")))?;
        match &stored {
            None => {
                if let Err(e) = secrets.set(IDENTITY_KEY, &identity.to_base64()) {
                    tracing::debug!(%e, "ENCODER_PRIVATE_KEY not kept in the keyring");
                }
            }
            Some(kept) if kept.did() != identity.did() => tracing::warn!(
                env = identity.did(),
                keyring = kept.did(),
                "ENCODER_PRIVATE_KEY differs from the identity in the keyring; using ENCODER_PRIVATE_KEY"
            ),
            Some(_) => {}
        }
        return Ok((identity, IdentitySource::Environment));
    }
    if let Some(identity) = stored {
        return Ok((identity, IdentitySource::Keyring));
    }
    let identity = Identity::generate().map_err(|e| DaemonError::Identity(e.to_string()))?;
    secrets
        .set(IDENTITY_KEY, &identity.to_base64())
        .map_err(|e| {
            DaemonError::Identity(format!(
                "cannot keep a new identity ({e}); set ENCODER_PRIVATE_KEY to a base64 32-byte seed instead"
            ))
        })?;
    tracing::info!(
        did = identity.did(),
        "made a new gateway identity, kept in the OS keyring"
    );
    Ok((identity, IdentitySource::Generated))
}
