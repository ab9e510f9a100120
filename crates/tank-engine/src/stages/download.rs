//! `downloading`: a remote input is fetched into the job's folder, streamed
//! to disk with a size limit and a stall timeout. A transfer that breaks
//! off resumes where it stopped (HTTP `Range`) on the next try.
//!
//! Sources, in order: an http(s) input is its own single source. An
//! `ipfs://` input (or a bare CID) comes from the configured gateways, then
//! from the local node's own gateway (which fetches from its peers), the
//! Tier-2 source that kept the operators working through the supernode's
//! 11-hour outage. An http(s) URL of an IPFS gateway (`…/ipfs/<cid>/…`, as
//! 3Speak hands out inputs) is tried first, then the same content from
//! those sources. Every try is recorded in the job's history.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{CONTENT_RANGE, CONTENT_TYPE, LOCATION, RANGE};
use reqwest::StatusCode;
use tank_ipfs::root_cause;
use tokio::io::AsyncWriteExt;
use url::Url;

use super::{public_address, Outcome, Stage};
use crate::pinning::recorder::AttemptError;
use tank_model::JobEvent;
use tank_model::JobInput;
use tank_store::Field;

/// The folder of a job's folder that downloads go to.
pub(crate) const SOURCE_DIR: &str = "source";

/// Progress is announced at most this often (bytes).
const ANNOUNCE_EVERY: u64 = 1024 * 1024;

/// Redirects followed for a source that must stay on public addresses
/// (each is checked); reqwest's own default for the others.
const MAX_REDIRECTS: usize = 10;

/// Where an input can be fetched from.
struct Source {
    /// How it appears in the retry history.
    name: String,
    url: Url,
    /// The operator's own URL: a 4xx answer means the input is wrong. A
    /// gateway's 4xx only means that gateway cannot serve it.
    authoritative: bool,
    /// A platform chose this URL: it, and every redirect, must resolve to
    /// public addresses ([`public_address`]).
    guarded: bool,
}

#[derive(Debug, thiserror::Error)]
enum DownloadError {
    #[error("the server answered {0}")]
    Refused(StatusCode),
    #[error("the server answered {0}")]
    ServerError(StatusCode),
    /// The detail is for the operator's log; the job (and the platform)
    /// are told only [`public_address::REFUSED`].
    #[error("{}", public_address::REFUSED)]
    NotPublic(String),
    #[error("the redirect to {0:?} cannot be followed")]
    BadRedirect(String),
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
    #[error("not enough disk space: {needed} more bytes to come, and {disk}")]
    NoRoom { needed: u64, disk: String },
    #[error("the server answered with a web page ({0}), not a video")]
    WebPage(String),
    #[error("it is {bytes} bytes, over the limit of {limit} bytes ([jobs] max_input_size)")]
    TooBig { bytes: u64, limit: u64 },
    #[error("nothing received for {} ([jobs] download_stall_timeout)", humantime::format_duration(*.0))]
    Stalled(Duration),
    #[error("no answer (response headers) within {} ([downloads] header_timeout)", humantime::format_duration(*.0))]
    NoHeaders(Duration),
    #[error("not finished within {} after {received} bytes, slower on average than [downloads] min_average_speed", humantime::format_duration(*.deadline))]
    TooSlow { deadline: Duration, received: u64 },
    #[error("it broke off after {received} bytes: {reason}")]
    Broken { received: u64, reason: String },
    #[error("it ended after {received} of {total} bytes")]
    Short { received: u64, total: u64 },
    #[error("cannot connect: {0}")]
    Unreachable(String),
    #[error("cannot save it: {0}")]
    Io(#[from] std::io::Error),
}

impl AttemptError for DownloadError {
    fn http_status(&self) -> Option<u16> {
        match self {
            DownloadError::Refused(status) | DownloadError::ServerError(status) => {
                Some(status.as_u16())
            }
            _ => None,
        }
    }

    fn counts_against_node(&self) -> bool {
        false // sources are not pinning nodes; no breaker is kept for them
    }
}

pub(crate) async fn run(stage: &Stage<'_>) -> Outcome {
    let input = JobInput::from_stored(&stage.job.input);
    let (sources, name) = match &input {
        JobInput::Url(url) => {
            let content = input.gateway_content();
            let mut sources = vec![Source {
                name: tank_ipfs::redacted(url),
                url: url.clone(),
                // One gateway's 404 says nothing of the content.
                authoritative: content.is_none(),
                guarded: stage.job.rules.public_sources_only,
            }];
            if let Some((cid, path)) = content {
                let others = ipfs_sources(stage, &cid, &path).await;
                sources.extend(others.into_iter().filter(|s| s.url != *url));
            }
            (sources, file_name(url))
        }
        JobInput::Ipfs { cid, path } => {
            let name = Path::new(path)
                .file_name()
                .map_or(cid.clone(), |n| safe_name(&n.to_string_lossy()));
            (ipfs_sources(stage, cid, path).await, name)
        }
        JobInput::File(_) => unreachable!("local files are not downloaded"),
    };
    let dir = Path::new(&stage.job.work_dir).join(SOURCE_DIR);
    if let Err(e) = tokio::fs::create_dir_all(&dir).await {
        return Outcome::infrastructure(format!("cannot create {}: {e}", dir.display()));
    }
    let target = dir.join(name);
    fetch(stage, &sources, &target).await
}

/// The configured gateways, then the local node's gateway when it runs.
async fn ipfs_sources(stage: &Stage<'_>, cid: &str, path: &str) -> Vec<Source> {
    let content = if path.is_empty() {
        cid.to_owned()
    } else {
        format!("{cid}/{path}")
    };
    let at = |gateway: &Url| {
        let mut url = gateway.clone();
        url.path_segments_mut()
            .expect("http URLs have a path")
            .pop_if_empty()
            .push("ipfs")
            .extend(content.split('/'));
        url
    };
    let mut sources: Vec<Source> = stage
        .config
        .downloads
        .gateways
        .iter()
        .map(|gateway| Source {
            name: format!("gateway {}", tank_ipfs::redacted(gateway)),
            url: at(gateway),
            authoritative: false,
            guarded: false, // the operator's own gateways
        })
        .collect();
    if let Some(local) = stage.local_node {
        let gateway = local.answering().await.and_then(|running| running.gateway);
        if let Some(gateway) = gateway.and_then(|g| Url::parse(&g).ok()) {
            sources.push(Source {
                name: "local node".into(),
                url: at(&gateway),
                authoritative: false,
                guarded: false,
            });
        }
    }
    sources
}

/// Tries each source in turn, each `attempts` times; a partial file is
/// resumed by the next try, whichever source it comes from (same bytes).
async fn fetch(stage: &Stage<'_>, sources: &[Source], target: &Path) -> Outcome {
    let partial = target.with_extension("part");
    let mut failures = Vec::new();
    for source in sources {
        for attempt in 1..=stage.config.downloads.attempts {
            let result = stage
                .recorder
                .call(
                    &source.name,
                    "download",
                    attempt,
                    transfer(stage, source, &partial),
                )
                .await;
            match result {
                Ok(()) => {
                    if let Err(e) = tokio::fs::rename(&partial, target).await {
                        return Outcome::infrastructure(format!("cannot save the download: {e}"));
                    }
                    return Outcome::Done(vec![Field::SourcePath(target.display().to_string())]);
                }
                // No source can help while the disk is full.
                Err(e @ DownloadError::NoRoom { .. }) => {
                    return Outcome::infrastructure(format!(
                        "cannot download {}: {e}",
                        stage.job.input
                    ));
                }
                Err(e @ DownloadError::TooBig { .. }) => {
                    return Outcome::bad_input(format!(
                        "input {} is too big: {e}",
                        stage.job.input
                    ));
                }
                Err(DownloadError::NotPublic(why)) => {
                    tracing::warn!(
                        job = stage.job.id,
                        why,
                        "a platform's source URL was refused"
                    );
                    if source.authoritative {
                        return Outcome::bad_input(public_address::REFUSED);
                    }
                    failures.push(public_address::REFUSED.to_owned());
                    break;
                }
                Err(e @ (DownloadError::Refused(_) | DownloadError::WebPage(_)))
                    if source.authoritative =>
                {
                    return Outcome::bad_input(format!("cannot download {}: {e}", source.name));
                }
                Err(e @ (DownloadError::Refused(_) | DownloadError::WebPage(_))) => {
                    failures.push(format!("{}: {e}", source.name));
                    break; // that source does not have it
                }
                Err(e) => failures.push(format!("{}: {e}", source.name)),
            }
        }
    }
    if sources.is_empty() {
        failures.push("no gateway is configured and the local node is not running".into());
    }
    Outcome::infrastructure(format!(
        "cannot download {} ({})",
        stage.job.input,
        failures.join("; ")
    ))
}

/// One try: resumes `partial` when it has bytes and the server takes ranges.
async fn transfer(
    stage: &Stage<'_>,
    source: &Source,
    partial: &PathBuf,
) -> Result<(), DownloadError> {
    let limits = &stage.config.jobs;
    let waits = &stage.config.downloads;
    let started = tokio::time::Instant::now();
    let have = tokio::fs::metadata(partial)
        .await
        .map(|m| m.len())
        .unwrap_or(0);
    let response = request(stage, source, have).await?;
    let status = response.status();
    let (mut received, total, append) = match status {
        StatusCode::PARTIAL_CONTENT => {
            let total = response
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit('/').next())
                .and_then(|t| t.parse().ok())
                .or(response.content_length().map(|l| l + have));
            (have, total, true)
        }
        StatusCode::RANGE_NOT_SATISFIABLE => {
            // What we have is all there is (or stale): start over next try.
            tokio::fs::remove_file(partial).await?;
            return Err(DownloadError::Broken {
                received: have,
                reason: "the server cannot resume from there".into(),
            });
        }
        s if s.is_success() => (0, response.content_length(), false),
        s if s.is_client_error() => return Err(DownloadError::Refused(s)),
        s => return Err(DownloadError::ServerError(s)),
    };
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("text/html") {
        return Err(DownloadError::WebPage(content_type.to_owned()));
    }
    if let Some(total) = total.filter(|t| *t > limits.max_input_size) {
        return Err(DownloadError::TooBig {
            bytes: total,
            limit: limits.max_input_size,
        });
    }
    if let (true, Some(total)) = (limits.free_space_check, total) {
        let needed = total.saturating_sub(received);
        if crate::disk::free_bytes(partial).is_some_and(|free| free < needed) {
            return Err(DownloadError::NoRoom {
                needed,
                disk: stage.disk.describe(),
            });
        }
    }
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(partial)
        .await?;
    let deadline = waits.header_timeout
        + Duration::from_secs_f64(
            total.unwrap_or(limits.max_input_size) as f64 / waits.min_average_speed as f64,
        );
    let mut body = response.bytes_stream();
    let mut announced = received;
    loop {
        let left = deadline.saturating_sub(started.elapsed());
        let stall = limits.download_stall_timeout;
        let chunk = match tokio::time::timeout(stall.min(left), body.next()).await {
            Err(_) if left <= stall => return Err(DownloadError::TooSlow { deadline, received }),
            Err(_) => return Err(DownloadError::Stalled(stall)),
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                file.flush().await?;
                return Err(DownloadError::Broken {
                    received,
                    reason: root_cause(&e),
                });
            }
            Ok(Some(Ok(chunk))) => chunk,
        };
        received += chunk.len() as u64;
        if received > limits.max_input_size {
            return Err(DownloadError::TooBig {
                bytes: received,
                limit: limits.max_input_size,
            });
        }
        file.write_all(&chunk).await?;
        if received - announced >= ANNOUNCE_EVERY {
            announced = received;
            stage.events.send(JobEvent::Download {
                job: stage.job.id,
                bytes: received,
                total,
            });
        }
    }
    file.sync_all().await?;
    match total {
        Some(total) if received < total => Err(DownloadError::Short { received, total }),
        _ => Ok(()),
    }
}

/// Sends the GET (from byte `have` on), and answers the response once its
/// headers are in. A guarded source connects only to the public addresses
/// its host was checked to have, and follows redirects itself, checking
/// each one the same way.
async fn request(
    stage: &Stage<'_>,
    source: &Source,
    have: u64,
) -> Result<reqwest::Response, DownloadError> {
    let waits = &stage.config.downloads;
    let mut allowed = waits.allow_private.clone();
    allowed.extend(stage.config.gateway.url.host_str().map(str::to_owned));
    let mut url = source.url.clone();
    for _ in 0..=MAX_REDIRECTS {
        let mut client = reqwest::Client::builder().connect_timeout(waits.connect_timeout);
        if source.guarded {
            let addresses = public_address::addresses(&url, &allowed)
                .await
                .map_err(DownloadError::NotPublic)?;
            if let Some(domain) = url.domain() {
                client = client.resolve_to_addrs(domain, &addresses);
            }
            client = client.redirect(reqwest::redirect::Policy::none());
        }
        let client = client.build().expect("a TLS backend is compiled in");
        let mut request = client.get(url.clone());
        if have > 0 {
            request = request.header(RANGE, format!("bytes={have}-"));
        }
        // The connect timeout is inside this one: a server that accepts the
        // connection and then says nothing is given up here.
        let response = tokio::time::timeout(waits.header_timeout, request.send())
            .await
            .map_err(|_| DownloadError::NoHeaders(waits.header_timeout))?
            .map_err(|e| DownloadError::Unreachable(root_cause(&e)))?;
        if !(source.guarded && response.status().is_redirection()) {
            return Ok(response);
        }
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        url = url
            .join(location)
            .ok()
            .filter(|next| matches!(next.scheme(), "http" | "https"))
            .ok_or_else(|| DownloadError::BadRedirect(location.to_owned()))?;
    }
    Err(DownloadError::TooManyRedirects)
}

/// The URL's last path segment, kept to safe characters; `source` if none.
fn file_name(url: &Url) -> String {
    let last = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or_default();
    safe_name(last)
}

fn safe_name(name: &str) -> String {
    let safe: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    let safe = safe.trim_start_matches('.');
    if safe.is_empty() {
        "source".into()
    } else {
        safe.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downloads_keep_a_safe_version_of_the_url_file_name() {
        let name = |u: &str| file_name(&Url::parse(u).unwrap());
        assert_eq!(name("https://cdn.example/v/clip.mp4?token=1"), "clip.mp4");
        assert_eq!(name("https://cdn.example/"), "source");
        assert_eq!(name("https://cdn.example/..%2F..%2Fetc"), "2F..2Fetc");
        assert_eq!(name("https://cdn.example/a%20b.mov"), "a20b.mov");
    }
}
