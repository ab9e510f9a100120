//! The operator's settings: a TOML file, then the environment variables the
//! 3Speak encoder already uses, then validation. A mistake is reported with
//! the file, the line and the key, before any work starts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tank_media::{default_ladder, CodecChoice, Rung};
use url::Url;

/// Everything configurable, with defaults for what the file leaves out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub jobs: JobsConfig,
    pub encoding: EncodingConfig,
    pub pinning: PinningConfig,
    pub nodes: Vec<NodeConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobsConfig {
    /// Jobs run at once by `tank resume` and the daemon.
    pub max_concurrent: u32,
    /// Where job folders (downloads, HLS output) go; default `<data dir>/jobs`.
    pub work_dir: Option<PathBuf>,
    /// The largest input accepted from a URL, e.g. `"20 GiB"`.
    #[serde(with = "size")]
    pub max_input_size: u64,
    /// How long an input download may receive nothing before it is abandoned.
    #[serde(with = "humantime_serde")]
    pub download_stall_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EncodingConfig {
    /// `libx264` (default), `auto` (first working hardware encoder), or an
    /// FFmpeg encoder name such as `h264_nvenc`.
    pub codec: String,
    /// x264 preset.
    pub preset: String,
    pub segment_seconds: u32,
    /// The ladder; defaults to 3Speak's 1080p/720p/480p.
    pub rungs: Vec<Rung>,
    /// FFmpeg binaries; default: next to our executable, else on PATH.
    pub ffmpeg: Option<PathBuf>,
    pub ffprobe: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PinningConfig {
    /// Verified replicas needed before a job is done; default 2 when two or
    /// more nodes are configured, else 1.
    pub quorum: Option<u32>,
    /// Attempts per node.
    pub retries: u32,
    /// Waits between attempts; the last one repeats if there are more attempts.
    #[serde(with = "humantime_list")]
    pub backoff: Vec<Duration>,
    /// Timeout of each call to a node (and of an upload that stops moving).
    #[serde(with = "humantime_serde")]
    pub attempt_timeout: Duration,
    /// How long a node may take to fetch and pin content it does not hold
    /// (over bitswap) before the folder is uploaded to it directly.
    #[serde(with = "humantime_serde")]
    pub fetch_timeout: Duration,
}

/// One IPFS node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    pub name: String,
    /// The kubo RPC API, e.g. `http://127.0.0.1:5001`.
    pub api: Url,
    #[serde(default)]
    pub role: NodeRole,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeRole {
    Primary,
    #[default]
    Backup,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            max_concurrent: 1,
            work_dir: None,
            max_input_size: 20 * 1024 * 1024 * 1024,
            download_stall_timeout: Duration::from_secs(60),
        }
    }
}

impl Default for EncodingConfig {
    fn default() -> Self {
        EncodingConfig {
            codec: "libx264".into(),
            preset: "veryfast".into(),
            segment_seconds: 6,
            rungs: default_ladder(),
            ffmpeg: None,
            ffprobe: None,
        }
    }
}

impl Default for PinningConfig {
    fn default() -> Self {
        PinningConfig {
            quorum: None,
            retries: 5,
            backoff: [2, 4, 8, 16, 30].map(Duration::from_secs).to_vec(),
            attempt_timeout: Duration::from_secs(60),
            fetch_timeout: Duration::from_secs(600),
        }
    }
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
        let mut config = match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Config::default(),
            Err(source) => {
                return Err(ConfigError::Unreadable {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        config.validate(Some(path))?;
        Ok(config)
    }

    /// Parses TOML text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.to_owned(),
            line: e.span().map_or(1, |span| line_of(text, span.start)),
            message: e.message().trim().replace("unknown field", "unknown key"),
        })
    }

    /// Environment variables of the 3Speak encoder that map onto ours:
    /// `THREESPEAK_IPFS_ENDPOINT` (or `IPFS_PRIMARY_API`) is the primary
    /// node, `IPFS_BACKUP_APIS` (comma-separated) the backups,
    /// `MAX_CONCURRENT_JOBS`, `TEMP_DIR`.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        for name in ["THREESPEAK_IPFS_ENDPOINT", "IPFS_PRIMARY_API"] {
            if let Some(value) = var(name).filter(|v| !v.trim().is_empty()) {
                let api = env_url(name, &value)?;
                match self.nodes.iter_mut().find(|n| n.role == NodeRole::Primary) {
                    Some(primary) => primary.api = api,
                    None => self.nodes.insert(
                        0,
                        NodeConfig {
                            name: "supernode".into(),
                            api,
                            role: NodeRole::Primary,
                        },
                    ),
                }
                break;
            }
        }
        if let Some(value) = var("IPFS_BACKUP_APIS").filter(|v| !v.trim().is_empty()) {
            self.nodes.retain(|n| n.role == NodeRole::Primary);
            for (i, item) in value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .enumerate()
            {
                self.nodes.push(NodeConfig {
                    name: format!("backup-{}", i + 1),
                    api: env_url("IPFS_BACKUP_APIS", item)?,
                    role: NodeRole::Backup,
                });
            }
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
        Ok(())
    }

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
                    node.name, node.api
                ));
            }
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
            if !self.nodes.is_empty() && quorum as usize > self.nodes.len() {
                return fail(format!(
                    "[pinning] quorum = {quorum} but only {} node(s) are configured",
                    self.nodes.len()
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
        Ok(())
    }

    /// The nodes in the order work goes to them: the primary, then backups
    /// in file order.
    pub fn ordered_nodes(&self) -> Vec<NodeConfig> {
        let mut nodes = self.nodes.clone();
        nodes.sort_by_key(|n| n.role != NodeRole::Primary);
        nodes
    }

    /// The quorum in effect: as configured, else 2 with two or more nodes.
    pub fn quorum(&self) -> usize {
        match self.pinning.quorum {
            Some(q) => q as usize,
            None if self.nodes.len() >= 2 => 2,
            None => 1,
        }
    }

    /// The encoder setting, already validated.
    pub fn codec(&self) -> CodecChoice {
        CodecChoice::parse(&self.encoding.codec).expect("validated")
    }

    /// The wait after failed attempt `attempt` (1-based).
    pub fn backoff_after(&self, attempt: u32) -> Duration {
        let waits = &self.pinning.backoff;
        waits[(attempt as usize - 1).min(waits.len() - 1)]
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

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Durations in a list, each like `"2s"`.
mod humantime_list {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(waits: &[Duration], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            waits
                .iter()
                .map(|d| humantime::format_duration(*d).to_string()),
        )
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|s| humantime::parse_duration(s).map_err(serde::de::Error::custom))
            .collect()
    }
}

/// Byte sizes: a number of bytes, or text like `"20 GiB"` / `"500MB"`.
mod size {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(*bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Size {
            Bytes(u64),
            Text(String),
        }
        match Size::deserialize(d)? {
            Size::Bytes(b) => Ok(b),
            Size::Text(t) => parse(&t).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "{t:?} is not a size (examples: 500MB, 20 GiB, 1048576)"
                ))
            }),
        }
    }

    pub fn parse(text: &str) -> Option<u64> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let number: f64 = number.parse().ok()?;
        let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1.0,
            "kb" => 1e3,
            "mb" => 1e6,
            "gb" => 1e9,
            "tb" => 1e12,
            "kib" => 1024.0,
            "mib" => 1024.0 * 1024.0,
            "gib" => 1024.0 * 1024.0 * 1024.0,
            "tib" => 1024.0f64.powi(4),
            _ => return None,
        };
        Some((number * scale) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/tank/config.toml"))
            .and_then(|c| c.validate(None).map(|_| c))
    }

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
        assert_eq!(config.backoff_after(1), Duration::from_secs(2));
        assert_eq!(config.backoff_after(9), Duration::from_secs(30));
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
            .ordered_nodes()
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
    fn sizes_read_like_people_write_them() {
        assert_eq!(size::parse("20 GiB"), Some(20 * 1024 * 1024 * 1024));
        assert_eq!(size::parse("500MB"), Some(500_000_000));
        assert_eq!(size::parse("12"), Some(12));
        assert_eq!(size::parse("lots"), None);
    }
}
