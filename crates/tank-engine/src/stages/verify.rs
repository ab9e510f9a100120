//! `verifying`: before a job is done, its manifest must come back byte for
//! byte: `cat <cid>/manifest.m3u8` on a kubo replica, else through a
//! replica's gateway, else from another kubo node (which must fetch it from
//! the network). The 3Speak encoder looked for a file name it never wrote
//! and "proceeded anyway"; we do not.

use std::path::Path;
use std::time::Duration;

use tank_ipfs::{GatewayClient, IpfsError, KuboClient};
use tank_media::MASTER_PLAYLIST;

use super::{Outcome, Stage, StepError};
use crate::nodes::Node;
use crate::pinning::MAX_MANIFEST_BYTES;

/// Where the manifest is read back from.
enum ReadBack<'a> {
    Cat(&'a Node, &'a KuboClient),
    Gateway(&'a Node, &'a GatewayClient),
}

impl ReadBack<'_> {
    fn node(&self) -> &Node {
        match self {
            ReadBack::Cat(node, _) | ReadBack::Gateway(node, _) => node,
        }
    }

    fn op(&self) -> &'static str {
        match self {
            ReadBack::Cat(..) => "cat",
            ReadBack::Gateway(..) => "gateway",
        }
    }

    /// The manifest as served, and the error its differing from ours is.
    async fn fetch(
        &self,
        path: &str,
        timeout: Duration,
    ) -> Result<(Vec<u8>, StepError), IpfsError> {
        Ok(match self {
            ReadBack::Cat(_, kubo) => (
                kubo.cat(path, MAX_MANIFEST_BYTES, timeout).await?,
                StepError::ManifestDiffers,
            ),
            ReadBack::Gateway(_, gateway) => (
                gateway.fetch(path, MAX_MANIFEST_BYTES, timeout).await?,
                StepError::GatewayDiffers,
            ),
        })
    }
}

fn cat(node: &Node) -> Option<ReadBack<'_>> {
    node.kubo().map(|kubo| ReadBack::Cat(node, kubo))
}

pub(crate) async fn run(stage: &Stage<'_>) -> Outcome {
    let cid = stage.committed(&stage.job.cid, "CID");
    let local_path =
        Path::new(stage.committed(&stage.job.output_dir, "output folder")).join(MASTER_PLAYLIST);
    let local = match tokio::fs::read(&local_path).await {
        Ok(bytes) => bytes,
        Err(e) => {
            return Outcome::infrastructure(format!("cannot read {}: {e}", local_path.display()))
        }
    };
    let replicas = match stage.store.replicas(stage.job.id) {
        Ok(replicas) => replicas,
        Err(e) => return Outcome::infrastructure(e),
    };
    let nodes: Vec<&Node> = stage.ordered_nodes().collect();
    let holds = |n: &Node| replicas.iter().any(|r| r.replica.node == n.name());
    let mut order: Vec<ReadBack> = nodes
        .iter()
        .filter(|n| holds(n))
        .filter_map(|n| cat(n))
        .collect();
    order.extend(nodes.iter().filter(|n| holds(n)).filter_map(|n| {
        n.gateway
            .as_ref()
            .map(|gateway| ReadBack::Gateway(n, gateway))
    }));
    order.extend(nodes.iter().filter(|n| !holds(n)).find_map(|n| cat(n)));

    let timeout = stage.config.pinning.attempt_timeout;
    let path = format!("{cid}/{MASTER_PLAYLIST}");
    let mut failures = Vec::new();
    for read_back in order {
        let node = read_back.node();
        let served = stage
            .recorder
            .call(node.name(), read_back.op(), 1, async {
                let (bytes, differs) = read_back.fetch(&path, timeout).await?;
                if bytes == local {
                    Ok(())
                } else {
                    Err(differs)
                }
            })
            .await;
        match served {
            Ok(()) => return Outcome::Done(vec![]),
            Err(e) => failures.push(format!("{}: {e}", node.name())),
        }
    }
    Outcome::infrastructure(format!(
        "{path} could not be read back ({})",
        if failures.is_empty() {
            "no node to read it from".to_owned()
        } else {
            failures.join("; ")
        }
    ))
}
