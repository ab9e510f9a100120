//! The job lifecycle: the one place a job moves. A run dispatches each
//! working state to its stage, and every move, whatever asks for it (a
//! stage's outcome, a retry, a parked job waking or expiring, a cancel),
//! goes through [`Engine::commit`]: checked against the transition table
//! ([`JobState::can_move_to`]), written as one compare-and-set transaction
//! with the stage's outputs, and only then announced as a
//! [`JobEvent::State`], so every move reaches the window at once.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use tank_model::{JobEvent, JobId, JobInput, JobReport, JobState};
use tank_store::{now_ms, Field, JobRow, ParkedJob};

use super::{Engine, StopOnDrop};
use crate::error::EngineError;
use crate::lock::JobLock;
use crate::pinning::{self, policy, recorder};
use crate::stages::{self, Outcome};

/// A move of a job, as asked for.
#[derive(Debug)]
pub(super) enum Move {
    /// A stage finished: on to `to`, with what the stage produced.
    Advance {
        to: JobState,
        outputs: Vec<Field>,
    },
    Fail {
        error: String,
        retryable: bool,
    },
    /// Not enough replicas now: wait for the pin queue.
    Park {
        reason: String,
        outputs: Vec<Field>,
    },
    /// The stage failed for a reason that is not the input's, for the
    /// `retries`th time in a row: wait `wait`, then run it again.
    Backoff {
        error: String,
        wait: Duration,
        retries: u32,
    },
    Cancel {
        reason: String,
    },
    /// An operator's retry: back to the stage the job stopped in.
    Retry {
        to: JobState,
    },
    /// A parked job's wait is over: back to the stage it stopped in.
    Wake {
        to: JobState,
    },
    /// The HLS folder changed between encode and upload: encoding again,
    /// or downloading first when the source was already deleted.
    Reencode {
        to: JobState,
        reason: String,
    },
    /// A parked job waited `park_for`: it fails, retryable.
    Expire {
        error: String,
    },
}

impl Move {
    fn target(&self) -> JobState {
        match self {
            Move::Advance { to, .. }
            | Move::Retry { to }
            | Move::Reencode { to, .. }
            | Move::Wake { to } => *to,
            Move::Fail { .. } | Move::Expire { .. } => JobState::Failed,
            Move::Park { .. } => JobState::AwaitingReplicas,
            Move::Backoff { .. } => JobState::AwaitingRetry,
            Move::Cancel { .. } => JobState::Cancelled,
        }
    }
}

impl Engine {
    /// Runs a job from wherever it stands to a resting state: `done`,
    /// `failed`, `cancelled`, or parked (`awaiting_replicas`,
    /// `awaiting_retry`), for whoever wakes parked jobs. Dropping the
    /// returned future stops the job where it is (FFmpeg is killed); it
    /// resumes from its last committed state.
    pub async fn run(&self, id: JobId) -> Result<JobReport, EngineError> {
        let inner = &self.inner;
        let work_dir = PathBuf::from(inner.store.job(id)?.work_dir);
        let lock = Arc::new(JobLock::try_take(&work_dir)?.ok_or(EngineError::JobBusy(id))?);
        let cancel = Arc::new(AtomicBool::new(false));
        let _stop_on_drop = StopOnDrop(cancel.clone());
        let run = inner.controls.register(id);
        loop {
            let job = inner.store.job(id)?;
            if job.state.is_resting() {
                break;
            }
            let from = job.state;
            let retries = job.stage_retries;
            let remote = JobInput::from_stored(&job.input).is_remote();
            let reencoded = job.reencoded;
            // Where a re-encode starts: a deleted download is fetched again.
            let source_kept = job
                .source_path
                .as_ref()
                .is_some_and(|p| Path::new(p).exists());
            let reencode_from = match remote && !source_kept {
                true => JobState::Downloading,
                false => JobState::Encoding,
            };
            let stage = async {
                // Held for the stage only: the commit and any retry wait
                // leave it to the next job.
                let _slot = self.take_slot(id, from).await;
                self.run_stage(job, cancel.clone(), lock.clone()).await
            };
            let outcome = tokio::select! {
                outcome = stage => outcome,
                // Paused or cancelled: the stage is dropped where it is.
                _ = run.stop.cancelled() => Outcome::Stopped,
            };
            let change = match outcome {
                Outcome::Done(outputs) => Move::Advance {
                    to: from
                        .after_success(remote)
                        .expect("a working state has a next state"),
                    outputs,
                },
                Outcome::Park { reason, fields } => Move::Park {
                    reason,
                    outputs: fields,
                },
                // Not the input's fault: the job parks, and the same stage
                // runs again after a wait, before the job is failed.
                Outcome::Fail {
                    error,
                    retryable: true,
                } => match policy::stage_retry_wait(&inner.config, retries + 1) {
                    Some(wait) => Move::Backoff {
                        error,
                        wait,
                        retries: retries + 1,
                    },
                    None => Move::Fail {
                        error,
                        retryable: true,
                    },
                },
                Outcome::Fail { error, retryable } => Move::Fail { error, retryable },
                // Once: a folder that changes again is not ours to chase.
                Outcome::Reencode { reason } if reencoded => Move::Fail {
                    error: format!(
                        "the HLS folder changed again after it was encoded anew: {reason}; \
                         something else writes to it"
                    ),
                    retryable: true,
                },
                Outcome::Reencode { reason } => Move::Reencode {
                    to: reencode_from,
                    reason,
                },
                Outcome::Stopped => return Err(EngineError::Stopped(id)),
            };
            let now = match self.commit(id, from, change) {
                Err(EngineError::Store(e)) if e.is_disk_full() => {
                    self.fail_for_full_disk(id, from, &e)?;
                    break;
                }
                other => other?,
            };
            match now {
                JobState::Done if !inner.config.jobs.keep_output => self.drop_output(id)?,
                // The encode is committed: nothing reads a downloaded source again.
                JobState::Uploading if remote && !inner.config.jobs.keep_source => {
                    self.drop_source(id)?
                }
                _ => {}
            }
        }
        self.report(id)
    }

    /// [`Engine::run`] for a process with no scheduler behind it (`tank
    /// encode`, `resume`, `retry`): a job parked to retry a stage is woken
    /// by this run itself once its wait is over, and run on. A job parked
    /// for replicas is returned: its wait, counted in minutes to days, is
    /// the pin queue's (a daemon's).
    pub async fn run_to_end(&self, id: JobId) -> Result<JobReport, EngineError> {
        loop {
            let report = self.run(id).await?;
            if report.state != JobState::AwaitingRetry {
                return Ok(report);
            }
            let due = self.inner.store.job(id)?.next_attempt_at.unwrap_or(0);
            let wait = u64::try_from(due - now_ms()).unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(wait)).await;
            // Another process may have woken it first: the next run says.
            if let Some(parked) = self
                .inner
                .store
                .due_parked(now_ms())?
                .into_iter()
                .find(|parked| parked.id == id)
            {
                self.wake(&parked)?;
            }
        }
    }

    /// The disk is too full for SQLite to commit the stage's outcome: what
    /// the stage left is removed, the reserve freed, and the job failed
    /// (retryable) with the disk and its free space named. `tank retry`
    /// goes on from `from` once there is room.
    fn fail_for_full_disk(
        &self,
        id: JobId,
        from: JobState,
        cause: &tank_store::StoreError,
    ) -> Result<(), EngineError> {
        let work_dir = PathBuf::from(self.inner.store.job(id)?.work_dir);
        let partial = match from {
            JobState::Encoding => Some(stages::encode::output_dir(&work_dir.to_string_lossy())),
            JobState::Downloading => Some(work_dir.join(stages::download::SOURCE_DIR)),
            _ => None, // later stages need the HLS folder
        };
        if let Some(partial) = partial {
            let _ = std::fs::remove_dir_all(partial);
        }
        let disk = &self.inner.disk;
        disk.release_reserve();
        let error = format!(
            "{} ({cause}); free some space, then `tank retry {id}`",
            disk.describe()
        );
        self.commit(
            id,
            from,
            Move::Fail {
                error,
                retryable: true,
            },
        )?;
        disk.keep_reserve();
        Ok(())
    }

    /// The stage of `job`'s state.
    async fn run_stage(&self, job: JobRow, cancel: Arc<AtomicBool>, lock: Arc<JobLock>) -> Outcome {
        let stage = self.stage(job, cancel, Some(lock));
        match stage.job.state {
            // A queued job's only work is to say where its source is.
            JobState::Queued => match JobInput::from_stored(&stage.job.input) {
                JobInput::File(path) => {
                    Outcome::Done(vec![Field::SourcePath(path.display().to_string())])
                }
                _ => Outcome::Done(vec![]),
            },
            JobState::Downloading => stages::download::run(&stage).await,
            JobState::Probing => stages::encode::probe_source(&stage).await,
            JobState::Encoding => stages::encode::encode(&stage).await,
            JobState::Uploading => stages::upload::run(&stage).await,
            JobState::Pinning => pinning::run(&stage).await,
            JobState::Verifying => stages::verify::run(&stage).await,
            JobState::Done
            | JobState::Failed
            | JobState::Cancelled
            | JobState::AwaitingReplicas
            | JobState::AwaitingRetry => {
                unreachable!("resting states have no stage")
            }
        }
    }

    /// Moves job `id` from `from`: checked against the transition table,
    /// committed (compare-and-set, with the move's outputs), then announced.
    /// Returns the state the job is in now.
    pub(super) fn commit(
        &self,
        id: JobId,
        from: JobState,
        change: Move,
    ) -> Result<JobState, EngineError> {
        let store = &self.inner.store;
        let pinning = &self.inner.config.pinning;
        let to = change.target();
        if !from.can_move_to(to) {
            return Err(EngineError::IllegalMove { id, from, to });
        }
        let detail = match change {
            Move::Advance { mut outputs, .. } => {
                // A stage that succeeds ends the backoff of its retries.
                outputs.push(Field::StageRetries(0));
                store.transition(id, from, to, &outputs)?;
                tracing::info!(job = id, %from, %to, "job moved on");
                None
            }
            Move::Retry { .. } => {
                // The operator's retry may encode again once more.
                store.transition(
                    id,
                    from,
                    to,
                    &[Field::Reencoded(false), Field::StageRetries(0)],
                )?;
                tracing::info!(job = id, %from, %to, "job retried");
                Some("retried".to_owned())
            }
            Move::Wake { .. } => {
                let note = match from {
                    JobState::AwaitingReplicas => "trying again for the quorum".to_owned(),
                    _ => format!("trying {to} again"),
                };
                store.transition_noted(id, from, to, &[], &note)?;
                tracing::info!(job = id, %to, "trying a parked job again");
                Some(note)
            }
            Move::Reencode { reason, .. } => {
                let note = format!(
                    "the HLS folder changed since its encode ({reason}): encoding it again"
                );
                store.transition_noted(id, from, to, &[Field::Reencoded(true)], &note)?;
                tracing::warn!(job = id, reason, "HLS folder changed; encoding again");
                Some(note)
            }
            Move::Fail { error, retryable } => {
                let error = bounded(error);
                store.fail(id, from, &error, retryable)?;
                tracing::warn!(job = id, stage = %from, retryable, error, "job failed");
                Some(error)
            }
            Move::Expire { error } => {
                store.fail(id, from, &error, true)?;
                tracing::warn!(job = id, error, "parked job gave up");
                Some(error)
            }
            Move::Backoff {
                error,
                wait,
                retries,
            } => {
                let error = bounded(error);
                self.recorder(id)
                    .retrying(from.as_str(), retries, &error, wait);
                let next = now_ms() + wait.as_millis() as i64;
                let shown = recorder::shown_wait(wait);
                let note = format!("{error} (trying {from} again in {shown})");
                store.park_to_retry(id, from, &error, &note, next, retries)?;
                tracing::warn!(job = id, stage = %from, error, retry_in = %shown, "stage failed; job parked to retry");
                Some(note)
            }
            Move::Park { reason, outputs } => {
                let wait = policy::park_wait(pinning, store.park_rounds(id)? + 1);
                let next = now_ms() + wait.as_millis() as i64;
                store.park(id, from, &reason, next, &outputs)?;
                tracing::warn!(job = id, %reason, retry_in = %humantime::format_duration(wait), "job parked");
                Some(reason)
            }
            Move::Cancel { reason } => {
                store.cancel(id, from, &reason)?;
                tracing::info!(job = id, %from, "job cancelled");
                Some(reason)
            }
        };
        self.inner.events.send(JobEvent::State {
            job: id,
            state: to,
            detail,
        });
        Ok(to)
    }

    /// Sends a failed (retryable) or parked job back to the stage it stopped
    /// in, at once.
    pub fn retry(&self, id: JobId) -> Result<(), EngineError> {
        let job = self.inner.store.job(id)?;
        if !(job.state == JobState::Failed || job.state.is_parked()) {
            return Err(EngineError::NotFailed {
                id,
                state: job.state,
            });
        }
        if job.retryable != Some(true) {
            return Err(EngineError::NotRetryable(id));
        }
        let to = job.failed_stage.unwrap_or(JobState::Queued);
        self.commit(id, job.state, Move::Retry { to })?;
        Ok(())
    }

    /// Gives every parked job whose wait is over another round, by moving
    /// it back to the stage it stopped in (whoever runs jobs then runs it).
    /// Returns the jobs woken.
    pub fn wake_parked(&self) -> Result<Vec<JobId>, EngineError> {
        let mut woken = Vec::new();
        for parked in self.inner.store.due_parked(now_ms())? {
            if self.wake(&parked)? {
                woken.push(parked.id);
            }
        }
        Ok(woken)
    }

    /// Wakes one parked job whose wait is over; `false` when it is not
    /// woken: another process has it, or it waited for replicas longer
    /// than `park_for` and fails instead, retryable.
    fn wake(&self, parked: &ParkedJob) -> Result<bool, EngineError> {
        let pinning = &self.inner.config.pinning;
        // Only one process gives a job its round.
        let Some(_lock) = JobLock::try_take(Path::new(&parked.work_dir))? else {
            return Ok(false);
        };
        let waited = Duration::from_millis((now_ms() - parked.since).max(0) as u64);
        if parked.state == JobState::AwaitingReplicas && policy::park_expired(pinning, waited) {
            let error = format!(
                "gave up after waiting {} for enough replicas; `tank retry {}` tries again",
                humantime::format_duration(pinning.park_for),
                parked.id
            );
            self.commit(parked.id, parked.state, Move::Expire { error })?;
            return Ok(false);
        }
        self.commit(parked.id, parked.state, Move::Wake { to: parked.stage })?;
        Ok(true)
    }
}

/// The longest error a job keeps (and a platform is sent): a node or a
/// source can say a lot, and a failure that lists every try says more.
const MAX_JOB_ERROR: usize = 2000;

fn bounded(error: String) -> String {
    match error.char_indices().nth(MAX_JOB_ERROR) {
        Some((at, _)) => format!("{}…", &error[..at]),
        None => error,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tank_config::Config;
    use tank_model::{JobEvent, JobId, JobState};
    use tank_store::now_ms;
    use tokio::sync::broadcast::Receiver;

    use super::Move;
    use crate::engine::Engine;
    use crate::error::EngineError;
    use crate::test_support::engine_with_job;

    /// The next state event on `events`, or a panic naming what was wanted.
    fn next_state(events: &mut Receiver<JobEvent>) -> (JobId, JobState, Option<String>) {
        match events.try_recv() {
            Ok(JobEvent::State { job, state, detail }) => (job, state, detail),
            other => panic!("expected a state event, got {other:?}"),
        }
    }

    /// Job `id`, moved (by the store, as a crashed run would leave it) to
    /// `pinning` and parked there, due now.
    fn park_due(engine: &Engine, id: JobId) {
        let store = engine.store();
        store
            .transition(id, JobState::Queued, JobState::Pinning, &[])
            .unwrap();
        store
            .park(id, JobState::Pinning, "1 of 2 replicas", now_ms() - 1, &[])
            .unwrap();
    }

    #[test]
    fn a_retry_is_announced_with_the_state_it_returns_to() {
        let (_dir, engine, id) = engine_with_job();
        engine
            .store()
            .transition(id, JobState::Queued, JobState::Uploading, &[])
            .unwrap();
        engine
            .store()
            .fail(id, JobState::Uploading, "node refused", true)
            .unwrap();
        let mut events = engine.events().subscribe();

        engine.retry(id).unwrap();

        assert_eq!(engine.store().job(id).unwrap().state, JobState::Uploading);
        assert_eq!(
            next_state(&mut events),
            (id, JobState::Uploading, Some("retried".to_owned()))
        );
    }

    #[test]
    fn a_parked_job_waking_up_is_announced() {
        let (_dir, engine, id) = engine_with_job();
        park_due(&engine, id);
        let mut events = engine.events().subscribe();

        assert_eq!(engine.wake_parked().unwrap(), vec![id]);

        assert_eq!(engine.store().job(id).unwrap().state, JobState::Pinning);
        let (job, state, _) = next_state(&mut events);
        assert_eq!((job, state), (id, JobState::Pinning));
    }

    #[test]
    fn a_job_parked_to_retry_waits_unrun_then_wakes_into_the_stage_it_stopped_in() {
        let (_dir, engine, id) = engine_with_job();
        let store = engine.store();
        store
            .transition(id, JobState::Queued, JobState::Uploading, &[])
            .unwrap();
        let backoff = |wait: Duration, retries| Move::Backoff {
            error: "supernode: connection refused".into(),
            wait,
            retries,
        };

        engine
            .commit(id, JobState::Uploading, backoff(Duration::from_secs(60), 1))
            .unwrap();
        let job = store.job(id).unwrap();
        assert_eq!(job.state, JobState::AwaitingRetry);
        assert_eq!(
            (job.failed_stage, job.retryable, job.stage_retries),
            (Some(JobState::Uploading), Some(true), 1)
        );
        assert!(job.next_attempt_at.unwrap() > now_ms() + 50_000);
        assert!(
            engine.interrupted().unwrap().is_empty(),
            "not run meanwhile"
        );
        assert!(engine.wake_parked().unwrap().is_empty(), "not due yet");

        // Due now (as a second failure with no wait would leave it).
        engine
            .commit(
                id,
                JobState::AwaitingRetry,
                Move::Wake {
                    to: JobState::Uploading,
                },
            )
            .unwrap();
        engine
            .commit(id, JobState::Uploading, backoff(Duration::ZERO, 2))
            .unwrap();
        let mut events = engine.events().subscribe();
        assert_eq!(engine.wake_parked().unwrap(), vec![id]);
        assert_eq!(
            next_state(&mut events),
            (
                id,
                JobState::Uploading,
                Some("trying uploading again".to_owned())
            )
        );
        assert_eq!(store.job(id).unwrap().stage_retries, 2, "still counted");

        // The stage succeeding ends its count.
        engine
            .commit(
                id,
                JobState::Uploading,
                Move::Advance {
                    to: JobState::Pinning,
                    outputs: vec![],
                },
            )
            .unwrap();
        assert_eq!(store.job(id).unwrap().stage_retries, 0);
    }

    #[test]
    fn a_parked_job_that_waited_too_long_fails_retryable_and_is_announced() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.pinning.park_for = Duration::from_millis(1);
        let engine = Engine::open(config, dir.path()).unwrap();
        let id = engine
            .store()
            .create_job("/videos/talk.mp4", engine.jobs_root())
            .unwrap();
        park_due(&engine, id);
        std::thread::sleep(Duration::from_millis(5));
        let mut events = engine.events().subscribe();

        assert_eq!(engine.wake_parked().unwrap(), Vec::<JobId>::new());

        let job = engine.store().job(id).unwrap();
        assert_eq!(job.state, JobState::Failed);
        assert_eq!(job.retryable, Some(true));
        let (event_job, state, detail) = next_state(&mut events);
        assert_eq!((event_job, state), (id, JobState::Failed));
        let detail = detail.unwrap();
        assert!(detail.contains(&format!("tank retry {id}")), "{detail}");
    }

    #[test]
    fn a_move_outside_the_transition_table_is_refused_and_changes_nothing() {
        let (_dir, engine, id) = engine_with_job();
        let mut events = engine.events().subscribe();

        let error = engine
            .commit(
                id,
                JobState::Queued,
                Move::Advance {
                    to: JobState::Done,
                    outputs: vec![],
                },
            )
            .unwrap_err();

        assert!(matches!(
            error,
            EngineError::IllegalMove {
                from: JobState::Queued,
                to: JobState::Done,
                ..
            }
        ));
        assert_eq!(engine.store().job(id).unwrap().state, JobState::Queued);
        assert!(events.try_recv().is_err(), "nothing is announced");
    }
}
