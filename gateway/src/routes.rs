//! Route table: the wire type the control plane publishes (`RouteFile`) and the validated,
//! immutable `RouteTable` the gateway swaps atomically on every update.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use http::uri::Authority;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The route-table wire format, shared by the route file (JSON or TOML) and `PUT /routes`.
///
/// The control plane will publish the same document; this is the single definition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteFile {
    /// One entry per hosted cooperative.
    #[serde(default)]
    pub routes: Vec<RouteEntry>,
}

/// One cooperative's route on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteEntry {
    /// Antelope account name of the cooperative (also its subdomain and path segment).
    pub coop: String,
    /// `host:port` of the cooperative's tenant node (plain HTTP/1.1).
    pub upstream: String,
    /// Custom domains served for this cooperative, in addition to `<coop>.<base domain>`.
    #[serde(default)]
    pub domains: Vec<String>,
    /// Lifecycle state of the node; defaults to `ready`.
    #[serde(default)]
    pub state: CoopState,
}

/// Lifecycle state of a cooperative's node as the gateway sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoopState {
    /// The node serves requests: proxy them.
    #[default]
    Ready,
    /// The node is starting: hold requests until it is ready.
    Starting,
    /// The node is scaled to zero: wake it through the control plane, then hold.
    Suspended,
    /// The node is stopping: hold requests (never refuse them) until it is ready again.
    Stopping,
}

/// A validated cooperative name: 1-12 characters of `a-z1-5.`, an optional 13th of `a-j`,
/// normalized (no trailing dot), as `chain::Name` accepts it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CoopName(String);

impl CoopName {
    /// Parses and validates a cooperative name.
    pub fn parse(s: &str) -> Result<Self, RouteError> {
        if s.is_empty() || s.starts_with('.') || chain::Name::parse(s).is_err() {
            return Err(RouteError::BadCoopName(s.to_owned()));
        }
        Ok(CoopName(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CoopName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for CoopName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One cooperative's validated route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoopRoute {
    pub coop: CoopName,
    pub upstream: Authority,
    pub domains: Vec<String>,
    pub state: CoopState,
}

/// Why a route document was rejected; the previous table stays in force.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RouteError {
    #[error("invalid cooperative name {0:?}")]
    BadCoopName(String),
    #[error("cooperative {0} is listed twice")]
    DuplicateCoop(String),
    #[error("upstream {upstream:?} of {coop} is not host:port")]
    BadUpstream { coop: String, upstream: String },
    #[error("domain {domain:?} of {coop} is not a valid lowercase host name")]
    BadDomain { coop: String, domain: String },
    #[error("domain {domain:?} of {coop} is under the base domain or is the base domain")]
    DomainUnderBase { coop: String, domain: String },
    #[error("domain {0:?} is claimed by two cooperatives")]
    DuplicateDomain(String),
    #[error("route document is not valid {format}: {message}")]
    Parse {
        format: &'static str,
        message: String,
    },
}

/// The immutable, validated route table; replaced as a whole on every update.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    coops: HashMap<String, Arc<CoopRoute>>,
    domains: HashMap<String, Arc<CoopRoute>>,
}

impl RouteTable {
    /// Validates a route document against the gateway's base domain.
    pub fn build(file: &RouteFile, base_domain: &str) -> Result<RouteTable, RouteError> {
        let mut table = RouteTable::default();
        for entry in &file.routes {
            let coop = CoopName::parse(&entry.coop)?;
            let upstream: Authority =
                entry
                    .upstream
                    .parse()
                    .map_err(|_| RouteError::BadUpstream {
                        coop: entry.coop.clone(),
                        upstream: entry.upstream.clone(),
                    })?;
            if upstream.port_u16().is_none() || upstream.as_str().contains('@') {
                return Err(RouteError::BadUpstream {
                    coop: entry.coop.clone(),
                    upstream: entry.upstream.clone(),
                });
            }
            for domain in &entry.domains {
                if !is_host_name(domain) {
                    return Err(RouteError::BadDomain {
                        coop: entry.coop.clone(),
                        domain: domain.clone(),
                    });
                }
                if domain == base_domain || domain.ends_with(&format!(".{base_domain}")) {
                    return Err(RouteError::DomainUnderBase {
                        coop: entry.coop.clone(),
                        domain: domain.clone(),
                    });
                }
            }
            let route = Arc::new(CoopRoute {
                coop,
                upstream,
                domains: entry.domains.clone(),
                state: entry.state,
            });
            if table
                .coops
                .insert(entry.coop.clone(), route.clone())
                .is_some()
            {
                return Err(RouteError::DuplicateCoop(entry.coop.clone()));
            }
            for domain in &entry.domains {
                if table
                    .domains
                    .insert(domain.clone(), route.clone())
                    .is_some()
                {
                    return Err(RouteError::DuplicateDomain(domain.clone()));
                }
            }
        }
        Ok(table)
    }

    /// The route of a cooperative by name.
    pub fn coop(&self, coop: &str) -> Option<&Arc<CoopRoute>> {
        self.coops.get(coop)
    }

    /// The route serving a custom domain (lowercase, without port).
    pub fn domain(&self, host: &str) -> Option<&Arc<CoopRoute>> {
        self.domains.get(host)
    }

    pub fn len(&self) -> usize {
        self.coops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.coops.is_empty()
    }
}

impl RouteFile {
    /// Parses a JSON route document.
    pub fn from_json(text: &str) -> Result<RouteFile, RouteError> {
        serde_json::from_str(text).map_err(|e| RouteError::Parse {
            format: "JSON",
            message: e.to_string(),
        })
    }

    /// Parses a TOML route document (`[[routes]]` tables).
    pub fn from_toml(text: &str) -> Result<RouteFile, RouteError> {
        toml::from_str(text).map_err(|e| RouteError::Parse {
            format: "TOML",
            message: e.to_string(),
        })
    }
}

/// A lowercase DNS host name: dot-separated labels of `a-z0-9-`, no leading or trailing hyphen.
pub(crate) fn is_host_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(coop: &str, upstream: &str, domains: &[&str]) -> RouteEntry {
        RouteEntry {
            coop: coop.to_owned(),
            upstream: upstream.to_owned(),
            domains: domains.iter().map(|d| d.to_string()).collect(),
            state: CoopState::Ready,
        }
    }

    fn build(entries: Vec<RouteEntry>) -> Result<RouteTable, RouteError> {
        RouteTable::build(&RouteFile { routes: entries }, "coops.test")
    }

    #[test]
    fn coop_names_follow_antelope_rules() {
        for ok in [
            "a",
            "voskhod",
            "coop.one",
            "abcdefghijkl",
            "abcdefghijkla",
            "z1234",
        ] {
            assert!(CoopName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "A",
            "coop-one",
            "abcdefghijklz",
            "abcdefghijklmn",
            "coop.",
            ".x",
            "a6",
        ] {
            assert!(CoopName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rejects_bad_documents() {
        assert!(matches!(
            build(vec![
                entry("a", "127.0.0.1:1", &[]),
                entry("a", "127.0.0.1:2", &[])
            ]),
            Err(RouteError::DuplicateCoop(_))
        ));
        assert!(matches!(
            build(vec![entry("a", "127.0.0.1", &[])]),
            Err(RouteError::BadUpstream { .. })
        ));
        assert!(matches!(
            build(vec![entry("a", "u@127.0.0.1:1", &[])]),
            Err(RouteError::BadUpstream { .. })
        ));
        assert!(matches!(
            build(vec![entry("a", "127.0.0.1:1", &["b.coops.test"])]),
            Err(RouteError::DomainUnderBase { .. })
        ));
        assert!(matches!(
            build(vec![entry("a", "127.0.0.1:1", &["Shop.Example"])]),
            Err(RouteError::BadDomain { .. })
        ));
        assert!(matches!(
            build(vec![
                entry("a", "127.0.0.1:1", &["x.example"]),
                entry("b", "127.0.0.1:2", &["x.example"])
            ]),
            Err(RouteError::DuplicateDomain(_))
        ));
    }

    #[test]
    fn parses_json_and_toml() {
        let json = r#"{"routes":[{"coop":"voskhod","upstream":"127.0.0.1:9001",
            "domains":["voskhod.example"],"state":"suspended"}]}"#;
        let toml = "[[routes]]\ncoop = \"voskhod\"\nupstream = \"127.0.0.1:9001\"\n\
                    domains = [\"voskhod.example\"]\nstate = \"suspended\"\n";
        let a = RouteFile::from_json(json).unwrap();
        let b = RouteFile::from_toml(toml).unwrap();
        assert_eq!(a, b);
        let table = RouteTable::build(&a, "coops.test").unwrap();
        let route = table.domain("voskhod.example").unwrap();
        assert_eq!(route.state, CoopState::Suspended);
        assert_eq!(route.upstream.as_str(), "127.0.0.1:9001");
        assert!(RouteFile::from_json(r#"{"routes":[],"extra":1}"#).is_err());
    }
}
