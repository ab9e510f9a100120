//! The configured nodes, each with the client its kind needs and the
//! credentials the keyring holds for it, and how they are doing right now.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tank_ipfs::{
    ClusterClient, Credentials, GatewayClient, IpfsError, KuboClient, PinningServiceClient, Secret,
};

use tank_config::Secrets;
use tank_config::{AuthKind, NodeConfig, NodeKind, NodeRole};

/// A configured node ready to be called.
#[derive(Debug, Clone)]
pub struct Node {
    pub config: NodeConfig,
    pub client: NodeClient,
    pub gateway: Option<GatewayClient>,
}

#[derive(Debug, Clone)]
pub enum NodeClient {
    Kubo(KuboClient),
    Cluster(ClusterClient),
    Service(PinningServiceClient),
    /// The node cannot be called, e.g. its credentials are missing; the
    /// reason says what to do. Work goes to other nodes.
    Unusable(String),
}

impl Node {
    pub fn new(config: &NodeConfig, secrets: &Secrets) -> Node {
        Node::with_secret(config, |key| secrets.get(key).map_err(|e| e.to_string()))
    }

    /// A node whose password or token comes from `secret` (given its
    /// keyring key).
    fn with_secret(
        config: &NodeConfig,
        secret: impl FnOnce(&str) -> Result<Secret, String>,
    ) -> Node {
        let client = match credentials(config, secret) {
            Err(reason) => NodeClient::Unusable(reason),
            Ok(credentials) => match config.kind {
                NodeKind::Kubo => {
                    NodeClient::Kubo(KuboClient::new(config.api.clone(), credentials))
                }
                NodeKind::Cluster => NodeClient::Cluster(ClusterClient::new(
                    config.api.clone(),
                    credentials,
                    config.auth == Some(AuthKind::Jwt),
                )),
                NodeKind::PinningService => {
                    NodeClient::Service(PinningServiceClient::new(config.api.clone(), credentials))
                }
            },
        };
        Node {
            config: config.clone(),
            client,
            gateway: config.gateway.clone().map(GatewayClient::new),
        }
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn kind(&self) -> NodeKind {
        self.config.kind
    }

    pub fn kubo(&self) -> Option<&KuboClient> {
        match &self.client {
            NodeClient::Kubo(client) => Some(client),
            _ => None,
        }
    }

    /// The API address, without credentials.
    pub fn endpoint(&self) -> String {
        tank_ipfs::redacted(&self.config.api)
    }

    /// Replicas this node is expected to add to the quorum when it works:
    /// a cluster pins on `replication_min` peers.
    pub fn expected_replicas(&self) -> usize {
        match self.config.kind {
            NodeKind::Cluster => {
                self.config.replication_min.filter(|m| *m > 0).unwrap_or(1) as usize
            }
            _ => 1,
        }
    }

    /// A cheap call that shows whether the node is there and takes our
    /// credentials: `version` (kubo), `GET /id` (cluster), `GET /pins`
    /// (pinning service). Returns the version when the API tells it.
    pub async fn liveness(&self, timeout: Duration) -> Result<Option<String>, IpfsError> {
        match &self.client {
            NodeClient::Kubo(client) => client.version(timeout).await.map(|v| Some(v.version)),
            NodeClient::Cluster(client) => client.id(timeout).await.map(|id| Some(id.version)),
            NodeClient::Service(client) => client.check(timeout).await.map(|()| None),
            NodeClient::Unusable(reason) => Err(IpfsError::Protocol {
                op: "liveness".into(),
                endpoint: self.endpoint(),
                detail: reason.clone(),
            }),
        }
    }
}

fn credentials(
    config: &NodeConfig,
    secret: impl FnOnce(&str) -> Result<Secret, String>,
) -> Result<Option<Credentials>, String> {
    let Some(auth) = config.effective_auth() else {
        return Ok(None);
    };
    let secret = secret(&config.secret_key())?;
    Ok(Some(match auth {
        AuthKind::Bearer => Credentials::Bearer(secret),
        AuthKind::Basic | AuthKind::Jwt => Credentials::Basic {
            username: config.username.clone().unwrap_or_default(),
            password: secret,
        },
    }))
}

/// What `tank nodes` shows for one node right now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NodeStatus {
    pub name: String,
    pub kind: NodeKind,
    pub role: NodeRole,
    pub tier: u32,
    /// The API address, without credentials.
    pub api: String,
    pub reachable: bool,
    /// The API's version, when it says.
    pub version: Option<String>,
    /// kubo's peer id.
    pub peer_id: Option<String>,
    /// Round trip of the liveness call, in milliseconds.
    pub latency_ms: Option<u64>,
    pub error: Option<String>,
}

/// Asks a node that may not be configured yet how it is ("test
/// connection"), with `secret` when given. The keyring's secret is used
/// only when `config` still points where the `saved` node does (same API,
/// kind, auth and user name): a stored token never goes to an address the
/// operator has not saved for it, such as a URL being edited.
pub async fn test_node(
    config: &NodeConfig,
    secret: Option<&str>,
    saved: Option<&NodeConfig>,
    secrets: &Secrets,
    timeout: Duration,
) -> NodeStatus {
    let unchanged = saved.is_some_and(|saved| {
        (
            &saved.api,
            saved.kind,
            saved.effective_auth(),
            &saved.username,
        ) == (
            &config.api,
            config.kind,
            config.effective_auth(),
            &config.username,
        )
    });
    let node = match secret {
        Some(secret) => Node::with_secret(config, |_| Ok(Secret::new(secret.to_owned()))),
        None if unchanged => Node::new(config, secrets),
        None => Node::with_secret(config, |key| {
            Err(format!(
                "type the secret to test this address: the stored {key} is only sent to the node's saved API"
            ))
        }),
    };
    status(&node, timeout).await
}

/// Asks a node how it is, now.
pub async fn status(node: &Node, timeout: Duration) -> NodeStatus {
    let started = Instant::now();
    let live = node.liveness(timeout).await;
    let latency_ms = started.elapsed().as_millis() as u64;
    let mut status = NodeStatus {
        name: node.name().to_owned(),
        kind: node.kind(),
        role: node.config.role,
        tier: node.config.tier_rank(),
        api: node.endpoint(),
        reachable: false,
        version: None,
        peer_id: None,
        latency_ms: None,
        error: None,
    };
    match live {
        Ok(version) => {
            status.reachable = true;
            status.version = version;
            status.latency_ms = Some(latency_ms);
            if let Some(kubo) = node.kubo() {
                match kubo.id(timeout).await {
                    Ok(id) => status.peer_id = Some(id.id),
                    Err(e) => status.error = Some(e.to_string()),
                }
            }
        }
        Err(e) => status.error = Some(e.to_string()),
    }
    status
}
