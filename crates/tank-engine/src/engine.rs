//! The engine's facade: opens a data directory, takes jobs, answers for
//! them. How a job moves is `engine/lifecycle.rs`; what an operator does
//! to running jobs is `engine/controls.rs`; how many stages run at once is
//! `engine/slots.rs`.

mod controls;
mod job_folders;
mod lifecycle;
mod slots;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tank_config::{Config, NodeConfig, NodeRole, Secrets};
use tank_media::Tools;
use tank_model::{
    log_of, AttemptFilter, AuditOutcome, AuditRecord, JobAttempt, JobEvent, JobId, JobInput,
    JobLogLine, JobReport, JobState, JobSummary,
};
use tank_node::LocalNode;
use tank_store::{now_ms, rfc3339, JobRow, Store};
use tokio::sync::broadcast;

use crate::disk::Disk;
use crate::error::EngineError;
use crate::events::Events;
use crate::lock::JobLock;
use crate::nodes::{self, Node, NodeStatus};
use crate::pinning::breakers::Breakers;
use crate::pinning::recorder::Recorder;
use crate::pinning::{policy, repair};
use crate::stages::Stage;
use controls::Controls;
use slots::StageSlots;

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
    /// The configured nodes; [`Engine::nodes`] adds the local node.
    nodes: Vec<Node>,
    local_node: Option<Arc<LocalNode>>,
    tools: Tools,
    disk: Disk,
    data_dir: PathBuf,
    jobs_root: PathBuf,
    events: Events,
    controls: Controls,
    slots: StageSlots,
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
        let jobs_root = match &config.jobs.work_dir {
            // Shared by several data dirs, perhaps (`TEMP_DIR`): each keeps
            // its job folders apart, or two jobs 1 would share one.
            Some(shared) => shared.join(data_dir_id(&data_dir).map_err(dir_err(&data_dir))?),
            None => data_dir.join("jobs"),
        };
        std::fs::create_dir_all(&jobs_root).map_err(dir_err(&jobs_root))?;
        let jobs_root = std::fs::canonicalize(&jobs_root).map_err(dir_err(&jobs_root))?;
        let disk = Disk::of(&data_dir);
        disk.keep_reserve();
        let store = Store::open(&data_dir.join("tank.db"))?;
        let discovered = Tools::discover();
        let tools = Tools {
            ffmpeg: config.encoding.ffmpeg.clone().unwrap_or(discovered.ffmpeg),
            ffprobe: config
                .encoding
                .ffprobe
                .clone()
                .unwrap_or(discovered.ffprobe),
            hidden_env: tank_config::secret_env_names(),
        };
        let secrets = Secrets::new(&config.secrets.service);
        let nodes: Vec<Node> = policy::in_work_order(config.nodes.clone())
            .iter()
            .map(|n| Node::new(n, &secrets))
            .collect();
        let local_node = config.local_node.enabled.then(|| {
            let peers = nodes.iter().filter_map(|n| n.kubo().cloned()).collect();
            Arc::new(
                LocalNode::new(config.local_node.clone(), &data_dir)
                    .with_peer_apis(peers)
                    .with_hidden_env(tank_config::secret_env_names()),
            )
        });
        let breakers = Breakers::new(
            store.clone(),
            config.pinning.breaker_failures,
            config.pinning.breaker_cooldown,
        );
        Ok(Engine {
            inner: Arc::new(Inner {
                slots: StageSlots::new(&config.jobs),
                config,
                store,
                breakers,
                secrets,
                nodes,
                local_node,
                tools,
                disk,
                data_dir,
                jobs_root,
                events: Events::new(),
                controls: Controls::default(),
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
        if self.nodes().is_empty() {
            return Err(EngineError::NoNodes);
        }
        let id = self
            .inner
            .store
            .create_job(&input.to_text(), &self.inner.jobs_root)?;
        tracing::info!(job = id, input = %input.to_text(), "job queued");
        Ok(id)
    }

    /// What a stage of `job` sees.
    fn stage(
        &self,
        job: JobRow,
        cancel: Arc<AtomicBool>,
        job_lock: Option<Arc<JobLock>>,
    ) -> Stage<'_> {
        let inner = &self.inner;
        Stage {
            config: &inner.config,
            nodes: self.nodes(),
            tools: &inner.tools,
            disk: &inner.disk,
            store: &inner.store,
            events: &inner.events,
            recorder: self.recorder(job.id),
            local_node: inner.local_node.as_deref(),
            job,
            cancel,
            job_lock,
        }
    }

    /// What records job `job`'s attempts, and feeds the breakers.
    fn recorder(&self, job: JobId) -> Recorder {
        Recorder {
            store: self.inner.store.clone(),
            events: self.inner.events.clone(),
            breakers: self.inner.breakers.clone(),
            job,
        }
    }

    /// The local kubo node, when `[local_node] enabled`.
    pub fn local_node(&self) -> Option<&LocalNode> {
        self.inner.local_node.as_deref()
    }

    // Handles for the background services (`tank-daemon`): each is built
    // from the few of these it needs.

    /// The job store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The event channel: services announce what they record on it.
    pub fn events(&self) -> &Events {
        &self.inner.events
    }

    /// The configured nodes (and the local node, when it counts), in work
    /// order. The local node's API is read now: kubo moves to a free port
    /// when its own is taken, and the address at open may belong to
    /// another program by now.
    pub fn nodes(&self) -> Vec<Node> {
        let inner = &self.inner;
        let mut nodes = inner.nodes.clone();
        if let (Some(local), true) = (
            &inner.local_node,
            inner.config.local_node.counts_toward_quorum,
        ) {
            nodes.push(local_replica(
                local,
                &inner.config.local_node,
                &inner.secrets,
            ));
        }
        nodes
    }

    /// The nodes' circuit breakers (the health monitor opens them).
    pub fn breakers(&self) -> &Breakers {
        &self.inner.breakers
    }

    /// The OS keyring, under the configured service.
    pub fn secrets(&self) -> &Secrets {
        &self.inner.secrets
    }

    /// The data directory (canonical): the job database and what lives
    /// beside it.
    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// Where job folders go.
    pub fn jobs_root(&self) -> &Path {
        &self.inner.jobs_root
    }

    /// Deletes a durable job's HLS folder (`keep_output = false`).
    fn drop_output(&self, id: JobId) -> Result<(), EngineError> {
        if let Some(dir) = self.inner.store.job(id)?.output_dir {
            delete_folder(id, Path::new(&dir), "durable: deleted the local HLS folder");
        }
        Ok(())
    }

    /// Deletes an encoded job's downloaded source (`keep_source = false`).
    fn drop_source(&self, id: JobId) -> Result<(), EngineError> {
        let job = self.inner.store.job(id)?;
        let dir = Path::new(&job.work_dir).join(crate::stages::download::SOURCE_DIR);
        delete_folder(id, &dir, "encoded: deleted the downloaded source");
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
        let mut jobs = self.inner.store.list()?;
        for job in &mut jobs {
            job.waiting_for_slot = self.inner.slots.waiting_for(job.id);
        }
        Ok(jobs)
    }

    /// Everything recorded about a job.
    pub fn report(&self, id: JobId) -> Result<JobReport, EngineError> {
        let store = &self.inner.store;
        let row = store.job(id)?;
        Ok(JobReport {
            id,
            state: row.state,
            input: row.input,
            cid: row.cid,
            output_dir: row.output_dir,
            renditions: row.renditions.iter().map(|r| r.name.clone()).collect(),
            rendition_sizes: row.renditions,
            encoder: row.encoder,
            replicas: store.replicas(id)?,
            attempts: store.attempts(id)?,
            error: row.error,
            retryable: row.retryable,
            next_try_at: row
                .state
                .is_parked()
                .then_some(row.next_attempt_at)
                .flatten()
                .map(rfc3339),
            paused: row.paused,
            progress: row.progress,
            history: store.history(id)?,
            audits: store.audits(id)?,
            gateway: store.gateway_claim_of(id)?,
            embed: store.embed_claim_of(id)?,
            embed_report: store.outbox_of(id)?,
            created_at: rfc3339(row.created_at),
            updated_at: rfc3339(row.updated_at),
        })
    }

    /// Job `id`'s log, oldest line first.
    pub fn job_log(&self, id: JobId) -> Result<Vec<JobLogLine>, EngineError> {
        Ok(log_of(&self.report(id)?))
    }

    /// Writes job `id`'s log to `job.log` in its folder (whole or not at
    /// all) and returns the file's path.
    pub fn write_job_log(&self, id: JobId) -> Result<PathBuf, EngineError> {
        let report = self.report(id)?;
        let dir = PathBuf::from(self.inner.store.job(id)?.work_dir);
        let path = dir.join("job.log");
        let failed = |source| EngineError::DataDir {
            path: path.clone(),
            source,
        };
        let mut text = format!("Tank Encoder, job {id}: {}\n", report.input);
        for line in log_of(&report) {
            text.push_str(&format!("{}  {}\n", line.at, line.text));
        }
        std::fs::create_dir_all(&dir).map_err(failed)?;
        let mut file = tempfile::NamedTempFile::new_in(&dir).map_err(failed)?;
        std::io::Write::write_all(&mut file, text.as_bytes()).map_err(failed)?;
        file.persist(&path).map_err(|e| failed(e.error))?;
        Ok(path)
    }

    /// Verifies every replica of one finished job again, re-pinning what
    /// vanished, and records each finding in the audit log.
    pub async fn audit_job(&self, id: JobId) -> Result<Vec<AuditRecord>, EngineError> {
        let job = self.inner.store.job(id)?;
        if job.state != JobState::Done {
            return Err(EngineError::NotDone {
                id,
                state: job.state,
            });
        }
        let stage = self.stage(job, Arc::new(AtomicBool::new(false)), None);
        let findings = repair::audit(&stage).await;
        let mut records = Vec::with_capacity(findings.len());
        for finding in findings {
            self.inner.store.record_audit(
                id,
                &finding.replica,
                finding.outcome,
                finding.detail.as_deref(),
            )?;
            if finding.outcome == AuditOutcome::Repaired {
                tracing::warn!(
                    job = id,
                    replica = %finding.replica,
                    "audit: re-pinned a vanished replica"
                );
            }
            records.push(AuditRecord {
                job: id,
                replica: finding.replica,
                at: rfc3339(now_ms()),
                outcome: finding.outcome,
                detail: finding.detail,
            });
        }
        Ok(records)
    }

    /// Reachability and version of every configured node, asked at once.
    pub async fn node_statuses(&self) -> Vec<NodeStatus> {
        let timeout = self
            .inner
            .config
            .pinning
            .attempt_timeout
            .min(STATUS_TIMEOUT);
        futures_util::future::join_all(self.nodes().iter().map(|n| nodes::status(n, timeout))).await
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
    let mut node = NodeConfig::kubo("local", api, NodeRole::Backup);
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

/// Deletes a folder of job `id` that nothing reads again. Failing to is
/// only logged: the job's outcome stands either way.
fn delete_folder(id: JobId, dir: &Path, deleted: &str) {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => tracing::info!(job = id, dir = %dir.display(), "{deleted}"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(job = id, dir = %dir.display(), %e, "could not delete a job folder")
        }
    }
}

/// The name a data dir's job folders go under in a shared `work_dir`:
/// made once, at random, and kept in the data dir (`work-dir-name`), so it
/// stays the same when the data dir moves.
fn data_dir_id(data_dir: &Path) -> std::io::Result<String> {
    let file = data_dir.join("work-dir-name");
    match std::fs::read_to_string(&file) {
        Ok(id) if !id.trim().is_empty() => return Ok(id.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let id = format!("data-{:016x}", fastrand::u64(..));
    // Written whole or not at all: a crash never leaves half a name. If
    // another process named it first, its name is the one.
    let partial = tempfile::NamedTempFile::new_in(data_dir)?;
    std::fs::write(partial.path(), &id)?;
    partial.as_file().sync_all()?;
    match partial.persist_noclobber(&file) {
        Ok(_) => Ok(id),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(std::fs::read_to_string(&file)?.trim().to_owned())
        }
        Err(e) => Err(e.error),
    }
}

#[cfg(test)]
mod tests {
    use tank_config::Config;

    use super::Engine;
    use crate::test_support::engine_with_job;

    #[test]
    fn two_data_dirs_sharing_a_work_dir_never_share_a_job_folder() {
        let shared = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.jobs.work_dir = Some(shared.path().to_owned());
        let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let folder_of_job_1 = |data_dir: &std::path::Path| {
            let engine = Engine::open(config.clone(), data_dir).unwrap();
            let id = engine
                .store()
                .create_job("/videos/talk.mp4", engine.jobs_root())
                .unwrap();
            assert_eq!(id, 1);
            (
                engine.jobs_root().to_owned(),
                engine.store().job(id).unwrap().work_dir,
            )
        };

        let (root_one, job_one) = folder_of_job_1(one.path());
        let (root_two, job_two) = folder_of_job_1(two.path());

        assert_ne!(job_one, job_two);
        let shared = std::fs::canonicalize(shared.path()).unwrap();
        assert!(root_one.starts_with(&shared) && root_two.starts_with(&shared));
        // Opened again, a data dir finds its folders where it left them.
        let again = Engine::open(config.clone(), one.path()).unwrap();
        assert_eq!(again.jobs_root(), root_one);
    }

    #[test]
    fn the_log_file_is_written_in_the_jobs_folder_with_every_line() {
        let (_dir, engine, id) = engine_with_job();
        let path = engine.write_job_log(id).unwrap();
        assert_eq!(path.file_name().unwrap(), "job.log");
        assert!(path.starts_with(engine.jobs_root()));
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            format!("Tank Encoder, job {id}: /videos/talk.mp4")
        );
        let log = engine.job_log(id).unwrap();
        assert_eq!(lines.len(), 1 + log.len());
        assert!(lines[1].ends_with("→ queued"), "{text}");
    }
}
