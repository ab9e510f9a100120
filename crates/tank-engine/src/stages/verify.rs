//! `verifying`: before a job is done, its manifest must come back from a
//! replica byte for byte (`cat <cid>/manifest.m3u8`). The 3Speak encoder
//! looked for a file name it never wrote and "proceeded anyway"; we do not.

use std::path::Path;

use tank_media::MASTER_PLAYLIST;

use super::{Outcome, Stage, StepError};
use crate::job::JobState;

/// A master playlist larger than this is not ours.
const MAX_MANIFEST_BYTES: usize = 1024 * 1024;

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
    let timeout = stage.config.pinning.attempt_timeout;
    let path = format!("{cid}/{MASTER_PLAYLIST}");
    let mut failures = Vec::new();
    for replica in replicas {
        let Some(node) = stage.node(&replica.node) else {
            continue;
        };
        let served = stage
            .recorder
            .call(&node.name, "cat", 1, async {
                let bytes = node.client.cat(&path, MAX_MANIFEST_BYTES, timeout).await?;
                if bytes == local {
                    Ok(())
                } else {
                    Err(StepError::ManifestDiffers)
                }
            })
            .await;
        match served {
            Ok(()) => return Outcome::Next(JobState::Done, vec![]),
            Err(e) => failures.push(format!("{}: {e}", node.name)),
        }
    }
    Outcome::infrastructure(format!(
        "{path} could not be read back from any replica ({})",
        if failures.is_empty() {
            "no replica recorded".to_owned()
        } else {
            failures.join("; ")
        }
    ))
}
