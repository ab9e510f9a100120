//! Handles on the TEST DOUBLES for services that cannot run here: an IPFS
//! Cluster and a Pinning Service API, each speaking its documented wire
//! format and pinning on real harness kubo nodes underneath
//! (`tests/harness/cluster_double.py`, `tests/harness/pinning_service_double.py`).

use std::collections::HashMap;
use std::ffi::OsString;

use serde::Deserialize;
use serde_json::{json, Value};
use tokio::process::Child;
use url::Url;

use crate::control::Control;
use crate::process::spawn_harness;
use crate::HarnessNode;

/// A double of an IPFS Cluster whose peers are harness kubo nodes.
pub struct ClusterDouble {
    pub api: Url,
    /// Cluster peer id by peer name.
    pub peers: HashMap<String, String>,
    control: Control,
    _child: Child,
}

/// A double of a pinning service that stores on one harness kubo node.
pub struct PinningServiceDouble {
    pub api: Url,
    control: Control,
    _child: Child,
}

#[derive(Deserialize)]
struct ClusterReady {
    api: Url,
    control: Url,
    peers: HashMap<String, String>,
}

#[derive(Deserialize)]
struct ServiceReady {
    api: Url,
    control: Url,
}

impl ClusterDouble {
    /// A cluster whose peers are `peers` (named after the nodes), with Basic
    /// credentials `user:password` when given.
    pub async fn start(peers: &[&HarnessNode], basic: Option<&str>) -> ClusterDouble {
        let mut args: Vec<OsString> = Vec::new();
        for peer in peers {
            args.extend([
                "--peer".into(),
                format!("{}={}", peer.name, peer.api).into(),
            ]);
        }
        if let Some(basic) = basic {
            args.extend(["--basic".into(), basic.into()]);
        }
        args.extend(["--pin-timeout".into(), "20".into()]);
        let (child, ready): (Child, ClusterReady) =
            spawn_harness("cluster double", "cluster_double.py", args).await;
        ClusterDouble {
            api: ready.api,
            peers: ready.peers,
            control: Control::new("cluster double", ready.control),
            _child: child,
        }
    }

    pub async fn fail_next(&self, route: &str, count: u32) {
        self.control.fail_next(route, count).await;
    }

    pub async fn refuse_connections(&self) {
        self.control.refuse().await;
    }

    pub async fn accept_connections(&self) {
        self.control.accept().await;
    }

    /// Requests per route, e.g. `"POST /pins/{cid}"`.
    pub async fn calls(&self) -> HashMap<String, u64> {
        self.control.calls().await
    }
}

impl PinningServiceDouble {
    /// A service storing on `node`, taking `Bearer <token>`.
    pub async fn start(node: &HarnessNode, token: &str) -> PinningServiceDouble {
        let args: Vec<OsString> = vec![
            "--node".into(),
            node.api.as_str().into(),
            "--token".into(),
            token.into(),
            "--pin-timeout".into(),
            "20".into(),
        ];
        let (child, ready): (Child, ServiceReady) =
            spawn_harness("pinning service double", "pinning_service_double.py", args).await;
        PinningServiceDouble {
            api: ready.api,
            control: Control::new("pinning service double", ready.control),
            _child: child,
        }
    }

    /// The next `count` accepted pin requests end `failed`.
    pub async fn fail_next_pins(&self, count: u32) {
        self.control
            .post("fail-next-pins", json!({ "count": count }))
            .await;
    }

    pub async fn refuse_connections(&self) {
        self.control.refuse().await;
    }

    /// The double's own table of pin requests.
    pub async fn state(&self) -> Value {
        self.control.get("state").await
    }

    pub async fn calls(&self) -> HashMap<String, u64> {
        self.control.calls().await
    }
}
