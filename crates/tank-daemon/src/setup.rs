//! A new install's set-up, after the first run's one question: the config
//! for its purpose, and what that config needs before it can work. A
//! community encoder needs its 3Speak identity, made now and kept in the
//! keyring, so a missing keyring is said at once instead of at the first
//! job. A managed encoder needs the Direct API's key, which 3Speak calls
//! with: it must already be in the keyring (or `DIRECT_API_KEY`).

use tank_config::{Config, Purpose, Secrets};

use crate::embed::direct_api;
use crate::error::DaemonError;
use crate::gateway::identity;

/// What the set-up made.
#[derive(Debug)]
pub struct SetUp {
    /// The config to save.
    pub config: Config,
    /// A community encoder's `did:key`, as 3Speak will know it.
    pub did: Option<String>,
}

/// `base` set up for `purpose`, with what it needs made or found. Nothing is
/// saved: the caller writes the config when this succeeds.
pub fn set_up(purpose: Purpose, base: Config) -> Result<SetUp, DaemonError> {
    let config = base.for_purpose(purpose);
    let secrets = Secrets::new(&config.secrets.service);
    let did = match purpose {
        Purpose::Community => Some(identity::load(&secrets)?.0.did().to_owned()),
        Purpose::Managed => {
            direct_api::api_key(&secrets)?;
            None
        }
        Purpose::LocalOnly => None,
    };
    Ok(SetUp { config, did })
}
