//! The folder sweep: the folders of jobs that failed or were cancelled
//! more than `[jobs] keep_failed_for` ago are deleted (by the engine), so
//! partial downloads and encodes do not fill the disk over the weeks.

use std::time::Duration;

use tank_engine::Engine;

/// The longest between two sweeps: a short `keep_failed_for` sweeps as
/// often as it asks.
const AT_MOST_EVERY: Duration = Duration::from_secs(600);

pub(crate) fn interval(engine: &Engine) -> Duration {
    engine.config().jobs.keep_failed_for.min(AT_MOST_EVERY)
}

/// One sweep, off the async threads (it deletes files).
pub(crate) async fn round(engine: Engine) {
    let swept = tokio::task::spawn_blocking(move || engine.sweep_job_folders()).await;
    match swept {
        Ok(Ok(jobs)) if !jobs.is_empty() => tracing::info!(?jobs, "deleted ended jobs' folders"),
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::error!(%e, "folder sweep failed"),
        Err(e) => tracing::error!(%e, "folder sweep panicked"),
    }
}
