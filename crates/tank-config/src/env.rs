//! The environment variables the 3Speak encoder (v2) already uses, mapped
//! onto our settings: a 3Speak operator's `.env` works unchanged. The names
//! v2 dropped are not applied: each gives a warning that names what
//! replaced it, so nothing changes silently.

use std::path::PathBuf;

use url::Url;

use crate::{Config, ConfigError, GatewayMode, NodeConfig, NodeKind, NodeRole};

impl Config {
    /// Environment variables of the 3Speak encoder that map onto ours:
    /// `THREESPEAK_IPFS_ENDPOINT` (or `IPFS_PRIMARY_API`) is the primary
    /// node, `IPFS_BACKUP_APIS` (comma-separated) the kubo backups,
    /// `USE_CLUSTER_FOR_PINS=true` with `IPFS_CLUSTER_ENDPOINT` adds an IPFS
    /// Cluster, `IPFS_GATEWAY_URL` is the first download gateway,
    /// `MAX_CONCURRENT_JOBS`, `TEMP_DIR`; for 3Speak `EMBED_SYSTEM_ENABLED`
    /// with `EMBED_SYSTEM_MODE=community` (take embed jobs, from
    /// `EMBED_GATEWAY_URL`), `TRAFFIC_DIRECTOR_URL`, `HIVE_USERNAME`,
    /// `NODE_NAME`; for managed mode `DIRECT_API_ENABLED` and
    /// `DIRECT_API_PORT` (every interface, as the reference listens;
    /// `DIRECT_API_KEY` is read where the key is). Returns a warning for
    /// each v1 name that is set.
    pub fn apply_env(
        &mut self,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Vec<String>, ConfigError> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let warnings = STALE
            .iter()
            .filter(|(name, _)| var(name).is_some())
            .map(|(name, instead)| {
                format!("{name} is a 3Speak encoder v1 setting and is ignored: {instead}")
            })
            .collect();
        for name in ["THREESPEAK_IPFS_ENDPOINT", "IPFS_PRIMARY_API"] {
            if let Some(value) = var(name) {
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
        if let Some(value) = var("IPFS_BACKUP_APIS") {
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
        if let Some(value) = var("TEMP_DIR") {
            self.jobs.work_dir = Some(PathBuf::from(value));
        }
        if let Some(value) = var("IPFS_GATEWAY_URL") {
            let gateway = env_url("IPFS_GATEWAY_URL", &value)?;
            self.downloads.gateways.retain(|g| *g != gateway);
            self.downloads.gateways.insert(0, gateway);
        }
        if let Some(value) = var("TRAFFIC_DIRECTOR_URL") {
            self.gateway.traffic_director = env_url("TRAFFIC_DIRECTOR_URL", &value)?;
        }
        if let Some(value) = var("EMBED_GATEWAY_URL") {
            self.gateway.url = env_url("EMBED_GATEWAY_URL", &value)?;
        }
        if let Some(value) = var("EMBED_SYSTEM_ENABLED") {
            let enabled = env_bool("EMBED_SYSTEM_ENABLED", &value)?;
            // The reference encoder's default mode is managed.
            let mode = var("EMBED_SYSTEM_MODE").unwrap_or_else(|| "managed".into());
            match mode.trim() {
                "community" => {
                    self.gateway.enabled = enabled;
                    self.gateway.mode = GatewayMode::Embed;
                }
                "managed" => {}
                _ => {
                    return Err(ConfigError::Environment {
                        name: "EMBED_SYSTEM_MODE",
                        value: mode,
                        message: "must be community or managed".into(),
                    })
                }
            }
        }
        if let Some(value) = var("DIRECT_API_ENABLED") {
            self.direct_api.enabled = env_bool("DIRECT_API_ENABLED", &value)?;
        }
        if let Some(value) = var("DIRECT_API_PORT") {
            // The reference encoder listens on every interface.
            let port = value
                .trim()
                .parse::<u16>()
                .map_err(|_| ConfigError::Environment {
                    name: "DIRECT_API_PORT",
                    value: value.clone(),
                    message: "must be a port number".into(),
                })?;
            self.direct_api.listen = std::net::SocketAddr::from(([0, 0, 0, 0], port));
        }
        if let Some(value) = var("HIVE_USERNAME") {
            self.gateway.hive_username = Some(value.trim().to_owned());
        }
        if let Some(value) = var("NODE_NAME") {
            self.gateway.node_name = Some(value.trim().to_owned());
        }
        Ok(warnings)
    }
}

/// The 3Speak encoder's v1 names, and what replaced each.
const STALE: [(&str, &str); 4] = [
    ("GATEWAY_URL", "3Speak jobs now come from the embed system: set EMBED_SYSTEM_ENABLED=true, EMBED_SYSTEM_MODE=community and EMBED_GATEWAY_URL (or [gateway] url with mode = \"legacy\" for an old gateway)"),
    ("REMOTE_GATEWAY_ENABLED", "set EMBED_SYSTEM_ENABLED=true with EMBED_SYSTEM_MODE=community (or [gateway] enabled)"),
    ("ASYNC_UPLOADS", "Tank Encoder has no such switch: a job keeps its slot until its content is durable"),
    ("QUEUE_MAX_LENGTH", "jobs are claimed only when a slot is free; set MAX_CONCURRENT_JOBS"),
];

fn env_bool(name: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ConfigError::Environment {
            name,
            value: value.to_owned(),
            message: "must be true or false".into(),
        }),
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
    fn the_managed_env_serves_the_direct_api_on_every_interface() {
        let mut config = Config::default();
        let env = |name: &str| match name {
            "DIRECT_API_ENABLED" => Some("true".to_owned()),
            "DIRECT_API_PORT" => Some("4002".to_owned()),
            _ => None,
        };
        config.apply_env(env).unwrap();
        assert!(config.direct_api.enabled);
        assert_eq!(config.direct_api.listen.to_string(), "0.0.0.0:4002");
        let err = Config::default()
            .apply_env(|n| (n == "DIRECT_API_PORT").then(|| "http".to_owned()))
            .unwrap_err();
        assert!(err.to_string().contains("DIRECT_API_PORT"), "{err}");
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
    fn a_v2_community_env_makes_an_embed_encoder() {
        let mut config = Config::default();
        let env = |name: &str| match name {
            "EMBED_SYSTEM_ENABLED" => Some("true".to_owned()),
            "EMBED_SYSTEM_MODE" => Some("community".to_owned()),
            "EMBED_GATEWAY_URL" => Some("https://embed.example".to_owned()),
            "IPFS_GATEWAY_URL" => Some("https://ipfs.3speak.tv".to_owned()),
            "HIVE_USERNAME" => Some(" alice ".to_owned()),
            "NODE_NAME" => Some("alice-encoder".to_owned()),
            "TRAFFIC_DIRECTOR_URL" => Some("https://cdn.example/api/hotnode".to_owned()),
            _ => None,
        };
        let warnings = config.apply_env(env).unwrap();
        assert_eq!(warnings, Vec::<String>::new());
        config.validate(None).unwrap();
        assert!(config.gateway.enabled);
        assert_eq!(config.gateway.mode, GatewayMode::Embed);
        assert_eq!(config.gateway.url.as_str(), "https://embed.example/");
        assert_eq!(config.gateway.hive_username.as_deref(), Some("alice"));
        assert_eq!(config.gateway.node_name(), "alice-encoder");
        assert_eq!(
            config.gateway.traffic_director.as_str(),
            "https://cdn.example/api/hotnode"
        );
        assert_eq!(
            config.downloads.gateways[0].as_str(),
            "https://ipfs.3speak.tv/"
        );
    }

    #[test]
    fn managed_is_the_default_mode_and_takes_no_community_jobs() {
        let mut config = Config::default();
        config
            .apply_env(|n| (n == "EMBED_SYSTEM_ENABLED").then(|| "true".to_owned()))
            .unwrap();
        assert!(!config.gateway.enabled);
        let err = Config::default()
            .apply_env(|n| match n {
                "EMBED_SYSTEM_ENABLED" => Some("true".to_owned()),
                "EMBED_SYSTEM_MODE" => Some("pull".to_owned()),
                _ => None,
            })
            .unwrap_err();
        assert!(err.to_string().contains("EMBED_SYSTEM_MODE"), "{err}");
    }

    #[test]
    fn v1_names_warn_with_their_replacement_and_change_nothing() {
        let mut config = Config::default();
        let warnings = config
            .apply_env(|n| match n {
                "GATEWAY_URL" => Some("https://encoder-gateway.infra.3speak.tv".to_owned()),
                "REMOTE_GATEWAY_ENABLED" => Some("true".to_owned()),
                _ => None,
            })
            .unwrap();
        assert_eq!(config, Config::default());
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].starts_with("GATEWAY_URL is a 3Speak encoder v1 setting"));
        assert!(warnings[0].contains("EMBED_GATEWAY_URL"), "{warnings:?}");
        assert!(
            warnings[1].contains("EMBED_SYSTEM_ENABLED=true"),
            "{warnings:?}"
        );
    }
}
