//! One HTTP exchange with a 3Speak service (the gateway, the embed system,
//! a webhook receiver): bounded in time and size, its failure told apart as
//! unreachable, timed out, refused (with the server's own message) or
//! unreadable.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use url::Url;

use crate::error::GatewayError;
use crate::identity::Identity;

/// Answers larger than this are not a 3Speak service speaking its protocol.
const MAX_ANSWER: usize = 1 << 20;

/// The user agent of every call.
pub(crate) const USER_AGENT: &str = concat!("tank-encoder/", env!("CARGO_PKG_VERSION"));

/// A 3Speak service whose encoder routes hang off `<root>/api/v0/gateway/`
/// and whose POST bodies are `{"jws": <payload signed by our identity>}`:
/// the legacy gateway and the embed system alike.
#[derive(Debug, Clone)]
pub(crate) struct SignedEndpoint {
    base: Url,
    shown: String,
    http: reqwest::Client,
    identity: Arc<Identity>,
    timeout: Duration,
}

impl SignedEndpoint {
    pub fn new(base: &Url, identity: Arc<Identity>, timeout: Duration) -> SignedEndpoint {
        let mut base = base.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        SignedEndpoint {
            shown: tank_ipfs::redacted(&base),
            base,
            http: client(),
            identity,
            timeout,
        }
    }

    pub fn did(&self) -> &str {
        self.identity.did()
    }

    pub async fn get(&self, op: &'static str, path: &str) -> Result<String, GatewayError> {
        let request = self.http.get(self.url(path));
        exchange(op, request, self.timeout, &self.shown).await
    }

    /// `.json()` sets `Content-Type: application/json`, without which the
    /// embed server reads the body as `{}`.
    pub async fn post(&self, op: &'static str, payload: Value) -> Result<String, GatewayError> {
        let body = json!({ "jws": self.identity.sign(&payload) });
        let request = self.http.post(self.url(op)).json(&body);
        exchange(op, request, self.timeout, &self.shown).await
    }

    pub fn url(&self, path: &str) -> Url {
        self.base
            .join(&format!("api/v0/gateway/{path}"))
            .expect("gateway paths are valid URL paths")
    }
}

/// The HTTP client of every 3Speak call.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .build()
        .expect("an HTTP client builds")
}

/// Sends `request` (waiting at most `timeout`) and returns the body of a
/// 2xx answer. `endpoint` names the service in errors, safe to show.
pub(crate) async fn exchange(
    op: &'static str,
    request: reqwest::RequestBuilder,
    timeout: Duration,
    endpoint: &str,
) -> Result<String, GatewayError> {
    let transport = |e: reqwest::Error| {
        if e.is_timeout() {
            GatewayError::Timeout { op, after: timeout }
        } else {
            GatewayError::Unreachable {
                endpoint: endpoint.to_owned(),
                reason: tank_ipfs::root_cause(&e),
            }
        }
    };
    let mut response = request.timeout(timeout).send().await.map_err(transport)?;
    let status = response.status();
    // Read in chunks, so an answer that never ends costs at most the limit.
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_ANSWER {
            return Err(GatewayError::Protocol {
                op,
                detail: format!("an answer of more than {MAX_ANSWER} bytes"),
            });
        }
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if status.is_success() {
        Ok(text)
    } else {
        Err(GatewayError::Refused {
            op,
            status: status.as_u16(),
            message: error_message(&text),
        })
    }
}

pub(crate) fn parse<T: serde::de::DeserializeOwned>(
    op: &'static str,
    text: &str,
) -> Result<T, GatewayError> {
    serde_json::from_str(text).map_err(|e| protocol(op, &e))
}

pub(crate) fn protocol(op: &'static str, error: &serde_json::Error) -> GatewayError {
    GatewayError::Protocol {
        op,
        detail: error.to_string(),
    }
}

/// `{"status": "error", "message"|"error": …}` in a 2xx answer.
pub(crate) fn status_error(text: &str) -> Option<String> {
    let answer: Value = serde_json::from_str(text).ok()?;
    (answer.get("status")? == "error").then(|| {
        text_of(answer.get("message"))
            .or_else(|| text_of(answer.get("error")))
            .unwrap_or_else(|| "error".into())
    })
}

/// The message of an error answer: NestJS's `{"message": "…" | ["…"]}`,
/// else `{"error": "…"}`, else the (shortened) body.
fn error_message(body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    parsed
        .as_ref()
        .and_then(|v| text_of(v.get("message")).or_else(|| text_of(v.get("error"))))
        .unwrap_or_else(|| shorten(body))
}

fn text_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) => Some(text.clone()),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("; "),
        ),
        _ => None,
    }
}

pub(crate) fn shorten(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_are_read_from_nestjs_and_express_answers() {
        assert_eq!(
            error_message(
                r#"{"statusCode":500,"message":"This job does not belong to you!","error":"Internal Server Error"}"#
            ),
            "This job does not belong to you!"
        );
        assert_eq!(
            error_message(r#"{"statusCode":400,"message":["job_id must be a string","x"]}"#),
            "job_id must be a string; x"
        );
        assert_eq!(
            error_message(r#"{"error":"Encoder not registered"}"#),
            "Encoder not registered"
        );
        assert_eq!(error_message("Bad Gateway"), "Bad Gateway");
    }

    #[test]
    fn a_2xx_with_status_error_is_read_as_a_refusal() {
        assert_eq!(
            status_error(r#"{"status":"error","message":"job not assigned"}"#).as_deref(),
            Some("job not assigned")
        );
        assert_eq!(status_error(r#"{"status":"success"}"#), None);
        assert_eq!(status_error("ok"), None);
    }
}
