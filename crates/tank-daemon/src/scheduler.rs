//! The scheduler and pin queue: runs jobs in the background, at most
//! `[jobs] max_concurrent` at once: queued jobs (from the gateway, the
//! desktop app), jobs a stopped process left mid-way, and parked jobs whose
//! wait is over (the engine's lifecycle wakes or expires them). Each job runs in its
//! own task; a job another process works on is left alone (its lock says
//! so).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

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

    /// Wakes parked jobs whose wait is over, then starts as many waiting
    /// jobs as there are free slots.
    pub fn round(&mut self) {
        while self.tasks.try_join_next().is_some() {}
        if self.engine.is_paused() {
            return;
        }
        if let Err(e) = self.engine.wake_parked() {
            tracing::error!(%e, "pin queue round failed");
        }
        let free = (self.engine.config().jobs.max_concurrent as usize)
            .saturating_sub(self.running.lock().expect("not poisoned").len());
        if free == 0 {
            return;
        }
        let waiting = match self.engine.interrupted() {
            Ok(ids) => ids,
            Err(e) => {
                tracing::error!(%e, "cannot list waiting jobs");
                return;
            }
        };
        for id in waiting.into_iter().take(free) {
            if !self.running.lock().expect("not poisoned").insert(id) {
                continue;
            }
            let (engine, running) = (self.engine.clone(), self.running.clone());
            self.tasks.spawn(async move {
                tracing::info!(job = id, "running job");
                log_outcome(&engine.run(id).await);
                running.lock().expect("not poisoned").remove(&id);
            });
        }
    }

    /// Stops every running job where it is (each resumes at the next start).
    pub async fn stop(mut self) {
        self.tasks.shutdown().await;
    }
}

fn log_outcome(outcome: &Result<JobReport, EngineError>) {
    match outcome {
        Ok(report) => {
            tracing::info!(job = report.id, state = %report.state, cid = ?report.cid, "job run ended")
        }
        Err(e) => tracing::error!(%e, "job run failed"),
    }
}
