//! `uploading`: the HLS folder goes to the first node that takes it with
//! the right CID: the primary, else each backup in turn. One node failing
//! never stops the job; only no node at all does.

use std::path::Path;

use tank_ipfs::UploadLimits;

use super::{Outcome, Stage, StepError};
use crate::job::JobState;
use crate::nodes::Node;
use crate::store::Field;

pub(crate) async fn run(stage: &Stage<'_>) -> Outcome {
    let folder = stage
        .committed(&stage.job.output_dir, "output folder")
        .to_owned();
    let expected = stage
        .committed(&stage.job.expected_cid, "expected CID")
        .to_owned();
    let mut failures = Vec::new();
    for node in stage.ordered_nodes() {
        match put_folder(stage, node, Path::new(&folder), &expected, 1).await {
            Ok(()) => {
                return Outcome::Next(
                    JobState::Pinning,
                    vec![Field::Cid(expected), Field::UploadedTo(node.name.clone())],
                )
            }
            Err(e) => failures.push(format!("{}: {e}", node.name)),
        }
    }
    Outcome::infrastructure(format!(
        "no node could take the upload ({})",
        failures.join("; ")
    ))
}

/// Adds the folder to `node` and checks the CID it reports against ours.
pub(crate) async fn put_folder(
    stage: &Stage<'_>,
    node: &Node,
    folder: &Path,
    expected: &str,
    attempt: u32,
) -> Result<(), StepError> {
    let timeout = stage.config.pinning.attempt_timeout;
    let limits = UploadLimits {
        stall_timeout: timeout,
        answer_timeout: timeout,
    };
    stage
        .recorder
        .call(&node.name, "add", attempt, async {
            let got = node.client.add_folder(folder, limits).await?;
            if got == expected {
                Ok(())
            } else {
                Err(StepError::WrongCid {
                    expected: expected.to_owned(),
                    got,
                })
            }
        })
        .await
}
