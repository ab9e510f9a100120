//! `pinning`: the job is durable only when a quorum of replicas is verified.
//!
//! Nodes are taken tier by tier (primary first). Enough of them work at
//! once to cover the quorum, and the moment one of them fails an attempt,
//! or takes longer than `hedge_after` over one, the next candidate starts
//! too: a struggling primary is retried in the
//! background while backups already pin, instead of making them wait for
//! all its retries. Each node gets `retries` attempts with capped,
//! jittered, exponential waits, unless its circuit breaker opens. A node
//! whose breaker is open is passed over at once; it is asked only when no
//! other node can make up the quorum, and then gets a single trial attempt.
//! Replicas verified in an earlier round (a parked job) are verified again
//! and kept.
//!
//! When the quorum cannot be met before the deadline, or no candidate is
//! left, the job parks (`awaiting_replicas`) for the pin queue.

pub mod breakers;
mod cluster;
mod holders;
mod kubo;
pub mod policy;
pub(crate) mod recorder;
pub(crate) mod repair;
mod service;

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};

use futures_util::stream::{FuturesUnordered, StreamExt};
use tank_media::MASTER_PLAYLIST;
use tokio::sync::mpsc;

pub(crate) use holders::Holders;
pub(crate) use kubo::MAX_MANIFEST_BYTES;

use tank_config::NodeKind;
use tank_model::Replica;
use tank_store::Field;

use crate::nodes::{Node, NodeClient};
use crate::stages::{Outcome, Stage, StepError};
use policy::Trial;

/// One job's content as the pinning code sees it.
pub(crate) struct Job<'a> {
    pub stage: &'a Stage<'a>,
    pub cid: &'a str,
    /// The name pins get on clusters and pinning services.
    pub name: String,
    /// The HLS folder, when it is still on disk (direct uploads need it).
    pub folder: Option<&'a Path>,
    /// Our manifest, to compare with what gateways serve.
    pub manifest: Option<&'a [u8]>,
    pub holders: Holders,
}

/// The `pinning` stage. Replicas are committed with its outcome: the move
/// to `verifying`, or the park.
pub(crate) async fn run(stage: &Stage<'_>) -> Outcome {
    let cid = stage.committed(&stage.job.cid, "CID");
    let uploaded_to = stage.committed(&stage.job.uploaded_to, "upload node");
    let folder = PathBuf::from(stage.committed(&stage.job.output_dir, "output folder"));
    let manifest = std::fs::read(folder.join(MASTER_PLAYLIST)).ok();
    let job = Job {
        stage,
        cid,
        name: pin_name(stage),
        folder: folder.is_dir().then_some(folder.as_path()),
        manifest: manifest.as_deref(),
        holders: Holders::new(vec![uploaded_to.to_owned()]),
    };
    job.holders
        .known(uploaded_to, stage.job.source_addresses.clone());
    let quorum = stage.config.quorum();
    let kept = match still_verified(&job).await {
        Ok(kept) => kept,
        Err(e) => return Outcome::infrastructure(e),
    };
    let mut peers = Peers::default();
    let mut verified = Vec::new();
    let mut failures = Vec::new();
    for replica in kept {
        match peers.admit(&job, &replica).await {
            Ok(()) => verified.push(replica),
            Err(why) => failures.push(why),
        }
    }
    let needed = policy::still_needed(verified.len(), quorum);
    if needed > 0 {
        let (new, failed) = secure(&job, needed, &verified, &mut peers).await;
        verified.extend(new);
        failures.extend(failed);
    }
    let replicas = Field::Replicas {
        cid: cid.clone(),
        replicas: verified.clone(),
    };
    if policy::still_needed(verified.len(), quorum) == 0 {
        Outcome::Done(vec![replicas])
    } else {
        Outcome::Park {
            reason: format!(
                "only {} of the {quorum} required replicas could be verified ({})",
                verified.len(),
                failures.join("; ")
            ),
            fields: vec![replicas],
        }
    }
}

/// The pin name on clusters and services: findable in their dashboards.
pub(crate) fn pin_name(stage: &Stage<'_>) -> String {
    let input = Path::new(&stage.job.input)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("tank-encoder job {} {input}", stage.job.id)
        .trim_end()
        .to_owned()
}

/// Replicas recorded earlier (a parked job's) that still verify; the
/// others are forgotten when the outcome is committed.
async fn still_verified(job: &Job<'_>) -> Result<Vec<Replica>, tank_store::StoreError> {
    let recorded = job.stage.store.replicas(job.stage.job.id)?;
    if recorded.is_empty() {
        return Ok(Vec::new());
    }
    let recorded: Vec<Replica> = recorded.into_iter().map(|r| r.replica).collect();
    Ok(check_replicas(job, &recorded).await)
}

/// Which of `replicas` still verify, one check per node.
pub(crate) async fn check_replicas(job: &Job<'_>, replicas: &[Replica]) -> Vec<Replica> {
    let mut kept = Vec::new();
    let mut by_node: Vec<(&Node, Vec<&Replica>)> = Vec::new();
    for replica in replicas {
        let Some(node) = job.stage.node(&replica.node) else {
            continue;
        };
        match by_node.iter_mut().find(|(n, _)| n.name() == node.name()) {
            Some((_, list)) => list.push(replica),
            None => by_node.push((node, vec![replica])),
        }
    }
    for (node, wanted) in by_node {
        let holding: Vec<Replica> = match &node.client {
            NodeClient::Kubo(kubo) => match kubo::verify(job, node, kubo, 1).await {
                Ok(()) => vec![Replica::on_node(node.name())],
                Err(_) => vec![],
            },
            NodeClient::Cluster(client) => cluster::pinned_peers(job, node, client)
                .await
                .unwrap_or_default(),
            NodeClient::Service(client) => match service::is_pinned(job, node, client).await {
                Ok(true) => vec![Replica::on_node(node.name())],
                _ => vec![],
            },
            NodeClient::Unusable(_) => vec![],
        };
        kept.extend(wanted.into_iter().filter(|r| holding.contains(r)).cloned());
    }
    kept
}

/// The IPFS peers that hold a counted replica. One kubo daemon reached by
/// two configured names (two URLs, a proxy) is one copy: a replica counts
/// only if its node's peer ID is not counted yet.
#[derive(Default)]
struct Peers {
    /// Peer ID → the node whose replica counted for it.
    counted: HashMap<String, String>,
}

impl Peers {
    /// Counts `replica`, or says which replica already holds its peer. A
    /// kubo node's peer ID is asked once per job (`id`); one that cannot
    /// tell is counted by its name. Clusters and pinning services are
    /// counted as they report.
    async fn admit(&mut self, job: &Job<'_>, replica: &Replica) -> Result<(), String> {
        let is_kubo = job
            .stage
            .node(&replica.node)
            .is_some_and(|node| node.kind() == NodeKind::Kubo);
        if !is_kubo {
            return Ok(());
        }
        let Some(peer) = job.holders.peer_of(job.stage, &replica.node, 1).await else {
            return Ok(());
        };
        match self.counted.get(&peer) {
            Some(first) if *first != replica.node => {
                let why = format!(
                    "{} is the same IPFS node as {first} (peer {peer}): not another replica",
                    replica.node
                );
                job.stage.recorder.skipped(&replica.node, "pin", &why);
                Err(why)
            }
            _ => {
                self.counted.insert(peer, replica.node.clone());
                Ok(())
            }
        }
    }
}

/// Gets `needed` more replicas, hedging across nodes. Returns the new
/// replicas and what went wrong where.
async fn secure(
    job: &Job<'_>,
    needed: usize,
    already: &[Replica],
    peers: &mut Peers,
) -> (Vec<Replica>, Vec<String>) {
    let stage = job.stage;
    let mut candidates: VecDeque<&Node> = stage
        .healthy_first()
        .into_iter()
        .filter(|n| !already.iter().any(|r| r.node == n.name()))
        .collect();
    // Nodes whose breaker is open: used last, with one trial attempt each.
    let mut passed_over: VecDeque<(&Node, String)> = VecDeque::new();
    let (failed_tx, mut failed_rx) = mpsc::unbounded_channel::<String>();
    let mut running = FuturesUnordered::new();
    // Running nodes and the replicas each is expected to bring.
    let mut expected: HashMap<String, usize> = HashMap::new();
    let mut struggling: HashSet<String> = HashSet::new();
    let mut got = Vec::new();
    let mut failures = Vec::new();
    let deadline = tokio::time::sleep(stage.config.pinning.deadline);
    tokio::pin!(deadline);
    loop {
        let promising: usize = expected
            .iter()
            .filter(|(name, _)| !struggling.contains(*name))
            .map(|(_, count)| count)
            .sum();
        if policy::needs_another_node(got.len(), promising, needed) {
            let next = match candidates.pop_front() {
                Some(node) => match (&node.client, stage.recorder.breakers.allows(node.name())) {
                    (NodeClient::Unusable(why), _) => {
                        stage.recorder.skipped(node.name(), "pin", why);
                        failures.push(format!("{}: {why}", node.name()));
                        continue;
                    }
                    (_, Err(why)) => {
                        passed_over.push_back((node, why));
                        continue;
                    }
                    (_, Ok(())) => Some((node, Trial::Full)),
                },
                // Nothing better left: a node known to be failing gets one try.
                None if policy::try_open_breaker(candidates.len(), running.len()) => {
                    passed_over.pop_front().map(|(node, _)| (node, Trial::Once))
                }
                None => None,
            };
            if let Some((node, trial)) = next {
                expected.insert(node.name().to_owned(), node.expected_replicas());
                running.push(worker(job, node, trial, failed_tx.clone()));
                continue;
            }
        }
        if running.is_empty() {
            break;
        }
        tokio::select! {
            Some((name, result)) = running.next() => {
                expected.remove(&name);
                struggling.remove(&name);
                match result {
                    Ok(replicas) => {
                        for replica in replicas {
                            match peers.admit(job, &replica).await {
                                Ok(()) => got.push(replica),
                                Err(why) => failures.push(why),
                            }
                        }
                    }
                    Err(e) => failures.push(format!("{name}: {e}")),
                }
            }
            Some(name) = failed_rx.recv() => {
                if expected.contains_key(&name) {
                    struggling.insert(name);
                }
            }
            _ = &mut deadline => {
                failures.push(format!(
                    "the pinning deadline of {} passed",
                    humantime::format_duration(stage.config.pinning.deadline)
                ));
                break;
            }
        }
        if got.len() >= needed {
            break;
        }
    }
    for (node, why) in passed_over {
        stage.recorder.skipped(node.name(), "pin", &why);
        failures.push(format!("{}: {why}", node.name()));
    }
    (got, failures)
}

/// Runs one attempt; if it takes longer than `after`, says so on `slow`
/// (once) so the scheduler can start another node without waiting for it.
async fn hedged<T>(
    after: std::time::Duration,
    slow: &mpsc::UnboundedSender<String>,
    name: &str,
    attempt: impl std::future::Future<Output = T>,
) -> T {
    tokio::pin!(attempt);
    tokio::select! {
        result = &mut attempt => return result,
        _ = tokio::time::sleep(after) => {
            let _ = slow.send(name.to_owned());
        }
    }
    attempt.await
}

/// One node's attempts, until it holds a verified replica or gives up.
/// Each failed attempt is announced on `failed` so another node can start.
async fn worker<'a>(
    job: &'a Job<'a>,
    node: &'a Node,
    trial: Trial,
    failed: mpsc::UnboundedSender<String>,
) -> (String, Result<Vec<Replica>, StepError>) {
    let config = job.stage.config;
    let attempts = trial.attempts(&config.pinning);
    let mut attempt = 1;
    let result = loop {
        if attempt > 1 {
            if let Err(why) = job.stage.recorder.breakers.allows(node.name()) {
                break Err(StepError::Skipped(why));
            }
        }
        let result = hedged(config.pinning.hedge_after, &failed, node.name(), async {
            match &node.client {
                NodeClient::Kubo(client) => kubo::attempt(job, node, client, attempt)
                    .await
                    .map(|()| vec![Replica::on_node(node.name())]),
                NodeClient::Cluster(client) => cluster::attempt(job, node, client, attempt).await,
                NodeClient::Service(client) => service::attempt(job, node, client, attempt)
                    .await
                    .map(|()| vec![Replica::on_node(node.name())]),
                NodeClient::Unusable(why) => Err(StepError::Skipped(why.clone())),
            }
        })
        .await;
        match result {
            Ok(replicas) => {
                if node.kind() == NodeKind::Kubo {
                    job.holders.add(node.name());
                }
                break Ok(replicas);
            }
            Err(e) => {
                let _ = failed.send(node.name().to_owned());
                if attempt >= attempts || e.is_final() {
                    break Err(e);
                }
                tokio::time::sleep(policy::retry_wait(&config.pinning, attempt)).await;
                attempt += 1;
            }
        }
    };
    (node.name().to_owned(), result)
}
