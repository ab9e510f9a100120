//! Circuit breakers: a node that keeps failing is left out at once instead
//! of burning every job's retry budget, then given one trial call after a
//! cooldown. Fed by every call jobs make (through the attempt recorder) and
//! by the health monitor; kept in the job store so every process agrees.

use std::time::Duration;

use tank_store::{now_ms, rfc3339, BreakerState, Store};

#[derive(Clone)]
pub struct Breakers {
    store: Store,
    failures_to_open: u32,
    cooldown: Duration,
}

impl Breakers {
    pub fn new(store: Store, failures_to_open: u32, cooldown: Duration) -> Breakers {
        Breakers {
            store,
            failures_to_open,
            cooldown,
        }
    }

    /// `Err` with the reason when the node must be skipped now.
    pub fn allows(&self, node: &str) -> Result<(), String> {
        match self.store.breaker(node, now_ms()) {
            Ok(BreakerState::Open { until }) => Err(format!(
                "skipped: circuit breaker open until {} after repeated failures",
                rfc3339(until)
            )),
            Ok(BreakerState::Closed | BreakerState::HalfOpen) => Ok(()),
            Err(e) => {
                tracing::error!(node, %e, "cannot read the circuit breaker; letting the call through");
                Ok(())
            }
        }
    }

    /// The outcome of one call to `node`.
    pub fn record(&self, node: &str, healthy: bool) {
        let now = now_ms();
        let result = if healthy {
            self.store.breaker_success(node, now)
        } else {
            self.store
                .breaker_failure(
                    node,
                    self.failures_to_open,
                    self.cooldown.as_millis() as i64,
                    now,
                )
                .map(|opened| {
                    if let Some(until) = opened {
                        tracing::warn!(node, until = %rfc3339(until), "circuit breaker opened");
                    }
                })
        };
        if let Err(e) = result {
            tracing::error!(node, %e, "cannot update the circuit breaker");
        }
    }

    /// The health monitor found the node down: keep it out for a while.
    pub fn open(&self, node: &str) {
        if let Err(e) = self
            .store
            .open_breaker(node, now_ms() + self.cooldown.as_millis() as i64)
        {
            tracing::error!(node, %e, "cannot open the circuit breaker");
        }
    }
}
