//! Stage slots: how many jobs use the CPU and the network at once, and how
//! much room there is for one more job.
//!
//! A run takes a slot for each stage, not for the whole job: probing and
//! encoding take one of `[jobs] max_concurrent` encode slots, downloads,
//! uploads, pins and verifications one of `[jobs] max_network` network
//! slots. So a job that waits on a slow node, or for replicas, never keeps
//! the next one from encoding. A slot is released when its stage returns,
//! before the outcome is committed, and a stage's retry waits hold none.
//! Waiting for a slot is first come, first served (tokio's semaphores are
//! fair), so no job starves.

use std::sync::Arc;

use tank_config::JobsConfig;
use tank_model::{JobState, StageKind};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::Engine;
use crate::error::EngineError;

pub(super) struct StageSlots {
    encode: Arc<Semaphore>,
    network: Arc<Semaphore>,
}

impl StageSlots {
    pub(super) fn new(jobs: &JobsConfig) -> StageSlots {
        StageSlots {
            encode: Arc::new(Semaphore::new(jobs.max_concurrent as usize)),
            network: Arc::new(Semaphore::new(jobs.max_network as usize)),
        }
    }

    /// Waits for the slot `state`'s stage needs; `None` when it needs none.
    pub(super) async fn take(&self, state: JobState) -> Option<OwnedSemaphorePermit> {
        let slots = match state.stage_kind()? {
            StageKind::Cpu => &self.encode,
            StageKind::Network => &self.network,
        };
        // The semaphores are never closed.
        Some(
            slots
                .clone()
                .acquire_owned()
                .await
                .expect("slots stay open"),
        )
    }
}

/// How the unfinished jobs stand against the limits of `[jobs]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Room {
    /// Unfinished jobs still to be encoded (queued to encoding).
    to_encode: usize,
    /// Every unfinished job: working, parked or paused.
    unfinished: usize,
}

impl Engine {
    fn room(&self) -> Result<Room, EngineError> {
        let states = self.inner.store.unfinished_states()?;
        Ok(Room {
            to_encode: states.iter().filter(|s| s.needs_encode()).count(),
            unfinished: states.len(),
        })
    }

    /// Whether a 3Speak source may claim one more job now: not paused, an
    /// encode slot free for it (a claimed job should start at once: its
    /// progress clock runs from the claim), and fewer than `[jobs]
    /// max_unfinished` unfinished jobs (so parked ones do not pile up).
    pub fn has_room_for_a_claim(&self) -> Result<bool, EngineError> {
        if self.is_paused() {
            return Ok(false);
        }
        let jobs = &self.inner.config.jobs;
        let room = self.room()?;
        Ok(room.to_encode < jobs.max_concurrent as usize
            && room.unfinished < jobs.max_unfinished as usize)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tank_config::JobsConfig;
    use tank_model::JobState;

    use super::StageSlots;
    use crate::test_support::engine_with_job;

    #[tokio::test]
    async fn an_encode_slot_is_not_taken_by_a_job_in_a_network_stage() {
        let jobs = JobsConfig {
            max_concurrent: 1,
            max_network: 1,
            ..JobsConfig::default()
        };
        let slots = StageSlots::new(&jobs);
        let _pinning = slots.take(JobState::Pinning).await.expect("a network slot");
        let encode = tokio::time::timeout(Duration::from_secs(1), slots.take(JobState::Encoding));
        assert!(encode.await.expect("encode slot free").is_some());

        let second_network =
            tokio::time::timeout(Duration::from_millis(100), slots.take(JobState::Uploading));
        assert!(
            second_network.await.is_err(),
            "the one network slot is taken"
        );
        assert!(
            slots.take(JobState::Queued).await.is_none(),
            "queued needs none"
        );
    }

    #[test]
    fn a_claim_needs_a_free_encode_slot_and_room_under_max_unfinished() {
        let (_dir, engine, id) = engine_with_job();
        // The default: one encode slot, four unfinished jobs at most.
        assert!(
            !engine.has_room_for_a_claim().unwrap(),
            "a queued job takes the slot"
        );

        let store = engine.store();
        store
            .transition(id, JobState::Queued, JobState::Pinning, &[])
            .unwrap();
        assert!(
            engine.has_room_for_a_claim().unwrap(),
            "a pinning job needs no encode slot"
        );

        for i in 0..3 {
            let parked = store
                .create_job(&format!("/videos/{i}.mp4"), engine.jobs_root())
                .unwrap();
            store
                .transition(parked, JobState::Queued, JobState::Pinning, &[])
                .unwrap();
            store
                .park(parked, JobState::Pinning, "1 of 2 replicas", 0, &[])
                .unwrap();
        }
        let room = engine.room().unwrap();
        assert_eq!((room.to_encode, room.unfinished), (0, 4));
        assert!(
            !engine.has_room_for_a_claim().unwrap(),
            "four unfinished jobs are the limit"
        );
    }
}
