//! The job state machine: the states, which moves between them are legal,
//! and what follows each stage's outcome. The engine's lifecycle is the
//! only code that moves a job, and it asks this table first.

use serde::{Deserialize, Serialize};

/// Where a job is. Every change is committed before the work of the next
/// state starts, so after a crash a job resumes at the state it was in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum JobState {
    Queued,
    Downloading,
    Probing,
    Encoding,
    Uploading,
    Pinning,
    Verifying,
    /// Durable on fewer nodes than the quorum; the pin queue keeps trying.
    AwaitingReplicas,
    /// A stage failed for a reason of our machine or the network (FFmpeg
    /// killed, nodes down, a connection cut); it runs again, from the
    /// stage it stopped in, once its backoff is over. Parked, like
    /// `awaiting_replicas`: the wait holds no slot and survives a crash.
    AwaitingRetry,
    Done,
    Failed,
    /// Stopped for good on purpose (e.g. a gateway job given back to the
    /// gateway); the reason is in `error`.
    Cancelled,
}

/// What a stage spends its time on, and so the kind of slot it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum StageKind {
    /// Probing and encoding: `[jobs] max_concurrent` at once.
    Cpu,
    /// Download, upload, pin and verify: `[jobs] max_network` at once.
    Network,
}

impl JobState {
    pub const ALL: [JobState; 12] = [
        JobState::Queued,
        JobState::Downloading,
        JobState::Probing,
        JobState::Encoding,
        JobState::Uploading,
        JobState::Pinning,
        JobState::Verifying,
        JobState::AwaitingReplicas,
        JobState::AwaitingRetry,
        JobState::Done,
        JobState::Failed,
        JobState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Downloading => "downloading",
            JobState::Probing => "probing",
            JobState::Encoding => "encoding",
            JobState::Uploading => "uploading",
            JobState::Pinning => "pinning",
            JobState::Verifying => "verifying",
            JobState::AwaitingReplicas => "awaiting_replicas",
            JobState::AwaitingRetry => "awaiting_retry",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<JobState> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// No more work will happen without someone asking (retry).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::Done | JobState::Failed | JobState::Cancelled
        )
    }

    /// A run stops here: finished, or parked (for the pin queue, or until
    /// a failed stage's backoff is over).
    pub fn is_resting(self) -> bool {
        self.is_terminal() || self.is_parked()
    }

    /// Waiting, with nothing running, for its next try (`next_attempt_at`):
    /// the daemon's scheduler wakes it then.
    pub fn is_parked(self) -> bool {
        matches!(self, JobState::AwaitingReplicas | JobState::AwaitingRetry)
    }

    /// A state with a stage to run (`queued` included: its stage decides
    /// where the input comes from).
    pub fn is_working(self) -> bool {
        !self.is_resting()
    }

    /// What this state's stage works with, and so which of the engine's
    /// slots it takes: probing and encoding keep the CPU busy, the other
    /// stages wait on the network. `None` for `queued` (its stage only
    /// reads the job) and for resting states.
    pub fn stage_kind(self) -> Option<StageKind> {
        match self {
            JobState::Probing | JobState::Encoding => Some(StageKind::Cpu),
            JobState::Downloading
            | JobState::Uploading
            | JobState::Pinning
            | JobState::Verifying => Some(StageKind::Network),
            JobState::Queued
            | JobState::AwaitingReplicas
            | JobState::AwaitingRetry
            | JobState::Done
            | JobState::Failed
            | JobState::Cancelled => None,
        }
    }

    /// Still to be encoded: a working job that has not reached `uploading`.
    /// Such a job needs an encode slot before it is done with the CPU. (A
    /// job in `awaiting_retry` needs one when the stage it wakes into does.)
    pub fn needs_encode(self) -> bool {
        matches!(
            self,
            JobState::Queued | JobState::Downloading | JobState::Probing | JobState::Encoding
        )
    }

    /// Where a job goes when this state's stage succeeds. A queued job's
    /// input decides: a remote one is downloaded first. `None` for resting
    /// states, which have no stage.
    pub fn after_success(self, remote_input: bool) -> Option<JobState> {
        Some(match self {
            JobState::Queued if remote_input => JobState::Downloading,
            JobState::Queued | JobState::Downloading => JobState::Probing,
            JobState::Probing => JobState::Encoding,
            JobState::Encoding => JobState::Uploading,
            JobState::Uploading => JobState::Pinning,
            JobState::Pinning => JobState::Verifying,
            JobState::Verifying => JobState::Done,
            JobState::AwaitingReplicas
            | JobState::AwaitingRetry
            | JobState::Done
            | JobState::Failed
            | JobState::Cancelled => return None,
        })
    }

    /// Whether a job may move from `self` to `to`: the transition table.
    ///
    /// - a stage succeeds: the next state ([`Self::after_success`]);
    /// - a working or parked job fails or is cancelled;
    /// - pinning parks for want of replicas, and a parked job wakes to
    ///   pinning again;
    /// - a stage (`queued` has none that fails) parks to retry, and wakes
    ///   back into the stage it stopped in;
    /// - a failed or parked job is retried, back to any working state (the
    ///   stage it stopped in);
    /// - an upload finds the HLS folder changed since its encode: encoding
    ///   again (downloading first, when the source was deleted).
    pub fn can_move_to(self, to: JobState) -> bool {
        let retryable = self == JobState::Failed || self.is_parked();
        match to {
            JobState::Failed | JobState::Cancelled => self.is_working() || self.is_parked(),
            JobState::AwaitingReplicas => self == JobState::Pinning,
            JobState::AwaitingRetry => self.is_working() && self != JobState::Queued,
            // The HLS folder changed after its encode: it is made again,
            // from a new download when the source is gone.
            JobState::Encoding | JobState::Downloading if self == JobState::Uploading => true,
            _ if retryable && to.is_working() => true,
            _ => [true, false]
                .into_iter()
                .any(|remote| self.after_success(remote) == Some(to)),
        }
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stage_but_queued_takes_a_slot_and_only_probe_and_encode_take_the_cpu() {
        for state in JobState::ALL {
            let expected = match state {
                JobState::Probing | JobState::Encoding => Some(StageKind::Cpu),
                JobState::Queued => None,
                s if s.is_working() => Some(StageKind::Network),
                _ => None,
            };
            assert_eq!(state.stage_kind(), expected, "{state}");
        }
    }

    #[test]
    fn a_job_needs_an_encode_until_the_encode_stage_succeeds() {
        // Walk the happy path of a remote job: every state up to encoding
        // still needs the encode; from uploading on, none does.
        let mut state = JobState::Queued;
        let mut seen_encoding = false;
        while let Some(next) = state.after_success(true) {
            assert_eq!(state.needs_encode(), !seen_encoding, "{state}");
            seen_encoding |= state == JobState::Encoding;
            state = next;
        }
        assert!(!JobState::AwaitingReplicas.needs_encode());
        assert!(!JobState::AwaitingRetry.needs_encode());
        assert!(!JobState::Failed.needs_encode());
    }

    #[test]
    fn states_round_trip_through_their_names() {
        for state in JobState::ALL {
            assert_eq!(JobState::parse(state.as_str()), Some(state));
        }
    }

    #[test]
    fn each_stage_leads_to_the_next_and_a_remote_input_is_downloaded_first() {
        use JobState::*;
        let path = |remote| {
            let mut states = vec![Queued];
            while let Some(next) = states.last().unwrap().after_success(remote) {
                states.push(next);
            }
            states
        };
        assert_eq!(
            path(true),
            [
                Queued,
                Downloading,
                Probing,
                Encoding,
                Uploading,
                Pinning,
                Verifying,
                Done
            ]
        );
        assert_eq!(
            path(false),
            [Queued, Probing, Encoding, Uploading, Pinning, Verifying, Done]
        );
    }

    #[test]
    fn the_table_allows_only_the_documented_moves() {
        use JobState::*;
        let legal = |from: JobState, to: JobState| from.can_move_to(to);
        assert!(legal(Encoding, Uploading) && !legal(Encoding, Pinning));
        assert!(legal(Pinning, AwaitingReplicas) && !legal(Encoding, AwaitingReplicas));
        assert!(legal(AwaitingReplicas, Pinning), "a parked job wakes");
        assert!(legal(AwaitingReplicas, Failed), "a parked job expires");
        assert!(legal(Uploading, AwaitingRetry) && legal(Downloading, AwaitingRetry));
        assert!(!legal(Queued, AwaitingRetry) && !legal(Failed, AwaitingRetry));
        assert!(
            legal(AwaitingRetry, Uploading) && legal(AwaitingRetry, Encoding),
            "a job waiting to retry wakes into the stage it stopped in"
        );
        assert!(legal(Failed, Uploading) && legal(Failed, Queued), "retry");
        assert!(
            legal(Uploading, Encoding),
            "a changed HLS folder is encoded again"
        );
        assert!(!legal(Pinning, Encoding) && !legal(Verifying, Uploading));
        assert!(
            !legal(Done, Queued) && !legal(Cancelled, Queued),
            "terminal"
        );
        assert!(!legal(Done, Failed) && !legal(Failed, Cancelled));
        assert!(!legal(Failed, Done) && !legal(Queued, Done));
        for state in JobState::ALL {
            assert_eq!(legal(state, Cancelled), !state.is_terminal(), "{state}");
        }
    }
}
