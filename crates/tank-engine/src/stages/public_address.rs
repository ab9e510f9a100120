//! Where a platform's job may make us connect: public addresses only.
//!
//! A job from 3Speak (or any gateway) names its own source URL. Without a
//! check, that URL could reach the operator's own network: a router's
//! admin page, a cloud metadata service, the kubo API on loopback. So for
//! such jobs ([`JobRules::public_sources_only`](tank_model::JobRules)) the
//! host is resolved here, every address it resolves to must be public, the
//! connection goes to exactly those addresses (no second lookup that could
//! answer differently), and each redirect is checked the same way. An
//! operator can allow named hosts or addresses (`[downloads]
//! allow_private`), e.g. a media server on the LAN.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::{Host, Url};

/// What the platform is told: nothing about what the address was, so the
/// answer is no oracle for probing the operator's network.
pub(crate) const REFUSED: &str = "refused: not a public address";

/// The addresses `url` may be fetched from: all of its host's, when every
/// one is public or the host is allowed. `Err` names what was refused (for
/// the operator's log, never for the platform).
pub(crate) async fn addresses(url: &Url, allowed: &[String]) -> Result<Vec<SocketAddr>, String> {
    let host = url.host().ok_or_else(|| format!("{url} has no host"))?;
    let port = url
        .port_or_known_default()
        .ok_or_else(|| format!("{url} has no port"))?;
    let name = match &host {
        Host::Domain(name) => name.to_ascii_lowercase(),
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) => ip.to_string(),
    };
    let addresses: Vec<SocketAddr> = match host {
        Host::Ipv4(ip) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Host::Ipv6(ip) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        Host::Domain(domain) => tokio::net::lookup_host((domain, port))
            .await
            .map_err(|e| format!("cannot resolve {name}: {e}"))?
            .collect(),
    };
    if addresses.is_empty() {
        return Err(format!("{name} resolves to no address"));
    }
    let is_allowed = |address: &SocketAddr| {
        allowed
            .iter()
            .any(|entry| entry.eq_ignore_ascii_case(&name) || entry.parse() == Ok(address.ip()))
    };
    match addresses
        .iter()
        .find(|a| !is_public(a.ip()) && !is_allowed(a))
    {
        Some(private) => Err(format!(
            "{name} is {}, not a public address ([downloads] allow_private)",
            private.ip()
        )),
        None => Ok(addresses),
    }
}

/// Whether `ip` is on the public internet: not loopback, private, shared
/// (CGNAT), link-local (cloud metadata at 169.254.169.254), unspecified,
/// multicast, broadcast, documentation, benchmarking or reserved.
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(ip),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space, RFC 6598
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking, RFC 2544
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)) // documentation
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_addresses_on_the_public_internet_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:192.168.1.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["1.1.1.1", "151.101.1.1", "2606:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn a_private_host_is_refused_unless_the_operator_allows_it() {
        let url = Url::parse("http://127.0.0.1:8080/video.mp4").unwrap();
        let refused = addresses(&url, &[]).await.unwrap_err();
        assert!(
            refused.contains("127.0.0.1 is 127.0.0.1, not a public address"),
            "{refused}"
        );
        let allowed = addresses(&url, &["127.0.0.1".into()]).await.unwrap();
        assert_eq!(allowed, ["127.0.0.1:8080".parse().unwrap()]);
        let named = Url::parse("http://localhost:8080/video.mp4").unwrap();
        assert!(addresses(&named, &[]).await.is_err());
        assert!(addresses(&named, &["LOCALHOST".into()]).await.is_ok());
    }
}
