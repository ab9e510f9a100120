//! Every call to a node on behalf of a job goes through [`Recorder::call`]:
//! timed, committed to the store, and announced, whatever its outcome.

use std::fmt::Display;
use std::future::Future;
use std::time::Instant;

use tank_ipfs::IpfsError;

use crate::events::{Events, JobEvent};
use crate::job::{Attempt, JobId};
use crate::store::{now_ms, rfc3339, Store};

/// An error an attempt can end with.
pub trait AttemptError: Display {
    /// The node's HTTP status, when it answered with an error.
    fn http_status(&self) -> Option<u16>;
}

impl AttemptError for IpfsError {
    fn http_status(&self) -> Option<u16> {
        IpfsError::http_status(self)
    }
}

#[derive(Clone)]
pub struct Recorder {
    pub store: Store,
    pub events: Events,
    pub job: JobId,
}

impl Recorder {
    /// Runs `call` as attempt `attempt` of `op` on `node` and records it.
    pub async fn call<T, E: AttemptError>(
        &self,
        node: &str,
        op: &str,
        attempt: u32,
        call: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let started_ms = now_ms();
        let started = Instant::now();
        let result = call.await;
        let attempt = Attempt {
            node: node.to_owned(),
            op: op.to_owned(),
            attempt,
            ok: result.is_ok(),
            error: result.as_ref().err().map(|e| e.to_string()),
            ms: started.elapsed().as_millis() as u64,
            started_at: rfc3339(started_ms),
            http_status: result.as_ref().err().and_then(|e| e.http_status()),
        };
        // A store that cannot take this record cannot take the next state
        // change either; the job stops there, so logging is enough here.
        if let Err(e) = self.store.record_attempt(self.job, &attempt, started_ms) {
            tracing::error!(job = self.job, %e, "could not record an attempt");
        }
        self.events.send(JobEvent::Attempt {
            job: self.job,
            attempt,
        });
        result
    }
}
