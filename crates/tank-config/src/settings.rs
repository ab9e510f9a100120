//! The part of the config an operator edits in the desktop app's Settings
//! view, as the form holds it: text and numbers, checked field by field so
//! each mistake is shown next to its field, and applied to the config file
//! whole or not at all.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tank_media::Rung;
use url::Url;

use crate::{
    AlertKind, AlertTarget, AuthKind, Config, ConfigError, GatewayMode, NodeConfig, NodeKind,
    NodeRole, DIRECT_API_SECRET,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Settings {
    /// In the order work goes to them: by tier, then as listed.
    pub nodes: Vec<NodeSettings>,
    /// Verified replicas before a job is done; `null`: 2 with two or more nodes.
    pub quorum: Option<u32>,
    /// Attempts per node.
    pub retries: u32,
    /// Waits between attempts, e.g. `["1s", "2s", "4s"]`.
    pub backoff: Vec<String>,
    /// Timeout of each call to a node, e.g. `"60s"`.
    pub attempt_timeout: String,
    pub max_concurrent: u32,
    /// `libx264`, `auto`, or a hardware encoder name.
    pub codec: String,
    pub preset: String,
    pub rungs: Vec<Rung>,
    pub alerts: Vec<AlertSettings>,
    /// Folders whose new videos are queued (absolute paths).
    pub watch_folders: Vec<String>,
    /// Run and supervise a local kubo node.
    pub local_node: bool,
    /// 3Speak as a source of work.
    pub threespeak: ThreeSpeakSettings,
}

/// Where 3Speak work comes from, as the form's choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ThreeSpeakSource {
    /// No jobs are pulled (the Direct API may still take pushed ones).
    Off,
    /// Community jobs from the embed system.
    Community,
    /// An old encoder gateway.
    Legacy,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ThreeSpeakSettings {
    pub source: ThreeSpeakSource,
    /// The embed system's or the legacy gateway's URL.
    pub url: String,
    /// The operator's Hive account (needed by a legacy gateway).
    pub hive_username: String,
    /// Managed mode: serve the Direct API for jobs 3Speak pushes.
    pub direct_api: bool,
    /// Where the Direct API listens, e.g. `0.0.0.0:3002`.
    pub direct_api_listen: String,
    /// Whether the keyring holds the Direct API's key (the key itself
    /// never leaves the engine).
    #[serde(default)]
    pub has_direct_api_key: bool,
}

impl ThreeSpeakSettings {
    fn of(config: &Config, has_secret: &impl Fn(&str) -> bool) -> ThreeSpeakSettings {
        let gateway = &config.gateway;
        ThreeSpeakSettings {
            source: match (gateway.enabled, gateway.mode) {
                (false, _) => ThreeSpeakSource::Off,
                (true, GatewayMode::Embed) => ThreeSpeakSource::Community,
                (true, GatewayMode::Legacy) => ThreeSpeakSource::Legacy,
            },
            url: gateway.url.to_string(),
            hive_username: gateway.hive_username.clone().unwrap_or_default(),
            direct_api: config.direct_api.enabled,
            direct_api_listen: config.direct_api.listen.to_string(),
            has_direct_api_key: has_secret(DIRECT_API_SECRET),
        }
    }

    fn apply(&self, config: &mut Config, errors: &mut Vec<FieldError>) {
        let reject = |errors: &mut Vec<FieldError>, name: &str, message: String| {
            errors.push(FieldError {
                field: format!("threespeak.{name}"),
                message,
            })
        };
        let gateway = &mut config.gateway;
        (gateway.enabled, gateway.mode) = match self.source {
            ThreeSpeakSource::Off => (false, gateway.mode),
            ThreeSpeakSource::Community => (true, GatewayMode::Embed),
            ThreeSpeakSource::Legacy => (true, GatewayMode::Legacy),
        };
        match Url::parse(self.url.trim()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => gateway.url = url,
            _ => reject(
                errors,
                "url",
                format!("{:?} is not an http(s) URL", self.url),
            ),
        }
        let hive = self.hive_username.trim();
        gateway.hive_username = (!hive.is_empty()).then(|| hive.to_owned());
        config.direct_api.enabled = self.direct_api;
        match self.direct_api_listen.trim().parse() {
            Ok(listen) => config.direct_api.listen = listen,
            Err(_) => reject(
                errors,
                "direct_api_listen",
                format!(
                    "{:?} is not an address and port, e.g. 0.0.0.0:3002",
                    self.direct_api_listen
                ),
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NodeSettings {
    pub name: String,
    pub api: String,
    pub kind: NodeKind,
    pub role: NodeRole,
    pub tier: Option<u32>,
    pub auth: Option<AuthKind>,
    pub username: Option<String>,
    /// A path gateway serving the node's content, or empty.
    pub gateway: Option<String>,
    /// Whether the keyring holds this node's password or token (the secret
    /// itself never leaves the engine).
    #[serde(default)]
    pub has_secret: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AlertSettings {
    pub name: String,
    pub kind: AlertKind,
    /// Whether the keyring holds the webhook URL.
    #[serde(default)]
    pub has_secret: bool,
}

/// One rejected value: `field` names it as the form does (`nodes.2.api`,
/// `retries`; empty for a problem of the whole config).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

fn nodes_by_tier(config: &Config) -> Vec<NodeConfig> {
    let mut nodes = config.nodes.clone();
    nodes.sort_by_key(NodeConfig::tier_rank);
    nodes
}

impl Settings {
    /// What the form shows for `config`; `has_secret` says which keyring
    /// entries exist.
    pub fn of(config: &Config, has_secret: impl Fn(&str) -> bool) -> Settings {
        let pinning = &config.pinning;
        Settings {
            // Listed in tier order, the order work goes to them.
            nodes: nodes_by_tier(config)
                .into_iter()
                .map(|n| NodeSettings {
                    has_secret: has_secret(&n.secret_key()),
                    name: n.name,
                    api: n.api.to_string(),
                    kind: n.kind,
                    role: n.role,
                    tier: n.tier,
                    auth: n.auth,
                    username: n.username,
                    gateway: n.gateway.map(String::from),
                })
                .collect(),
            quorum: pinning.quorum,
            retries: pinning.retries,
            backoff: pinning.backoff.iter().map(|d| human(**d)).collect(),
            attempt_timeout: human(pinning.attempt_timeout),
            max_concurrent: config.jobs.max_concurrent,
            codec: config.encoding.codec.clone(),
            preset: config.encoding.preset.clone(),
            rungs: config.encoding.rungs.clone(),
            alerts: config
                .alerts
                .iter()
                .map(|a| AlertSettings {
                    has_secret: has_secret(&a.secret_key()),
                    name: a.name.clone(),
                    kind: a.kind,
                })
                .collect(),
            watch_folders: config
                .watch
                .folders
                .iter()
                .map(|f| f.display().to_string())
                .collect(),
            local_node: config.local_node.enabled,
            threespeak: ThreeSpeakSettings::of(config, &has_secret),
        }
    }

    /// `base` with these settings in place, or every field that is wrong.
    /// Parts of the config the form does not show are kept as they are.
    pub fn apply_to(&self, base: &Config) -> Result<Config, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut config = base.clone();
        config.nodes = self
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(i, node)| node.to_config(i, &mut errors))
            .collect();
        config.pinning.quorum = self.quorum;
        config.pinning.retries = self.retries;
        config.pinning.backoff = self
            .backoff
            .iter()
            .enumerate()
            .filter_map(|(i, wait)| duration(&format!("backoff.{i}"), wait, &mut errors))
            .map(Into::into)
            .collect();
        if let Some(timeout) = duration("attempt_timeout", &self.attempt_timeout, &mut errors) {
            config.pinning.attempt_timeout = timeout;
        }
        config.jobs.max_concurrent = self.max_concurrent;
        config.encoding.codec = self.codec.trim().to_owned();
        config.encoding.preset = self.preset.trim().to_owned();
        config.encoding.rungs = self.rungs.clone();
        config.alerts = self
            .alerts
            .iter()
            .map(|a| AlertTarget {
                name: a.name.trim().to_owned(),
                kind: a.kind,
            })
            .collect();
        config.watch.folders = self
            .watch_folders
            .iter()
            .enumerate()
            .filter_map(|(i, folder)| watch_folder(i, folder, &mut errors))
            .collect();
        config.local_node.enabled = self.local_node;
        self.threespeak.apply(&mut config, &mut errors);
        check_fields(self, &mut errors);
        if errors.is_empty() {
            if let Err(e) = config.validate(None) {
                errors.push(FieldError {
                    field: String::new(),
                    message: whole_config_message(e),
                });
            }
        }
        match errors.is_empty() {
            true => Ok(config),
            false => Err(errors),
        }
    }
}

impl NodeSettings {
    /// This node alone as config, e.g. to test its connection before it is
    /// saved; errors name it as the form's node `index`.
    pub fn check(&self, index: usize) -> Result<NodeConfig, Vec<FieldError>> {
        let mut errors = Vec::new();
        self.to_config(index, &mut errors).ok_or(errors)
    }

    fn to_config(&self, index: usize, errors: &mut Vec<FieldError>) -> Option<NodeConfig> {
        let field = |name: &str| format!("nodes.{index}.{name}");
        let mut reject = |name: &str, message: String| {
            errors.push(FieldError {
                field: field(name),
                message,
            })
        };
        let name = self.name.trim();
        if name.is_empty() {
            reject("name", "a node needs a name".into());
        }
        let api = match http_url(&self.api) {
            Ok(api) => Some(api),
            Err(message) => {
                reject("api", message);
                None
            }
        };
        let gateway = match self.gateway.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => match http_url(text) {
                Ok(url) => Some(url),
                Err(message) => {
                    reject("gateway", message);
                    None
                }
            },
        };
        let username = self
            .username
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned);
        let node = NodeConfig {
            name: name.to_owned(),
            api: api?,
            kind: self.kind,
            role: self.role,
            tier: self.tier,
            auth: self.auth,
            username,
            gateway,
            replication_min: None,
            replication_max: None,
        };
        if let Some(problem) = node.problem() {
            let field = if problem.starts_with("api") {
                "api"
            } else {
                "auth"
            };
            reject(field, problem);
            return None;
        }
        Some(node)
    }
}

/// Checks whose message belongs next to one field.
fn check_fields(settings: &Settings, errors: &mut Vec<FieldError>) {
    let mut reject = |field: &str, message: &str| {
        errors.push(FieldError {
            field: field.to_owned(),
            message: message.to_owned(),
        })
    };
    let mut names = std::collections::HashSet::new();
    for (i, node) in settings.nodes.iter().enumerate() {
        if !node.name.trim().is_empty() && !names.insert(node.name.trim()) {
            reject(&format!("nodes.{i}.name"), "another node has this name");
        }
    }
    if settings.quorum == Some(0) {
        reject("quorum", "must be at least 1");
    }
    if settings.retries == 0 {
        reject("retries", "must be at least 1");
    }
    if settings.backoff.is_empty() {
        reject("backoff", "needs at least one wait");
    }
    if settings.max_concurrent == 0 {
        reject("max_concurrent", "must be at least 1");
    }
    if tank_media::CodecChoice::parse(settings.codec.trim()).is_none() {
        reject(
            "codec",
            "must be libx264, auto, h264_nvenc, h264_qsv, h264_vaapi or h264_videotoolbox",
        );
    }
    if settings.rungs.is_empty() {
        reject("rungs", "the ladder needs at least one rung");
    }
    let mut alert_names = std::collections::HashSet::new();
    for (i, alert) in settings.alerts.iter().enumerate() {
        if alert.name.trim().is_empty() {
            reject(&format!("alerts.{i}.name"), "a webhook needs a name");
        } else if !alert_names.insert(alert.name.trim()) {
            reject(&format!("alerts.{i}.name"), "another webhook has this name");
        }
    }
}

/// A folder typed or picked in the form: it must be there now.
fn watch_folder(index: usize, text: &str, errors: &mut Vec<FieldError>) -> Option<PathBuf> {
    let folder = PathBuf::from(text.trim());
    let problem = if text.trim().is_empty() {
        "choose a folder".to_owned()
    } else if !folder.is_absolute() {
        format!("{} is not an absolute path", folder.display())
    } else if !folder.is_dir() {
        format!("{} is not a folder on this computer", folder.display())
    } else {
        return Some(folder);
    };
    errors.push(FieldError {
        field: format!("watch_folders.{index}"),
        message: problem,
    });
    None
}

fn http_url(text: &str) -> Result<Url, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("enter the API address, e.g. http://127.0.0.1:5001".into());
    }
    let url = Url::parse(text).map_err(|e| format!("{text:?} is not a URL ({e})"))?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        "http" | "https" => Err(format!("{text:?} has no host")),
        other => Err(format!("must be an http(s) URL, not {other}://")),
    }
}

fn duration(field: &str, text: &str, errors: &mut Vec<FieldError>) -> Option<Duration> {
    humantime::parse_duration(text.trim())
        .map_err(|e| {
            errors.push(FieldError {
                field: field.to_owned(),
                message: format!("{:?} is not a duration like 2s or 1m30s ({e})", text.trim()),
            })
        })
        .ok()
}

fn human(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

/// `Config::validate` names the file; the form has none.
fn whole_config_message(error: ConfigError) -> String {
    match error {
        ConfigError::Inconsistent { message, .. } => message,
        other => other.to_string(),
    }
}

impl AlertTarget {
    /// The keyring entry of this webhook's URL.
    pub fn secret_key(&self) -> String {
        format!("alert:{}", self.name)
    }
}

impl Config {
    /// Writes the config to `path` whole or not at all: to a temporary file
    /// beside it, flushed to disk, then renamed over the old one.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let unwritable = |source| ConfigError::Unreadable {
            path: path.to_owned(),
            source,
        };
        let text = toml::to_string_pretty(self).map_err(|e| ConfigError::Inconsistent {
            path: Some(path.to_owned()),
            message: format!("cannot be written as TOML: {e}"),
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(unwritable)?;
        let mut file = tempfile::NamedTempFile::new_in(dir).map_err(unwritable)?;
        std::io::Write::write_all(&mut file, text.as_bytes()).map_err(unwritable)?;
        file.as_file().sync_all().map_err(unwritable)?;
        file.persist(path).map_err(|e| unwritable(e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_nodes() -> Config {
        let mut config = Config::default();
        for (name, port, role) in [
            ("primary", 5001, NodeRole::Primary),
            ("b", 5002, NodeRole::Backup),
        ] {
            let api = Url::parse(&format!("http://127.0.0.1:{port}")).unwrap();
            config.nodes.push(NodeConfig::kubo(name, api, role));
        }
        config
    }

    #[test]
    fn settings_round_trip_through_the_config() {
        let config = two_nodes();
        let settings = Settings::of(&config, |key| key == "node:b");
        assert_eq!(settings.nodes[1].name, "b");
        assert!(settings.nodes[1].has_secret && !settings.nodes[0].has_secret);
        assert_eq!(settings.backoff, ["2s", "4s", "8s", "16s", "30s"]);
        assert_eq!(settings.apply_to(&config).unwrap(), config);
    }

    #[test]
    fn the_3speak_choice_sets_the_gateway_and_the_direct_api() {
        let config = two_nodes();
        let mut settings = Settings::of(&config, |key| key == DIRECT_API_SECRET);
        assert_eq!(settings.threespeak.source, ThreeSpeakSource::Off);
        assert_eq!(settings.threespeak.url, "https://embed.3speak.tv/");
        assert!(settings.threespeak.has_direct_api_key);

        settings.threespeak.source = ThreeSpeakSource::Community;
        settings.threespeak.direct_api = true;
        settings.threespeak.direct_api_listen = "0.0.0.0:3002".into();
        let saved = settings.apply_to(&config).unwrap();
        assert!(saved.gateway.enabled && saved.gateway.mode == GatewayMode::Embed);
        assert!(saved.direct_api.enabled);
        assert_eq!(saved.direct_api.listen.to_string(), "0.0.0.0:3002");
        assert_eq!(
            Settings::of(&saved, |_| false).threespeak.source,
            ThreeSpeakSource::Community
        );

        settings.threespeak.source = ThreeSpeakSource::Legacy;
        let errors = settings.apply_to(&config).unwrap_err();
        assert!(
            errors[0].message.contains("hive_username"),
            "a legacy gateway needs the Hive account: {errors:?}"
        );
        settings.threespeak.url = "embed.3speak.tv".into();
        settings.threespeak.direct_api_listen = "everywhere".into();
        let errors = settings.apply_to(&config).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["threespeak.url", "threespeak.direct_api_listen"]);
    }

    #[test]
    fn every_bad_field_is_named() {
        let config = two_nodes();
        let mut settings = Settings::of(&config, |_| false);
        settings.nodes[1].api = "htp:/nowhere".into();
        settings.nodes.push(NodeSettings {
            name: "primary".into(),
            api: "http://user:pw@host:5001".into(),
            ..settings.nodes[0].clone()
        });
        settings.backoff[1] = "soon".into();
        settings.retries = 0;
        settings.codec = "h265".into();
        let errors = settings.apply_to(&config).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "nodes.1.api",
                "nodes.2.api",
                "backoff.1",
                "nodes.2.name",
                "retries",
                "codec"
            ]
        );
        assert_eq!(errors[0].message, "must be an http(s) URL, not htp://");
        assert!(
            errors[1].message.contains("must not contain credentials"),
            "{errors:?}"
        );
        assert!(errors[2].message.starts_with("\"soon\" is not a duration"));
    }

    #[test]
    fn watch_folders_must_be_existing_absolute_folders() {
        let config = two_nodes();
        let here = tempfile::tempdir().unwrap();
        let mut settings = Settings::of(&config, |_| false);
        settings.watch_folders = vec![
            here.path().display().to_string(),
            "relative/videos".into(),
            here.path().join("gone").display().to_string(),
            " ".into(),
        ];
        settings.local_node = true;
        let errors = settings.apply_to(&config).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["watch_folders.1", "watch_folders.2", "watch_folders.3"]
        );
        assert!(errors[1].message.contains("gone"), "{errors:?}");

        settings.watch_folders.truncate(1);
        let applied = settings.apply_to(&config).unwrap();
        assert_eq!(applied.watch.folders, [here.path()]);
        assert!(applied.local_node.enabled);
        assert_eq!(Settings::of(&applied, |_| false), settings);
    }

    #[test]
    fn problems_of_the_whole_config_have_no_field() {
        let config = two_nodes();
        let mut settings = Settings::of(&config, |_| false);
        settings.nodes[1].role = NodeRole::Primary;
        let errors = settings.apply_to(&config).unwrap_err();
        assert_eq!(
            errors,
            [FieldError {
                field: String::new(),
                message: "2 nodes have role = \"primary\"; at most one may".into()
            }]
        );
    }

    #[test]
    fn saving_replaces_the_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conf/config.toml");
        let config = two_nodes();
        config.save(&path).unwrap();
        let saved = Config::parse(&std::fs::read_to_string(&path).unwrap(), &path).unwrap();
        assert_eq!(saved, config);
        let leftovers = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }
}
