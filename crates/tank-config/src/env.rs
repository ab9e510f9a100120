//! The environment variables the 3Speak encoder already uses, mapped onto
//! our settings: a 3Speak operator's `.env` works unchanged.

use std::path::PathBuf;

use url::Url;

use crate::{Config, ConfigError, NodeConfig, NodeKind, NodeRole};

impl Config {
    /// Environment variables of the 3Speak encoder that map onto ours:
    /// `THREESPEAK_IPFS_ENDPOINT` (or `IPFS_PRIMARY_API`) is the primary
    /// node, `IPFS_BACKUP_APIS` (comma-separated) the kubo backups,
    /// `USE_CLUSTER_FOR_PINS=true` with `IPFS_CLUSTER_ENDPOINT` adds an IPFS
    /// Cluster, `MAX_CONCURRENT_JOBS`, `TEMP_DIR`; for the gateway
    /// `GATEWAY_URL`, `REMOTE_GATEWAY_ENABLED`, `HIVE_USERNAME`, `NODE_NAME`.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        for name in ["THREESPEAK_IPFS_ENDPOINT", "IPFS_PRIMARY_API"] {
            if let Some(value) = var(name).filter(|v| !v.trim().is_empty()) {
                let api = env_url(name, &value)?;
                match self.nodes.iter_mut().find(|n| n.role == NodeRole::Primary) {
                    Some(primary) => primary.api = api,
                    None => self
                        .nodes
                        .insert(0, NodeConfig::kubo("supernode", api, NodeRole::Primary)),
                }
                break;
            }
        }
        if let Some(value) = var("IPFS_BACKUP_APIS").filter(|v| !v.trim().is_empty()) {
            self.nodes
                .retain(|n| n.role == NodeRole::Primary || n.kind != NodeKind::Kubo);
            for (i, item) in value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .enumerate()
            {
                self.nodes.push(NodeConfig::kubo(
                    &format!("backup-{}", i + 1),
                    env_url("IPFS_BACKUP_APIS", item)?,
                    NodeRole::Backup,
                ));
            }
        }
        let use_cluster =
            var("USE_CLUSTER_FOR_PINS").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        if let (true, Some(value)) = (use_cluster, var("IPFS_CLUSTER_ENDPOINT")) {
            let mut cluster = NodeConfig::kubo(
                "cluster",
                env_url("IPFS_CLUSTER_ENDPOINT", &value)?,
                NodeRole::Backup,
            );
            cluster.kind = NodeKind::Cluster;
            self.nodes.retain(|n| n.name != "cluster");
            self.nodes.push(cluster);
        }
        if let Some(value) = var("MAX_CONCURRENT_JOBS") {
            self.jobs.max_concurrent =
                value.trim().parse().map_err(|_| ConfigError::Environment {
                    name: "MAX_CONCURRENT_JOBS",
                    value: value.clone(),
                    message: "must be a whole number of jobs".into(),
                })?;
        }
        if let Some(value) = var("TEMP_DIR").filter(|v| !v.trim().is_empty()) {
            self.jobs.work_dir = Some(PathBuf::from(value));
        }
        if let Some(value) = var("GATEWAY_URL").filter(|v| !v.trim().is_empty()) {
            self.gateway.url = env_url("GATEWAY_URL", &value)?;
        }
        if let Some(value) = var("REMOTE_GATEWAY_ENABLED").filter(|v| !v.trim().is_empty()) {
            self.gateway.enabled = match value.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                _ => {
                    return Err(ConfigError::Environment {
                        name: "REMOTE_GATEWAY_ENABLED",
                        value,
                        message: "must be true or false".into(),
                    })
                }
            };
        }
        if let Some(value) = var("HIVE_USERNAME").filter(|v| !v.trim().is_empty()) {
            self.gateway.hive_username = Some(value.trim().to_owned());
        }
        if let Some(value) = var("NODE_NAME").filter(|v| !v.trim().is_empty()) {
            self.gateway.node_name = Some(value.trim().to_owned());
        }
        Ok(())
    }
}

fn env_url(name: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value.trim()).map_err(|e| ConfigError::Environment {
        name,
        value: value.to_owned(),
        message: format!("not a URL ({e})"),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigError::Environment {
            name,
            value: value.to_owned(),
            message: "must be an http(s) URL".into(),
        });
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NodeRole;

    #[test]
    fn the_3speak_environment_maps_onto_nodes_and_jobs() {
        let mut config = Config::default();
        let env = |name: &str| match name {
            "THREESPEAK_IPFS_ENDPOINT" => Some("http://65.21.201.94:5002".to_owned()),
            "IPFS_BACKUP_APIS" => Some("http://b1:5001, https://b2:5001".to_owned()),
            "MAX_CONCURRENT_JOBS" => Some("3".to_owned()),
            "TEMP_DIR" => Some("/var/tmp/tank".to_owned()),
            _ => None,
        };
        config.apply_env(env).unwrap();
        let nodes: Vec<_> = config
            .nodes
            .clone()
            .into_iter()
            .map(|n| (n.name, n.api.to_string(), n.role))
            .collect();
        assert_eq!(
            nodes,
            [
                (
                    "supernode".into(),
                    "http://65.21.201.94:5002/".into(),
                    NodeRole::Primary
                ),
                (
                    "backup-1".into(),
                    "http://b1:5001/".into(),
                    NodeRole::Backup
                ),
                (
                    "backup-2".into(),
                    "https://b2:5001/".into(),
                    NodeRole::Backup
                ),
            ]
        );
        assert_eq!(config.jobs.max_concurrent, 3);
        assert_eq!(config.jobs.work_dir, Some(PathBuf::from("/var/tmp/tank")));
    }

    #[test]
    fn a_bad_environment_value_names_the_variable() {
        let err = Config::default()
            .apply_env(|n| (n == "MAX_CONCURRENT_JOBS").then(|| "many".to_owned()))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable MAX_CONCURRENT_JOBS=\"many\": must be a whole number of jobs"
        );
    }

    #[test]
    fn the_3speak_gateway_environment_fills_in_the_gateway_settings() {
        let mut config = Config::default();
        let env = |name: &str| match name {
            "GATEWAY_URL" => Some("https://encoder.3speak.tv".to_owned()),
            "REMOTE_GATEWAY_ENABLED" => Some("true".to_owned()),
            "HIVE_USERNAME" => Some(" alice ".to_owned()),
            "NODE_NAME" => Some("alice-encoder".to_owned()),
            _ => None,
        };
        config.apply_env(env).unwrap();
        config.validate(None).unwrap();
        assert!(config.gateway.enabled);
        assert_eq!(config.gateway.url.as_str(), "https://encoder.3speak.tv/");
        assert_eq!(config.gateway.hive_username.as_deref(), Some("alice"));
        assert_eq!(config.gateway.node_name(), "alice-encoder");
    }
}
