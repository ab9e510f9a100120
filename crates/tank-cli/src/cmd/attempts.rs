//! `tank attempts`: the retry history, every call to every node, newest first.

use std::process::ExitCode;

use tank_engine::Engine;
use tank_model::{AttemptFilter, JobId};

use super::{show, Failure};
use crate::render;

pub fn run(
    engine: &Engine,
    job: Option<JobId>,
    node: Option<String>,
    failed_only: bool,
    limit: u32,
    json: bool,
) -> Result<ExitCode, Failure> {
    let attempts = engine.attempts(&AttemptFilter {
        job,
        node,
        failed_only,
        limit,
    })?;
    show(&attempts, json, |attempts| render::attempts(attempts));
    Ok(ExitCode::SUCCESS)
}
