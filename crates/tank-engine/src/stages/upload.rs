//! `uploading`: the HLS folder goes to the first kubo node that takes it
//! with the right CID: the primary, else each backup in turn (nodes whose
//! breaker is open last). One node failing never stops the job; only no
//! node at all does.
//!
//! Each node is first asked for its swarm addresses (`id`): where other
//! nodes will fetch the content from, learned while the node answers (it
//! may stop answering its API later and still serve blocks). A node that
//! cannot answer that cannot take an upload either and is passed over at
//! once, instead of after a stalled upload.
//!
//! The folder is first compared with what the encode recorded (names and
//! sizes): a file gone or changed sends the job back to encode it again,
//! once, instead of failing the upload the same way on every retry.
//!
//! A job whose rules ask for a platform copy (3Speak's) is handed, at the
//! same time, to the hotnode 3Speak's traffic director names, as 3Speak's
//! own encoder uploads: 3Speak's gateway then serves it at once. The
//! hotnode keeps it only days, so that copy never counts as a replica, and
//! its failure costs the job nothing but a line in its history.

use std::path::Path;
use std::time::Duration;

use tank_gateway::TrafficDirector;
use tank_ipfs::{KuboClient, UploadLimits};

use super::{Outcome, Stage, StepError};
use crate::nodes::Node;
use tank_store::Field;

/// The longest we wait for `id` before an upload.
const ID_TIMEOUT: Duration = Duration::from_secs(10);

/// The platform's hotnode, as the job's history names it.
const HOTNODE: &str = "3speak-hotnode";

pub(crate) async fn run(stage: &Stage<'_>) -> Outcome {
    let folder = stage.committed(&stage.job.output_dir, "output folder");
    let expected = stage.committed(&stage.job.expected_cid, "expected CID");
    let folder = Path::new(folder);
    if let Some(reason) = changes_since_encode(stage, folder).await {
        return Outcome::Reencode { reason };
    }
    let copy = async {
        if stage.job.rules.platform_copy {
            copy_to_platform(stage, folder, expected).await;
        }
    };
    let (outcome, ()) = tokio::join!(upload_durably(stage, folder, expected), copy);
    match outcome {
        // A file that went while it was being sent fails every node alike.
        Outcome::Fail { .. } => match changes_since_encode(stage, folder).await {
            Some(reason) => Outcome::Reencode { reason },
            None => outcome,
        },
        outcome => outcome,
    }
}

/// How the HLS folder differs from what the encode recorded, if it does.
/// Jobs encoded before files were recorded are taken as they are.
async fn changes_since_encode(stage: &Stage<'_>, folder: &Path) -> Option<String> {
    if stage.job.output_files.is_empty() {
        return None;
    }
    let (folder, recorded) = (folder.to_owned(), stage.job.output_files.clone());
    tokio::task::spawn_blocking(move || tank_media::hls_changes(&folder, &recorded))
        .await
        .expect("comparing a folder does not panic")
}

async fn upload_durably(stage: &Stage<'_>, folder: &Path, expected: &str) -> Outcome {
    let mut failures = Vec::new();
    // Nodes whose breaker is open go last: tried only if the others fail.
    let mut nodes: Vec<&Node> = stage.healthy_first();
    nodes.sort_by_key(|n| stage.recorder.breakers.allows(n.name()).is_err());
    for node in nodes {
        let Some(kubo) = node.kubo() else { continue };
        let timeout = stage.config.pinning.attempt_timeout.min(ID_TIMEOUT);
        let addresses = match stage
            .recorder
            .call(node.name(), "id", 1, kubo.id(timeout))
            .await
        {
            Ok(identity) => identity
                .addresses
                .into_iter()
                .filter(|a| a.contains("/p2p/"))
                .collect::<Vec<_>>(),
            Err(e) => {
                failures.push(format!("{}: {e}", node.name()));
                continue;
            }
        };
        match put_folder(stage, node.name(), kubo, folder, expected, 1).await {
            Ok(()) => {
                return Outcome::Done(vec![
                    Field::Cid(expected.to_owned()),
                    Field::UploadedTo(node.name().to_owned()),
                    Field::SourceAddresses(addresses),
                ]);
            }
            Err(e) => failures.push(format!("{}: {e}", node.name())),
        }
    }
    Outcome::infrastructure(format!(
        "no node could take the upload ({})",
        failures.join("; ")
    ))
}

/// Asks the traffic director for the hotnode and adds the folder there.
/// Both calls are in the job's history; nothing else depends on them.
async fn copy_to_platform(stage: &Stage<'_>, folder: &Path, expected: &str) {
    let gateway = &stage.config.gateway;
    let director = TrafficDirector::new(&gateway.traffic_director, gateway.timeout);
    let Ok(api) = stage
        .recorder
        .call(HOTNODE, "traffic director", 1, director.hotnode())
        .await
    else {
        return;
    };
    let hotnode = KuboClient::new(api, None);
    // A failure is recorded; the job goes on without the copy.
    let _ = put_folder(stage, HOTNODE, &hotnode, folder, expected, 1).await;
}

/// Adds the folder to the node `node` and checks the CID it reports
/// against ours.
pub(crate) async fn put_folder(
    stage: &Stage<'_>,
    node: &str,
    kubo: &KuboClient,
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
        .call(node, "add", attempt, async {
            let entries = published_entries(folder).await?;
            let got = kubo.add_entries(entries, limits).await?;
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

/// What of the HLS folder is published: the files its playlists name,
/// whatever else was put there since (a file manager's `.DS_Store`).
async fn published_entries(folder: &Path) -> Result<Vec<tank_ipfs::FolderEntry>, StepError> {
    let folder = folder.to_owned();
    tokio::task::spawn_blocking(move || published(&folder))
        .await
        .expect("listing a folder does not panic")
        .map_err(StepError::Skipped)
}

/// [`published_entries`], blocking: also what the expected CID is
/// computed from when the encode ends.
pub(crate) fn published(folder: &Path) -> Result<Vec<tank_ipfs::FolderEntry>, String> {
    let files =
        tank_media::hls_files(folder).map_err(|e| format!("the HLS folder cannot be read: {e}"))?;
    let entries = tank_ipfs::list_folder(folder).map_err(|e| e.to_string())?;
    Ok(tank_ipfs::only_entries(entries, &files))
}
