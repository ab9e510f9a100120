//! `tank resume`: continue the jobs a stopped or crashed tank left unfinished.

use std::process::ExitCode;

use tank_engine::Engine;
use tank_model::JobState;

use super::{run_job, Failure};

pub async fn run(engine: &Engine, json: bool) -> Result<ExitCode, Failure> {
    let mut ids = engine.interrupted()?;
    // Jobs a stopped run left waiting out a failed stage's backoff: this
    // run waits it out, then goes on.
    ids.extend(
        engine
            .jobs()?
            .into_iter()
            .filter(|job| job.state == JobState::AwaitingRetry && !job.paused)
            .map(|job| job.id),
    );
    ids.sort_unstable();
    // With --json the output is only the reports, so "none" is no output.
    if ids.is_empty() && !json {
        println!("no unfinished jobs");
    }
    // One job that did not finish fails the whole resume, so a script sees it.
    let mut worst = ExitCode::SUCCESS;
    for id in ids {
        let code = run_job(engine, id, json).await?;
        if code != ExitCode::SUCCESS {
            worst = code;
        }
    }
    Ok(worst)
}
