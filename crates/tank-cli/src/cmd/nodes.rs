//! `tank nodes`: check each configured IPFS node's reachability and version.

use std::process::ExitCode;

use tank_daemon::Daemon;

use super::{show, success_if, Failure};
use crate::render;

pub async fn run(daemon: &Daemon, json: bool) -> Result<ExitCode, Failure> {
    let reports = daemon.health().node_reports(20).await;
    show(&reports, json, |reports| render::nodes(reports));
    Ok(success_if(reports.iter().all(|r| r.now.reachable)))
}
