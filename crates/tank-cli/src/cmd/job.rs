//! `tank job`: one job's report, or with `--log` its log.

use std::process::ExitCode;

use tank_engine::Engine;
use tank_model::JobId;

use super::{show, Failure};
use crate::render;

pub fn run(engine: &Engine, id: JobId, json: bool, log: bool) -> Result<ExitCode, Failure> {
    if log {
        for line in engine.job_log(id)? {
            println!("{}  {}", line.at, line.text);
        }
    } else {
        show(&engine.report(id)?, json, render::job);
    }
    Ok(ExitCode::SUCCESS)
}
