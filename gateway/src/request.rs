//! What the gateway knows about a request before any handler runs, decided
//! in one place: whether its method changes something ([`is_write`]) and
//! who the client is ([`client_addr`], handed to handlers as
//! [`ClientAddr`]). The guard works these out once per request.

use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};

/// Everything but `GET`, `HEAD` and `OPTIONS` changes something: it needs
/// the anti-forgery header, a role that may write, and an audit intent.
pub fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The client's address as the gateway saw it (an extension set by the
/// guard).
#[derive(Debug, Clone, Default)]
pub struct ClientAddr(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ClientAddr>()
            .cloned()
            .unwrap_or_default())
    }
}

/// The client address: the TCP peer, or, when the peer is one of the
/// trusted reverse proxies (`GATEWAY_TRUSTED_PROXIES`), the right-most
/// address in `X-Forwarded-For` that is not itself a trusted proxy (the
/// left part of that header is whatever the client sent, so it is never
/// believed). An entry that is not an address (`unknown`, `ip:port`) ends
/// the walk at the last trusted hop: what stands left of it cannot be
/// told from what the client wrote. IPv4-mapped IPv6 addresses count as
/// IPv4.
pub fn client_addr(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[IpAddr],
) -> Option<String> {
    let peer = peer?.to_canonical();
    if !trusted.contains(&peer) {
        return Some(peer.to_string());
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for entry in entries.iter().rev() {
        match entry.parse::<IpAddr>().map(|a| a.to_canonical()) {
            Ok(a) if trusted.contains(&a) => client = a,
            Ok(a) => return Some(a.to_string()),
            Err(_) => break,
        }
    }
    Some(client.to_string())
}

/// The key that limits count a client by: its IPv4 address, or the /64
/// network of an IPv6 address (one host usually has a whole /64, so
/// counting single IPv6 addresses would let it rotate past any limit).
pub fn client_key(client: Option<&str>) -> String {
    match client.and_then(|c| c.parse::<IpAddr>().ok()) {
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(v4) => v4.to_string(),
        None => client.unwrap_or("").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let mut headers = HeaderMap::new();
        headers.append(
            "x-forwarded-for",
            "198.51.100.9, 203.0.113.7".parse().unwrap(),
        );
        headers.append("x-forwarded-for", "10.0.0.2".parse().unwrap());
        let proxy = Some(ip("10.0.0.1"));
        // Not trusted: the header is ignored.
        assert_eq!(
            client_addr(proxy, &headers, &[]).as_deref(),
            Some("10.0.0.1")
        );
        // Trusted chain 10.0.0.1 <- 10.0.0.2: the first untrusted from the right.
        let trusted = [ip("10.0.0.1"), ip("10.0.0.2")];
        assert_eq!(
            client_addr(proxy, &headers, &trusted).as_deref(),
            Some("203.0.113.7")
        );
        // Nothing usable in the header: the proxy itself.
        assert_eq!(
            client_addr(proxy, &HeaderMap::new(), &trusted).as_deref(),
            Some("10.0.0.1")
        );
        // Something that is not an address stops the walk: the entry the
        // client wrote left of it is not believed.
        let mut odd = HeaderMap::new();
        odd.append("x-forwarded-for", "6.6.6.6, unknown".parse().unwrap());
        assert_eq!(
            client_addr(proxy, &odd, &trusted).as_deref(),
            Some("10.0.0.1")
        );
        // An IPv4-mapped peer is the IPv4 proxy.
        let mapped = Some(ip("::ffff:10.0.0.1"));
        assert_eq!(
            client_addr(mapped, &headers, &trusted).as_deref(),
            Some("203.0.113.7")
        );
    }

    #[test]
    fn limits_count_an_ipv6_network() {
        assert_eq!(
            client_key(Some("2001:db8:1:2:aaaa::1")),
            client_key(Some("2001:db8:1:2:bbbb::9"))
        );
        assert_ne!(
            client_key(Some("2001:db8:1:3::1")),
            client_key(Some("2001:db8:1:2::1"))
        );
        assert_eq!(client_key(Some("203.0.113.7")), "203.0.113.7");
    }

    #[test]
    fn writes() {
        assert!(!is_write(&Method::GET) && !is_write(&Method::HEAD));
        assert!(is_write(&Method::POST) && is_write(&Method::PATCH) && is_write(&Method::DELETE));
    }
}
