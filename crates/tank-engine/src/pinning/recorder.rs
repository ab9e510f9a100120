//! Every call to a node on behalf of a job goes through [`Recorder::call`]:
//! timed, committed to the store, and announced, whatever its outcome.

use std::fmt::Display;
use std::future::Future;
use std::time::Instant;

use tank_ipfs::IpfsError;

use crate::events::Events;
use crate::pinning::breakers::Breakers;
use tank_model::JobEvent;
use tank_model::{Attempt, JobId};
use tank_store::{now_ms, rfc3339, Store};

/// An error an attempt can end with.
pub trait AttemptError: Display {
    /// The node's HTTP status, when it answered with an error.
    fn http_status(&self) -> Option<u16>;

    /// Whether this failure says the node itself is in trouble (down,
    /// hanging, erroring) and should count toward opening its breaker. A
    /// refused credential or a lie is not the kind of trouble a pause cures.
    fn counts_against_node(&self) -> bool;
}

impl AttemptError for IpfsError {
    fn http_status(&self) -> Option<u16> {
        IpfsError::http_status(self)
    }

    fn counts_against_node(&self) -> bool {
        self.is_node_unavailable() || self.http_status().is_some_and(|s| s >= 500)
    }
}

impl AttemptError for tank_gateway::GatewayError {
    fn http_status(&self) -> Option<u16> {
        match self {
            tank_gateway::GatewayError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }

    fn counts_against_node(&self) -> bool {
        false // the platform's services are not pinning nodes
    }
}

/// Where the history puts a stage's own failures (an encode, a download
/// cut off), which are no node's.
pub const THIS_ENCODER: &str = "this encoder";

#[derive(Clone)]
pub struct Recorder {
    pub store: Store,
    pub events: Events,
    pub breakers: Breakers,
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
        match &result {
            Ok(_) => self.breakers.record(node, true),
            Err(e) if e.counts_against_node() => self.breakers.record(node, false),
            Err(_) => {}
        }
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
        self.save(attempt, started_ms);
        result
    }

    /// Records that `node` was not called, and why (breaker open, no
    /// credentials): the retry history shows every node's part in a job.
    pub fn skipped(&self, node: &str, op: &str, reason: &str) {
        self.failed_without_call(node, op, 0, reason);
    }

    /// Records that the job's stage `op` failed for the `failure`th time
    /// for a reason of our machine or the network, and is tried again
    /// after `wait`: the history shows why a job took longer.
    pub fn retrying(&self, op: &str, failure: u32, error: &str, wait: std::time::Duration) {
        let reason = format!("{error} (trying again in {})", shown_wait(wait));
        self.failed_without_call(THIS_ENCODER, op, failure, &reason);
    }

    fn failed_without_call(&self, node: &str, op: &str, attempt: u32, reason: &str) {
        let now = now_ms();
        self.save(
            Attempt {
                node: node.to_owned(),
                op: op.to_owned(),
                attempt,
                ok: false,
                error: Some(reason.to_owned()),
                ms: 0,
                started_at: rfc3339(now),
                http_status: None,
            },
            now,
        );
    }

    fn save(&self, attempt: Attempt, started_ms: i64) {
        // A store that cannot take this record cannot take the next state
        // change either; the job stops there, so logging is enough here.
        if let Err(e) = self.store.record_attempt(self.job, &attempt, started_ms) {
            tracing::error!(job = self.job, %e, "could not record an attempt");
        }
        self.events.send(JobEvent::Attempt {
            job: self.job,
            attempt,
        });
    }
}

/// A wait as people read it: whole seconds, at least one (a jittered
/// "9s 712ms 3us" reads as "9s").
pub(crate) fn shown_wait(wait: std::time::Duration) -> humantime::FormattedDuration {
    humantime::format_duration(std::time::Duration::from_secs(wait.as_secs().max(1)))
}
