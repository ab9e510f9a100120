//! `tank jobs`: list every job, newest first.

use std::process::ExitCode;

use tank_engine::Engine;

use super::{show, Failure};
use crate::render;

pub fn run(engine: &Engine, json: bool) -> Result<ExitCode, Failure> {
    let jobs = engine.jobs()?;
    show(&jobs, json, |jobs| render::jobs(jobs));
    Ok(ExitCode::SUCCESS)
}
