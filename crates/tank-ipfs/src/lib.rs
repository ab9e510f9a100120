//! Everything Tank Encoder says to IPFS nodes.
//!
//! - [`KuboClient`]: the kubo RPC commands the pipeline uses (`add` of a
//!   folder streamed from disk, `pin/add`, `pin/ls`, `cat`, `swarm/connect`,
//!   `id`, `version`), each with its own timeout and classified errors.
//! - [`folder_cid`]: the root CID kubo will report for a folder, computed
//!   locally with kubo's default import parameters, so an upload whose
//!   returned CID differs can be rejected.
//!
//! This crate knows nothing of jobs, retries or which node is which: policy
//! lives in `tank-engine`.

mod cid;
mod error;
mod folder;
mod kubo;
mod multipart;

pub use cid::{entries_cid, folder_cid};
pub use error::IpfsError;
pub use folder::{list as list_folder, total_bytes, FolderEntry};
pub use kubo::{redacted, root_cause, KuboClient, NodeVersion, PeerIdentity, UploadLimits};
