//! Secrets (node passwords and tokens, webhook URLs) live in the OS
//! keyring: Secret Service on Linux, Keychain on macOS, Credential Manager
//! on Windows. Never in the config file, never in logs.
//!
//! Servers without a keyring can pass a secret in the environment instead,
//! as `TANK_SECRET_<KEY>` with the key upper-cased and every character other
//! than a letter or digit turned into `_` (`node:pinata` →
//! `TANK_SECRET_NODE_PINATA`).

use tank_ipfs::Secret;

/// The keyring under one service name (`[secrets] service`).
#[derive(Debug, Clone)]
pub struct Secrets {
    service: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("no secret {key} in the OS keyring (run `tank secret set {key}`, or set {env} on a server without a keyring)")]
    Missing { key: String, env: String },
    #[error("cannot use the OS keyring for {key}: {reason}")]
    Keyring { key: String, reason: String },
}

impl Secrets {
    pub fn new(service: &str) -> Secrets {
        Secrets {
            service: service.to_owned(),
        }
    }

    /// The secret stored under `key` (e.g. `node:pinata`).
    pub fn get(&self, key: &str) -> Result<Secret, SecretError> {
        let from_keyring = self
            .entry(key)
            .and_then(|entry| match entry.get_password() {
                Ok(value) => Ok(Some(value)),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(self.failure(key, e)),
            });
        let env = env_name(key);
        match from_keyring {
            Ok(Some(value)) => Ok(Secret::new(value)),
            // No keyring (a server without a desktop session) or no entry:
            // the environment may carry it.
            outcome => match std::env::var(&env) {
                Ok(value) if !value.is_empty() => Ok(Secret::new(value)),
                _ => match outcome {
                    Err(e) => Err(e),
                    Ok(_) => Err(SecretError::Missing {
                        key: key.to_owned(),
                        env,
                    }),
                },
            },
        }
    }

    pub fn set(&self, key: &str, value: &str) -> Result<(), SecretError> {
        self.entry(key)?
            .set_password(value)
            .map_err(|e| self.failure(key, e))
    }

    /// Removes `key`; false when there was nothing to remove.
    pub fn delete(&self, key: &str) -> Result<bool, SecretError> {
        match self.entry(key)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(self.failure(key, e)),
        }
    }

    fn entry(&self, key: &str) -> Result<keyring::Entry, SecretError> {
        keyring::Entry::new(&self.service, key).map_err(|e| self.failure(key, e))
    }

    fn failure(&self, key: &str, error: keyring::Error) -> SecretError {
        SecretError::Keyring {
            key: key.to_owned(),
            reason: error.to_string(),
        }
    }
}

/// 3Speak's secret variables (the encoder's identity, the Direct API's
/// key), read where they are used.
pub const SECRET_ENV_VARS: [&str; 2] = ["ENCODER_PRIVATE_KEY", "DIRECT_API_KEY"];

/// The secrets this process's environment holds, by name: every
/// `TANK_SECRET_*` and [`SECRET_ENV_VARS`]. Child processes (FFmpeg, kubo)
/// are started without them.
pub fn secret_env_names() -> Vec<String> {
    std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter(|name| name.starts_with("TANK_SECRET_") || SECRET_ENV_VARS.contains(&name.as_str()))
        .collect()
}

/// `node:pinata` → `TANK_SECRET_NODE_PINATA`.
pub fn env_name(key: &str) -> String {
    let mapped: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("TANK_SECRET_{mapped}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_names_are_derived_from_keys() {
        assert_eq!(env_name("node:pinata"), "TANK_SECRET_NODE_PINATA");
        assert_eq!(
            env_name("alert:ops-discord"),
            "TANK_SECRET_ALERT_OPS_DISCORD"
        );
    }
}
