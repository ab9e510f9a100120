//! Replicas on an IPFS Cluster: one pin request, then the cluster's own
//! per-peer status. Every peer that reports `pinned` is one replica: the
//! cluster's node and that peer.

use std::time::Instant;

use tank_ipfs::{ClusterClient, ClusterPin};
use tank_model::Replica;

use super::Job;
use crate::nodes::Node;
use crate::stages::StepError;

pub(crate) async fn attempt(
    job: &Job<'_>,
    node: &Node,
    cluster: &ClusterClient,
    attempt: u32,
) -> Result<Vec<Replica>, StepError> {
    let config = &job.stage.config.pinning;
    let origins = job.holders.origins(job.stage, attempt).await;
    let pin = ClusterPin {
        name: &job.name,
        replication_min: node.config.replication_min.unwrap_or(-1),
        replication_max: node.config.replication_max.unwrap_or(-1),
        origins: &origins,
    };
    job.stage
        .recorder
        .call(
            node.name(),
            "cluster pin",
            attempt,
            cluster.pin(job.cid, &pin, config.attempt_timeout),
        )
        .await?;
    job.stage
        .recorder
        .call(node.name(), "cluster status", attempt, async {
            let started = Instant::now();
            loop {
                let info = cluster.status(job.cid, config.attempt_timeout).await?;
                let pinned = info.pinned_peers();
                let pending = info
                    .peer_map
                    .values()
                    .any(|p| matches!(p.status.as_str(), "pinning" | "pin_queued" | "queued"));
                if !pending && !pinned.is_empty() {
                    return Ok(pinned
                        .into_iter()
                        .map(|peer| Replica::on_peer(node.name(), &peer))
                        .collect());
                }
                if !pending {
                    let failed = info.failed_peers();
                    let why = if failed.is_empty() {
                        "no peer holds it".to_owned()
                    } else {
                        failed.join("; ")
                    };
                    return Err(StepError::ClusterFailed(why));
                }
                if started.elapsed() > config.fetch_timeout {
                    return Err(StepError::StillPending(
                        humantime::format_duration(config.fetch_timeout).to_string(),
                    ));
                }
                tokio::time::sleep(config.poll_interval).await;
            }
        })
        .await
}

/// Which of the cluster's replicas are still pinned.
pub(crate) async fn pinned_peers(
    job: &Job<'_>,
    node: &Node,
    cluster: &ClusterClient,
) -> Result<Vec<Replica>, StepError> {
    let timeout = job.stage.config.pinning.attempt_timeout;
    let info = job
        .stage
        .recorder
        .call(
            node.name(),
            "cluster status",
            1,
            cluster.status(job.cid, timeout),
        )
        .await?;
    Ok(info
        .pinned_peers()
        .into_iter()
        .map(|peer| Replica::on_peer(node.name(), &peer))
        .collect())
}
