//! The configured IPFS nodes, each with its client, and how they are doing.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tank_ipfs::KuboClient;

use crate::config::{NodeConfig, NodeRole};

/// A configured node ready to be called.
#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub role: NodeRole,
    pub client: KuboClient,
}

impl Node {
    pub fn new(config: &NodeConfig) -> Node {
        Node {
            name: config.name.clone(),
            role: config.role,
            client: KuboClient::new(config.api.clone()),
        }
    }
}

/// What `tank nodes` shows for one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    pub name: String,
    pub role: NodeRole,
    /// The API address, without credentials.
    pub api: String,
    pub reachable: bool,
    /// kubo's version, when it answered.
    pub version: Option<String>,
    pub peer_id: Option<String>,
    /// Round trip of `version`, in milliseconds.
    pub latency_ms: Option<u64>,
    pub error: Option<String>,
}

/// Asks a node for its version and identity.
pub async fn status(node: &Node, timeout: Duration) -> NodeStatus {
    let started = Instant::now();
    let version = node.client.version(timeout).await;
    let latency_ms = started.elapsed().as_millis() as u64;
    let mut status = NodeStatus {
        name: node.name.clone(),
        role: node.role,
        api: node.client.endpoint().to_owned(),
        reachable: false,
        version: None,
        peer_id: None,
        latency_ms: None,
        error: None,
    };
    match version {
        Ok(version) => {
            status.reachable = true;
            status.version = Some(version.version);
            status.latency_ms = Some(latency_ms);
            match node.client.id(timeout).await {
                Ok(id) => status.peer_id = Some(id.id),
                Err(e) => status.error = Some(e.to_string()),
            }
        }
        Err(e) => status.error = Some(e.to_string()),
    }
    status
}
