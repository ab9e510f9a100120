//! `tank daemon`: run the background work (pin queue, health, audits, alerts) until stopped.

use std::future::Future;
use std::process::ExitCode;

use tank_daemon::{Daemon, Shutdown};

use super::Failure;

pub async fn run(daemon: &Daemon) -> Result<ExitCode, Failure> {
    // Watched before any work starts: a stop that comes while the services
    // are still starting (systemd, a script) is graceful too, not the
    // signal's default death.
    let stop = shutdown_signal();
    daemon
        .run(async {
            stop.await;
            Shutdown::Exit
        })
        .await?;
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C, or SIGTERM (systemd, `kill`). The handlers are installed when
/// this is called, not when the future is first polled.
fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM can be watched");
        let mut interrupt = signal(SignalKind::interrupt()).expect("SIGINT can be watched");
        async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = term.recv() => {}
            }
        }
    }
    #[cfg(not(unix))]
    {
        let mut ctrl_c = tokio::signal::windows::ctrl_c().expect("Ctrl-C can be watched");
        async move {
            ctrl_c.recv().await;
        }
    }
}
