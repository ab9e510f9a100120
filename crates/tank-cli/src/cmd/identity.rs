//! `tank identity`: this encoder's did:key at the 3Speak gateway.

use std::process::ExitCode;

use tank_daemon::Daemon;

use super::{print_json, Failure};

pub fn run(daemon: &Daemon, json: bool) -> Result<ExitCode, Failure> {
    let (did, source) = daemon.identity()?;
    if json {
        print_json(&serde_json::json!({ "did": did, "source": source }));
    } else {
        // Just the did, so a script can capture it as is.
        println!("{did}");
    }
    Ok(ExitCode::SUCCESS)
}
