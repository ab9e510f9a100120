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
//! | 3    | the job is durable on fewer nodes than the quorum; it waits in the pin queue (`awaiting_replicas`) |
//! | 130  | interrupted; `tank resume` continues the job |

mod progress;
mod render;

use std::path::PathBuf;
use std::process::ExitCode;

use std::io::IsTerminal;

use clap::{Parser, Subcommand};
use tank_engine::{
    AttemptFilter, AuditOutcome, Config, Engine, EngineError, JobId, JobInput, JobReport, JobState,
    Paths, Secrets,
};

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
        #[arg(long, conflicts_with = "log")]
        json: bool,
        /// Print the job's log instead: state changes, node calls and audits in order
        #[arg(long)]
        log: bool,
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
    /// Run a failed (retryable) or parked job again from the stage it stopped in
    Retry {
        id: JobId,
        #[arg(long)]
        json: bool,
    },
    /// Run the background work until interrupted: pin queue, health monitor, audits, alerts
    Daemon,
    /// The retry history: every call to every node, newest first
    Attempts {
        /// Only this job's
        #[arg(long)]
        job: Option<JobId>,
        /// Only this node's
        #[arg(long)]
        node: Option<String>,
        /// Only failed calls
        #[arg(long)]
        failed: bool,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Verify the replicas of finished jobs now, re-pinning any that vanished
    Audit {
        /// Audit this job (default: a random sample of finished jobs)
        #[arg(long)]
        job: Option<JobId>,
        #[arg(long, default_value_t = 20)]
        sample: u32,
        #[arg(long)]
        json: bool,
    },
    /// Store or remove a secret in the OS keyring (node:<name>, alert:<name>)
    Secret {
        #[command(subcommand)]
        action: SecretAction,
    },
    /// The local IPFS node (kubo) Tank Encoder runs: status, start, stop, restart, logs
    Node {
        #[command(subcommand)]
        action: NodeAction,
    },
    /// This encoder's identity at the 3Speak gateway (a did:key)
    Identity {
        #[arg(long)]
        json: bool,
    },
    /// The 3Speak gateway: its state, this encoder's identity, the jobs taken from it
    Gateway {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum NodeAction {
    /// Whether it runs, its API, version, repo usage and recent events
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Start it (initialising its repo on first use); it keeps running after tank exits
    Start,
    /// Stop it (graceful shutdown, then kill)
    Stop,
    Restart,
    /// The end of its log
    Logs {
        #[arg(short = 'n', long, default_value_t = 50)]
        lines: usize,
    },
}

#[derive(Subcommand)]
enum SecretAction {
    /// Read the secret from standard input (not echoed on a terminal) and store it
    Set { key: String },
    /// Remove the secret
    Delete { key: String },
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
    init_logging(cli.verbose, matches!(cli.command, Command::Daemon));
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
    let (config, data_dir) = load_config(&cli)?;
    if let Command::Secret { action } = &cli.command {
        return secret(&config, action);
    }
    let engine = Engine::open(config, &data_dir)?;
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
        Command::Daemon => {
            engine.run_daemon(shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
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
        Command::Job { id, log: true, .. } => {
            for line in engine.job_log(id)? {
                println!("{}  {}", line.at, line.text);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Job { id, json, .. } => {
            let report = engine.report(id)?;
            show(&report, json);
            Ok(ExitCode::SUCCESS)
        }
        Command::Attempts {
            job,
            node,
            failed,
            limit,
            json,
        } => {
            let attempts = engine.attempts(&AttemptFilter {
                job,
                node,
                failed_only: failed,
                limit,
            })?;
            if json {
                print_json(&attempts);
            } else {
                print!("{}", render::attempts(&attempts));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit { job, sample, json } => {
            let records = match job {
                Some(id) => engine.audit_job(id).await?,
                None => engine.audit(sample).await?,
            };
            if json {
                print_json(&records);
            } else {
                print!("{}", render::audits(&records));
            }
            let all_there = records.iter().all(|r| r.outcome != AuditOutcome::Missing);
            Ok(if all_there {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Nodes { json } => {
            let reports = engine.node_reports(20).await;
            if json {
                print_json(&reports);
            } else {
                print!("{}", render::nodes(&reports));
            }
            let all_up = reports.iter().all(|r| r.now.reachable);
            Ok(if all_up {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Node { action } => local_node(&engine, action).await,
        Command::Identity { json } => {
            let (did, source) = engine.identity()?;
            if json {
                print_json(&serde_json::json!({ "did": did, "source": source }));
            } else {
                println!("{did}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Gateway { json } => {
            let status = engine.gateway_status(20)?;
            if json {
                print_json(&status);
            } else {
                print!("{}", render::gateway(&status));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Secret { .. } => unreachable!("handled before opening the engine"),
    }
}

fn secret(config: &Config, action: &SecretAction) -> Result<ExitCode, Failure> {
    let secrets = Secrets::new(&config.secrets.service);
    let failed = |e: tank_engine::SecretError| Failure::Runtime(e.to_string());
    match action {
        SecretAction::Set { key } => {
            let value = if std::io::stdin().is_terminal() {
                rpassword::prompt_password(format!("{key}: "))
                    .map_err(|e| Failure::Runtime(e.to_string()))?
            } else {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .map_err(|e| Failure::Runtime(e.to_string()))?;
                line.trim_end_matches(['\r', '\n']).to_owned()
            };
            if value.is_empty() {
                return Err(Failure::Usage(format!("no value given for {key}")));
            }
            secrets.set(key, &value).map_err(failed)?;
            eprintln!("stored {key} in the OS keyring");
        }
        SecretAction::Delete { key } => {
            if secrets.delete(key).map_err(failed)? {
                eprintln!("removed {key} from the OS keyring");
            } else {
                eprintln!("{key} was not in the OS keyring");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn local_node(engine: &Engine, action: NodeAction) -> Result<ExitCode, Failure> {
    let Some(local) = engine.local_node() else {
        return Err(Failure::Usage(
            "the local node is not enabled: set `enabled = true` under [local_node] in the config file".into(),
        ));
    };
    // Events are shown and recorded as the manager reports them.
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let record = move |event| {
        let _ = sender.send(event);
    };
    let outcome = match action {
        NodeAction::Status { json } => {
            let status = local.status().await;
            let events = engine.local_node_events(10)?;
            if json {
                print_json(
                    &serde_json::json!({ "status": status, "events": events.iter().map(|(at, e)| serde_json::json!({"at": at, "event": e, "description": e.describe()})).collect::<Vec<_>>() }),
                );
            } else {
                print!("{}", render::local_node(&status, &events));
            }
            return Ok(if status.running.is_some() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
        NodeAction::Logs { lines } => {
            for line in tank_node::log_tail(&local.log_path(), lines) {
                println!("{line}");
            }
            return Ok(ExitCode::SUCCESS);
        }
        NodeAction::Start => local.start(&record).await.map(drop),
        NodeAction::Stop => local.stop(&record).await,
        NodeAction::Restart => match local.stop(&record).await {
            Ok(()) => local.start(&record).await.map(drop),
            Err(e) => Err(e),
        },
    };
    drop(record);
    while let Some(event) = receiver.recv().await {
        eprintln!("local node: {}", event.describe());
        engine.local_node_event(event).await;
    }
    outcome.map_err(|e| Failure::Runtime(e.to_string()))?;
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C, or SIGTERM (systemd, `kill`).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM can be watched");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
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
        JobState::AwaitingReplicas => ExitCode::from(3),
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

/// The config (file, then environment) and the data directory.
fn load_config(cli: &Cli) -> Result<(Config, PathBuf), Failure> {
    let paths = Paths::resolve(cli.config.clone(), cli.data_dir.clone())
        .map_err(|e| Failure::Usage(format!("{e} (--config, --data-dir)")))?;
    let config = Config::load(&paths.config, paths.config_required).map_err(EngineError::from)?;
    Ok((config, paths.data_dir))
}

fn init_logging(verbose: u8, daemon: bool) {
    let default = match verbose {
        0 if daemon => "info",
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for people: the journal and log files get text.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
