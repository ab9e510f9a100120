//! Engine events to the window (and the tray and notifications), across
//! engine reopenings, with progress throttled: a window redrawn at most a
//! few times a second per job is all a person can read, and a slow webview
//! must not hold the engine back.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tank_model::{JobEvent, JobId};
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager};
use tokio::sync::broadcast::error::RecvError;

use crate::runtime::Runtime;

/// At most one progress event per job per this long.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Sends the app's events to `channel` until the window stops listening
/// or is closed (a closed window's channel may still accept sends).
pub fn forward(app: AppHandle, channel: Channel<JobEvent>) {
    let mut throttle = Throttle::new(PROGRESS_EVERY);
    let window = crate::window::generation();
    let handle = app.clone();
    follow(app, move |event| {
        crate::window::is_open(&handle, window)
            && throttle
                .pass(event, Instant::now())
                .into_iter()
                .all(|event| channel.send(event).is_ok())
    });
}

/// Calls `handle` with every event of the app's engine, whichever engine is
/// open, until `handle` returns false.
pub fn follow(app: AppHandle, mut handle: impl FnMut(JobEvent) -> bool + Send + 'static) {
    tauri::async_runtime::spawn(async move {
        let runtime = app.state::<Runtime>();
        let mut generations = runtime.generations();
        loop {
            let events = runtime.engine().map(|engine| engine.subscribe());
            let Ok(mut events) = events else {
                if generations.changed().await.is_err() {
                    return;
                }
                continue;
            };
            loop {
                tokio::select! {
                    changed = generations.changed() => match changed {
                        Ok(()) => break,
                        Err(_) => return,
                    },
                    event = events.recv() => match event {
                        Ok(event) => if !handle(event) { return },
                        Err(RecvError::Lagged(_)) => continue,
                        Err(RecvError::Closed) => return,
                    },
                }
            }
        }
    });
}

/// Lets state changes, slot waits, attempts and node events through at once, and
/// progress at most once per `every` per job. The latest held-back progress
/// goes out before the job's next state change, so a view never ends on
/// stale progress.
pub struct Throttle {
    every: Duration,
    last_sent: HashMap<JobId, Instant>,
    held: HashMap<JobId, JobEvent>,
}

impl Throttle {
    pub fn new(every: Duration) -> Throttle {
        Throttle {
            every,
            last_sent: HashMap::new(),
            held: HashMap::new(),
        }
    }

    /// The events to send now, in order.
    pub fn pass(&mut self, event: JobEvent, now: Instant) -> Vec<JobEvent> {
        match &event {
            JobEvent::Encode { job, .. } | JobEvent::Download { job, .. } => {
                let job = *job;
                let due = self
                    .last_sent
                    .get(&job)
                    .is_none_or(|sent| now.duration_since(*sent) >= self.every);
                if due {
                    self.last_sent.insert(job, now);
                    self.held.remove(&job);
                    vec![event]
                } else {
                    self.held.insert(job, event);
                    vec![]
                }
            }
            JobEvent::State { job, .. } => {
                let job = *job;
                self.last_sent.remove(&job);
                let mut out: Vec<JobEvent> = self.held.remove(&job).into_iter().collect();
                out.push(event);
                out
            }
            JobEvent::Slot { .. } | JobEvent::Attempt { .. } | JobEvent::NodeHealth { .. } => {
                vec![event]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tank_model::JobState;

    fn encoded(job: JobId, percent: f64) -> JobEvent {
        JobEvent::Encode {
            job,
            progress: tank_media::EncodeProgress {
                percent: Some(percent),
                fps: 30.0,
                speed: 1.0,
                encoded_secs: percent / 10.0,
            },
        }
    }

    #[test]
    fn progress_is_sent_at_most_once_per_interval_per_job() {
        let mut throttle = Throttle::new(Duration::from_millis(250));
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        assert_eq!(
            throttle.pass(encoded(1, 1.0), at(0)).len(),
            1,
            "the first goes out"
        );
        assert!(throttle.pass(encoded(1, 2.0), at(100)).is_empty());
        assert_eq!(
            throttle.pass(encoded(2, 1.0), at(100)).len(),
            1,
            "other jobs are not held back"
        );
        assert_eq!(
            throttle.pass(encoded(1, 3.0), at(260)),
            vec![encoded(1, 3.0)]
        );
    }

    #[test]
    fn held_progress_goes_out_before_the_next_state() {
        let mut throttle = Throttle::new(Duration::from_millis(250));
        let now = Instant::now();
        throttle.pass(encoded(1, 10.0), now);
        throttle.pass(encoded(1, 99.0), now);
        let uploading = JobEvent::State {
            job: 1,
            state: JobState::Uploading,
            detail: None,
        };
        assert_eq!(
            throttle.pass(uploading.clone(), now),
            vec![encoded(1, 99.0), uploading]
        );
    }
}
