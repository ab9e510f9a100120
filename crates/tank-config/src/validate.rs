//! What the types cannot check: names, counts, ranges, and combinations
//! that cannot work. Each problem names the section and the key.

use std::path::Path;

use tank_media::CodecChoice;

use crate::{AuthKind, Config, ConfigError, NodeConfig, NodeKind, NodeRole};

impl Config {
    /// Checks what the types cannot: names, counts, ranges.
    pub fn validate(&self, path: Option<&Path>) -> Result<(), ConfigError> {
        let fail = |message: String| {
            Err(ConfigError::Inconsistent {
                path: path.map(Path::to_owned),
                message,
            })
        };
        let mut names = std::collections::HashSet::new();
        for node in &self.nodes {
            if node.name.trim().is_empty() {
                return fail("a node has an empty name".into());
            }
            if !names.insert(node.name.as_str()) {
                return fail(format!("two nodes are named {:?}", node.name));
            }
            if !matches!(node.api.scheme(), "http" | "https") {
                return fail(format!(
                    "node {:?}: api must be an http(s) URL, got {}",
                    node.name,
                    tank_ipfs::redacted(&node.api)
                ));
            }
            if let Some(problem) = node.problem() {
                return fail(format!("node {:?}: {problem}", node.name));
            }
        }
        if !self.nodes.is_empty() && !self.nodes.iter().any(|n| n.kind == NodeKind::Kubo) {
            return fail(
                "at least one node must be kind = \"kubo\": uploads go to kubo nodes".into(),
            );
        }
        let primaries = self
            .nodes
            .iter()
            .filter(|n| n.role == NodeRole::Primary)
            .count();
        if primaries > 1 {
            return fail(format!(
                "{primaries} nodes have role = \"primary\"; at most one may"
            ));
        }
        if let Some(quorum) = self.pinning.quorum {
            if quorum == 0 {
                return fail("[pinning] quorum must be at least 1".into());
            }
            // A cluster brings one replica per peer: its size is unknown here.
            let has_cluster = self.nodes.iter().any(|n| n.kind == NodeKind::Cluster);
            let holders = self.replica_holders();
            if !self.nodes.is_empty() && !has_cluster && quorum as usize > holders {
                return fail(format!(
                    "[pinning] quorum = {quorum} but only {holders} node(s) can hold replicas"
                ));
            }
        }
        if self.pinning.retries == 0 {
            return fail("[pinning] retries must be at least 1".into());
        }
        if self.pinning.backoff.is_empty() {
            return fail("[pinning] backoff needs at least one wait".into());
        }
        if self.jobs.max_concurrent == 0 {
            return fail("[jobs] max_concurrent must be at least 1".into());
        }
        if CodecChoice::parse(&self.encoding.codec).is_none() {
            return fail(format!(
                "[encoding] codec {:?} is not one of libx264, auto, h264_nvenc, h264_qsv, h264_vaapi, h264_videotoolbox",
                self.encoding.codec
            ));
        }
        if self.encoding.rungs.is_empty() {
            return fail("[encoding] needs at least one rung".into());
        }
        if self.encoding.segment_seconds == 0 {
            return fail("[encoding] segment_seconds must be at least 1".into());
        }
        let mut alert_names = std::collections::HashSet::new();
        for alert in &self.alerts {
            if !alert_names.insert(alert.name.as_str()) {
                return fail(format!("two alerts are named {:?}", alert.name));
            }
        }
        if !(0.0..=1.0).contains(&self.pinning.jitter) {
            return fail("[pinning] jitter must be between 0 and 1".into());
        }
        if self.pinning.breaker_failures == 0 {
            return fail("[pinning] breaker_failures must be at least 1".into());
        }
        if self.pinning.park_backoff.is_empty() {
            return fail("[pinning] park_backoff needs at least one wait".into());
        }
        if self.secrets.service.trim().is_empty() {
            return fail("[secrets] service must not be empty".into());
        }
        if let Some(gateway) = self
            .downloads
            .gateways
            .iter()
            .find(|g| !matches!(g.scheme(), "http" | "https"))
        {
            return fail(format!(
                "[downloads] gateways must be http(s) URLs, got {gateway}"
            ));
        }
        if self.downloads.attempts == 0 {
            return fail("[downloads] attempts must be at least 1".into());
        }
        if self.local_node.restart_backoff.is_empty() {
            return fail("[local_node] restart_backoff needs at least one wait".into());
        }
        if let Some(problem) = self.gateway.problem() {
            return fail(format!("[gateway] {problem}"));
        }
        if let Some(problem) = self.direct_api.problem() {
            return fail(format!("[direct_api] {problem}"));
        }
        if let Some(problem) = self.watch.problem() {
            return fail(format!("[watch] {problem}"));
        }
        Ok(())
    }
}

impl NodeConfig {
    pub(crate) fn problem(&self) -> Option<String> {
        if self.api.password().is_some() || !self.api.username().is_empty() {
            return Some(format!(
                "api must not contain credentials: set auth and put the secret in the keyring (`tank secret set {}`)",
                self.secret_key()
            ));
        }
        if self.role == NodeRole::Primary && self.kind != NodeKind::Kubo {
            return Some("the primary must be a kubo node (uploads go to it)".into());
        }
        match (self.kind, self.effective_auth()) {
            (NodeKind::PinningService, Some(AuthKind::Basic | AuthKind::Jwt)) => {
                return Some("a pinning service takes auth = \"bearer\"".into())
            }
            (NodeKind::Kubo, Some(AuthKind::Jwt)) => {
                return Some("auth = \"jwt\" is for IPFS Cluster nodes".into())
            }
            (_, Some(AuthKind::Basic | AuthKind::Jwt)) if self.username.is_none() => {
                return Some("basic and jwt auth need a username".into())
            }
            _ => {}
        }
        if self.kind != NodeKind::Cluster
            && (self.replication_min.is_some() || self.replication_max.is_some())
        {
            return Some("replication_min and replication_max are for cluster nodes".into());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_checked as parse;

    #[test]
    fn the_quorum_defaults_to_two_with_two_nodes_and_cannot_exceed_them() {
        let one = parse("[[nodes]]\nname = \"a\"\napi = \"http://127.0.0.1:1\"\n").unwrap();
        assert_eq!(one.quorum(), 1);
        let err =
            parse("[pinning]\nquorum = 3\n[[nodes]]\nname = \"a\"\napi = \"http://127.0.0.1:1\"\n")
                .unwrap_err();
        assert!(
            err.to_string().contains("quorum = 3 but only 1 node"),
            "{err}"
        );
    }

    #[test]
    fn an_enabled_gateway_needs_a_hive_account_and_pings_often_enough() {
        let err = parse("[gateway]\nenabled = true\nmode = \"legacy\"\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("[gateway] hive_username is needed by the legacy gateway"),
            "{err}"
        );
        parse("[gateway]\nenabled = true\n").expect("embed needs no Hive account");
        let err = parse("[gateway]\nmode = \"v2\"\n").unwrap_err();
        assert!(
            err.to_string().contains("use mode = \"embed\"")
                || err.to_string().contains("mode = \"embed\""),
            "{err}"
        );
        let err = parse("[gateway]\nreplica_deadline = \"29m\"\n").unwrap_err();
        assert!(err.to_string().contains("stall reset"), "{err}");
        let err = parse("[gateway]\nhive_username = \"a\"\nping_interval = \"2m\"\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("ping_interval must be between 1s and 30s"),
            "{err}"
        );
        let err = Config::default()
            .apply_env(|n| (n == "EMBED_SYSTEM_ENABLED").then(|| "maybe".to_owned()))
            .unwrap_err();
        assert!(err.to_string().contains("EMBED_SYSTEM_ENABLED"), "{err}");
    }

    #[test]
    fn credentials_never_go_in_the_config_file() {
        let err = parse("[[nodes]]\nname = \"a\"\napi = \"http://tank:secret@127.0.0.1:1\"\n")
            .unwrap_err();
        assert!(
            err.to_string().contains("must not contain credentials"),
            "{err}"
        );
        assert!(!err.to_string().contains("secret@"), "{err}");
    }

    #[test]
    fn node_kinds_take_the_auth_they_support() {
        let service = "[[nodes]]\nname = \"k\"\napi = \"http://127.0.0.1:1\"\n[[nodes]]\nname = \"pinata\"\nkind = \"pinning-service\"\napi = \"https://api.pinata.cloud/psa\"\n";
        let config = parse(service).unwrap();
        assert_eq!(config.nodes[1].effective_auth(), Some(AuthKind::Bearer));
        let jwt_on_kubo = "[[nodes]]\nname = \"k\"\napi = \"http://127.0.0.1:1\"\nauth = \"jwt\"\nusername = \"u\"\n";
        assert!(parse(jwt_on_kubo).unwrap_err().to_string().contains("jwt"));
        let basic_without_user =
            "[[nodes]]\nname = \"k\"\napi = \"http://127.0.0.1:1\"\nauth = \"basic\"\n";
        assert!(parse(basic_without_user)
            .unwrap_err()
            .to_string()
            .contains("username"));
    }
}
