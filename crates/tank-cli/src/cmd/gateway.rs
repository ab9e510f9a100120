//! `tank gateway`: the 3Speak gateway's state, this encoder's identity and the jobs taken from it.

use std::process::ExitCode;

use tank_daemon::Daemon;

use super::{show, Failure};
use crate::render;

pub fn run(daemon: &Daemon, json: bool) -> Result<ExitCode, Failure> {
    let status = daemon.gateway_status(20)?;
    show(&status, json, render::gateway);
    Ok(ExitCode::SUCCESS)
}
