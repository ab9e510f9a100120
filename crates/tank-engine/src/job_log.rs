//! A job's log: its state changes, every call to a node and every audit of
//! its replicas, as one story in the order things happened. It is made
//! from the job's record in the store, so it is complete after a crash and
//! never disagrees with the retry history. The window shows its tail and
//! opens it as a file (`<job folder>/job.log`); `tank job <ID> --log`
//! prints it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::error::EngineError;
use crate::job::{Attempt, JobId, JobReport, JobState, StateChange};
use crate::store::{AuditOutcome, AuditRecord};

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

impl Engine {
    /// Job `id`'s log, oldest line first.
    pub fn job_log(&self, id: JobId) -> Result<Vec<JobLogLine>, EngineError> {
        Ok(log_of(&self.report(id)?))
    }

    /// Writes job `id`'s log to `job.log` in its folder (whole or not at
    /// all) and returns the file's path.
    pub fn write_job_log(&self, id: JobId) -> Result<PathBuf, EngineError> {
        let report = self.report(id)?;
        let dir = PathBuf::from(self.store().job(id)?.work_dir);
        let path = dir.join("job.log");
        let failed = |source| EngineError::DataDir {
            path: path.clone(),
            source,
        };
        let mut text = format!("Tank Encoder, job {id}: {}\n", report.input);
        for line in log_of(&report) {
            text.push_str(&format!("{}  {}\n", line.at, line.text));
        }
        std::fs::create_dir_all(&dir).map_err(failed)?;
        let mut file = tempfile::NamedTempFile::new_in(&dir).map_err(failed)?;
        std::io::Write::write_all(&mut file, text.as_bytes()).map_err(failed)?;
        file.persist(&path).map_err(|e| failed(e.error))?;
        Ok(path)
    }
}

fn log_of(report: &JobReport) -> Vec<JobLogLine> {
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
            audit.node,
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

#[cfg(test)]
mod tests {
    use crate::test_support::engine_with_job;

    #[test]
    fn the_log_file_is_written_in_the_jobs_folder_with_every_line() {
        let (_dir, engine, id) = engine_with_job();
        let path = engine.write_job_log(id).unwrap();
        assert_eq!(path.file_name().unwrap(), "job.log");
        assert!(path.starts_with(engine.jobs_root()));
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            format!("Tank Encoder, job {id}: /videos/talk.mp4")
        );
        let log = engine.job_log(id).unwrap();
        assert_eq!(lines.len(), 1 + log.len());
        assert!(lines[1].ends_with("→ queued"), "{text}");
    }
}
