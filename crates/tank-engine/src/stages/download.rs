//! `downloading`: an http(s) input is fetched into the job's folder,
//! streamed to disk, with a size limit and a stall timeout.

use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use tank_ipfs::root_cause;
use tokio::io::AsyncWriteExt;
use url::Url;

use super::{Outcome, Stage};
use crate::events::JobEvent;
use crate::job::{JobInput, JobState};
use crate::store::Field;

/// Progress is announced at most this often (bytes).
const ANNOUNCE_EVERY: u64 = 1024 * 1024;

pub(crate) async fn run(stage: &Stage<'_>) -> Outcome {
    let JobInput::Url(url) = JobInput::from_stored(&stage.job.input) else {
        unreachable!("only URL inputs are downloaded");
    };
    let dir = Path::new(&stage.job.work_dir).join("source");
    match fetch(stage, &url, &dir).await {
        Ok(path) => Outcome::Next(
            JobState::Probing,
            vec![Field::SourcePath(path.display().to_string())],
        ),
        Err(outcome) => outcome,
    }
}

async fn fetch(stage: &Stage<'_>, url: &Url, dir: &Path) -> Result<PathBuf, Outcome> {
    let limits = &stage.config.jobs;
    let shown = tank_ipfs::redacted(url);
    let io =
        |e: std::io::Error| Outcome::infrastructure(format!("saving the download of {shown}: {e}"));
    tokio::fs::create_dir_all(dir).await.map_err(io)?;
    let target = dir.join(file_name(url));
    let partial = target.with_extension("part");

    let response = reqwest::Client::new()
        .get(url.clone())
        .send()
        .await
        .map_err(|e| {
            Outcome::infrastructure(format!("cannot download {shown}: {}", root_cause(&e)))
        })?;
    let status = response.status();
    if status.is_client_error() {
        return Err(Outcome::bad_input(format!(
            "cannot download {shown}: the server answered {status}"
        )));
    }
    if !status.is_success() {
        return Err(Outcome::infrastructure(format!(
            "cannot download {shown}: the server answered {status}"
        )));
    }
    let total = response.content_length();
    let too_big = |bytes: u64| {
        Outcome::bad_input(format!(
            "input {shown} is {bytes} bytes, over the limit of {} bytes ([jobs] max_input_size)",
            limits.max_input_size
        ))
    };
    if let Some(total) = total.filter(|t| *t > limits.max_input_size) {
        return Err(too_big(total));
    }

    let mut file = tokio::fs::File::create(&partial).await.map_err(io)?;
    let mut body = response.bytes_stream();
    let mut received = 0u64;
    let mut announced = 0u64;
    loop {
        let chunk = match tokio::time::timeout(limits.download_stall_timeout, body.next()).await {
            Err(_) => {
                return Err(Outcome::infrastructure(format!(
                    "download of {shown} stalled: nothing received for {}",
                    humantime::format_duration(limits.download_stall_timeout)
                )))
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(Outcome::infrastructure(format!(
                    "download of {shown} broke off after {received} bytes: {}",
                    root_cause(&e)
                )))
            }
            Ok(Some(Ok(chunk))) => chunk,
        };
        received += chunk.len() as u64;
        if received > limits.max_input_size {
            return Err(too_big(received));
        }
        file.write_all(&chunk).await.map_err(io)?;
        if received - announced >= ANNOUNCE_EVERY {
            announced = received;
            stage.events.send(JobEvent::Download {
                job: stage.job.id,
                bytes: received,
                total,
            });
        }
    }
    if let Some(total) = total.filter(|t| *t != received) {
        return Err(Outcome::infrastructure(format!(
            "download of {shown} ended after {received} of {total} bytes"
        )));
    }
    file.sync_all().await.map_err(io)?;
    drop(file);
    tokio::fs::rename(&partial, &target).await.map_err(io)?;
    Ok(target)
}

/// The URL's last path segment, kept to safe characters; `source` if none.
fn file_name(url: &Url) -> String {
    let last = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or_default();
    let safe: String = last
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
