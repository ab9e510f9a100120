//! One module per subcommand, each with the `run` that `main` dispatches
//! to, and what they share: the config, running a job to its end, printing
//! a result and the exit codes.

pub mod attempts;
pub mod audit;
pub mod daemon;
pub mod encode;
pub mod gateway;
pub mod identity;
pub mod job;
pub mod jobs;
pub mod node;
pub mod nodes;
pub mod resume;
pub mod retry;
pub mod secret;
pub mod setup;

use std::path::PathBuf;
use std::process::ExitCode;

use tank_config::{Config, Paths};
use tank_daemon::DaemonError;
use tank_engine::{Engine, EngineError};
use tank_model::{JobId, JobReport, JobState};

use crate::args::Cli;
use crate::{progress, render};

/// A command's result: what to print and the exit code.
pub enum Failure {
    Usage(String),
    Runtime(String),
}

impl From<EngineError> for Failure {
    fn from(e: EngineError) -> Failure {
        match e {
            EngineError::Config(_) | EngineError::Input(_) | EngineError::NoNodes => {
                Failure::Usage(e.to_string())
            }
            other => Failure::Runtime(other.to_string()),
        }
    }
}

impl From<DaemonError> for Failure {
    fn from(e: DaemonError) -> Failure {
        match e {
            DaemonError::Engine(e) => e.into(),
            other => Failure::Runtime(other.to_string()),
        }
    }
}

/// The config (file, then environment) and the data directory.
pub fn load_config(cli: &Cli) -> Result<(Config, PathBuf), Failure> {
    let paths = Paths::resolve(cli.config.clone(), cli.data_dir.clone())
        .map_err(|e| Failure::Usage(format!("{e} (--config, --data-dir)")))?;
    let config = Config::load(&paths.config, paths.config_required).map_err(EngineError::from)?;
    Ok((config, paths.data_dir))
}

/// Runs a job to its end while showing progress; Ctrl-C stops it resumably.
pub async fn run_job(engine: &Engine, id: JobId, json: bool) -> Result<ExitCode, Failure> {
    let watcher = progress::watch(engine.subscribe(), id);
    let outcome = tokio::select! {
        outcome = engine.run_to_end(id) => outcome,
        _ = tokio::signal::ctrl_c() => Err(EngineError::Stopped(id)),
    };
    watcher.abort();
    progress::clear_line();
    match outcome {
        Ok(report) => {
            show(&report, json, render::job);
            Ok(exit_code(&report))
        }
        Err(EngineError::Stopped(id)) => {
            eprintln!("tank: stopped job {id}; `tank resume` continues it");
            Ok(ExitCode::from(130))
        }
        Err(e) => Err(e.into()),
    }
}

fn exit_code(report: &JobReport) -> ExitCode {
    match report.state {
        JobState::Done => ExitCode::SUCCESS,
        JobState::AwaitingReplicas => ExitCode::from(3),
        _ => ExitCode::from(1),
    }
}

/// 0 when all is well (every replica there, every node up, the local node
/// running), else 1: a script or monitor needs only the code to notice.
pub fn success_if(all_ok: bool) -> ExitCode {
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Prints `value` as JSON with `--json`, else as `render` lays it out.
pub fn show<T: serde::Serialize>(value: &T, json: bool, render: impl FnOnce(&T) -> String) {
    if json {
        print_json(value);
    } else {
        print!("{}", render(value));
    }
}

pub fn print_json<T: serde::Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("reports serialise")
    );
}
