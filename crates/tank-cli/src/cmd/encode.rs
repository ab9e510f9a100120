//! `tank encode`: submit a video (file or URL) and run its job to the end.

use std::process::ExitCode;

use tank_engine::{Engine, EngineError};
use tank_model::JobInput;

use super::{run_job, Failure};

pub async fn run(engine: &Engine, input: &str, json: bool) -> Result<ExitCode, Failure> {
    // A relative path means relative to where the user ran tank.
    let cwd =
        std::env::current_dir().map_err(|e| Failure::Runtime(format!("current directory: {e}")))?;
    let input = JobInput::parse(input, &cwd).map_err(EngineError::from)?;
    let id = engine.submit(&input)?;
    run_job(engine, id, json).await
}
