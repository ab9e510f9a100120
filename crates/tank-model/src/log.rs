//! A job's log: its state changes, every call to a node and every audit of
//! its replicas, as one story in the order things happened. It is made
//! from the job's record in the store, so it is complete after a crash and
//! never disagrees with the retry history. The window shows its tail and
//! opens it as a file (`<job folder>/job.log`, written by the engine);
//! `tank job <ID> --log` prints it.

use serde::{Deserialize, Serialize};

use crate::audit::{AuditOutcome, AuditRecord};
use crate::report::{Attempt, JobReport, StateChange};
use crate::state::JobState;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct JobLogLine {
    /// RFC 3339.
    pub at: String,
    pub text: String,
    pub tone: LogTone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum LogTone {
    Info,
    Ok,
    Error,
}

/// A job's log, oldest line first, from its report.
pub fn log_of(report: &JobReport) -> Vec<JobLogLine> {
    let mut lines: Vec<JobLogLine> = report
        .history
        .iter()
        .map(state_line)
        .chain(report.attempts.iter().map(attempt_line))
        .chain(report.audits.iter().map(audit_line))
        .collect();
    // Every time stamp is written the same way, so text order is time
    // order; the sort is stable, so lines of one instant keep their order.
    lines.sort_by(|a, b| a.at.cmp(&b.at));
    lines
}

fn state_line(change: &StateChange) -> JobLogLine {
    let tone = match change.state {
        JobState::Failed => LogTone::Error,
        JobState::Done => LogTone::Ok,
        _ => LogTone::Info,
    };
    JobLogLine {
        at: change.at.clone(),
        text: format!("→ {}{}", change.state, suffix(change.detail.as_deref())),
        tone,
    }
}

fn attempt_line(attempt: &Attempt) -> JobLogLine {
    let outcome = if attempt.ok {
        format!("ok in {} ms", attempt.ms)
    } else {
        let status = attempt
            .http_status
            .map(|s| format!(" (HTTP {s})"))
            .unwrap_or_default();
        let error = suffix(attempt.error.as_deref());
        format!("failed after {} ms{status}{error}", attempt.ms)
    };
    JobLogLine {
        at: attempt.started_at.clone(),
        text: format!(
            "{} {} #{} {outcome}",
            attempt.node, attempt.op, attempt.attempt
        ),
        tone: if attempt.ok {
            LogTone::Ok
        } else {
            LogTone::Error
        },
    }
}

fn audit_line(audit: &AuditRecord) -> JobLogLine {
    JobLogLine {
        at: audit.at.clone(),
        text: format!(
            "audit of {}: {}{}",
            audit.replica,
            audit.outcome.as_str(),
            suffix(audit.detail.as_deref())
        ),
        tone: match audit.outcome {
            AuditOutcome::Verified | AuditOutcome::Repaired => LogTone::Ok,
            AuditOutcome::Missing => LogTone::Error,
        },
    }
}

/// `": <detail>"`, or nothing.
fn suffix(detail: Option<&str>) -> String {
    detail.map(|d| format!(": {d}")).unwrap_or_default()
}
