//! How far a job has come, in percent, as 3Speak's services want it: the
//! legacy gateway's pings and the embed system's progress calls both read
//! it here. Download progress comes from the engine's events; encode
//! progress from the store.

use std::collections::HashMap;

use tokio::sync::broadcast;

use tank_engine::Engine;
use tank_model::{JobEvent, JobId, JobState};

pub(crate) struct JobProgress {
    events: broadcast::Receiver<JobEvent>,
    /// Download progress of running jobs, in percent, from their events.
    downloads: HashMap<JobId, f64>,
}

impl JobProgress {
    pub fn new(events: broadcast::Receiver<JobEvent>) -> JobProgress {
        JobProgress {
            events,
            downloads: HashMap::new(),
        }
    }

    /// Reads the events that arrived since the last call.
    pub fn take_events(&mut self) {
        loop {
            match self.events.try_recv() {
                Ok(JobEvent::Download { job, bytes, total }) => {
                    if let Some(total) = total.filter(|t| *t > 0) {
                        let percent = (bytes as f64 * 100.0 / total as f64).min(100.0);
                        self.downloads.insert(job, percent);
                    }
                }
                Ok(JobEvent::State { job, state, .. }) if state.is_terminal() => {
                    self.downloads.remove(&job);
                }
                Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) => {}
                Err(_) => return,
            }
        }
    }

    /// Overall and download progress of `job`, now in `state`, in percent.
    pub fn of(&self, engine: &Engine, job: JobId, state: JobState) -> (f64, f64) {
        let row = engine.store().job(job).ok();
        // A job waiting to retry a stage is as far as that stage.
        let state = match state {
            JobState::AwaitingRetry => row.as_ref().and_then(|r| r.failed_stage).unwrap_or(state),
            state => state,
        };
        let encoded = (state == JobState::Encoding)
            .then(|| row?.progress?.percent)
            .flatten();
        overall(state, self.downloads.get(&job).copied(), encoded)
    }
}

/// A job's progress as the gateway wants it: overall percent (download a
/// tenth, encoding three quarters, then upload, pinning and verification)
/// and download percent.
fn overall(state: JobState, downloaded: Option<f64>, encoded: Option<f64>) -> (f64, f64) {
    let downloaded = match state {
        JobState::Queued => 0.0,
        JobState::Downloading => downloaded.unwrap_or(0.0),
        _ => 100.0,
    };
    let overall = match state {
        // (Parking to retry records the stage, so `of` never passes it.)
        JobState::Queued | JobState::AwaitingRetry => 0.0,
        JobState::Downloading => downloaded / 10.0,
        JobState::Probing => 10.0,
        JobState::Encoding => 10.0 + encoded.unwrap_or(0.0) * 0.75,
        JobState::Uploading => 85.0,
        JobState::Pinning | JobState::AwaitingReplicas => 90.0,
        JobState::Verifying => 95.0,
        JobState::Done | JobState::Failed | JobState::Cancelled => 100.0,
    };
    (
        (overall * 10.0).round() / 10.0,
        (downloaded * 10.0).round() / 10.0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_grows_through_the_stages_and_never_goes_back() {
        let steps = [
            overall(JobState::Queued, None, None),
            overall(JobState::Downloading, Some(50.0), None),
            overall(JobState::Downloading, Some(100.0), None),
            overall(JobState::Probing, None, None),
            overall(JobState::Encoding, None, Some(0.0)),
            overall(JobState::Encoding, None, Some(60.0)),
            overall(JobState::Encoding, None, Some(100.0)),
            overall(JobState::Uploading, None, None),
            overall(JobState::Pinning, None, None),
            overall(JobState::Verifying, None, None),
        ];
        for pair in steps.windows(2) {
            assert!(pair[0].0 <= pair[1].0, "{pair:?}");
        }
        assert_eq!(steps[1], (5.0, 50.0));
        assert_eq!(steps[5], (55.0, 100.0));
        assert_eq!(overall(JobState::AwaitingReplicas, None, None).0, 90.0);
    }
}
