//! `downloading`: a remote input is fetched into the job's folder, streamed
//! to disk with a size limit and a stall timeout. A transfer that breaks
//! off resumes where it stopped (HTTP `Range`) on the next try. A large
//! one is fetched in pieces over several connections ([`pieces`]).
//!
//! Sources, in order: an http(s) input is its own single source. An
//! `ipfs://` input (or a bare CID) comes from the configured gateways, then
//! from the local node's own gateway (which fetches from its peers), the
//! Tier-2 source that kept the operators working through the supernode's
//! 11-hour outage. An http(s) URL of an IPFS gateway (`…/ipfs/<cid>/…`, as
//! 3Speak hands out inputs) is tried first, then the same content from
//! those sources. Every try is recorded in the job's history.

mod pieces;

use std::path::Path;
use std::time::Duration;

use reqwest::header::{ACCEPT_RANGES, CONTENT_RANGE, CONTENT_TYPE, LOCATION, RANGE};
use reqwest::StatusCode;
use tank_ipfs::root_cause;
use url::Url;

use super::{public_address, Outcome, Stage};
use crate::pinning::recorder::AttemptError;
use pieces::{Manifest, Piece, Transfer};
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
    #[error("the server does not keep to ranges: {0}; trying again in one stream")]
    RangesIgnored(String),
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
    // Until a server ignores a range request.
    let mut split = stage.config.downloads.connections > 1;
    for source in sources {
        for attempt in 1..=stage.config.downloads.attempts {
            let result = stage
                .recorder
                .call(
                    &source.name,
                    "download",
                    attempt,
                    transfer(stage, source, &partial, split),
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
                Err(e @ DownloadError::RangesIgnored(_)) => {
                    // The pieces on disk may not be this file's: start
                    // over, in one stream.
                    split = false;
                    let removed = Manifest::remove(&partial)
                        .await
                        .and(remove_if_there(&partial).await);
                    if let Err(io) = removed {
                        return Outcome::infrastructure(format!(
                            "cannot remove {}: {io}",
                            partial.display()
                        ));
                    }
                    failures.push(format!("{}: {e}", source.name));
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

async fn remove_if_there(path: &Path) -> std::io::Result<()> {
    match tokio::fs::remove_file(path).await {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The time a whole try may take: `header_timeout` plus the size (else
/// `max_input_size`) at `min_average_speed`.
fn deadline(config: &tank_config::Config, total: Option<u64>) -> Duration {
    let waits = &config.downloads;
    waits.header_timeout
        + Duration::from_secs_f64(
            total.unwrap_or(config.jobs.max_input_size) as f64 / waits.min_average_speed as f64,
        )
}

/// One try. A split download in progress (its manifest beside `partial`)
/// resumes its pieces. Otherwise one request: it resumes `partial` when it
/// has bytes and the server takes ranges, and becomes a split download
/// when `split` allows, the file is large and the server takes ranges.
async fn transfer(
    stage: &Stage<'_>,
    source: &Source,
    partial: &Path,
    split: bool,
) -> Result<(), DownloadError> {
    let started = tokio::time::Instant::now();
    if let Some(manifest) = Manifest::load(partial).await.filter(|_| split) {
        return transfer_pieces(stage, source, partial, manifest, None, started).await;
    }
    let have = tokio::fs::metadata(partial)
        .await
        .map(|m| m.len())
        .unwrap_or(0);
    let response = request(stage, source, (have > 0).then_some((have, None))).await?;
    let status = response.status();
    let (received, total) = match status {
        StatusCode::PARTIAL_CONTENT => {
            let total = content_range(&response)
                .map(|(_, total)| total)
                .or(response.content_length().map(|l| l + have));
            (have, total)
        }
        StatusCode::RANGE_NOT_SATISFIABLE => {
            // What we have is all there is (or stale): start over next try.
            tokio::fs::remove_file(partial).await?;
            return Err(DownloadError::Broken {
                received: have,
                reason: "the server cannot resume from there".into(),
            });
        }
        s if s.is_success() => (0, response.content_length()),
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
    let limits = &stage.config.jobs;
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
    if received == 0 {
        // A whole answer: what an earlier try left is not kept.
        tokio::fs::File::create(partial).await?;
    }
    let takes_ranges = response
        .headers()
        .get(ACCEPT_RANGES)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"bytes"));
    if let (true, true, 0, Some(total)) = (split, takes_ranges, received, total) {
        let pieces = pieces::plan(total, stage.config.downloads.connections);
        if pieces.len() > 1 {
            let manifest = Manifest { total, pieces };
            return transfer_pieces(stage, source, partial, manifest, Some(response), started)
                .await;
        }
    }
    let transfer = Transfer::new(stage, partial, total, received, started);
    let whole = Piece {
        start: 0,
        end: total.unwrap_or(u64::MAX),
        done: received,
    };
    let piece = transfer.receive(0, whole, response.bytes_stream()).await?;
    match total {
        Some(total) if piece.next() < total => Err(DownloadError::Short {
            received: piece.next(),
            total,
        }),
        _ => Ok(()),
    }
}

/// The pieces of `manifest` still to come, each over its own connection,
/// at once. `first` is the answer to a whole-file request: the first
/// piece reads its start. A piece that fails leaves the others to finish;
/// the next try fetches only what is missing.
async fn transfer_pieces(
    stage: &Stage<'_>,
    source: &Source,
    partial: &Path,
    manifest: Manifest,
    mut first: Option<reqwest::Response>,
    started: tokio::time::Instant,
) -> Result<(), DownloadError> {
    let total = manifest.total;
    let pieces = manifest.pieces.clone();
    let transfer = Transfer::split(stage, partial, manifest, started).await?;
    let transfer = &transfer;
    let work = pieces
        .into_iter()
        .enumerate()
        .filter(|(_, piece)| !piece.is_complete())
        .map(|(index, piece)| {
            let answer = if piece.done == 0 && piece.start == 0 {
                first.take()
            } else {
                None
            };
            async move {
                let response = match answer {
                    Some(response) => response,
                    None => piece_request(stage, source, piece, total).await?,
                };
                transfer
                    .receive(index, piece, response.bytes_stream())
                    .await
            }
        })
        .collect::<Vec<_>>();
    let mut missing = 0;
    for result in futures_util::future::join_all(work).await {
        let piece = result?;
        missing += piece.end - piece.next();
    }
    if missing > 0 {
        return Err(DownloadError::Short {
            received: total - missing,
            total,
        });
    }
    // Complete: the partial file stands on its own now.
    Manifest::remove(partial).await?;
    Ok(())
}

/// Asks for the rest of `piece`, and checks the answer is those bytes of
/// a file of `total` bytes.
async fn piece_request(
    stage: &Stage<'_>,
    source: &Source,
    piece: Piece,
    total: u64,
) -> Result<reqwest::Response, DownloadError> {
    let response = request(stage, source, Some((piece.next(), Some(piece.end - 1)))).await?;
    match response.status() {
        StatusCode::PARTIAL_CONTENT => match content_range(&response) {
            Some((start, of)) if start == piece.next() && of == total => Ok(response),
            _ => Err(DownloadError::RangesIgnored(format!(
                "it answered bytes {}- of {total} with other bytes",
                piece.next()
            ))),
        },
        StatusCode::OK => Err(DownloadError::RangesIgnored(
            "it answered a range request with the whole file".into(),
        )),
        StatusCode::RANGE_NOT_SATISFIABLE => Err(DownloadError::RangesIgnored(format!(
            "it has no bytes {}- any more",
            piece.next()
        ))),
        s if s.is_client_error() => Err(DownloadError::Refused(s)),
        s => Err(DownloadError::ServerError(s)),
    }
}

/// A 206 answer's first byte and the file's total size, from its
/// `Content-Range: bytes <first>-<last>/<total>`.
fn content_range(response: &reqwest::Response) -> Option<(u64, u64)> {
    let value = response.headers().get(CONTENT_RANGE)?.to_str().ok()?;
    let (range, total) = value.strip_prefix("bytes ")?.split_once('/')?;
    let (first, _) = range.split_once('-')?;
    Some((first.parse().ok()?, total.parse().ok()?))
}

/// Sends the GET (of `range`: from its first byte, to its last when
/// given), and answers the response once its headers are in. A guarded source connects only to the public addresses
/// its host was checked to have, and follows redirects itself, checking
/// each one the same way.
async fn request(
    stage: &Stage<'_>,
    source: &Source,
    range: Option<(u64, Option<u64>)>,
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
        if let Some((first, last)) = range {
            let last = last.map(|l| l.to_string()).unwrap_or_default();
            request = request.header(RANGE, format!("bytes={first}-{last}"));
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
