//! 3Speak's traffic director (`GET https://cdn.3speak.tv/api/hotnode`):
//! it names the hotnode that takes new uploads now, a kubo node whose
//! content 3Speak's gateway serves at once and keeps for 4–7 days.

use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::error::GatewayError;
use crate::transport::{client, exchange, parse};

const OP: &str = "traffic director";

#[derive(Debug, Clone)]
pub struct TrafficDirector {
    url: Url,
    shown: String,
    http: reqwest::Client,
    timeout: Duration,
}

#[derive(Deserialize)]
struct Answer {
    success: bool,
    data: Option<Data>,
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    upload_endpoint: String,
}

impl TrafficDirector {
    pub fn new(url: &Url, timeout: Duration) -> TrafficDirector {
        TrafficDirector {
            shown: tank_ipfs::redacted(url),
            url: url.clone(),
            http: client(),
            timeout,
        }
    }

    /// The RPC API of the hotnode to upload to now. The director hands out
    /// its `…/api/v0/add` URL; the API is what comes before.
    pub async fn hotnode(&self) -> Result<Url, GatewayError> {
        let text = exchange(
            OP,
            self.http.get(self.url.clone()),
            self.timeout,
            &self.shown,
        )
        .await?;
        let answer: Answer = parse(OP, &text)?;
        let endpoint = match (answer.success, answer.data) {
            (true, Some(data)) => data.upload_endpoint,
            _ => {
                return Err(GatewayError::Protocol {
                    op: OP,
                    detail: format!(
                        "no hotnode: {}",
                        answer.error.unwrap_or_else(|| "success is false".into())
                    ),
                })
            }
        };
        kubo_api(&endpoint).ok_or_else(|| GatewayError::Protocol {
            op: OP,
            detail: format!("the upload endpoint {endpoint:?} is not a kubo …/api/v0/add URL"),
        })
    }
}

/// `http://host:5001/api/v0/add` → `http://host:5001/`.
fn kubo_api(endpoint: &str) -> Option<Url> {
    let mut url = Url::parse(endpoint).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let base = url
        .path()
        .trim_end_matches('/')
        .strip_suffix("/api/v0/add")?
        .to_owned();
    url.set_path(&format!("{base}/"));
    url.set_query(None);
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hotnodes_api_is_its_add_url_without_the_command() {
        let api = |e: &str| kubo_api(e).map(|u| u.to_string());
        assert_eq!(
            api("https://hot1.3speak.tv/api/v0/add").as_deref(),
            Some("https://hot1.3speak.tv/")
        );
        assert_eq!(
            api("http://10.0.0.5:5001/ipfs-api/api/v0/add?pin=false").as_deref(),
            Some("http://10.0.0.5:5001/ipfs-api/")
        );
        assert_eq!(api("https://hot1.3speak.tv/upload"), None);
        assert_eq!(api("ftp://hot1/api/v0/add"), None);
        assert_eq!(api("not a url"), None);
    }
}
