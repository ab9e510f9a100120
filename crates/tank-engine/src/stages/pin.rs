//! `pinning`: "tank mode". The job is durable only when a quorum of nodes
//! hold a verified pin of its CID.
//!
//! Nodes are taken in order, primary first, until the quorum is met. On
//! each node, up to `retries` attempts with the configured waits between
//! them; an attempt is
//! - on a node that holds the content: `pin/add`, then `pin/ls` to check
//!   the pin is really there (a node may answer OK and not have it);
//! - on any other node: `swarm/connect` to a node that holds the content and
//!   `pin/add` by CID (the node fetches over bitswap), then `pin/ls`; when no
//!   holder can be reached or the fetch does not finish within
//!   `fetch_timeout` (the primary died after the upload), the folder is
//!   uploaded to the node directly.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use super::upload::put_folder;
use super::{Outcome, Stage, StepError};
use crate::job::JobState;
use crate::nodes::Node;

pub(crate) async fn run(stage: &Stage<'_>) -> Outcome {
    let cid = stage.committed(&stage.job.cid, "CID").to_owned();
    let uploaded_to = stage
        .committed(&stage.job.uploaded_to, "upload node")
        .to_owned();
    let quorum = stage.config.quorum();
    if let Err(e) = stage.store.clear_replicas(stage.job.id) {
        return Outcome::infrastructure(e);
    }
    let mut tank = TankMode {
        stage,
        cid,
        folder: PathBuf::from(stage.committed(&stage.job.output_dir, "output folder")),
        holders: vec![uploaded_to],
        addresses: HashMap::new(),
    };
    let mut verified = 0;
    let mut failures = Vec::new();
    for node in stage.ordered_nodes() {
        if verified >= quorum {
            break;
        }
        match tank.secure(node).await {
            Ok(()) => {
                if let Err(e) = stage
                    .store
                    .record_replica(stage.job.id, &node.name, &tank.cid)
                {
                    return Outcome::infrastructure(e);
                }
                verified += 1;
                if !tank.holders.contains(&node.name) {
                    tank.holders.push(node.name.clone());
                }
            }
            Err(e) => failures.push(format!("{}: {e}", node.name)),
        }
    }
    if verified >= quorum {
        Outcome::Next(JobState::Verifying, vec![])
    } else {
        Outcome::infrastructure(format!(
            "only {verified} of the {quorum} required replicas could be verified ({})",
            failures.join("; ")
        ))
    }
}

struct TankMode<'a> {
    stage: &'a Stage<'a>,
    cid: String,
    folder: PathBuf,
    /// Nodes known to hold the content, in the order they got it.
    holders: Vec<String>,
    /// Swarm addresses of holders, asked once.
    addresses: HashMap<String, Vec<String>>,
}

impl TankMode<'_> {
    /// Gets a verified pin onto `node`, with retries; the last error if not.
    async fn secure(&mut self, node: &Node) -> Result<(), StepError> {
        let retries = self.stage.config.pinning.retries;
        let mut attempt = 1;
        loop {
            let result = if self.holders.contains(&node.name) {
                self.pin_and_verify(node, attempt).await
            } else {
                self.fetch_or_upload(node, attempt).await
            };
            match result {
                Ok(()) => return Ok(()),
                Err(e) if attempt >= retries => return Err(e),
                Err(_) => {
                    tokio::time::sleep(self.stage.config.backoff_after(attempt)).await;
                    attempt += 1;
                }
            }
        }
    }

    async fn pin_and_verify(&self, node: &Node, attempt: u32) -> Result<(), StepError> {
        let timeout = self.stage.config.pinning.attempt_timeout;
        self.stage
            .recorder
            .call(
                &node.name,
                "pin/add",
                attempt,
                node.client.pin_add(&self.cid, timeout),
            )
            .await?;
        self.verify(node, attempt).await
    }

    /// `pin/ls`: the pin must really be there.
    async fn verify(&self, node: &Node, attempt: u32) -> Result<(), StepError> {
        let timeout = self.stage.config.pinning.attempt_timeout;
        self.stage
            .recorder
            .call(&node.name, "pin/ls", attempt, async {
                match node.client.is_pinned(&self.cid, timeout).await? {
                    true => Ok(()),
                    false => Err(StepError::NotPinned {
                        cid: self.cid.clone(),
                    }),
                }
            })
            .await
    }

    async fn fetch_or_upload(&mut self, node: &Node, attempt: u32) -> Result<(), StepError> {
        if self.connect_to_a_holder(node, attempt).await? {
            let fetch_timeout = self.stage.config.pinning.fetch_timeout;
            let fetched = self
                .stage
                .recorder
                .call(
                    &node.name,
                    "pin/add",
                    attempt,
                    node.client.pin_add(&self.cid, fetch_timeout),
                )
                .await;
            match fetched {
                Ok(()) => return self.verify(node, attempt).await,
                Err(e @ tank_ipfs::IpfsError::Unreachable { .. }) => return Err(e.into()),
                // Could not fetch in time: the holders may be gone.
                Err(_) => {}
            }
        }
        put_folder(self.stage, node, &self.folder, &self.cid, attempt).await?;
        self.holders.push(node.name.clone());
        self.pin_and_verify(node, attempt).await
    }

    /// Connects `node` to the first holder that answers. `Ok(false)` when no
    /// holder can be reached; an error when `node` itself cannot be.
    async fn connect_to_a_holder(&mut self, node: &Node, attempt: u32) -> Result<bool, StepError> {
        let timeout = self.stage.config.pinning.attempt_timeout;
        let mut tried = HashSet::new();
        for holder in self.holders.clone() {
            if holder == node.name || !tried.insert(holder.clone()) {
                continue;
            }
            let Some(addresses) = self.addresses_of(&holder, attempt).await else {
                continue;
            };
            let connected = self
                .stage
                .recorder
                .call(
                    &node.name,
                    "swarm/connect",
                    attempt,
                    node.client.swarm_connect(&addresses, timeout),
                )
                .await;
            match connected {
                Ok(()) => return Ok(true),
                Err(e) if e.is_node_unavailable() => return Err(e.into()),
                Err(_) => continue,
            }
        }
        Ok(false)
    }

    /// A holder's swarm addresses (from its `id`), asked once per job.
    async fn addresses_of(&mut self, holder: &str, attempt: u32) -> Option<Vec<String>> {
        if let Some(known) = self.addresses.get(holder) {
            return Some(known.clone());
        }
        let node = self.stage.node(holder)?;
        let timeout = self.stage.config.pinning.attempt_timeout;
        let identity = self
            .stage
            .recorder
            .call(&node.name, "id", attempt, node.client.id(timeout))
            .await
            .ok()?;
        let addresses: Vec<String> = identity
            .addresses
            .into_iter()
            .filter(|a| a.contains("/p2p/"))
            .collect();
        if addresses.is_empty() {
            return None;
        }
        self.addresses.insert(holder.to_owned(), addresses.clone());
        Some(addresses)
    }
}
