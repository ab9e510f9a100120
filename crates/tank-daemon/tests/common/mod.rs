//! The daemon in the shared test world ([`tank_testkit::World`]): the
//! engine opened as the engine's own tests open it (one helper file serves
//! both crates), the daemon's services on that engine, and the daemon
//! running in a task until told to stop.

#![allow(dead_code)] // each test file uses a different part of the world

#[path = "../../../tank-engine/tests/common/mod.rs"]
mod engine;

use std::time::{Duration, Instant};

use tank_daemon::{Daemon, DaemonError};
use tank_engine::Engine;
use tank_model::{JobId, JobReport};
use tank_testkit::World;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

#[allow(unused_imports)] // as above: not every test file uses each
pub use engine::{encode, open_engine, replica_nodes, set_secret};

/// The daemon's services on the engine of `world`.
pub fn open_daemon(world: &World) -> Daemon {
    Daemon::new(open_engine(world))
}

/// [`Daemon::run`] in a task of its own, as `tank daemon` runs it.
pub struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), DaemonError>>,
}

impl Running {
    pub fn start(daemon: &Daemon) -> Running {
        let (stop, stopped) = oneshot::channel::<()>();
        let daemon = daemon.clone();
        let task = tokio::spawn(async move {
            daemon
                .run(async {
                    let _ = stopped.await;
                    tank_daemon::Shutdown::Exit
                })
                .await
        });
        Running { stop, task }
    }

    /// Tells the daemon to stop, as SIGTERM does, and waits until every
    /// service has; panics unless the daemon stopped cleanly.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task
            .await
            .expect("the daemon's task did not panic")
            .expect("the daemon stopped cleanly");
    }
}

/// Polls job `id`'s report until `ready` says so (a minute at most).
pub async fn wait_for_job(
    engine: &Engine,
    id: JobId,
    what: &str,
    ready: impl Fn(&JobReport) -> bool,
) -> JobReport {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let report = engine.report(id).unwrap();
        if ready(&report) {
            return report;
        }
        assert!(
            Instant::now() < deadline,
            "job {id} never reached: {what}: {report:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
