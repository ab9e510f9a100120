//! `tank daemon`: run the background work (pin queue, health, audits, alerts) until stopped.

use std::process::ExitCode;

use tank_daemon::{Daemon, Shutdown};

use super::Failure;

pub async fn run(daemon: &Daemon) -> Result<ExitCode, Failure> {
    daemon
        .run(async {
            shutdown_signal().await;
            Shutdown::Exit
        })
        .await?;
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
