//! `tank setup <purpose>`: a new install's one question, answered on the
//! command line. Writes the config file for that purpose, with what it
//! needs made first; an existing config is never overwritten.

use std::process::ExitCode;

use tank_config::{Paths, Purpose};

use super::Failure;
use crate::args::Cli;

pub fn run(cli: &Cli, purpose: Purpose) -> Result<ExitCode, Failure> {
    let paths = Paths::resolve(cli.config.clone(), cli.data_dir.clone())
        .map_err(|e| Failure::Usage(format!("{e} (--config)")))?;
    if paths.config.exists() {
        return Err(Failure::Usage(format!(
            "{} exists: tank setup only sets up a new install; edit that file, or use the window's Settings",
            paths.config.display()
        )));
    }
    let set_up = tank_daemon::set_up(purpose, tank_config::Config::default())?;
    set_up
        .config
        .save(&paths.config)
        .map_err(|e| Failure::Runtime(e.to_string()))?;
    let what = match purpose {
        Purpose::Community => "a 3Speak community encoder: jobs from 3Speak's embed system",
        Purpose::Managed => {
            "a 3Speak managed encoder: 3Speak pushes jobs to the Direct API on port 3002"
        }
        Purpose::LocalOnly => "local encoding only",
    };
    println!("Set up as {what}.");
    println!(
        "The local IPFS node is on. Replicas needed before a video is done: {} (2 once you add a node).",
        set_up.config.quorum()
    );
    if let Some(did) = set_up.did {
        println!("This encoder's identity (kept in the OS keyring): {did}");
    }
    println!("Config written to {}.", paths.config.display());
    println!("Start it with: tank daemon");
    Ok(ExitCode::SUCCESS)
}
