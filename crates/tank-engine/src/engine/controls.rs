//! What an operator does to jobs while they run: pause one, resume it,
//! cancel it, or pause all work at once.
//!
//! The decision is committed first (a paused flag, the `cancelled` state);
//! then the job's run, if one is in this process, is told to stop where it
//! is. A job stopped that way resumes from its last committed state, as
//! after a crash, so no work is half-recorded.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use tokio_util::sync::CancellationToken;

use tank_model::JobId;
use tank_store::StoreError;

use super::lifecycle::Move;
use super::Engine;
use crate::error::EngineError;

const CANCELLED: &str = "cancelled by the operator";

/// The runs in this process that can be told to stop, and the pause switch.
#[derive(Default)]
pub(super) struct Controls {
    paused_all: AtomicBool,
    running: Mutex<HashMap<JobId, CancellationToken>>,
}

/// Registered while a job runs; its token fires when the job is to stop.
pub(super) struct RunGuard<'a> {
    controls: &'a Controls,
    id: JobId,
    pub stop: CancellationToken,
}

impl Controls {
    pub fn register(&self, id: JobId) -> RunGuard<'_> {
        let stop = CancellationToken::new();
        self.running
            .lock()
            .expect("not poisoned")
            .insert(id, stop.clone());
        RunGuard {
            controls: self,
            id,
            stop,
        }
    }

    fn stop(&self, id: JobId) {
        if let Some(token) = self.running.lock().expect("not poisoned").get(&id) {
            token.cancel();
        }
    }

    fn stop_all(&self) {
        for token in self.running.lock().expect("not poisoned").values() {
            token.cancel();
        }
    }
}

impl Drop for RunGuard<'_> {
    fn drop(&mut self) {
        self.controls
            .running
            .lock()
            .expect("not poisoned")
            .remove(&self.id);
    }
}

impl Engine {
    /// Stops a job where it is and keeps it out of the scheduler until
    /// [`Engine::resume`].
    pub fn pause(&self, id: JobId) -> Result<(), EngineError> {
        let state = self.inner.store.job(id)?.state;
        if state.is_resting() {
            return Err(EngineError::NotRunning { id, state });
        }
        self.inner.store.set_paused(id, true)?;
        self.inner.controls.stop(id);
        tracing::info!(job = id, %state, "job paused");
        Ok(())
    }

    /// Lets a paused job run again, from where it stopped.
    pub fn resume(&self, id: JobId) -> Result<(), EngineError> {
        self.inner.store.job(id)?;
        self.inner.store.set_paused(id, false)?;
        tracing::info!(job = id, "job resumed");
        Ok(())
    }

    /// Ends a job that has not finished: it becomes `cancelled` (committed)
    /// and its run stops. Its folder is kept.
    pub fn cancel(&self, id: JobId) -> Result<(), EngineError> {
        self.cancel_because(id, CANCELLED)
    }

    /// [`Engine::cancel`], for a `reason` other than the operator's word
    /// (e.g. the job's source took it back).
    pub fn cancel_because(&self, id: JobId, reason: &str) -> Result<(), EngineError> {
        self.end(id, || Move::Cancel {
            reason: reason.into(),
        })
    }

    /// Ends a job that has not finished as `failed`, retryable, with
    /// `reason`: its source cannot wait longer (e.g. 3Speak's stall clock
    /// while replicas are missing). What it made so far (replicas, the HLS
    /// folder) is kept, so `tank retry` goes on from there.
    pub fn give_up(&self, id: JobId, reason: &str) -> Result<(), EngineError> {
        self.end(id, || Move::Fail {
            error: reason.into(),
            retryable: true,
        })
    }

    /// Commits `end` from wherever the job is, then stops its run.
    fn end(&self, id: JobId, end: impl Fn() -> Move) -> Result<(), EngineError> {
        loop {
            let state = self.inner.store.job(id)?.state;
            if state.is_terminal() {
                return Err(EngineError::NotRunning { id, state });
            }
            match self.commit(id, state, end()) {
                // The run moved the job on meanwhile: end it where it is now.
                Err(EngineError::Store(StoreError::Conflict { .. })) => continue,
                result => result?,
            };
            self.inner.controls.stop(id);
            return Ok(());
        }
    }

    /// Pauses (or resumes) all work: no job starts and no gateway job is
    /// claimed while paused; running jobs stop where they are and continue
    /// when work resumes.
    pub fn pause_all(&self, paused: bool) {
        self.inner
            .controls
            .paused_all
            .store(paused, Ordering::Relaxed);
        if paused {
            self.inner.controls.stop_all();
        }
        tracing::info!(
            paused,
            "all work {}",
            if paused { "paused" } else { "resumed" }
        );
    }

    pub fn is_paused(&self) -> bool {
        self.inner.controls.paused_all.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::engine_with_job;
    use tank_model::JobState;

    #[test]
    fn a_paused_job_waits_until_it_is_resumed() {
        let (_dir, engine, id) = engine_with_job();
        let run = engine.inner.controls.register(id);
        engine.pause(id).unwrap();
        assert!(run.stop.is_cancelled(), "its run stops where it is");
        assert!(engine.jobs().unwrap()[0].paused);
        assert!(
            !engine.interrupted().unwrap().contains(&id),
            "the scheduler leaves it"
        );
        assert_eq!(
            engine.report(id).unwrap().state,
            JobState::Queued,
            "no state is lost"
        );

        engine.resume(id).unwrap();
        assert!(!engine.jobs().unwrap()[0].paused);
        assert_eq!(engine.interrupted().unwrap(), [id]);
    }

    #[test]
    fn a_cancelled_job_ends_with_the_reason_in_its_history() {
        let (_dir, engine, id) = engine_with_job();
        let run = engine.inner.controls.register(id);
        engine.cancel(id).unwrap();
        assert!(run.stop.is_cancelled());
        let report = engine.report(id).unwrap();
        assert_eq!(report.state, JobState::Cancelled);
        let last = report.history.last().unwrap();
        assert_eq!(last.detail.as_deref(), Some("cancelled by the operator"));

        let again = engine.cancel(id).unwrap_err();
        assert!(matches!(again, EngineError::NotRunning { .. }), "{again}");
        assert!(matches!(
            engine.pause(id),
            Err(EngineError::NotRunning { .. })
        ));
    }

    #[test]
    fn pausing_all_work_stops_every_run_until_resumed() {
        let (_dir, engine, id) = engine_with_job();
        let run = engine.inner.controls.register(id);
        engine.pause_all(true);
        assert!(engine.is_paused() && run.stop.is_cancelled());
        engine.pause_all(false);
        assert!(!engine.is_paused());
        assert!(
            !engine.jobs().unwrap()[0].paused,
            "jobs themselves are not marked"
        );
    }

    #[test]
    fn pausing_a_job_that_does_not_exist_says_so() {
        let (_dir, engine, _) = engine_with_job();
        assert!(engine.pause(99).unwrap_err().is_no_such_job());
        assert!(engine.cancel(99).unwrap_err().is_no_such_job());
    }
}
