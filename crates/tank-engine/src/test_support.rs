//! What unit tests across the engine share.

use crate::engine::Engine;
use tank_config::Config;
use tank_model::JobId;

/// An engine on a fresh data folder (kept alive by the returned `TempDir`)
/// with one queued job, input `/videos/talk.mp4`.
pub(crate) fn engine_with_job() -> (tempfile::TempDir, Engine, JobId) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(Config::default(), dir.path()).unwrap();
    let id = engine
        .store()
        .create_job("/videos/talk.mp4", engine.jobs_root())
        .unwrap();
    (dir, engine, id)
}
