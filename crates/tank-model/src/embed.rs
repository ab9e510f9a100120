//! Jobs taken from 3Speak's embed system, and the reports owed for them.
//!
//! An embed job has no id of its own: owner, permlink and input name it.
//! While it is open (ours, not yet reported) its progress goes to its
//! webhook. It closes in the same transaction that commits its report to
//! the outbox; nothing about it is sent after that but the report.

use serde::{Deserialize, Serialize};

use crate::job::{JobId, JobRules};
use crate::state::JobState;

/// One claim of an embed job (the same video may be claimed again after it
/// came back to the queue).
pub type EmbedId = i64;

/// How the job reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum EmbedVia {
    /// Claimed with `myJob` (community mode).
    Community,
    /// Pushed to our `POST /encode` (managed mode).
    Managed,
}

impl EmbedVia {
    pub fn as_str(self) -> &'static str {
        match self {
            EmbedVia::Community => "community",
            EmbedVia::Managed => "managed",
        }
    }

    pub fn parse(text: &str) -> Option<EmbedVia> {
        [EmbedVia::Community, EmbedVia::Managed]
            .into_iter()
            .find(|v| v.as_str() == text)
    }
}

/// An embed job as the embed system described it. Its key travels beside
/// it, never inside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EmbedVideo {
    pub via: EmbedVia,
    pub owner: String,
    pub permlink: String,
    /// As given: usually an IPFS HTTP gateway URL of the source.
    pub input_cid: String,
    pub short: bool,
    pub premium: bool,
    pub webhook_url: String,
    pub frontend_app: Option<String>,
    pub original_filename: Option<String>,
}

impl EmbedVideo {
    /// 3Speak's encoding rules for this job: a short is 480p only and at
    /// most 60 s; any other job is 480p only unless premium, when it gets
    /// up to 1080p (never upscaled: the planner keeps rungs within the
    /// source). Every job gets segments sized by its length, at most 30
    /// fps (never raised) and a sound track, silent when the source has
    /// none. Its result also goes to 3Speak's hotnode, as 3Speak's own
    /// encoder uploads. Its source may only be on a public address.
    pub fn rules(&self) -> JobRules {
        let (max_rung, max_seconds) = match (self.short, self.premium) {
            (true, _) => (480, Some(60)),
            (false, false) => (480, None),
            (false, true) => (1080, None),
        };
        JobRules {
            max_rung: Some(max_rung),
            max_seconds,
            adaptive_segments: true,
            max_fps: Some(30),
            silent_audio: true,
            platform_copy: true,
            public_sources_only: true,
        }
    }
}

/// An embed job as stored, with the state of its local job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EmbedClaim {
    pub id: EmbedId,
    pub job_id: JobId,
    pub job_state: Option<JobState>,
    #[serde(flatten)]
    pub video: EmbedVideo,
    pub claimed_at: String,
    pub last_progress_at: Option<String>,
    /// The last progress the receiver took, in percent.
    pub last_progress: Option<u8>,
    /// Why the last progress call failed, when it did.
    pub progress_error: Option<String>,
    /// When its report was committed: no progress is sent after.
    pub closed_at: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum OutboxStatus {
    /// Committed, not yet taken by the receiver.
    Waiting,
    /// The receiver has it.
    Delivered,
    /// The receiver refused it for good (a 4xx): an alert said so.
    Refused,
}

impl OutboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Waiting => "waiting",
            OutboxStatus::Delivered => "delivered",
            OutboxStatus::Refused => "refused",
        }
    }

    pub fn parse(text: &str) -> Option<OutboxStatus> {
        [
            OutboxStatus::Waiting,
            OutboxStatus::Delivered,
            OutboxStatus::Refused,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// A report owed to a webhook receiver, committed before it is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OutboxEntry {
    pub id: i64,
    pub embed_id: EmbedId,
    pub job_id: JobId,
    pub owner: String,
    pub permlink: String,
    /// `complete` or `failed`.
    pub status_reported: String,
    /// The exact body sent, every time (JSON, without the key).
    pub body: serde_json::Value,
    pub status: OutboxStatus,
    pub tries: u32,
    pub last_error: Option<String>,
    /// What the receiver answered when it took the report.
    pub answer: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
    /// When the next try is due (ms since the epoch).
    #[serde(skip)]
    pub next_try_at: i64,
}
