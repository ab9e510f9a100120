//! The command line: global options and every subcommand, as clap parses them.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use tank_config::Purpose;
use tank_model::JobId;

#[derive(Parser)]
#[command(
    name = "tank",
    version,
    about = "Encode videos to HLS and keep them durably pinned on IPFS"
)]
pub struct Cli {
    /// Config file (TOML). Default: the platform's config folder, e.g. ~/.config/tank-encoder/config.toml
    #[arg(long, global = true, env = "TANK_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where jobs and their history live. Default: the platform's data folder
    #[arg(long, global = true, env = "TANK_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// More log output (-v: info, -vv: debug); RUST_LOG overrides
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
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
    /// Set up a new install: community (3Speak community encoder), managed (3Speak pushes jobs to the Direct API; store its key first with `tank secret set direct-api`) or local (your own videos only). Writes the config file
    Setup {
        #[arg(value_parser = purpose)]
        purpose: Purpose,
    },
}

fn purpose(text: &str) -> Result<Purpose, String> {
    Purpose::parse(text).ok_or_else(|| {
        let all: Vec<&str> = Purpose::ALL.iter().map(|p| p.as_str()).collect();
        format!("not a purpose: use one of {}", all.join(", "))
    })
}

#[derive(Subcommand)]
pub enum NodeAction {
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
pub enum SecretAction {
    /// Read the secret from standard input (not echoed on a terminal) and store it
    Set { key: String },
    /// Remove the secret
    Delete { key: String },
}
