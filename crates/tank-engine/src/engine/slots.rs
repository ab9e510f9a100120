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
//! fair), so no job starves. A job that has to wait says so, with a
//! [`JobEvent::Slot`] and in [`Engine::jobs`], so the window does not show
//! it probing when it waits for the CPU.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tank_config::JobsConfig;
use tank_model::{JobEvent, JobId, JobState, StageKind};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::Engine;
use crate::error::EngineError;

pub(super) struct StageSlots {
    encode: Arc<Semaphore>,
    network: Arc<Semaphore>,
    /// The jobs whose stage waits for a slot now, and for which kind.
    waiting: Mutex<HashMap<JobId, StageKind>>,
}

impl StageSlots {
    pub(super) fn new(jobs: &JobsConfig) -> StageSlots {
        StageSlots {
            encode: Arc::new(Semaphore::new(jobs.max_concurrent as usize)),
            network: Arc::new(Semaphore::new(jobs.max_network as usize)),
            waiting: Mutex::default(),
        }
    }

    /// What job `id`'s stage waits for, if it waits.
    pub(super) fn waiting_for(&self, id: JobId) -> Option<StageKind> {
        self.waiting.lock().expect("not poisoned").get(&id).copied()
    }
}

/// Takes job `id` off the waiting list however its wait ends (the slot
/// taken, or the run dropped while it waited).
struct Waiting<'a> {
    engine: &'a Engine,
    id: JobId,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let inner = &self.engine.inner;
        let waiting = &inner.slots.waiting;
        // A poisoned map still holds valid entries: none is left behind.
        waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
        inner.events.send(JobEvent::Slot {
            job: self.id,
            waiting_for: None,
        });
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
    /// Waits for the slot job `id`'s stage in `state` needs; `None` when it
    /// needs none. A wait is announced as it starts and as it ends.
    pub(super) async fn take_slot(
        &self,
        id: JobId,
        state: JobState,
    ) -> Option<OwnedSemaphorePermit> {
        let kind = state.stage_kind()?;
        let slots = &self.inner.slots;
        let semaphore = match kind {
            StageKind::Cpu => &slots.encode,
            StageKind::Network => &slots.network,
        };
        if let Ok(permit) = semaphore.clone().try_acquire_owned() {
            return Some(permit);
        }
        slots.waiting.lock().expect("not poisoned").insert(id, kind);
        self.inner.events.send(JobEvent::Slot {
            job: id,
            waiting_for: Some(kind),
        });
        let _waiting = Waiting { engine: self, id };
        // The semaphores are never closed.
        Some(
            semaphore
                .clone()
                .acquire_owned()
                .await
                .expect("slots stay open"),
        )
    }

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

    use tank_config::Config;
    use tank_model::{JobEvent, JobId, JobState, StageKind};

    use crate::engine::Engine;
    use crate::test_support::engine_with_job;

    /// An engine with one encode slot and one network slot, and two jobs.
    fn engine_with_one_slot_each() -> (tempfile::TempDir, Engine, JobId, JobId) {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.jobs.max_concurrent = 1;
        config.jobs.max_network = 1;
        let engine = Engine::open(config, dir.path()).unwrap();
        let job = |name: &str| engine.store().create_job(name, engine.jobs_root()).unwrap();
        let (a, b) = (job("/videos/a.mp4"), job("/videos/b.mp4"));
        (dir, engine, a, b)
    }

    #[tokio::test]
    async fn an_encode_slot_is_not_taken_by_a_job_in_a_network_stage() {
        let (_dir, engine, a, b) = engine_with_one_slot_each();
        let _pinning = engine
            .take_slot(a, JobState::Pinning)
            .await
            .expect("a network slot");
        let encode = tokio::time::timeout(
            Duration::from_secs(1),
            engine.take_slot(b, JobState::Encoding),
        );
        assert!(encode.await.expect("encode slot free").is_some());

        let second_network = tokio::time::timeout(
            Duration::from_millis(100),
            engine.take_slot(b, JobState::Uploading),
        );
        assert!(
            second_network.await.is_err(),
            "the one network slot is taken"
        );
        assert!(
            engine.take_slot(b, JobState::Queued).await.is_none(),
            "queued needs none"
        );
    }

    #[tokio::test]
    async fn a_job_waiting_for_a_slot_says_so_until_it_has_one() {
        let (_dir, engine, a, b) = engine_with_one_slot_each();
        let mut events = engine.events().subscribe();
        let encoding = engine.take_slot(a, JobState::Encoding).await;
        let waiting_for = |id: JobId| {
            let jobs = engine.jobs().unwrap();
            jobs.iter()
                .find(|job| job.id == id)
                .unwrap()
                .waiting_for_slot
        };
        assert_eq!(waiting_for(a), None, "a free slot is taken without a wait");

        let probing = tokio::spawn({
            let engine = engine.clone();
            async move { engine.take_slot(b, JobState::Probing).await.is_some() }
        });
        let announced = events.recv().await.unwrap();
        assert_eq!(
            announced,
            JobEvent::Slot {
                job: b,
                waiting_for: Some(StageKind::Cpu)
            }
        );
        assert_eq!(waiting_for(b), Some(StageKind::Cpu));

        drop(encoding);
        assert!(
            probing.await.unwrap(),
            "the freed slot goes to the waiting job"
        );
        assert_eq!(
            events.recv().await.unwrap(),
            JobEvent::Slot {
                job: b,
                waiting_for: None
            }
        );
        assert_eq!(waiting_for(b), None);
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
