//! Everything Tank Encoder says to IPFS nodes.
//!
//! - [`KuboClient`]: the kubo RPC commands the pipeline uses (`add` of a
//!   folder streamed from disk, `pin/add`, `pin/ls`, `dag/stat`, `cat`,
//!   `swarm/connect`, `id`, `version`, `repo/stat`).
//! - [`ClusterClient`]: the IPFS Cluster REST API (pin with replication
//!   factors and origins, per-peer status, Basic or JWT auth).
//! - [`PinningServiceClient`]: the IPFS Pinning Service API (Pinata,
//!   Filebase, …): pin requests with origins, polled to `pinned`/`failed`.
//! - [`GatewayClient`]: a path gateway, to prove content is retrievable.
//!
//! All share one HTTP layer: explicit timeouts, credentials that never
//! print ([`Secret`]), and errors classified the same way.
//! - [`folder_cid`]: the root CID kubo will report for a folder, computed
//!   locally with kubo's default import parameters, so an upload whose
//!   returned CID differs can be rejected.
//!
//! This crate knows nothing of jobs, retries or which node is which: policy
//! lives in `tank-engine`.

mod cid;
mod cluster;
mod error;
mod folder;
mod gateway;
mod http;
mod kubo;
mod multipart;
mod pinning_service;

pub use cid::{entries_cid, folder_cid, IMPORT_OPTIONS};
pub use cluster::{ClusterClient, ClusterIdentity, ClusterPin, GlobalPinInfo, PeerPinInfo};
pub use error::IpfsError;
pub use folder::{list as list_folder, only as only_entries, total_bytes, FolderEntry};
pub use gateway::GatewayClient;
pub use http::{redacted, root_cause, Credentials, Secret};
pub use kubo::{KuboClient, NodeVersion, PeerIdentity, RepoStat, UploadLimits};
pub use pinning_service::{PinStatus, PinningServiceClient};
