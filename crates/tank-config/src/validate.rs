//! What the types cannot check: names, counts, ranges, and combinations
//! that cannot work. Each problem names the section and the key.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use tank_media::{CodecChoice, X264_PRESETS};
use url::{Host, Url};

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
        for (i, node) in self.nodes.iter().enumerate() {
            if let Some(twin) = self.nodes[..i]
                .iter()
                .find(|other| same_endpoint(&other.api, &node.api))
            {
                return fail(format!(
                    "nodes {:?} and {:?} are the same API ({} and {}): one node would count as two replicas",
                    twin.name,
                    node.name,
                    tank_ipfs::redacted(&twin.api),
                    tank_ipfs::redacted(&node.api)
                ));
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
        if self.jobs.retry_backoff.is_empty() {
            return fail("[jobs] retry_backoff needs at least one wait".into());
        }
        if self.jobs.max_concurrent == 0 {
            return fail("[jobs] max_concurrent must be at least 1".into());
        }
        if self.jobs.max_network == 0 {
            return fail("[jobs] max_network must be at least 1".into());
        }
        if self.jobs.max_unfinished < self.jobs.max_concurrent {
            return fail(format!(
                "[jobs] max_unfinished ({}) is below max_concurrent ({}): claimed jobs could never fill the encode slots",
                self.jobs.max_unfinished, self.jobs.max_concurrent
            ));
        }
        if CodecChoice::parse(&self.encoding.codec).is_none() {
            return fail(format!(
                "[encoding] codec {:?} is not one of libx264, auto, h264_nvenc, h264_qsv, h264_vaapi, h264_videotoolbox",
                self.encoding.codec
            ));
        }
        for (key, preset) in [
            ("preset", &self.encoding.preset),
            ("downscaled_preset", &self.encoding.downscaled_preset),
        ] {
            if !X264_PRESETS.contains(&preset.as_str()) {
                return fail(format!(
                    "[encoding] {key} {preset:?} is not one of {}",
                    X264_PRESETS.join(", ")
                ));
            }
        }
        if self.encoding.crf > 51 {
            return fail(format!(
                "[encoding] crf {} is out of x264's range, 0 to 51",
                self.encoding.crf
            ));
        }
        if self.encoding.rungs.is_empty() {
            return fail("[encoding] needs at least one rung".into());
        }
        let mut rung_names = std::collections::HashSet::new();
        for rung in &self.encoding.rungs {
            if let Some(problem) = rung.problem() {
                return fail(format!("[encoding] {problem}"));
            }
            if !rung_names.insert(rung.name.as_str()) {
                return fail(format!("[encoding] two rungs are named {:?}", rung.name));
            }
        }
        if let Some((key, _)) = self.waits().into_iter().find(|(_, wait)| wait.is_zero()) {
            return fail(format!("{key} must be longer than 0s"));
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
        if self.downloads.min_average_speed == 0 {
            return fail("[downloads] min_average_speed must be above 0".into());
        }
        if self.downloads.attempts == 0 {
            return fail("[downloads] attempts must be at least 1".into());
        }
        if self.downloads.connections == 0 {
            return fail("[downloads] connections must be at least 1".into());
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

impl Config {
    /// Every wait an operator can set, by its key. None may be zero: a
    /// zero timeout fails every call, and a zero interval or backoff spins.
    fn waits(&self) -> Vec<(&'static str, Duration)> {
        let (jobs, pinning, health, node) =
            (&self.jobs, &self.pinning, &self.health, &self.local_node);
        let mut waits = vec![
            ("[jobs] download_stall_timeout", jobs.download_stall_timeout),
            ("[jobs] keep_failed_for", jobs.keep_failed_for),
            (
                "[downloads] connect_timeout",
                self.downloads.connect_timeout,
            ),
            ("[downloads] header_timeout", self.downloads.header_timeout),
            ("[pinning] attempt_timeout", pinning.attempt_timeout),
            ("[pinning] fetch_timeout", pinning.fetch_timeout),
            ("[pinning] hedge_after", pinning.hedge_after),
            ("[pinning] deadline", pinning.deadline),
            ("[pinning] breaker_cooldown", pinning.breaker_cooldown),
            ("[pinning] poll_interval", pinning.poll_interval),
            ("[pinning] park_for", pinning.park_for),
            ("[health] interval", health.interval),
            ("[health] timeout", health.timeout),
            ("[health] canary_interval", health.canary_interval),
            ("[health] slow", health.slow),
            ("[health] keep_samples", health.keep_samples),
            ("[audit] interval", self.audit.interval),
            ("[alerting] min_interval", self.alerting.min_interval),
            ("[alerting] window", self.alerting.window),
            ("[watch] settle", self.watch.settle),
            ("[gateway] poll_interval", self.gateway.poll_interval),
            (
                "[gateway] heartbeat_interval",
                self.gateway.heartbeat_interval,
            ),
            ("[gateway] timeout", self.gateway.timeout),
            ("[gateway] max_backoff", self.gateway.max_backoff),
            ("[gateway] replica_deadline", self.gateway.replica_deadline),
            ("[local_node] start_timeout", *node.start_timeout),
            ("[local_node] liveness_interval", *node.liveness_interval),
            ("[local_node] restart_window", *node.restart_window),
            ("[local_node] cpu_sustained", *node.cpu_sustained),
            ("[local_node] watchdog_interval", *node.watchdog_interval),
            ("[local_node] heal_window", *node.heal_window),
        ];
        let lists: [(&'static str, &[humantime_serde::Serde<Duration>]); 4] = [
            ("[jobs] retry_backoff", &jobs.retry_backoff),
            ("[pinning] backoff", &pinning.backoff),
            ("[pinning] park_backoff", &pinning.park_backoff),
            ("[local_node] restart_backoff", &node.restart_backoff),
        ];
        for (key, list) in lists {
            waits.extend(list.iter().map(|wait| (key, **wait)));
        }
        waits
    }
}

/// Whether two API URLs reach the same server: the same scheme, port and
/// path, and the same host, where every name for this machine (`localhost`,
/// `127.0.0.1`, `::1`, `0.0.0.0`) is one host.
fn same_endpoint(a: &Url, b: &Url) -> bool {
    fn host(url: &Url) -> Option<String> {
        let ip = match url.host()? {
            Host::Domain(name) if name.eq_ignore_ascii_case("localhost") => {
                return Some("this machine".into())
            }
            Host::Domain(name) => return Some(name.trim_end_matches('.').to_ascii_lowercase()),
            Host::Ipv4(ip) => IpAddr::V4(ip),
            Host::Ipv6(ip) => ip.to_ipv4_mapped().map_or(IpAddr::V6(ip), IpAddr::V4),
        };
        Some(if ip.is_loopback() || ip.is_unspecified() {
            "this machine".into()
        } else {
            ip.to_string()
        })
    }
    let path = |url: &Url| url.path().trim_end_matches('/').to_owned();
    a.scheme() == b.scheme()
        && host(a) == host(b)
        && a.port_or_known_default() == b.port_or_known_default()
        && path(a) == path(b)
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
    fn one_server_configured_twice_is_refused_naming_both_nodes() {
        let twice = |a: &str, b: &str| {
            parse(&format!(
                "[[nodes]]\nname = \"a\"\napi = \"{a}\"\n[[nodes]]\nname = \"b\"\napi = \"{b}\"\n"
            ))
        };
        for (a, b) in [
            ("http://127.0.0.1:5001", "http://localhost:5001"),
            ("http://[::1]:5001/", "http://127.0.0.1:5001"),
            ("https://ipfs.example", "https://IPFS.example:443/"),
        ] {
            let err = twice(a, b).unwrap_err().to_string();
            assert!(
                err.contains("nodes \"a\" and \"b\" are the same API"),
                "{a} {b}: {err}"
            );
        }
        for (a, b) in [
            ("http://127.0.0.1:5001", "http://127.0.0.1:5002"),
            ("http://10.0.0.1:5001", "http://10.0.0.2:5001"),
            ("https://psa.example/a", "https://psa.example/b"),
        ] {
            twice(a, b).unwrap_or_else(|e| panic!("{a} {b}: {e}"));
        }
    }

    #[test]
    fn waits_of_zero_presets_ffmpeg_lacks_and_unsafe_rung_names_are_refused_at_load() {
        let err = |text: &str| parse(text).unwrap_err().to_string();
        assert!(err("[pinning]\nattempt_timeout = \"0s\"\n")
            .contains("[pinning] attempt_timeout must be longer than 0s"));
        assert!(err("[pinning]\nbackoff = [\"2s\", \"0s\"]\n").contains("[pinning] backoff"));
        assert!(err("[local_node]\nliveness_interval = \"0s\"\n")
            .contains("[local_node] liveness_interval"));
        assert!(err("[encoding]\npreset = \"nope\"\n")
            .contains("preset \"nope\" is not one of ultrafast, superfast"));
        assert!(err("[encoding]\ndownscaled_preset = \"quick\"\n")
            .contains("[encoding] downscaled_preset \"quick\" is not one of ultrafast"));
        assert_eq!(
            err("[encoding]\ncrf = 52\n"),
            "config: [encoding] crf 52 is out of x264's range, 0 to 51"
        );
        assert!(err("[jobs]\nmax_network = 0\n").contains("[jobs] max_network must be at least 1"));
        assert!(err("[jobs]\nmax_concurrent = 3\nmax_unfinished = 2\n")
            .contains("[jobs] max_unfinished (2) is below max_concurrent (3)"));
        let rung = |name: &str| {
            format!(
                "[[encoding.rungs]]\nname = \"{name}\"\nsize = 480\nvideo_kbps = 1400\nmax_video_kbps = 1498\naudio_kbps = 96\n"
            )
        };
        assert!(err(&rung("../escape")).contains("rung name \"../escape\" must be"));
        assert!(
            err(&format!("{}{}", rung("sd"), rung("sd"))).contains("two rungs are named \"sd\"")
        );
        parse(&rung("480p_low")).expect("a plain rung name is fine");
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
