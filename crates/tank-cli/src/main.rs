//! `tank`: the headless Tank Encoder.
//!
//! A thin shell over `tank-engine`: parses arguments (`args.rs`), loads the
//! config, hands each subcommand to its own function in `cmd/`, which calls
//! the engine and prints what it says (for people, or as JSON with
//! `--json`), and turns the outcome into an exit code:
//!
//! | code | meaning |
//! |------|---------|
//! | 0    | done / the command worked |
//! | 1    | the job failed (see its `error` and `retryable`) or the command could not run |
//! | 2    | bad usage or configuration |
//! | 3    | the job is durable on fewer nodes than the quorum; it waits in the pin queue (`awaiting_replicas`) |
//! | 130  | interrupted; `tank resume` continues the job |

mod args;
mod cmd;
mod progress;
mod render;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tank_daemon::Daemon;
use tank_engine::Engine;

use args::{Cli, Command};
use cmd::Failure;

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
    // A new install has no config file to load yet.
    if let Command::Setup { purpose } = cli.command {
        return cmd::setup::run(&cli, purpose);
    }
    let (config, data_dir) = cmd::load_config(&cli)?;
    // A secret needs only the keyring's service name: storing one must not
    // create the data directory and its database, as opening the engine does.
    if let Command::Secret { action } = &cli.command {
        return cmd::secret::run(&config, action);
    }
    let daemon = Daemon::new(Engine::open(config, &data_dir)?);
    let engine = daemon.engine();
    match cli.command {
        Command::Encode { input, json } => cmd::encode::run(engine, &input, json).await,
        Command::Jobs { json } => cmd::jobs::run(engine, json),
        Command::Job { id, json, log } => cmd::job::run(engine, id, json, log),
        Command::Nodes { json } => cmd::nodes::run(&daemon, json).await,
        Command::Resume { json } => cmd::resume::run(engine, json).await,
        Command::Retry { id, json } => cmd::retry::run(engine, id, json).await,
        Command::Daemon => cmd::daemon::run(&daemon).await,
        Command::Attempts {
            job,
            node,
            failed,
            limit,
            json,
        } => cmd::attempts::run(engine, job, node, failed, limit, json),
        Command::Audit { job, sample, json } => cmd::audit::run(&daemon, job, sample, json).await,
        Command::Node { action } => cmd::node::run(&daemon, action).await,
        Command::Identity { json } => cmd::identity::run(&daemon, json),
        Command::Gateway { json } => cmd::gateway::run(&daemon, json),
        Command::Secret { .. } | Command::Setup { .. } => {
            unreachable!("handled before opening the engine")
        }
    }
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
