//! The pinning policy: every decision about which node works, when, how
//! often and for how long, as pure functions. The rest of `pinning/` (and
//! the upload, the pin queue) carry these decisions out; nothing else
//! decides them.
//!
//! - **Tier order**: nodes work primary first, then by tier, then as listed.
//! - **Quorum**: how many replicas are still missing.
//! - **Hedging**: another node starts as soon as the ones working cannot
//!   make the quorum without one that failed or is slow.
//! - **Troubled last**: a node that failed or timed out earlier in the
//!   same job goes behind every other candidate, of any tier, for the
//!   rest of the job: a hanging node costs the job one timeout, not one
//!   per stage.
//! - **Open breakers**: a node whose breaker is open is passed over, and
//!   gets one trial attempt only when nothing else is left.
//! - **Backoff**: waits between attempts follow `backoff` (the last
//!   repeats), each stretched or shrunk at random by up to `jitter`.
//! - **Parking**: a job without its quorum waits `park_backoff` between
//!   rounds, and fails (retryable) once it has waited `park_for`.
//! - **Stage retries**: a download, encode, upload or verification that
//!   failed for a reason of our machine or the network is tried again
//!   after `[jobs] retry_backoff`, up to `[jobs] retries` times.

use std::collections::HashSet;
use std::time::Duration;

use tank_config::{Config, NodeConfig, PinningConfig};
use tank_model::Attempt;

/// `nodes` in the order work goes to them: by tier (primary 0, backups 1
/// unless configured), then as listed.
pub fn in_work_order(mut nodes: Vec<NodeConfig>) -> Vec<NodeConfig> {
    // Stable: within a tier, as configured.
    nodes.sort_by_key(NodeConfig::tier_rank);
    nodes
}

/// Replicas still missing for a quorum of `quorum`.
pub fn still_needed(verified: usize, quorum: usize) -> usize {
    quorum.saturating_sub(verified)
}

/// The hedge trigger: start another candidate when the replicas secured
/// plus those the healthy running nodes are expected to bring fall short.
/// A node counts as struggling once an attempt failed or ran past
/// `hedge_after`; its replicas are then not counted on.
pub fn needs_another_node(got: usize, promising: usize, needed: usize) -> bool {
    got + promising < needed
}

/// How many attempts a node gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trial {
    /// `retries` attempts.
    Full,
    /// One attempt: its breaker is open, but no other node is left.
    Once,
}

impl Trial {
    pub fn attempts(self, config: &PinningConfig) -> u32 {
        match self {
            Trial::Full => config.retries,
            Trial::Once => 1,
        }
    }
}

/// Trial-once for open breakers: a node passed over for its open breaker
/// is tried only when no other candidate is left and nothing is running
/// (anything running may still make the quorum).
pub fn try_open_breaker(candidates_left: usize, running: usize) -> bool {
    candidates_left == 0 && running == 0
}

/// The wait after failed attempt `attempt` (1-based), before jitter: the
/// configured list, its last entry repeating.
pub fn backoff_after(config: &PinningConfig, attempt: u32) -> Duration {
    nth_wait(&config.backoff, attempt)
}

/// The nodes a job's history (`attempts`) shows failing a call: work
/// goes to them only after every other candidate. Records of calls never
/// made (attempt 0: a breaker open, no credentials) are not failures of
/// the node in this job.
pub fn troubled(attempts: &[Attempt]) -> HashSet<&str> {
    attempts
        .iter()
        .filter(|a| !a.ok && a.attempt > 0)
        .map(|a| a.node.as_str())
        .collect()
}

/// Wait number `n` (1-based) of a configured list whose last entry repeats
/// (validation makes sure the list is not empty).
fn nth_wait<W: std::ops::Deref<Target = Duration>>(waits: &[W], n: u32) -> Duration {
    *waits[(n.max(1) as usize - 1).min(waits.len() - 1)]
}

/// The wait before the stage of a job tries again after failure `failure`
/// (1-based) of our machine or the network (`[jobs] retry_backoff`),
/// jittered as node retries are; `None` once `[jobs] retries` are used up
/// and the job fails (retryable).
pub fn stage_retry_wait(config: &Config, failure: u32) -> Option<Duration> {
    (failure <= config.jobs.retries).then(|| {
        let spread = config.pinning.jitter * (fastrand::f64() * 2.0 - 1.0);
        nth_wait(&config.jobs.retry_backoff, failure).mul_f64(1.0 + spread)
    })
}

/// The wait after failed attempt `attempt`, stretched or shrunk by up to
/// `jitter` as `random` (in `[0, 1)`) says, so that many encoders do not
/// retry a struggling node in lockstep.
pub fn jittered(config: &PinningConfig, attempt: u32, random: f64) -> Duration {
    let spread = config.jitter * (random * 2.0 - 1.0);
    backoff_after(config, attempt).mul_f64(1.0 + spread)
}

/// [`jittered`] with a random draw: the wait before the next attempt.
pub fn retry_wait(config: &PinningConfig, attempt: u32) -> Duration {
    jittered(config, attempt, fastrand::f64())
}

/// The wait before round `round` (1-based) of a parked job.
pub fn park_wait(config: &PinningConfig, round: u32) -> Duration {
    nth_wait(&config.park_backoff, round)
}

/// Whether a job parked for `waited` has waited long enough: it fails
/// (retryable) instead of another round.
pub fn park_expired(config: &PinningConfig, waited: Duration) -> bool {
    waited > config.park_for
}

#[cfg(test)]
mod tests {
    use super::*;
    use humantime_serde::Serde;
    use tank_config::{Config, NodeRole};

    fn node(name: &str, role: NodeRole, tier: Option<u32>) -> NodeConfig {
        let mut node = NodeConfig::kubo(name, "http://127.0.0.1:1".parse().unwrap(), role);
        node.tier = tier;
        node
    }

    fn attempt(node: &str, n: u32, ok: bool) -> Attempt {
        Attempt {
            node: node.to_owned(),
            op: "id".to_owned(),
            attempt: n,
            ok,
            error: (!ok).then(|| "timed out".to_owned()),
            ms: 10_000,
            started_at: String::new(),
            http_status: None,
        }
    }

    #[test]
    fn a_node_that_failed_a_call_in_this_job_is_troubled_and_one_passed_over_is_not() {
        let history = [
            attempt("supernode", 1, false),
            attempt("backup-1", 1, true),
            attempt("backup-2", 0, false),
            attempt("supernode", 2, true),
        ];
        assert_eq!(troubled(&history), HashSet::from(["supernode"]));
    }

    #[test]
    fn tiers_order_the_nodes() {
        let nodes = vec![
            node("svc", NodeRole::Backup, Some(2)),
            node("b", NodeRole::Backup, None),
            node("p", NodeRole::Primary, None),
            node("b2", NodeRole::Backup, None),
        ];
        let order: Vec<_> = in_work_order(nodes).into_iter().map(|n| n.name).collect();
        assert_eq!(order, ["p", "b", "b2", "svc"]);
    }

    #[test]
    fn backoff_follows_the_list_and_its_last_wait_repeats() {
        let config = PinningConfig {
            backoff: [2, 4, 30]
                .map(|s| Serde::from(Duration::from_secs(s)))
                .into(),
            ..PinningConfig::default()
        };
        assert_eq!(backoff_after(&config, 1), Duration::from_secs(2));
        assert_eq!(backoff_after(&config, 3), Duration::from_secs(30));
        assert_eq!(backoff_after(&config, 9), Duration::from_secs(30));
    }

    #[test]
    fn retry_waits_stay_within_the_jitter() {
        let config = Config::default().pinning;
        for attempt in 1..=6 {
            let base = backoff_after(&config, attempt).as_secs_f64();
            let wait = retry_wait(&config, attempt).as_secs_f64();
            assert!(
                wait >= base * 0.8 - 1e-9 && wait <= base * 1.2 + 1e-9,
                "{wait} vs {base}"
            );
        }
        let base = backoff_after(&config, 1);
        assert_eq!(jittered(&config, 1, 0.5), base, "no spread in the middle");
        assert_eq!(jittered(&config, 1, 0.0), base.mul_f64(1.0 - config.jitter));
    }

    #[test]
    fn another_node_starts_when_the_promising_ones_fall_short() {
        assert!(
            needs_another_node(0, 1, 2),
            "one running node cannot make 2"
        );
        assert!(!needs_another_node(0, 2, 2), "two running nodes can");
        assert!(!needs_another_node(1, 1, 2));
        assert!(
            needs_another_node(1, 0, 2),
            "the struggling one is not counted"
        );
        assert_eq!(still_needed(1, 2), 1);
        assert_eq!(still_needed(3, 2), 0);
    }

    #[test]
    fn an_open_breaker_gets_one_trial_only_when_nothing_else_is_left() {
        assert!(!try_open_breaker(1, 0), "another candidate first");
        assert!(!try_open_breaker(0, 1), "a running node may still do it");
        assert!(try_open_breaker(0, 0));
        let config = PinningConfig::default();
        assert_eq!(Trial::Once.attempts(&config), 1);
        assert_eq!(Trial::Full.attempts(&config), config.retries);
    }

    #[test]
    fn a_parked_job_waits_longer_each_round_then_expires() {
        let config = PinningConfig {
            park_backoff: [1, 5]
                .map(|m| Serde::from(Duration::from_secs(60 * m)))
                .into(),
            park_for: Duration::from_secs(3600),
            ..PinningConfig::default()
        };
        assert_eq!(park_wait(&config, 1), Duration::from_secs(60));
        assert_eq!(park_wait(&config, 2), Duration::from_secs(300));
        assert_eq!(park_wait(&config, 7), Duration::from_secs(300));
        assert!(!park_expired(&config, Duration::from_secs(3600)));
        assert!(park_expired(&config, Duration::from_secs(3601)));
    }
}
