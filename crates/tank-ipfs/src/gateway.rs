//! A path gateway (`GET /ipfs/<cid>/<path>`): proof that content is
//! retrievable by anyone, not only by the node that pinned it.

use std::time::Duration;

use reqwest::Method;
use url::Url;

use crate::http::Endpoint;
use crate::IpfsError;

#[derive(Debug, Clone)]
pub struct GatewayClient {
    endpoint: Endpoint,
}

impl GatewayClient {
    pub fn new(base: Url) -> GatewayClient {
        GatewayClient {
            endpoint: Endpoint::new(base, None),
        }
    }

    pub fn endpoint(&self) -> &str {
        self.endpoint.display()
    }

    /// The bytes at `<cid>/<path>`, at most `max_bytes`. Callers compare them
    /// with what they expect: a gateway can answer 200 with a truncated body.
    pub async fn fetch(
        &self,
        cid_path: &str,
        max_bytes: usize,
        timeout: Duration,
    ) -> Result<Vec<u8>, IpfsError> {
        let op = "gateway";
        let url = self
            .endpoint
            .url(["ipfs"].into_iter().chain(cid_path.split('/')));
        let response = self
            .endpoint
            .send(op, self.endpoint.request(Method::GET, url), timeout)
            .await?;
        self.endpoint
            .bytes_limited(op, cid_path, response, max_bytes)
            .await
    }
}
