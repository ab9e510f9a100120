//! Audits of durable jobs: are their replicas still there? A replica that
//! vanished (garbage-collected, unpinned behind our back, a node rebuilt)
//! is pinned again on the same node, from the replicas that remain, or from
//! the local HLS folder when it was kept.

use std::path::PathBuf;

use tank_media::MASTER_PLAYLIST;

use super::{check_replicas, cluster, kubo, service, Holders, Job};
use crate::nodes::NodeClient;
use crate::stages::{Stage, StepError};
use tank_config::NodeKind;
use tank_model::{AuditOutcome, Replica};

/// What happened to one replica.
#[derive(Debug)]
pub(crate) struct Finding {
    pub replica: Replica,
    pub outcome: AuditOutcome,
    pub detail: Option<String>,
}

/// Checks every replica of a done job, repairing those that vanished.
pub(crate) async fn audit(stage: &Stage<'_>) -> Vec<Finding> {
    let Some(cid) = stage.job.cid.as_deref() else {
        return vec![];
    };
    let recorded: Vec<Replica> = match stage.store.replicas(stage.job.id) {
        Ok(replicas) => replicas.into_iter().map(|r| r.replica).collect(),
        Err(e) => {
            tracing::error!(job = stage.job.id, %e, "cannot read replicas to audit");
            return vec![];
        }
    };
    let folder = stage
        .job
        .output_dir
        .as_ref()
        .map(PathBuf::from)
        .filter(|f| f.is_dir());
    let manifest = folder
        .as_ref()
        .and_then(|f| std::fs::read(f.join(MASTER_PLAYLIST)).ok());
    let mut job = Job {
        stage,
        cid,
        name: super::pin_name(stage),
        folder: folder.as_deref(),
        manifest: manifest.as_deref(),
        holders: Holders::new(vec![]),
    };
    let kept = check_replicas(&job, &recorded).await;
    // The kubo replicas still holding the content are the sources.
    let sources: Vec<String> = kept
        .iter()
        .filter(|r| {
            stage
                .node(&r.node)
                .is_some_and(|n| n.kind() == NodeKind::Kubo)
        })
        .map(|r| r.node.clone())
        .collect();
    job.holders = Holders::new(sources);

    let mut findings: Vec<Finding> = kept
        .iter()
        .map(|replica| Finding {
            replica: replica.clone(),
            outcome: AuditOutcome::Verified,
            detail: None,
        })
        .collect();
    for replica in recorded.iter().filter(|r| !kept.contains(r)) {
        let repaired = repair(&job, replica).await;
        findings.push(match repaired {
            Ok(()) => {
                if let Err(e) = stage.store.record_replica(stage.job.id, replica, cid) {
                    tracing::error!(job = stage.job.id, %e, "cannot record the repaired replica");
                }
                Finding {
                    replica: replica.clone(),
                    outcome: AuditOutcome::Repaired,
                    detail: Some("the pin had vanished; pinned again".into()),
                }
            }
            Err(e) => Finding {
                replica: replica.clone(),
                outcome: AuditOutcome::Missing,
                detail: Some(e.to_string()),
            },
        });
    }
    findings
}

async fn repair(job: &Job<'_>, replica: &Replica) -> Result<(), StepError> {
    let node = job
        .stage
        .node(&replica.node)
        .ok_or_else(|| StepError::Skipped(format!("{replica} is no longer configured")))?;
    match &node.client {
        NodeClient::Kubo(client) => kubo::attempt(job, node, client, 1).await,
        NodeClient::Cluster(client) => {
            let pinned = cluster::attempt(job, node, client, 1).await?;
            if pinned.iter().any(|r| r == replica) {
                Ok(())
            } else {
                Err(StepError::ClusterFailed(format!(
                    "{replica} is not among the peers that pinned it"
                )))
            }
        }
        NodeClient::Service(client) => service::attempt(job, node, client, 1).await,
        NodeClient::Unusable(why) => Err(StepError::Skipped(why.clone())),
    }
}
