//! What every node API client shares: one HTTP endpoint with credentials,
//! explicit timeouts, and errors classified the same way for kubo, IPFS
//! Cluster and Pinning Service APIs.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use url::Url;

use crate::IpfsError;

/// How long a connection attempt may take before the node counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest error message we keep from a node (stored, shown, sent on).
const MAX_ERROR_TEXT: usize = 300;
/// The most of an error body read; the rest is never waited for.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// The largest JSON answer, or NDJSON line, taken from a node: ours are a
/// few KiB; a node that sends more is broken or hostile.
const MAX_ANSWER: usize = 8 * 1024 * 1024;

/// A secret value (password, token). Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(Arc::from(value.into()))
    }

    /// The value itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How a node's API wants requests authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    Basic { username: String, password: Secret },
    Bearer(Secret),
}

/// One node API: base URL, credentials, connection pool.
#[derive(Clone, Debug)]
pub(crate) struct Endpoint {
    base: Url,
    display: String,
    http: reqwest::Client,
    credentials: Option<Credentials>,
}

impl Endpoint {
    pub fn new(base: Url, credentials: Option<Credentials>) -> Endpoint {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .expect("a TLS backend is compiled in");
        Endpoint {
            display: redacted(&base),
            base,
            http,
            credentials,
        }
    }

    /// The base URL as it may be shown: without credentials.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// The base URL with `segments` appended to its path.
    pub fn url<'s>(&self, segments: impl IntoIterator<Item = &'s str>) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("http URLs have a path")
            .pop_if_empty()
            .extend(segments);
        url
    }

    /// A request with the endpoint's own credentials.
    pub fn request(&self, method: Method, url: Url) -> RequestBuilder {
        self.request_as(method, url, self.credentials.as_ref())
    }

    /// A request with the given credentials instead of the endpoint's.
    pub fn request_as(
        &self,
        method: Method,
        url: Url,
        credentials: Option<&Credentials>,
    ) -> RequestBuilder {
        let builder = self.http.request(method, url);
        match credentials {
            Some(Credentials::Basic { username, password }) => {
                builder.basic_auth(username, Some(password.expose()))
            }
            Some(Credentials::Bearer(token)) => builder.bearer_auth(token.expose()),
            None => builder,
        }
    }

    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// Sends a request, bounded by `timeout`, and turns any failure,
    /// including a non-2xx answer, into an [`IpfsError`].
    pub async fn send(
        &self,
        op: &str,
        request: RequestBuilder,
        timeout: Duration,
    ) -> Result<Response, IpfsError> {
        let response = request
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| self.transport(op, &e, timeout))?;
        self.check_status(op, response, timeout).await
    }

    /// The response, if it is a success; else its error, read from at most
    /// [`MAX_ERROR_BODY`] bytes of its body, for at most `timeout`: an
    /// error body that never ends costs one timeout, not the job.
    pub async fn check_status(
        &self,
        op: &str,
        response: Response,
        timeout: Duration,
    ) -> Result<Response, IpfsError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = error_body(response, timeout).await;
        let message = error_message(&text);
        if matches!(status.as_u16(), 401 | 403) {
            return Err(IpfsError::Unauthorized {
                op: op.to_owned(),
                endpoint: self.display.clone(),
                status: status.as_u16(),
                message,
            });
        }
        Err(IpfsError::Api {
            op: op.to_owned(),
            endpoint: self.display.clone(),
            status: status.as_u16(),
            message,
        })
    }

    pub async fn json<T: DeserializeOwned>(
        &self,
        op: &str,
        response: Response,
    ) -> Result<T, IpfsError> {
        let bytes = self
            .bytes_limited(op, "the answer", response, MAX_ANSWER)
            .await?;
        serde_json::from_slice(&bytes).map_err(|e| self.protocol(op, &e.to_string()))
    }

    /// Reads an NDJSON stream to its end, one line at a time.
    pub async fn ndjson<T: DeserializeOwned>(
        &self,
        op: &str,
        response: Response,
    ) -> Result<Vec<T>, IpfsError> {
        let mut body = response.bytes_stream();
        let mut pending = Vec::new();
        let mut items = Vec::new();
        let mut parse_line = |line: &[u8]| -> Result<(), IpfsError> {
            if !line.iter().all(u8::is_ascii_whitespace) {
                items.push(
                    serde_json::from_slice(line).map_err(|e| self.protocol(op, &e.to_string()))?,
                );
            }
            Ok(())
        };
        while let Some(chunk) = body.next().await {
            pending.extend_from_slice(&chunk.map_err(|e| self.interrupted(op, &e))?);
            while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                parse_line(&line)?;
            }
            if pending.len() > MAX_ANSWER {
                return Err(self.protocol(
                    op,
                    &format!("an answer line is longer than {MAX_ANSWER} bytes"),
                ));
            }
        }
        parse_line(&pending)?;
        Ok(items)
    }

    /// Reads a body of at most `max_bytes`.
    pub async fn bytes_limited(
        &self,
        op: &str,
        what: &str,
        response: Response,
        max_bytes: usize,
    ) -> Result<Vec<u8>, IpfsError> {
        let mut body = response.bytes_stream();
        let mut out = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| self.interrupted(op, &e))?;
            if out.len() + chunk.len() > max_bytes {
                return Err(self.protocol(op, &format!("{what} is larger than {max_bytes} bytes")));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    pub fn transport(&self, op: &str, error: &reqwest::Error, timeout: Duration) -> IpfsError {
        if error.is_timeout() {
            self.timeout(op, timeout)
        } else if error.is_connect() {
            IpfsError::Unreachable {
                endpoint: self.display.clone(),
                reason: root_cause(error),
            }
        } else {
            self.interrupted(op, error)
        }
    }

    pub fn interrupted(&self, op: &str, error: &reqwest::Error) -> IpfsError {
        IpfsError::Interrupted {
            op: op.to_owned(),
            endpoint: self.display.clone(),
            reason: root_cause(error),
        }
    }

    pub fn timeout(&self, op: &str, after: Duration) -> IpfsError {
        IpfsError::Timeout {
            op: op.to_owned(),
            endpoint: self.display.clone(),
            after,
        }
    }

    pub fn protocol(&self, op: &str, detail: &str) -> IpfsError {
        IpfsError::Protocol {
            op: op.to_owned(),
            endpoint: self.display.clone(),
            detail: detail.to_owned(),
        }
    }
}

/// The error text of an answer, from whichever API shape it has: kubo's
/// `{"Message"}`, IPFS Cluster's `{"message"}`, the Pinning Service API's
/// `{"error": {"reason", "details"}}`, else the (shortened) body.
fn error_message(body: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let field =
        |v: &serde_json::Value, key: &str| v.get(key).and_then(|m| m.as_str()).map(str::to_owned);
    parsed
        .as_ref()
        .and_then(|v| {
            field(v, "Message")
                .or_else(|| field(v, "message"))
                .or_else(|| {
                    let error = v.get("error")?;
                    let reason = field(error, "reason").unwrap_or_default();
                    match field(error, "details") {
                        Some(details) if !details.is_empty() => {
                            Some(format!("{reason}: {details}"))
                        }
                        _ => Some(reason),
                    }
                })
        })
        .map_or_else(
            || truncate(body.trim(), MAX_ERROR_TEXT),
            |message| truncate(&message, MAX_ERROR_TEXT),
        )
}

/// What an error body says: at most [`MAX_ERROR_BODY`] bytes of it, and
/// what arrived within `timeout`.
async fn error_body(response: Response, timeout: Duration) -> String {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut body = response.bytes_stream();
    let mut text = Vec::new();
    while text.len() < MAX_ERROR_BODY {
        match tokio::time::timeout_at(deadline, body.next()).await {
            Ok(Some(Ok(chunk))) => text.extend_from_slice(&chunk),
            // Ended, broken off, or still trickling: what came is the message.
            Ok(None | Some(Err(_))) | Err(_) => break,
        }
    }
    text.truncate(MAX_ERROR_BODY);
    String::from_utf8_lossy(&text).into_owned()
}

/// The URL without user-info, safe for logs and error messages.
pub fn redacted(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.as_str().trim_end_matches('/').to_owned()
}

/// The innermost error message: "Connection refused (os error 111)" rather
/// than reqwest's outer text, which repeats the full URL (and its query).
pub fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let credentials = Credentials::Basic {
            username: "tank".into(),
            password: Secret::new("hunter2"),
        };
        assert!(!format!("{credentials:?}").contains("hunter2"));
        assert_eq!(Secret::new("hunter2").expose(), "hunter2");
    }

    #[test]
    fn credentials_never_show_in_the_endpoint() {
        let endpoint = Endpoint::new(
            Url::parse("https://user:secret@node.example:5001/").unwrap(),
            None,
        );
        assert_eq!(endpoint.display(), "https://node.example:5001");
    }

    #[test]
    fn paths_are_appended_to_the_base() {
        let behind_proxy = Endpoint::new(Url::parse("https://host/ipfs-api/").unwrap(), None);
        assert_eq!(
            behind_proxy.url(["api", "v0", "id"]).as_str(),
            "https://host/ipfs-api/api/v0/id"
        );
    }

    #[test]
    fn error_texts_are_read_from_each_apis_shape() {
        assert_eq!(
            error_message(r#"{"Message":"pin: nope","Code":0,"Type":"error"}"#),
            "pin: nope"
        );
        assert_eq!(
            error_message(r#"{"code":404,"message":"not found"}"#),
            "not found"
        );
        assert_eq!(
            error_message(
                r#"{"error":{"reason":"UNAUTHORIZED","details":"Access token is missing or invalid"}}"#
            ),
            "UNAUTHORIZED: Access token is missing or invalid"
        );
        assert_eq!(error_message("403 - Forbidden"), "403 - Forbidden");
    }
}
