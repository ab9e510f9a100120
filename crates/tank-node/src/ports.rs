//! Ports for the API, gateway and swarm: the wanted ones when free, else
//! free ones, saying who holds the wanted port.

use std::net::TcpListener;
use std::time::Duration;

use tank_ipfs::KuboClient;
use url::Url;

use crate::NodeEvent;

/// `wanted` if nothing listens on it, else a free port, with the event
/// that says so.
pub(crate) async fn choose(what: &str, wanted: u16) -> (u16, Option<NodeEvent>) {
    if wanted != 0 && TcpListener::bind(("127.0.0.1", wanted)).is_ok() {
        return (wanted, None);
    }
    let free = TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0);
    if wanted == 0 {
        return (free, None);
    }
    let by_ipfs = answers_as_ipfs(wanted).await;
    let event = NodeEvent::PortMoved {
        what: what.to_owned(),
        from: wanted,
        to: free,
        by_ipfs,
    };
    (free, Some(event))
}

/// Whether a kubo RPC API answers on the port (another IPFS already runs).
async fn answers_as_ipfs(port: u16) -> bool {
    let url = Url::parse(&format!("http://127.0.0.1:{port}")).expect("valid URL");
    KuboClient::new(url, None)
        .version(Duration::from_secs(2))
        .await
        .is_ok()
}
