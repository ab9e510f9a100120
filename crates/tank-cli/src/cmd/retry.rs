//! `tank retry`: run a failed or parked job again from the stage it stopped in.

use std::process::ExitCode;

use tank_engine::Engine;
use tank_model::JobId;

use super::{run_job, Failure};

pub async fn run(engine: &Engine, id: JobId, json: bool) -> Result<ExitCode, Failure> {
    engine.retry(id)?;
    run_job(engine, id, json).await
}
