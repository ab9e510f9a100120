//! The engine in the shared test world ([`tank_testkit::World`]: real kubo
//! harness nodes and a config file pointing at them): opened on the world's
//! config and data directory, as `tank` opens it, and asked for typed reports.
//! The daemon's tests include this file too (crates/tank-daemon/tests/common).

#![allow(dead_code)] // each test file uses a different part of the world

use std::path::Path;

use tank_config::{Config, Secrets};
use tank_engine::Engine;
use tank_model::{JobInput, JobReport};
use tank_testkit::World;

/// The engine on `world`'s config file (validated, as `tank` loads it,
/// without the environment) and data directory.
pub fn open_engine(world: &World) -> Engine {
    let config = Config::read_file(&world.config, true).unwrap();
    config.validate(Some(&world.config)).unwrap();
    Engine::open(config, &world.data_dir()).unwrap()
}

/// Stores a secret in the OS keyring under `world`'s service, where the
/// engine looks for it when it is opened (needs a Secret Service:
/// scripts/with-keyring.sh runs the tests with gnome-keyring).
pub fn set_secret(world: &World, key: &str, value: &str) {
    Secrets::new(&world.keyring_service())
        .set(key, value)
        .unwrap();
}

/// Submits the local file `input` and runs its job to its end: what
/// `tank encode` does.
pub async fn encode(engine: &Engine, input: &Path) -> JobReport {
    let id = engine.submit(&JobInput::File(input.to_owned())).unwrap();
    engine.run(id).await.unwrap()
}

/// The verified replicas as people read them (`node`, or `cluster/peer`),
/// sorted (nodes work in parallel, so their order says nothing).
pub fn replica_nodes(report: &JobReport) -> Vec<String> {
    let mut names: Vec<String> = report
        .replicas
        .iter()
        .map(|r| r.replica.to_string())
        .collect();
    names.sort();
    names
}

/// The report's attempts of `op` on `node`, as (attempt, ok, error).
pub fn attempts_of<'a>(report: &'a JobReport, node: &str, op: &str) -> Vec<(u32, bool, &'a str)> {
    report
        .attempts
        .iter()
        .filter(|a| a.node == node && a.op == op)
        .map(|a| (a.attempt, a.ok, a.error.as_deref().unwrap_or("")))
        .collect()
}
