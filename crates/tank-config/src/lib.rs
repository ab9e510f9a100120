//! The operator's settings: a TOML file, then the environment variables the
//! 3Speak encoder already uses (`env.rs`), then validation (`validate.rs`).
//! A mistake is reported with the file, the line and the key, before any
//! work starts.
//!
//! Also here: the desktop app's settings form (`settings.rs`), a new
//! install's starting config for its purpose (`first_run.rs`), the OS
//! keyring where secrets live (`secrets.rs`) and the platform's folders
//! (`paths.rs`). Configuration is data: the decisions made from it (tier
//! order, waits, jitter) are the engine's pinning policy.

mod direct_api;
mod env;
mod first_run;
mod gateway;
mod paths;
mod secrets;
mod sections;
mod settings;
mod size;
mod validate;
mod watch;

pub use direct_api::{DirectApiConfig, DIRECT_API_SECRET};
pub use first_run::Purpose;
pub use gateway::{GatewayConfig, GatewayMode};
pub use paths::Paths;
pub use secrets::{secret_env_names, SecretError, Secrets, SECRET_ENV_VARS};
pub use sections::{
    AlertKind, AlertTarget, AlertingConfig, AuditConfig, AuthKind, DownloadsConfig, EncodingConfig,
    HealthConfig, JobsConfig, NodeConfig, NodeKind, NodeRole, PinningConfig, SecretsConfig,
};
pub use settings::{
    AlertSettings, FieldError, NodeSettings, Settings, ThreeSpeakSettings, ThreeSpeakSource,
};
pub use watch::WatchConfig;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tank_media::CodecChoice;

/// Everything configurable, with defaults for what the file leaves out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub jobs: JobsConfig,
    pub encoding: EncodingConfig,
    pub pinning: PinningConfig,
    pub health: HealthConfig,
    pub audit: AuditConfig,
    pub alerting: AlertingConfig,
    pub secrets: SecretsConfig,
    pub downloads: DownloadsConfig,
    pub local_node: tank_node::LocalNodeConfig,
    pub gateway: GatewayConfig,
    pub direct_api: DirectApiConfig,
    pub watch: WatchConfig,
    pub nodes: Vec<NodeConfig>,
    pub alerts: Vec<AlertTarget>,
}

/// A configuration that cannot be used, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {}, line {line}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("environment variable {name}={value:?}: {message}")]
    Environment {
        name: &'static str,
        value: String,
        message: String,
    },
    #[error("config{}: {message}", source_of(.path))]
    Inconsistent {
        path: Option<PathBuf>,
        message: String,
    },
}

fn source_of(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| format!(" file {}", p.display()))
        .unwrap_or_default()
}

impl Config {
    /// Reads `path` (a missing file at the default location means all
    /// defaults), applies the environment, validates.
    pub fn load(path: &Path, required: bool) -> Result<Config, ConfigError> {
        let mut config = Self::read_file(path, required)?;
        for warning in config.apply_env(|name| std::env::var(name).ok())? {
            tracing::warn!("{warning}");
        }
        config.validate(Some(path))?;
        Ok(config)
    }

    /// The file alone, without the environment: what an editor of the file
    /// (the desktop app's Settings) starts from and writes back.
    pub fn read_file(path: &Path, required: bool) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                Ok(Config::default())
            }
            Err(source) => Err(ConfigError::Unreadable {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Parses TOML text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.to_owned(),
            line: e.span().map_or(1, |span| line_of(text, span.start)),
            message: e.message().trim().replace("unknown field", "unknown key"),
        })
    }

    /// The quorum in effect: as configured, else 2 with two or more nodes
    /// that can hold replicas.
    pub fn quorum(&self) -> usize {
        match self.pinning.quorum {
            Some(q) => q as usize,
            None if self.replica_holders() >= 2 => 2,
            None => 1,
        }
    }

    /// Configured nodes, plus the local node when it counts toward the quorum.
    pub fn replica_holders(&self) -> usize {
        let local = self.local_node.enabled && self.local_node.counts_toward_quorum;
        self.nodes.len() + usize::from(local)
    }

    /// The encoder setting, already validated.
    pub fn codec(&self) -> CodecChoice {
        CodecChoice::parse(&self.encoding.codec).expect("validated")
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// `text` as a config file at a fixed path, parsed and validated.
#[cfg(test)]
pub(crate) fn parse_checked(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("/etc/tank/config.toml"))
        .and_then(|c| c.validate(None).map(|_| c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_checked as parse;
    use std::time::Duration;

    #[test]
    fn the_documented_example_parses() {
        let config = parse(
            r#"
            [pinning]
            quorum = 2
            retries = 5
            backoff = ["2s", "4s", "8s", "16s", "30s"]
            attempt_timeout = "60s"
            [[nodes]]
            name = "supernode"
            api = "http://127.0.0.1:5002"
            role = "primary"
            [[nodes]]
            name = "backup"
            api = "http://127.0.0.1:5003"
            "#,
        )
        .unwrap();
        assert_eq!(config.quorum(), 2);
        assert_eq!(*config.pinning.backoff[0], Duration::from_secs(2));
        assert_eq!(*config.pinning.backoff[4], Duration::from_secs(30));
        assert_eq!(config.nodes[1].role, NodeRole::Backup);
    }

    #[test]
    fn an_unknown_key_names_the_file_the_line_and_the_key() {
        let err = parse("[pinning]\nquorum = 1\nretrys = 3\n").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("config file /etc/tank/config.toml, line 3: unknown key `retrys`"),
            "{text}"
        );
    }

    #[test]
    fn malformed_toml_names_the_line() {
        let err = parse("[jobs]\nmax_concurrent = \n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn a_bad_duration_is_refused() {
        let err = parse("[pinning]\nattempt_timeout = \"soon\"\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
