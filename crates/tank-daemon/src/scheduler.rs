//! The scheduler and pin queue: runs jobs in the background: queued jobs
//! (from 3Speak, watch folders, the desktop app), jobs a stopped process
//! left mid-way, and parked jobs whose wait is over (the engine's lifecycle
//! wakes or expires them). It starts jobs while their encodes have room
//! (`[jobs] max_concurrent`, and `pipeline`); the engine gives each stage
//! its CPU or network slot. Each job runs in its own task; a job another
//! process works on is left alone (its lock says so). A job whose run
//! panics is committed `failed` (retryable), and its place is given back
//! whatever way its task ends.

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use tank_engine::{Engine, EngineError};
use tank_model::{JobId, JobReport};
use tokio::task::JoinSet;

pub struct Scheduler {
    engine: Engine,
    running: Arc<Mutex<HashSet<JobId>>>,
    tasks: JoinSet<()>,
}

impl Scheduler {
    pub fn new(engine: Engine) -> Scheduler {
        Scheduler {
            engine,
            running: Arc::default(),
            tasks: JoinSet::new(),
        }
    }

    /// Wakes parked jobs whose wait is over, then starts waiting jobs: as
    /// many still to encode as there are free places, and every one past
    /// its encode.
    pub fn round(&mut self) {
        while self.tasks.try_join_next().is_some() {}
        if self.engine.is_paused() {
            return;
        }
        if let Err(e) = self.engine.wake_parked() {
            tracing::error!(%e, "pin queue round failed");
        }
        let mut free = self.free_places();
        let waiting = match self.engine.interrupted() {
            Ok(ids) => ids,
            Err(e) => {
                tracing::error!(%e, "cannot list waiting jobs");
                return;
            }
        };
        for id in waiting {
            if self.running.lock().expect("not poisoned").contains(&id) {
                continue;
            }
            if self.takes_a_place(id) {
                if free == 0 {
                    continue;
                }
                free -= 1;
            }
            self.running.lock().expect("not poisoned").insert(id);
            let slot = Slot {
                id,
                running: self.running.clone(),
            };
            let engine = self.engine.clone();
            self.tasks.spawn(async move {
                let _slot = slot;
                tracing::info!(job = id, "running job");
                // A panic in a stage is caught here, not lost with the task.
                // (The run's locks and guards are dropped while unwinding.)
                match AssertUnwindSafe(engine.run(id)).catch_unwind().await {
                    Ok(outcome) => log_outcome(&outcome),
                    Err(payload) => fail_panicked(&engine, id, &panic_message(payload)),
                }
            });
        }
    }

    /// Whether starting job `id` spends one of [`Self::free_places`].
    /// Pipelined, a job past its encode (woken from parking, or stopped
    /// mid-upload) does not: it only waits on the network, where the
    /// engine's network slots bound it, so it never waits behind encodes.
    fn takes_a_place(&self, id: JobId) -> bool {
        !self.engine.config().jobs.pipeline
            // A job whose state cannot be read is counted, to be safe.
            || self
                .engine
                .store()
                .job(id)
                .map_or(true, |job| job.state.needs_encode())
    }

    /// How many more jobs may start now. Pipelined, a job counts until its
    /// encode is committed: each encode slot has a job encoding and one
    /// getting ready behind it (its source downloading), while jobs past
    /// their encode wait on the network in slots of their own (the
    /// engine's). Not pipelined, a job counts until it ends.
    fn free_places(&self) -> usize {
        let jobs = &self.engine.config().jobs;
        let running: Vec<JobId> = self
            .running
            .lock()
            .expect("not poisoned")
            .iter()
            .copied()
            .collect();
        if !jobs.pipeline {
            return (jobs.max_concurrent as usize).saturating_sub(running.len());
        }
        let to_encode = running
            .into_iter()
            .filter(|id| self.takes_a_place(*id))
            .count();
        (2 * jobs.max_concurrent as usize).saturating_sub(to_encode)
    }

    /// Stops every running job where it is (each resumes at the next start).
    pub async fn stop(mut self) {
        self.tasks.shutdown().await;
    }
}

/// A job's place among the running ones, given back when its task ends,
/// however it ends.
struct Slot {
    id: JobId,
    running: Arc<Mutex<HashSet<JobId>>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        // A poisoned set still holds valid ids: a slot is never leaked.
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running.remove(&self.id);
    }
}

/// A panic is our defect, not the input's: the job fails retryable, with
/// what panicked, so the operator can retry it once the defect is fixed.
fn fail_panicked(engine: &Engine, id: JobId, message: &str) {
    let reason = format!("internal error (a defect in Tank Encoder): {message}");
    tracing::error!(job = id, reason, "job run panicked");
    if let Err(e) = engine.give_up(id, &reason) {
        tracing::error!(job = id, %e, "cannot record the panicked job as failed");
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

fn log_outcome(outcome: &Result<JobReport, EngineError>) {
    match outcome {
        Ok(report) => {
            tracing::info!(job = report.id, state = %report.state, cid = ?report.cid, "job run ended")
        }
        Err(e) => tracing::error!(%e, "job run failed"),
    }
}
