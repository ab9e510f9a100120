//! `tank`: the headless Tank Encoder.
//!
//! A thin shell over `tank-engine`: parses arguments, loads the config,
//! calls the engine, prints what it says (for people, or as JSON with
//! `--json`) and turns the outcome into an exit code:
//!
//! | code | meaning |
//! |------|---------|
//! | 0    | done / the command worked |
//! | 1    | the job failed (see its `error` and `retryable`) or the command could not run |
//! | 2    | bad usage or configuration |
//! | 130  | interrupted; `tank resume` continues the job |

mod progress;
mod render;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tank_engine::{Config, Engine, EngineError, JobId, JobInput, JobReport, JobState};

#[derive(Parser)]
#[command(
    name = "tank",
    version,
    about = "Encode videos to HLS and keep them durably pinned on IPFS"
)]
struct Cli {
    /// Config file (TOML). Default: the platform's config folder, e.g. ~/.config/tank-encoder/config.toml
    #[arg(long, global = true, env = "TANK_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where jobs and their history live. Default: the platform's data folder
    #[arg(long, global = true, env = "TANK_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// More log output (-v: info, -vv: debug); RUST_LOG overrides
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Encode a video (file or http(s) URL) and make it durable on IPFS
    Encode {
        input: String,
        /// Print the final report as one JSON object
        #[arg(long)]
        json: bool,
    },
    /// List jobs, newest first
    Jobs {
        #[arg(long)]
        json: bool,
    },
    /// Show one job: state, CID, replicas, every attempt
    Job {
        id: JobId,
        #[arg(long)]
        json: bool,
    },
    /// Reachability and version of each configured IPFS node
    Nodes {
        #[arg(long)]
        json: bool,
    },
    /// Continue jobs a stopped or crashed tank left unfinished
    Resume {
        #[arg(long)]
        json: bool,
    },
    /// Run a failed, retryable job again from the stage it failed in
    Retry {
        id: JobId,
        #[arg(long)]
        json: bool,
    },
}

/// A command's result: what to print and the exit code.
enum Failure {
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(Failure::Usage(message)) => {
            eprintln!("tank: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(message)) => {
            eprintln!("tank: {message}");
            ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, Failure> {
    let engine = open_engine(&cli)?;
    match cli.command {
        Command::Encode { input, json } => {
            let cwd = std::env::current_dir()
                .map_err(|e| Failure::Runtime(format!("current directory: {e}")))?;
            let input = JobInput::parse(&input, &cwd).map_err(EngineError::from)?;
            let id = engine.submit(&input)?;
            run_job(&engine, id, json).await
        }
        Command::Resume { json } => {
            let ids = engine.interrupted()?;
            if ids.is_empty() && !json {
                println!("no unfinished jobs");
            }
            let mut worst = ExitCode::SUCCESS;
            for id in ids {
                let code = run_job(&engine, id, json).await?;
                if code != ExitCode::SUCCESS {
                    worst = code;
                }
            }
            Ok(worst)
        }
        Command::Retry { id, json } => {
            engine.retry(id)?;
            run_job(&engine, id, json).await
        }
        Command::Jobs { json } => {
            let jobs = engine.jobs()?;
            if json {
                print_json(&jobs);
            } else {
                print!("{}", render::jobs(&jobs));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Job { id, json } => {
            let report = engine.report(id)?;
            show(&report, json);
            Ok(ExitCode::SUCCESS)
        }
        Command::Nodes { json } => {
            let statuses = engine.node_statuses().await;
            if json {
                print_json(&statuses);
            } else {
                print!("{}", render::nodes(&statuses));
            }
            let all_up = statuses.iter().all(|s| s.reachable);
            Ok(if all_up {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

/// Runs a job to its end while showing progress; Ctrl-C stops it resumably.
async fn run_job(engine: &Engine, id: JobId, json: bool) -> Result<ExitCode, Failure> {
    let watcher = progress::watch(engine.subscribe(), id);
    let outcome = tokio::select! {
        outcome = engine.run(id) => outcome,
        _ = tokio::signal::ctrl_c() => Err(EngineError::Stopped(id)),
    };
    watcher.abort();
    progress::clear_line();
    match outcome {
        Ok(report) => {
            show(&report, json);
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
        _ => ExitCode::from(1),
    }
}

fn show(report: &JobReport, json: bool) {
    if json {
        print_json(report);
    } else {
        print!("{}", render::job(report));
    }
}

fn print_json<T: serde::Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("reports serialise")
    );
}

fn open_engine(cli: &Cli) -> Result<Engine, Failure> {
    let dirs = directories::ProjectDirs::from("tv", "3speak", "tank-encoder");
    let (config_path, required) = match (&cli.config, &dirs) {
        (Some(path), _) => (path.clone(), true),
        (None, Some(dirs)) => (dirs.config_dir().join("config.toml"), false),
        (None, None) => return Err(Failure::Usage("no home directory: pass --config".into())),
    };
    let data_dir = match (&cli.data_dir, &dirs) {
        (Some(dir), _) => dir.clone(),
        (None, Some(dirs)) => dirs.data_dir().to_owned(),
        (None, None) => return Err(Failure::Usage("no home directory: pass --data-dir".into())),
    };
    let config = Config::load(&config_path, required).map_err(EngineError::from)?;
    Ok(Engine::open(config, &data_dir)?)
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
