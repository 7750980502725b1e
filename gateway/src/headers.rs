//! Header hygiene for proxied requests and responses (pure).
//!
//! Hop-by-hop headers are removed, every client-supplied internal or forwarding header is
//! stripped, and the gateway sets `X-Forwarded-For/Proto/Host` and `X-Mono-Coop` itself, so a
//! tenant node can trust them.

use std::net::IpAddr;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// Header the gateway sets to the cooperative decided by the route.
pub const COOP_HEADER: &str = "x-mono-coop";

/// Prefixes of headers that only the gateway may set; a client's copies are dropped (both proxy
/// paths use this list).
pub(crate) const INTERNAL_PREFIXES: &[&str] = &[
    "x-mono-",
    "x-coop",
    "x-tenant",
    "x-internal-",
    "x-forwarded-",
];

/// Exact names of headers that only the gateway may set.
pub(crate) const INTERNAL_NAMES: &[&str] = &["forwarded", "x-real-ip"];

const HOP_BY_HOP: &[HeaderName] = &[
    header::CONNECTION,
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// What the gateway knows about the client side of a request.
#[derive(Debug, Clone, Copy)]
pub struct ForwardInfo<'a> {
    pub client_ip: IpAddr,
    /// `http` or `https`.
    pub proto: &'static str,
    /// The host the client asked for, if any.
    pub host: Option<&'a str>,
    pub coop: &'a str,
    /// The request is a websocket upgrade that must keep `Connection`/`Upgrade`.
    pub websocket: bool,
}

/// Rewrites client request headers into the headers sent to the tenant node.
pub fn prepare_request(headers: &mut HeaderMap, info: &ForwardInfo<'_>) {
    remove_hop_by_hop(headers);
    let internal: Vec<HeaderName> = headers
        .keys()
        .filter(|name| is_internal(name.as_str()))
        .cloned()
        .collect();
    for name in internal {
        headers.remove(name);
    }
    headers.remove(header::HOST);
    if let Ok(value) = HeaderValue::from_str(&info.client_ip.to_string()) {
        headers.insert(HeaderName::from_static("x-forwarded-for"), value);
    }
    headers.insert(
        HeaderName::from_static("x-forwarded-proto"),
        HeaderValue::from_static(info.proto),
    );
    if let Some(value) = info.host.and_then(|h| HeaderValue::from_str(h).ok()) {
        headers.insert(HeaderName::from_static("x-forwarded-host"), value);
    }
    if let Ok(value) = HeaderValue::from_str(info.coop) {
        headers.insert(HeaderName::from_static(COOP_HEADER), value);
    }
    if info.websocket {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    }
}

/// Removes hop-by-hop headers from an upstream response (kept for a `101` upgrade).
pub fn prepare_response(headers: &mut HeaderMap, upgrade: bool) {
    if !upgrade {
        remove_hop_by_hop(headers);
    }
    headers.remove(header::HeaderName::from_static("keep-alive"));
}

/// True for a websocket upgrade request (HTTP/1.1 `Connection: upgrade` + `Upgrade: websocket`).
pub fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    let connection_upgrade = headers.get_all(header::CONNECTION).iter().any(|v| {
        v.to_str().is_ok_and(|s| {
            s.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
        })
    });
    let upgrade_ws = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|s| s.trim().eq_ignore_ascii_case("websocket"));
    connection_upgrade && upgrade_ws
}

fn is_internal(name: &str) -> bool {
    INTERNAL_NAMES.contains(&name) || INTERNAL_PREFIXES.iter().any(|p| name.starts_with(p))
}

fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|s| s.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .collect();
    for name in listed {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    headers.remove(HeaderName::from_static("keep-alive"));
    headers.remove(HeaderName::from_static("proxy-connection"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(websocket: bool) -> ForwardInfo<'static> {
        ForwardInfo {
            client_ip: "10.0.0.7".parse().unwrap(),
            proto: "https",
            host: Some("alpha.coops.test"),
            coop: "alpha",
            websocket,
        }
    }

    #[test]
    fn strips_internal_and_spoofed_headers() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("x-mono-coop", "beta"),
            ("X-Coop", "beta"),
            ("x-tenant-id", "beta"),
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-host", "beta.coops.test"),
            ("forwarded", "for=1.2.3.4"),
            ("x-real-ip", "1.2.3.4"),
            ("connection", "keep-alive, x-secret"),
            ("x-secret", "1"),
            ("host", "alpha.coops.test"),
            ("authorization", "Bearer t"),
            ("sec-websocket-protocol", "graphql-transport-ws"),
        ] {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        prepare_request(&mut h, &info(false));
        let mut got: Vec<String> = h
            .iter()
            .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap()))
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                "authorization: Bearer t",
                "sec-websocket-protocol: graphql-transport-ws",
                "x-forwarded-for: 10.0.0.7",
                "x-forwarded-host: alpha.coops.test",
                "x-forwarded-proto: https",
                "x-mono-coop: alpha",
            ]
        );
    }

    #[test]
    fn websocket_keeps_upgrade() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, "keep-alive, Upgrade".parse().unwrap());
        h.insert(header::UPGRADE, "websocket".parse().unwrap());
        assert!(is_websocket_upgrade(&h));
        prepare_request(&mut h, &info(true));
        assert_eq!(h[header::CONNECTION], "upgrade");
        assert_eq!(h[header::UPGRADE], "websocket");
        let mut plain = HeaderMap::new();
        plain.insert(header::UPGRADE, "websocket".parse().unwrap());
        assert!(!is_websocket_upgrade(&plain));
    }
}
