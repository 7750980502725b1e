//! Pure request routing: (host, path) → cooperative + path to send upstream. No I/O.
//!
//! Rules, in order:
//! 1. A path that could be rewritten into another one after decoding (dot segments, encoded
//!    `.`, `/` or `\`, backslashes) is rejected, so no normalisation can cross a prefix.
//! 2. `<coop>.<base domain>` and custom domains route to that cooperative; the path is kept.
//! 3. On the bare base domain, `/coops/<coop>/…` routes to `<coop>` with the prefix removed.
//! 4. `/healthz` on any host that is not a cooperative's is the gateway's own health check.
//! 5. Everything else is `NotFound`, with one answer for unknown hosts and unknown coops.

use std::sync::Arc;

use crate::routes::{CoopRoute, RouteTable};

/// Path prefix for path-based routing on the base domain.
pub const PATH_PREFIX: &str = "/coops/";

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Proxy to this cooperative with this path and query.
    Coop {
        route: Arc<CoopRoute>,
        path_and_query: String,
    },
    /// The gateway's own health check.
    Health,
    /// Unknown host or cooperative.
    NotFound,
    /// A path that is refused before routing (see module docs).
    BadPath,
}

/// Resolves a request. `host` is the Host header or URI authority as sent (any case, maybe
/// with a port); `path_and_query` is the raw request target path and query.
pub fn resolve(
    table: &RouteTable,
    base_domain: &str,
    host: &str,
    path_and_query: &str,
) -> Resolution {
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    };
    if !is_safe_path(path) {
        return Resolution::BadPath;
    }
    let host = normalize_host(host);
    if let Some(route) = host_route(table, base_domain, &host) {
        return Resolution::Coop {
            route: route.clone(),
            path_and_query: path_and_query.to_owned(),
        };
    }
    if path == "/healthz" {
        return Resolution::Health;
    }
    if host != base_domain {
        return Resolution::NotFound;
    }
    let Some(rest) = path.strip_prefix(PATH_PREFIX) else {
        return Resolution::NotFound;
    };
    let (coop, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let Some(route) = table.coop(coop) else {
        return Resolution::NotFound;
    };
    let mut path_and_query = tail.to_owned();
    if let Some(q) = query {
        path_and_query.push('?');
        path_and_query.push_str(q);
    }
    Resolution::Coop {
        route: route.clone(),
        path_and_query,
    }
}

/// Lowercases, strips the port and a trailing dot.
pub fn normalize_host(host: &str) -> String {
    let host = match host.rsplit_once(':') {
        Some((h, port)) if !h.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

fn host_route<'t>(
    table: &'t RouteTable,
    base_domain: &str,
    host: &str,
) -> Option<&'t Arc<CoopRoute>> {
    if let Some(sub) = host
        .strip_suffix(base_domain)
        .and_then(|s| s.strip_suffix('.'))
    {
        return table.coop(sub);
    }
    table.domain(host)
}

/// True when the path cannot change meaning under percent-decoding or dot-segment removal.
pub fn is_safe_path(path: &str) -> bool {
    if !path.starts_with('/') || path.contains('\\') {
        return false;
    }
    let lower = path.to_ascii_lowercase();
    if lower.contains("%2e")
        || lower.contains("%2f")
        || lower.contains("%5c")
        || lower.contains("%00")
    {
        return false;
    }
    !path.split('/').any(|seg| seg == "." || seg == "..")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::{CoopState, RouteEntry, RouteFile};

    fn table() -> RouteTable {
        let entry = |coop: &str, port: u16, domains: &[&str]| RouteEntry {
            coop: coop.to_owned(),
            upstream: format!("127.0.0.1:{port}"),
            domains: domains.iter().map(|d| d.to_string()).collect(),
            state: CoopState::Ready,
        };
        let file = RouteFile {
            routes: vec![
                entry("alpha", 1, &["alpha.example"]),
                entry("beta", 2, &[]),
                entry("gamma.x", 3, &[]),
            ],
        };
        RouteTable::build(&file, "coops.test").unwrap()
    }

    /// Renders a resolution as `coop path` or the variant name, for compact expectations.
    fn check(host: &str, path: &str, expected: &str) {
        let got = match resolve(&table(), "coops.test", host, path) {
            Resolution::Coop {
                route,
                path_and_query,
            } => format!("{} {}", route.coop, path_and_query),
            other => format!("{other:?}"),
        };
        assert_eq!(got, expected, "host={host} path={path}");
    }

    #[test]
    fn routes_by_host() {
        check("alpha.coops.test", "/graphql", "alpha /graphql");
        check(
            "ALPHA.coops.test:8080",
            "/graphql?x=1",
            "alpha /graphql?x=1",
        );
        check("alpha.coops.test.", "/", "alpha /");
        check("gamma.x.coops.test", "/graphql", "gamma.x /graphql");
        check("alpha.example", "/graphql", "alpha /graphql");
        check("beta.coops.test", "/healthz", "beta /healthz");
    }

    #[test]
    fn routes_by_path_on_base_domain() {
        check("coops.test", "/coops/beta/graphql", "beta /graphql");
        check("coops.test", "/coops/beta", "beta /");
        check("coops.test", "/coops/beta?q=1", "beta /?q=1");
        check("coops.test:443", "/coops/gamma.x/a/b?c", "gamma.x /a/b?c");
    }

    #[test]
    fn host_wins_over_path_prefix() {
        check(
            "alpha.coops.test",
            "/coops/beta/graphql",
            "alpha /coops/beta/graphql",
        );
    }

    #[test]
    fn unknown_is_not_found() {
        check("nosuch.coops.test", "/graphql", "NotFound");
        check("coops.test", "/coops/nosuch/graphql", "NotFound");
        check("coops.test", "/graphql", "NotFound");
        check("evil.example", "/coops/beta/graphql", "NotFound");
        check("127.0.0.1:80", "/coops/beta/graphql", "NotFound");
        check("x.alpha.coops.test", "/graphql", "NotFound");
        check("127.0.0.1", "/healthz", "Health");
        check("coops.test", "/healthz", "Health");
    }

    #[test]
    fn path_tricks_are_rejected() {
        check("coops.test", "/coops/alpha/../beta/graphql", "BadPath");
        check("coops.test", "/coops/alpha/%2e%2e/beta/graphql", "BadPath");
        check("coops.test", "/coops/alpha/%2E./beta", "BadPath");
        check("coops.test", "/coops/alpha%2fbeta/graphql", "BadPath");
        check("coops.test", "/coops/alpha/..\\beta", "BadPath");
        check("coops.test", "/coops/./beta", "BadPath");
        check("alpha.coops.test", "/a/../../b", "BadPath");
        check("coops.test", "coops/beta", "BadPath");
        check(
            "coops.test",
            "/coops/alpha/x?next=/../beta",
            "alpha /x?next=/../beta",
        );
    }
}
