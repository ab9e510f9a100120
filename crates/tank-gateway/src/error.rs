/// What went wrong talking to a 3Speak service. `Display` never shows the
/// URL with credentials, a key or a signed body.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("cannot reach 3Speak at {endpoint}: {reason}")]
    Unreachable { endpoint: String, reason: String },

    #[error("3Speak {op} got no answer within {}s", .after.as_secs_f32())]
    Timeout {
        op: &'static str,
        after: std::time::Duration,
    },

    #[error("3Speak {op} failed with HTTP {status}: {message}")]
    Refused {
        op: &'static str,
        status: u16,
        message: String,
    },

    #[error("3Speak {op} gave an answer we cannot use: {detail}")]
    Protocol { op: &'static str, detail: String },
}

impl GatewayError {
    /// The gateway answered, and said no (as opposed to not answering).
    pub fn answered(&self) -> bool {
        matches!(self, GatewayError::Refused { .. })
    }

    /// Whether the gateway itself is up despite this error: it answered,
    /// and not with a proxy's "the service behind me is down" (502-504).
    pub fn gateway_is_up(&self) -> bool {
        match self {
            GatewayError::Refused { status, .. } => !(502..=504).contains(status),
            GatewayError::Protocol { .. } => true,
            GatewayError::Unreachable { .. } | GatewayError::Timeout { .. } => false,
        }
    }

    /// The embed system does not know this encoder (404 "Encoder not
    /// registered"): register again.
    pub fn is_not_registered(&self) -> bool {
        matches!(self, GatewayError::Refused { status: 404, .. })
    }

    /// The embed system disabled or banned this encoder (403).
    pub fn is_banned(&self) -> bool {
        matches!(self, GatewayError::Refused { status: 403, .. })
    }

    /// The receiver refused for good: a 4xx. A 5xx or no answer may pass.
    pub fn is_final(&self) -> bool {
        matches!(self, GatewayError::Refused { status, .. } if (400..500).contains(status))
    }

    /// The gateway's message, lower-cased, when it answered with one.
    fn said(&self) -> Option<String> {
        match self {
            GatewayError::Refused { message, .. } => Some(message.to_lowercase()),
            _ => None,
        }
    }

    /// An `acceptJob` refusal meaning another encoder has the job: 400 or
    /// 409, or a message saying so.
    pub(crate) fn is_lost_race(&self) -> bool {
        let GatewayError::Refused { status, .. } = self else {
            return false;
        };
        matches!(status, 400 | 409)
            || self.said().is_some_and(|m| {
                [
                    "already",
                    "not assigned",
                    "invalid state",
                    "no longer available",
                    "nolonger available",
                ]
                .iter()
                .any(|phrase| m.contains(phrase))
            })
    }

    /// A `finishJob` refusal meaning the result was already reported.
    pub(crate) fn is_duplicate_finish(&self) -> bool {
        self.said().is_some_and(|m| {
            ["already", "completed", "duplicate"]
                .iter()
                .any(|phrase| m.contains(phrase))
        })
    }
}
