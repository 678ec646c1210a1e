//! The selective forwarding unit: the media plane for conferences, telehealth calls and camera
//! relay. [`engine`] is the sans-IO core (participants, tracks, layers, active speaker) on str0m;
//! [`net`] is the thin tokio shell that owns the one UDP socket and runs the engine. [`camera`]
//! ingests street cameras over RTSP.

pub mod camera;
#[cfg(feature = "counting")]
pub mod counting;
pub mod engine;
mod layers;
pub mod net;
pub mod record;
mod rewrite;
mod speaker;

pub use engine::{JoinRequest, PeerId, PeerKind, Sfu, SfuError, Signal, TrackInfo};
pub use net::{Joined, SfuHandle, SfuStats, SignalReceiver, StartError};
pub use str0m::change::{SdpAnswer, SdpOffer};

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

/// How the SFU meets the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SfuConfig {
    /// The one UDP address all media arrives on.
    pub udp: SocketAddr,
    /// Address announced to peers in ICE candidates when the server sits behind 1:1 NAT.
    pub public_ip: Option<IpAddr>,
    /// Where room recordings are written; recording is refused when unset. `q10 serve` sets it
    /// to `<data>/recordings` unless configured.
    pub recordings: Option<std::path::PathBuf>,
}

impl Default for SfuConfig {
    fn default() -> Self {
        SfuConfig { udp: SocketAddr::from(([127, 0, 0, 1], 50000)), public_ip: None, recordings: None }
    }
}

/// A configuration that cannot work.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("sfu.public_ip must be a unicast address a peer can reach, not {0}")]
    BadPublicIp(IpAddr),
    #[error("sfu.udp binds to all interfaces ({0}); set sfu.public_ip to the address peers should use")]
    NeedsPublicIp(SocketAddr),
}

impl SfuConfig {
    /// Checks what can be checked before binding.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(ip) = self.public_ip
            && (ip.is_unspecified() || ip.is_multicast())
        {
            return Err(ConfigError::BadPublicIp(ip));
        }
        if self.udp.ip().is_unspecified() && self.public_ip.is_none() {
            return Err(ConfigError::NeedsPublicIp(self.udp));
        }
        Ok(())
    }

    /// The address peers are told to send media to.
    pub fn announced(&self) -> SocketAddr {
        SocketAddr::new(self.public_ip.unwrap_or(self.udp.ip()), self.udp.port())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announced_address_follows_public_ip() {
        let mut c = SfuConfig::default();
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.announced(), "127.0.0.1:50000".parse().unwrap());
        c.udp = "0.0.0.0:50000".parse().unwrap();
        assert!(matches!(c.validate(), Err(ConfigError::NeedsPublicIp(_))));
        c.public_ip = Some("203.0.113.7".parse().unwrap());
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.announced(), "203.0.113.7:50000".parse().unwrap());
        c.public_ip = Some("0.0.0.0".parse().unwrap());
        assert!(matches!(c.validate(), Err(ConfigError::BadPublicIp(_))));
    }
}
