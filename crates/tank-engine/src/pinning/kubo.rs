//! A replica on a kubo node: tank mode for one attempt.
//!
//! - On a node that holds the content: `pin/add`, then verify.
//! - On any other: `swarm/connect` to a holder and `pin/add` by CID (the
//!   node fetches over bitswap), then verify; when no holder can be reached
//!   or the fetch takes longer than `fetch_timeout` (the primary died after
//!   the upload), the folder is uploaded to the node directly.
//!
//! Verified means pinned (`pin/ls` recursive), complete (`dag/stat` with
//! `offline=true`: every block is on the node itself) and, when the node
//! has a gateway configured, retrievable through it byte for byte.

use tank_ipfs::{IpfsError, KuboClient};
use tank_media::MASTER_PLAYLIST;

use super::Job;
use crate::nodes::Node;
use crate::stages::upload::put_folder;
use crate::stages::StepError;

/// A master playlist larger than this is not ours.
pub(crate) const MAX_MANIFEST_BYTES: usize = 1024 * 1024;

pub(crate) async fn attempt(
    job: &Job<'_>,
    node: &Node,
    kubo: &KuboClient,
    attempt: u32,
) -> Result<(), StepError> {
    if job.holders.contains(node.name()) {
        pin_and_verify(job, node, kubo, attempt).await
    } else {
        fetch_or_upload(job, node, kubo, attempt).await
    }
}

async fn pin_and_verify(
    job: &Job<'_>,
    node: &Node,
    kubo: &KuboClient,
    attempt: u32,
) -> Result<(), StepError> {
    let timeout = job.stage.config.pinning.attempt_timeout;
    job.stage
        .recorder
        .call(
            node.name(),
            "pin/add",
            attempt,
            kubo.pin_add(job.cid, timeout),
        )
        .await?;
    verify(job, node, kubo, attempt).await
}

async fn fetch_or_upload(
    job: &Job<'_>,
    node: &Node,
    kubo: &KuboClient,
    attempt: u32,
) -> Result<(), StepError> {
    if connect_to_a_holder(job, node, kubo, attempt).await? {
        let fetch_timeout = job.stage.config.pinning.fetch_timeout;
        let fetched = job
            .stage
            .recorder
            .call(
                node.name(),
                "pin/add",
                attempt,
                kubo.pin_add(job.cid, fetch_timeout),
            )
            .await;
        match fetched {
            Ok(()) => return verify(job, node, kubo, attempt).await,
            Err(e @ (IpfsError::Unreachable { .. } | IpfsError::Unauthorized { .. })) => {
                return Err(e.into())
            }
            // Could not fetch in time: the holders may be gone.
            Err(_) => {}
        }
    }
    let Some(folder) = job.folder else {
        return Err(StepError::Skipped(
            "no holder reachable and the HLS folder is not kept".into(),
        ));
    };
    put_folder(job.stage, node.name(), kubo, folder, job.cid, attempt).await?;
    job.holders.add(node.name());
    pin_and_verify(job, node, kubo, attempt).await
}

/// Connects `node` to the first holder that answers. `Ok(false)` when no
/// holder can be reached; an error when `node` itself cannot be.
async fn connect_to_a_holder(
    job: &Job<'_>,
    node: &Node,
    kubo: &KuboClient,
    attempt: u32,
) -> Result<bool, StepError> {
    let timeout = job.stage.config.pinning.attempt_timeout;
    for holder in job.holders.names() {
        if holder == node.name() {
            continue;
        }
        let Some(addresses) = job.holders.addresses_of(job.stage, &holder, attempt).await else {
            continue;
        };
        let connected = job
            .stage
            .recorder
            .call(
                node.name(),
                "swarm/connect",
                attempt,
                kubo.swarm_connect(&addresses, timeout),
            )
            .await;
        match connected {
            Ok(()) => return Ok(true),
            Err(e) if e.is_node_unavailable() || matches!(e, IpfsError::Unauthorized { .. }) => {
                return Err(e.into())
            }
            Err(_) => continue,
        }
    }
    Ok(false)
}

/// Pinned, complete and (with a gateway) retrievable.
pub(crate) async fn verify(
    job: &Job<'_>,
    node: &Node,
    kubo: &KuboClient,
    attempt: u32,
) -> Result<(), StepError> {
    let timeout = job.stage.config.pinning.attempt_timeout;
    let recorder = &job.stage.recorder;
    recorder
        .call(node.name(), "pin/ls", attempt, async {
            match kubo.is_pinned(job.cid, timeout).await? {
                true => Ok(()),
                false => Err(StepError::NotPinned {
                    cid: job.cid.to_owned(),
                }),
            }
        })
        .await?;
    recorder
        .call(
            node.name(),
            "dag/stat",
            attempt,
            kubo.is_complete(job.cid, timeout),
        )
        .await?;
    if let Some(gateway) = &node.gateway {
        let path = format!("{}/{MASTER_PLAYLIST}", job.cid);
        recorder
            .call(node.name(), "gateway", attempt, async {
                let served = gateway.fetch(&path, MAX_MANIFEST_BYTES, timeout).await?;
                let matches = match job.manifest {
                    Some(expected) => served == expected,
                    None => served.starts_with(b"#EXTM3U"),
                };
                if matches {
                    Ok(())
                } else {
                    Err(StepError::GatewayDiffers)
                }
            })
            .await?;
    }
    Ok(())
}
