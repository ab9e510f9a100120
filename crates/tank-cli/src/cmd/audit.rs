//! `tank audit`: verify finished jobs' replicas now, re-pinning any that vanished.

use std::process::ExitCode;

use tank_daemon::Daemon;
use tank_model::{AuditOutcome, JobId};

use super::{show, success_if, Failure};
use crate::render;

pub async fn run(
    daemon: &Daemon,
    job: Option<JobId>,
    sample: u32,
    json: bool,
) -> Result<ExitCode, Failure> {
    let records = match job {
        Some(id) => daemon.audits().audit_job(id).await?,
        None => daemon.audits().audit(sample).await?,
    };
    show(&records, json, |records| render::audits(records));
    Ok(success_if(
        records.iter().all(|r| r.outcome != AuditOutcome::Missing),
    ))
}
