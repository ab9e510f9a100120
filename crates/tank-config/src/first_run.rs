//! The one question a new install asks: what this encoder is for. Each
//! answer is a starting config, so the encoder works with no file to edit.

use serde::{Deserialize, Serialize};

use crate::{Config, GatewayMode};

/// What a new install is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Purpose {
    /// A 3Speak community encoder: takes embed jobs with `myJob`.
    Community,
    /// A 3Speak managed encoder: 3Speak pushes jobs to its Direct API.
    Managed,
    /// The operator's own videos only: dropped, submitted, watch folders.
    LocalOnly,
}

impl Purpose {
    pub const ALL: [Purpose; 3] = [Purpose::Community, Purpose::Managed, Purpose::LocalOnly];

    /// As `tank setup` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Community => "community",
            Purpose::Managed => "managed",
            Purpose::LocalOnly => "local",
        }
    }

    pub fn parse(text: &str) -> Option<Purpose> {
        Purpose::ALL.into_iter().find(|p| p.as_str() == text)
    }
}

impl Config {
    /// This config set up for `purpose`. Every install gets the bundled
    /// local node, counted as a replica: until the operator adds nodes it
    /// is the only place a video can be durable (and it is a download
    /// source). A community encoder takes jobs from 3Speak's embed system;
    /// a managed one serves the Direct API on every interface (3Speak
    /// calls it; every call needs the key). The quorum stays automatic: 2
    /// once two nodes can hold replicas, else 1. 3Speak jobs also go to
    /// 3Speak's hotnode (the default `[gateway] traffic_director`).
    pub fn for_purpose(mut self, purpose: Purpose) -> Config {
        self.local_node.enabled = true;
        self.local_node.counts_toward_quorum = true;
        match purpose {
            Purpose::Community => {
                self.gateway.enabled = true;
                self.gateway.mode = GatewayMode::Embed;
            }
            Purpose::Managed => {
                self.direct_api.enabled = true;
                self.direct_api.listen = std::net::SocketAddr::from(([0, 0, 0, 0], 3002));
            }
            Purpose::LocalOnly => {}
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_purpose_turns_on_the_local_node_and_only_its_own_source() {
        for purpose in Purpose::ALL {
            let config = Config::default().for_purpose(purpose);
            config.validate(None).unwrap();
            assert_eq!(Purpose::parse(purpose.as_str()), Some(purpose));
            assert!(config.local_node.enabled, "{purpose:?}");
            assert_eq!(
                (config.replica_holders(), config.quorum()),
                (1, 1),
                "the local node alone holds replicas: {purpose:?}"
            );
            assert_eq!(
                (config.gateway.enabled, config.direct_api.enabled),
                match purpose {
                    Purpose::Community => (true, false),
                    Purpose::Managed => (false, true),
                    Purpose::LocalOnly => (false, false),
                },
                "{purpose:?}"
            );
        }
        let community = Config::default().for_purpose(Purpose::Community);
        assert_eq!(community.gateway.mode, GatewayMode::Embed);
        assert_eq!(community.gateway.url.as_str(), "https://embed.3speak.tv/");
        let managed = Config::default().for_purpose(Purpose::Managed);
        assert_eq!(managed.direct_api.listen.to_string(), "0.0.0.0:3002");
        assert_eq!(Purpose::parse("pull"), None);
    }

    #[test]
    fn a_set_up_config_keeps_what_was_there() {
        let mut base = Config::default();
        base.jobs.max_concurrent = 3;
        let config = base.for_purpose(Purpose::LocalOnly);
        assert_eq!(config.jobs.max_concurrent, 3);
    }
}
