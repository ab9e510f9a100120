use std::path::PathBuf;
use std::time::Duration;

/// What went wrong talking to an IPFS node, classified so callers can decide
/// whether to retry, move on to another node, or give up. `Display` never
/// includes credentials: URLs are shown without their user-info part.
#[derive(Debug, thiserror::Error)]
pub enum IpfsError {
    #[error("cannot connect to {endpoint}: {reason}")]
    Unreachable { endpoint: String, reason: String },

    #[error("{op} on {endpoint} got no answer within {}", humanize(*.after))]
    Timeout {
        op: String,
        endpoint: String,
        after: Duration,
    },

    #[error("{op} on {endpoint} failed with HTTP {status}: {message}")]
    Api {
        op: String,
        endpoint: String,
        status: u16,
        message: String,
    },

    #[error("{op} on {endpoint}: the credentials were refused (HTTP {status}: {message})")]
    Unauthorized {
        op: String,
        endpoint: String,
        status: u16,
        message: String,
    },

    #[error("{op} on {endpoint} gave an answer we cannot use: {detail}")]
    Protocol {
        op: String,
        endpoint: String,
        detail: String,
    },

    #[error("{op} on {endpoint} broke off: {reason}")]
    Interrupted {
        op: String,
        endpoint: String,
        reason: String,
    },

    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot add {}: {reason}", path.display())]
    UnsupportedEntry { path: PathBuf, reason: String },

    #[error("the folder to add is empty")]
    EmptyFolder,
}

impl IpfsError {
    /// The HTTP status the node answered with, when it answered at all.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            IpfsError::Api { status, .. } | IpfsError::Unauthorized { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True when the node could not be reached or did not answer in time:
    /// the node (not the request) is the problem.
    pub fn is_node_unavailable(&self) -> bool {
        matches!(
            self,
            IpfsError::Unreachable { .. }
                | IpfsError::Timeout { .. }
                | IpfsError::Interrupted { .. }
        )
    }
}

/// `1.5s`, `60s`, `250ms`: short and exact enough for error messages.
fn humanize(d: Duration) -> String {
    if d.as_millis() < 1000 {
        format!("{}ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}
