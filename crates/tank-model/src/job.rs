//! A job's identity and its input: what the operator gave, parsed and
//! stored.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use url::Url;

/// A job's number, unique in one data directory.
pub type JobId = i64;

/// Where a job's video comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobInput {
    /// A local file (absolute path).
    File(PathBuf),
    /// An http(s) URL, downloaded into the job's folder.
    Url(Url),
    /// Content on IPFS (`ipfs://<cid>[/<path>]`, or a bare CID), fetched
    /// from the configured gateways, else the local node.
    Ipfs { cid: String, path: String },
}

/// An input that cannot become a job.
#[derive(Debug, thiserror::Error)]
#[error("input {input:?}: {reason}")]
pub struct InputError {
    pub input: String,
    pub reason: String,
}

impl JobInput {
    /// A URL with a scheme, else a path (made absolute against `cwd`).
    pub fn parse(text: &str, cwd: &std::path::Path) -> Result<JobInput, InputError> {
        let refuse = |reason: &str| InputError {
            input: text.to_owned(),
            reason: reason.to_owned(),
        };
        if text.trim().is_empty() {
            return Err(refuse("is empty"));
        }
        if let Some(rest) = text.strip_prefix("ipfs://") {
            return ipfs_input(rest)
                .ok_or_else(|| refuse("does not start with a CID after ipfs://"));
        }
        // A Windows drive letter (C:\...) parses as a URL scheme; it is a path.
        if text.contains("://") {
            let url = Url::parse(text).map_err(|e| refuse(&format!("is not a valid URL ({e})")))?;
            return match url.scheme() {
                "http" | "https" => Ok(JobInput::Url(url)),
                other => Err(refuse(&format!(
                    "the {other}:// scheme is not supported (use a local file, an http(s) URL or ipfs://<cid>)"
                ))),
            };
        }
        let path = cwd.join(text);
        match ipfs_input(text) {
            // A bare CID, unless a file happens to have that name.
            Some(ipfs) if !path.exists() => Ok(ipfs),
            _ => Ok(JobInput::File(path)),
        }
    }

    /// How the input is stored and shown.
    pub fn to_text(&self) -> String {
        match self {
            JobInput::File(path) => path.display().to_string(),
            JobInput::Url(url) => url.to_string(),
            JobInput::Ipfs { cid, path } if path.is_empty() => format!("ipfs://{cid}"),
            JobInput::Ipfs { cid, path } => format!("ipfs://{cid}/{path}"),
        }
    }

    /// Reads back what [`Self::to_text`] stored.
    pub fn from_stored(text: &str) -> JobInput {
        if let Some(ipfs) = text.strip_prefix("ipfs://").and_then(ipfs_input) {
            return ipfs;
        }
        match Url::parse(text) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => JobInput::Url(url),
            _ => JobInput::File(PathBuf::from(text)),
        }
    }

    /// For the URL of an IPFS path gateway (`…/ipfs/<cid>[/<path>]`, as
    /// 3Speak hands out inputs), the content it names: any other gateway,
    /// or a node, can serve the same bytes.
    pub fn gateway_content(&self) -> Option<(String, String)> {
        let JobInput::Url(url) = self else {
            return None;
        };
        let rest = url.path().strip_prefix("/ipfs/")?;
        let rest = percent_encoding::percent_decode_str(rest)
            .decode_utf8()
            .ok()?;
        match ipfs_input(&rest)? {
            JobInput::Ipfs { cid, path } => Some((cid, path)),
            _ => None,
        }
    }

    /// Whether the input has to be fetched before it can be probed.
    pub fn is_remote(&self) -> bool {
        !matches!(self, JobInput::File(_))
    }
}

/// Limits a job's source puts on its encode, over the configured ladder
/// (3Speak's rules for its jobs). The default limits nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct JobRules {
    /// Rungs larger than this (their `size`, e.g. 480) are left out.
    pub max_rung: Option<u32>,
    /// The output stops after this many seconds of the source.
    pub max_seconds: Option<u32>,
    /// Segment length from the video's length
    /// (`tank_media::adaptive_segment_secs`) instead of the configured one.
    pub adaptive_segments: bool,
    /// A faster source is dropped to this frame rate; a slower one keeps
    /// its own.
    pub max_fps: Option<u32>,
    /// A source without sound gets a silent AAC track.
    pub silent_audio: bool,
    /// The result is also handed to the platform's own upload target (the
    /// hotnode `[gateway] traffic_director` names), so the platform's
    /// gateway serves it at once. That copy is never a replica.
    pub platform_copy: bool,
    /// The source URL came from a platform, not the operator: it may only
    /// reach public addresses (checked after DNS and on every redirect),
    /// unless `[downloads] allow_private` names its host.
    pub public_sources_only: bool,
}

impl JobRules {
    /// The rungs of `ladder` these rules allow. When they allow none, the
    /// smallest is kept: a job always gets a rendition.
    pub fn ladder(&self, ladder: &[tank_media::Rung]) -> Vec<tank_media::Rung> {
        let allowed: Vec<tank_media::Rung> = ladder
            .iter()
            .filter(|r| self.max_rung.is_none_or(|max| r.size <= max))
            .cloned()
            .collect();
        match allowed.is_empty() {
            true => ladder
                .iter()
                .min_by_key(|r| r.size)
                .cloned()
                .into_iter()
                .collect(),
            false => allowed,
        }
    }
}

/// `<cid>[/<path>]` as an IPFS input, when it starts with a CID.
fn ipfs_input(text: &str) -> Option<JobInput> {
    let (cid, path) = text.split_once('/').unwrap_or((text, ""));
    looks_like_cid(cid).then(|| JobInput::Ipfs {
        cid: cid.to_owned(),
        path: path.trim_matches('/').to_owned(),
    })
}

/// CIDv0 (`Qm` and 44 base58 characters) or CIDv1 in base32 (`b` and at
/// least 58 lowercase base32 characters, e.g. `bafy…`).
fn looks_like_cid(text: &str) -> bool {
    let base58 = |c: char| c.is_ascii_alphanumeric() && !matches!(c, '0' | 'O' | 'I' | 'l');
    let base32 = |c: char| c.is_ascii_lowercase() || ('2'..='7').contains(&c);
    match text.as_bytes().first() {
        Some(b'Q') => text.len() == 46 && text.starts_with("Qm") && text.chars().all(base58),
        Some(b'b') => text.len() >= 59 && text.chars().all(base32),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn inputs_are_files_or_http_urls() {
        let cwd = Path::new("/home/op");
        assert_eq!(
            JobInput::parse("clips/a.mp4", cwd).unwrap(),
            JobInput::File("/home/op/clips/a.mp4".into())
        );
        assert_eq!(
            JobInput::parse("/abs/b.mov", cwd).unwrap(),
            JobInput::File("/abs/b.mov".into())
        );
        assert!(matches!(
            JobInput::parse("https://cdn.example/v.mp4", cwd).unwrap(),
            JobInput::Url(_)
        ));
        let err = JobInput::parse("ftp://host/v.mp4", cwd).unwrap_err();
        assert_eq!(
            err.to_string(),
            "input \"ftp://host/v.mp4\": the ftp:// scheme is not supported (use a local file, an http(s) URL or ipfs://<cid>)"
        );
    }

    #[test]
    fn rules_keep_the_rungs_they_allow_and_never_none() {
        let ladder = tank_media::default_ladder();
        let names = |rungs: Vec<tank_media::Rung>| -> Vec<String> {
            rungs.into_iter().map(|r| r.name).collect()
        };
        assert_eq!(
            names(JobRules::default().ladder(&ladder)),
            ["1080p", "720p", "480p"]
        );
        let sd = JobRules {
            max_rung: Some(480),
            ..JobRules::default()
        };
        assert_eq!(names(sd.ladder(&ladder)), ["480p"]);
        let tiny = JobRules {
            max_rung: Some(100),
            ..JobRules::default()
        };
        assert_eq!(
            names(tiny.ladder(&ladder)),
            ["480p"],
            "the smallest rung stays"
        );
    }

    #[test]
    fn a_gateway_url_names_its_content_and_other_urls_name_none() {
        let cid = "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN";
        let cwd = Path::new("/");
        let url = |text: &str| JobInput::parse(text, cwd).unwrap();
        assert_eq!(
            url(&format!("https://ipfs.3speak.tv/ipfs/{cid}/my%20clip.mov")).gateway_content(),
            Some((cid.to_owned(), "my clip.mov".to_owned()))
        );
        assert_eq!(
            url(&format!("http://127.0.0.1:8080/ipfs/{cid}")).gateway_content(),
            Some((cid.to_owned(), String::new()))
        );
        assert_eq!(
            url("https://cdn.example/ipfs/not-a-cid/v.mp4").gateway_content(),
            None
        );
        assert_eq!(
            url(&format!("https://cdn.example/videos/{cid}")).gateway_content(),
            None
        );
        assert_eq!(
            url(&format!("ipfs://{cid}")).gateway_content(),
            None,
            "already content"
        );
    }

    #[test]
    fn ipfs_inputs_are_urls_or_bare_cids() {
        let cwd = Path::new("/nonexistent");
        let cid = "QmSiG8TFyRN5MT1QFHrYLoJmwJnQZ3GxR1ywtwtDAzSaxq";
        let with_path = JobInput::parse(&format!("ipfs://{cid}/talk.mp4"), cwd).unwrap();
        assert_eq!(
            with_path,
            JobInput::Ipfs {
                cid: cid.into(),
                path: "talk.mp4".into()
            }
        );
        assert_eq!(JobInput::from_stored(&with_path.to_text()), with_path);
        assert!(matches!(
            JobInput::parse(cid, cwd).unwrap(),
            JobInput::Ipfs { .. }
        ));
        let v1 = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
        assert!(matches!(
            JobInput::parse(v1, cwd).unwrap(),
            JobInput::Ipfs { .. }
        ));
        assert!(JobInput::parse("ipfs://not-a-cid", cwd).is_err());
        assert!(matches!(
            JobInput::parse("QmTooShort", cwd).unwrap(),
            JobInput::File(_)
        ));
    }
}
