//! The engine: opens a data directory, takes jobs, runs them to the end.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tank_media::{Rendition, Tools};
use tokio::sync::broadcast;

use crate::attempts::Recorder;
use tank_node::{LocalNode, NodeEvent};

use crate::breakers::Breakers;
use crate::config::Config;
use crate::config::NodeConfig;
use crate::controls::Controls;
use crate::error::EngineError;
use crate::events::{Events, JobEvent};
use crate::job::{AttemptFilter, JobAttempt, JobId, JobInput, JobReport, JobState, JobSummary};
use crate::lock::JobLock;
use crate::nodes::{self, Node, NodeStatus};
use crate::secrets::Secrets;
use crate::stages::{self, Outcome, Stage};
use crate::store::{now_ms, rfc3339, Field, JobRow, Store};

/// `tank nodes` waits at most this long for each node.
const STATUS_TIMEOUT: Duration = Duration::from_secs(10);

/// Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    store: Store,
    breakers: Breakers,
    secrets: Secrets,
    nodes: Vec<Node>,
    local_node: Option<Arc<LocalNode>>,
    tools: Tools,
    jobs_root: PathBuf,
    events: Events,
    controls: Controls,
    /// Whether the operator wants the local node running.
    local_switch: tokio::sync::watch::Sender<crate::local_control::Wanted>,
}

impl Engine {
    /// Opens (creating if needed) the data directory `data_dir`: the job
    /// database `tank.db` and the job folders.
    pub fn open(config: Config, data_dir: &Path) -> Result<Engine, EngineError> {
        let dir_err = |path: &Path| {
            let path = path.to_owned();
            move |source| EngineError::DataDir { path, source }
        };
        std::fs::create_dir_all(data_dir).map_err(dir_err(data_dir))?;
        let data_dir = std::fs::canonicalize(data_dir).map_err(dir_err(data_dir))?;
        let jobs_root = config
            .jobs
            .work_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("jobs"));
        std::fs::create_dir_all(&jobs_root).map_err(dir_err(&jobs_root))?;
        let jobs_root = std::fs::canonicalize(&jobs_root).map_err(dir_err(&jobs_root))?;
        let store = Store::open(&data_dir.join("tank.db"))?;
        let discovered = Tools::discover();
        let tools = Tools {
            ffmpeg: config.encoding.ffmpeg.clone().unwrap_or(discovered.ffmpeg),
            ffprobe: config
                .encoding
                .ffprobe
                .clone()
                .unwrap_or(discovered.ffprobe),
        };
        let secrets = Secrets::new(&config.secrets.service);
        let mut nodes: Vec<Node> = config
            .ordered_nodes()
            .iter()
            .map(|n| Node::new(n, &secrets))
            .collect();
        let local_node = config.local_node.enabled.then(|| {
            let peers = nodes.iter().filter_map(|n| n.kubo().cloned()).collect();
            Arc::new(LocalNode::new(config.local_node.clone(), &data_dir).with_peer_apis(peers))
        });
        if let (Some(local), true) = (&local_node, config.local_node.counts_toward_quorum) {
            nodes.push(local_replica(local, &config.local_node, &secrets));
        }
        let breakers = Breakers::new(
            store.clone(),
            config.pinning.breaker_failures,
            config.pinning.breaker_cooldown,
        );
        Ok(Engine {
            inner: Arc::new(Inner {
                config,
                store,
                breakers,
                secrets,
                nodes,
                local_node,
                tools,
                jobs_root,
                events: Events::new(),
                controls: Controls::default(),
                local_switch: crate::local_control::switch(),
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Events of every job this engine runs.
    pub fn subscribe(&self) -> broadcast::Receiver<JobEvent> {
        self.inner.events.subscribe()
    }

    /// Records a new job, queued. Refused when no node is configured: the
    /// job could never be made durable.
    pub fn submit(&self, input: &JobInput) -> Result<JobId, EngineError> {
        if self.inner.nodes.is_empty() {
            return Err(EngineError::NoNodes);
        }
        let id = self
            .inner
            .store
            .create_job(&input.to_text(), &self.inner.jobs_root)?;
        tracing::info!(job = id, input = %input.to_text(), "job queued");
        Ok(id)
    }

    /// Runs a job from wherever it stands to `done`, `failed` or
    /// `awaiting_replicas`. Dropping the returned future stops the job where
    /// it is (FFmpeg is killed); it resumes from its last committed state.
    pub async fn run(&self, id: JobId) -> Result<JobReport, EngineError> {
        let inner = &self.inner;
        let work_dir = PathBuf::from(inner.store.job(id)?.work_dir);
        let _lock = JobLock::try_take(&work_dir)?.ok_or(EngineError::JobBusy(id))?;
        let cancel = Arc::new(AtomicBool::new(false));
        let _stop_on_drop = StopOnDrop(cancel.clone());
        let run = inner.controls.register(id);
        loop {
            let job = inner.store.job(id)?;
            if job.state.is_resting() {
                break;
            }
            let from = job.state;
            let outcome = tokio::select! {
                outcome = self.run_stage(job, cancel.clone()) => outcome,
                // Paused or cancelled: the stage is dropped where it is.
                _ = run.stop.cancelled() => Outcome::Stopped,
            };
            match outcome {
                Outcome::Next(to, fields) => {
                    inner.store.transition(id, from, to, &fields)?;
                    tracing::info!(job = id, %from, %to, "job moved on");
                    self.send_state(id, to, None);
                    if to == JobState::Done && !inner.config.jobs.keep_output {
                        self.drop_output(id)?;
                    }
                }
                Outcome::Park { reason } => {
                    let wait = inner.config.park_wait(inner.store.park_rounds(id)? + 1);
                    let next = now_ms() + wait.as_millis() as i64;
                    inner.store.park(id, from, &reason, next)?;
                    tracing::warn!(job = id, %reason, retry_in = %humantime::format_duration(wait), "job parked");
                    self.send_state(id, JobState::AwaitingReplicas, Some(reason));
                }
                Outcome::Fail { error, retryable } => {
                    inner.store.fail(id, from, &error, retryable)?;
                    tracing::warn!(job = id, stage = %from, retryable, error, "job failed");
                    self.send_state(id, JobState::Failed, Some(error));
                }
                Outcome::Stopped => return Err(EngineError::Stopped(id)),
            }
        }
        self.report(id)
    }

    async fn run_stage(&self, job: JobRow, cancel: Arc<AtomicBool>) -> Outcome {
        let stage = self.stage(job, cancel);
        match stage.job.state {
            JobState::Queued => match JobInput::from_stored(&stage.job.input) {
                JobInput::File(path) => Outcome::Next(
                    JobState::Probing,
                    vec![Field::SourcePath(path.display().to_string())],
                ),
                _ => Outcome::Next(JobState::Downloading, vec![]),
            },
            JobState::Downloading => stages::download::run(&stage).await,
            JobState::Probing => stages::encode::probe_source(&stage).await,
            JobState::Encoding => stages::encode::encode(&stage).await,
            JobState::Uploading => stages::upload::run(&stage).await,
            JobState::Pinning => stages::pin::run(&stage).await,
            JobState::Verifying => stages::verify::run(&stage).await,
            JobState::Done
            | JobState::Failed
            | JobState::Cancelled
            | JobState::AwaitingReplicas => {
                unreachable!("resting states have no stage")
            }
        }
    }

    /// What a stage of `job` sees.
    pub(crate) fn stage(&self, job: JobRow, cancel: Arc<AtomicBool>) -> Stage<'_> {
        let inner = &self.inner;
        Stage {
            config: &inner.config,
            nodes: &inner.nodes,
            tools: &inner.tools,
            store: &inner.store,
            events: &inner.events,
            recorder: Recorder {
                store: inner.store.clone(),
                events: inner.events.clone(),
                breakers: inner.breakers.clone(),
                job: job.id,
            },
            local_node: inner.local_node.as_deref(),
            job,
            cancel,
        }
    }

    /// The local kubo node, when `[local_node] enabled`.
    pub fn local_node(&self) -> Option<&LocalNode> {
        self.inner.local_node.as_deref()
    }

    /// Records a local node event (the history `tank node status` shows)
    /// and alerts when it is an alarm.
    pub async fn local_node_event(&self, event: NodeEvent) {
        tracing::info!(event = %event.describe(), "local node");
        if let Err(e) = self.inner.store.record_node_event(&event) {
            tracing::error!(%e, "cannot record a local node event");
        }
        if let NodeEvent::GaveUp { reason } = &event {
            self.alert(&crate::alerts::Alert::LocalNodeDown {
                reason: reason.clone(),
            })
            .await;
        }
    }

    /// The latest local node events, newest first.
    pub fn local_node_events(&self, limit: u32) -> Result<Vec<(String, NodeEvent)>, EngineError> {
        Ok(self.inner.store.node_events(limit)?)
    }

    pub(crate) fn local_switch(&self) -> &tokio::sync::watch::Sender<crate::local_control::Wanted> {
        &self.inner.local_switch
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    pub(crate) fn nodes(&self) -> &[Node] {
        &self.inner.nodes
    }

    pub(crate) fn breakers(&self) -> &Breakers {
        &self.inner.breakers
    }

    pub(crate) fn secrets(&self) -> &Secrets {
        &self.inner.secrets
    }

    pub(crate) fn controls(&self) -> &Controls {
        &self.inner.controls
    }

    /// Tells watchers a job entered `state` (already committed).
    pub(crate) fn send_state(&self, job: JobId, state: JobState, detail: Option<String>) {
        self.send_event(JobEvent::State { job, state, detail });
    }

    pub(crate) fn send_event(&self, event: JobEvent) {
        self.inner.events.send(event);
    }

    /// Where job folders go.
    pub(crate) fn jobs_root(&self) -> &Path {
        &self.inner.jobs_root
    }

    /// Sends a failed (retryable) or parked job back to the stage it stopped in.
    pub fn retry(&self, id: JobId) -> Result<(), EngineError> {
        let job = self.inner.store.job(id)?;
        if !matches!(job.state, JobState::Failed | JobState::AwaitingReplicas) {
            return Err(EngineError::NotFailed {
                id,
                state: job.state,
            });
        }
        if job.retryable != Some(true) {
            return Err(EngineError::NotRetryable(id));
        }
        let back_to = job.failed_stage.unwrap_or(JobState::Queued);
        self.inner.store.transition(id, job.state, back_to, &[])?;
        Ok(())
    }

    /// Deletes a durable job's HLS folder (`keep_output = false`).
    fn drop_output(&self, id: JobId) -> Result<(), EngineError> {
        if let Some(dir) = self.inner.store.job(id)?.output_dir {
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => tracing::info!(job = id, dir, "durable: deleted the local HLS folder"),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!(job = id, dir, %e, "could not delete the HLS folder"),
            }
        }
        Ok(())
    }

    /// Unfinished jobs no process is working on: their process stopped or
    /// crashed.
    pub fn interrupted(&self) -> Result<Vec<JobId>, EngineError> {
        let mut idle = Vec::new();
        for (id, work_dir) in self.inner.store.unfinished()? {
            if JobLock::try_take(Path::new(&work_dir))?.is_some() {
                idle.push(id);
            }
        }
        Ok(idle)
    }

    /// Attempts across jobs, newest first: the retry history.
    pub fn attempts(&self, filter: &AttemptFilter) -> Result<Vec<JobAttempt>, EngineError> {
        Ok(self.inner.store.find_attempts(filter)?)
    }

    pub fn jobs(&self) -> Result<Vec<JobSummary>, EngineError> {
        Ok(self.inner.store.list()?)
    }

    /// Everything recorded about a job.
    pub fn report(&self, id: JobId) -> Result<JobReport, EngineError> {
        let store = &self.inner.store;
        let row = store.job(id)?;
        let rendition_sizes: Vec<Rendition> = row
            .renditions
            .as_deref()
            .and_then(|json| serde_json::from_str(json).ok())
            .unwrap_or_default();
        Ok(JobReport {
            id,
            state: row.state,
            input: row.input,
            cid: row.cid,
            output_dir: row.output_dir,
            renditions: rendition_sizes.iter().map(|r| r.name.clone()).collect(),
            rendition_sizes,
            encoder: row.encoder,
            replicas: store.replicas(id)?,
            attempts: store.attempts(id)?,
            error: row.error,
            retryable: row.retryable,
            paused: row.paused,
            progress: row
                .progress
                .as_deref()
                .and_then(|p| serde_json::from_str(p).ok()),
            history: store.history(id)?,
            audits: store.audits(id)?,
            gateway: store.gateway_claim_of(id)?,
            created_at: rfc3339(row.created_at),
            updated_at: rfc3339(row.updated_at),
        })
    }

    /// Reachability and version of every configured node, asked at once.
    pub async fn node_statuses(&self) -> Vec<NodeStatus> {
        let timeout = self
            .inner
            .config
            .pinning
            .attempt_timeout
            .min(STATUS_TIMEOUT);
        futures_util::future::join_all(self.inner.nodes.iter().map(|n| nodes::status(n, timeout)))
            .await
    }
}

/// The local node as a kubo replica named `local`, at the API its repo is
/// configured for (the wanted port until it first started).
fn local_replica(
    local: &LocalNode,
    config: &tank_node::LocalNodeConfig,
    secrets: &Secrets,
) -> Node {
    let api = local.configured_api().unwrap_or_else(|| {
        url::Url::parse(&format!("http://127.0.0.1:{}", config.api_port)).expect("valid URL")
    });
    let mut node = NodeConfig::kubo("local", api, crate::config::NodeRole::Backup);
    node.tier = Some(1);
    Node::new(&node, secrets)
}

/// Tells blocking work (FFmpeg) to stop when the job's future is dropped.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}
