//! The control plane's pure core: cooperative names, desired and observed states, the validated
//! create request, the secrets a cooperative gets, and the backoff rule. No I/O here.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// An outside input the control plane refuses, worded for the operator.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InputError {
    #[error("invalid cooperative name {0:?}: 1-12 characters of a-z, 1-5 and '.', not starting or ending with '.'")]
    BadName(String),
    #[error("`{field}`: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

fn invalid(field: &'static str, message: impl Into<String>) -> InputError {
    InputError::Invalid {
        field,
        message: message.into(),
    }
}

/// A cooperative's account name, validated as an Antelope name in its normal text form.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct CoopName(String);

impl CoopName {
    pub fn parse(s: &str) -> Result<CoopName, InputError> {
        // Hosted names are 1-12 characters (13-character names are not account names users
        // register); the normal text form round-trips through `chain::Name`.
        let ok = !s.is_empty()
            && s.len() <= 12
            && !s.starts_with('.')
            && !s.ends_with('.')
            && chain::Name::parse(s).is_ok_and(|n| n.to_string() == s);
        if ok {
            Ok(CoopName(s.to_owned()))
        } else {
            Err(InputError::BadName(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The PostgreSQL role and database name: `coop_` + the name with '.' as '_' (unique,
    /// because Antelope names never contain '_').
    pub fn db_ident(&self) -> String {
        format!("coop_{}", self.0.replace('.', "_"))
    }
}

impl fmt::Display for CoopName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CoopName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// What the operator asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Desired {
    Running,
    Suspended,
    Deleted,
}

impl Desired {
    pub fn as_str(self) -> &'static str {
        match self {
            Desired::Running => "running",
            Desired::Suspended => "suspended",
            Desired::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Desired> {
        [Desired::Running, Desired::Suspended, Desired::Deleted]
            .into_iter()
            .find(|d| d.as_str() == s)
    }
}

/// What the reconciler last saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Observed {
    Pending,
    Provisioning,
    Starting,
    Ready,
    Failed,
    Stopping,
    Suspended,
    Deleting,
}

impl Observed {
    pub const ALL: [Observed; 8] = [
        Observed::Pending,
        Observed::Provisioning,
        Observed::Starting,
        Observed::Ready,
        Observed::Failed,
        Observed::Stopping,
        Observed::Suspended,
        Observed::Deleting,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Observed::Pending => "pending",
            Observed::Provisioning => "provisioning",
            Observed::Starting => "starting",
            Observed::Ready => "ready",
            Observed::Failed => "failed",
            Observed::Stopping => "stopping",
            Observed::Suspended => "suspended",
            Observed::Deleting => "deleting",
        }
    }

    pub fn parse(s: &str) -> Option<Observed> {
        Observed::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// States that must end within a deadline.
    pub fn is_transitional(self) -> bool {
        matches!(
            self,
            Observed::Pending
                | Observed::Provisioning
                | Observed::Starting
                | Observed::Stopping
                | Observed::Deleting
        )
    }
}

/// Where a cooperative's node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum RuntimeKind {
    Process,
    Docker,
}

impl RuntimeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RuntimeKind::Process => "process",
            RuntimeKind::Docker => "docker",
        }
    }

    pub fn parse(s: &str) -> Option<RuntimeKind> {
        match s {
            "process" => Some(RuntimeKind::Process),
            "docker" => Some(RuntimeKind::Docker),
            _ => None,
        }
    }
}

/// The body of `POST /v1/cooperatives`; omitted fields take the control plane's defaults.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    pub coopname: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<RuntimeKind>,
}

/// Defaults applied to a create request.
#[derive(Debug, Clone)]
pub struct CreateDefaults {
    pub chain_url: Option<String>,
    pub ship_url: Option<String>,
    pub chain_id: Option<String>,
    pub memory_mb: u32,
    pub connection_limit: u32,
    pub runtime: RuntimeKind,
}

/// A validated new cooperative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCoop {
    pub name: CoopName,
    pub chain_url: String,
    pub ship_url: String,
    pub chain_id: String,
    pub domain: Option<String>,
    pub memory_mb: u32,
    pub connection_limit: u32,
    pub runtime: RuntimeKind,
}

impl CreateRequest {
    pub fn validate(self, defaults: &CreateDefaults) -> Result<NewCoop, InputError> {
        let name = CoopName::parse(&self.coopname)?;
        let pick = |given: Option<String>, default: &Option<String>, field| {
            given
                .or_else(|| default.clone())
                .ok_or_else(|| invalid(field, "required (no default configured)"))
        };
        let chain_url = pick(self.chain_url, &defaults.chain_url, "chain_url")?;
        let ship_url = pick(self.ship_url, &defaults.ship_url, "ship_url")?;
        let chain_id = pick(self.chain_id, &defaults.chain_id, "chain_id")?;
        check_url("chain_url", &chain_url, &["http://", "https://"])?;
        check_url("ship_url", &ship_url, &["ws://", "wss://"])?;
        if chain_id.len() != 64 || !chain_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid("chain_id", "must be 64 hex digits"));
        }
        let domain = match self.domain {
            Some(d) if !is_host_name(&d) => {
                return Err(invalid("domain", "must be a lowercase DNS host name"))
            }
            other => other,
        };
        let memory_mb = self.memory_mb.unwrap_or(defaults.memory_mb);
        if !(64..=65536).contains(&memory_mb) {
            return Err(invalid("memory_mb", "must be between 64 and 65536"));
        }
        let connection_limit = self.connection_limit.unwrap_or(defaults.connection_limit);
        if !(3..=100).contains(&connection_limit) {
            return Err(invalid("connection_limit", "must be between 3 and 100"));
        }
        Ok(NewCoop {
            name,
            chain_url,
            ship_url,
            chain_id: chain_id.to_ascii_lowercase(),
            domain,
            memory_mb,
            connection_limit,
            runtime: self.runtime.unwrap_or(defaults.runtime),
        })
    }
}

fn check_url(field: &'static str, url: &str, schemes: &[&str]) -> Result<(), InputError> {
    let rest = schemes.iter().find_map(|s| url.strip_prefix(s));
    match rest {
        Some(rest)
            if !rest.is_empty()
                && url.len() <= 2048
                && !url.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Ok(())
        }
        _ => Err(invalid(
            field,
            format!("must be a {} URL", schemes.join(" or ")),
        )),
    }
}

fn is_host_name(s: &str) -> bool {
    s.len() <= 253
        && s.contains('.')
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

/// A cooperative's generated secrets; sealed with the master key at rest, never logged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoopSecrets {
    /// Password of the cooperative's PostgreSQL role.
    pub db_password: String,
    /// JWT signing key (64 hex digits = 32 bytes of entropy, given to the node as text).
    pub jwt_key: String,
    /// Admin secret of the node.
    pub admin_secret: String,
    /// Secret-at-rest key of the node (64 hex digits).
    pub secret_key: String,
}

impl fmt::Debug for CoopSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CoopSecrets(<redacted>)")
    }
}

/// Delay before retry number `attempts` (1-based): 500 ms doubling, at most `cap`.
pub fn backoff(attempts: u32, cap: Duration) -> Duration {
    let exp = attempts.saturating_sub(1).min(16);
    Duration::from_millis(500u64.saturating_mul(1 << exp)).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> CreateDefaults {
        CreateDefaults {
            chain_url: Some("http://127.0.0.1:8888".into()),
            ship_url: Some("ws://127.0.0.1:8080".into()),
            chain_id: Some("ab".repeat(32)),
            memory_mb: 512,
            connection_limit: 6,
            runtime: RuntimeKind::Process,
        }
    }

    #[test]
    fn names_are_antelope_names() {
        for good in ["voskhod", "a", "coop.one", "abcde1234512"] {
            assert_eq!(CoopName::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "",
            "Voskhod",
            "coop_x",
            ".a",
            "a.",
            "abcdefghijklm",
            "zz6",
            "a b",
            "x'",
        ] {
            assert!(CoopName::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            CoopName::parse("coop.one").unwrap().db_ident(),
            "coop_coop_one"
        );
    }

    #[test]
    fn create_requests_are_validated_with_defaults() {
        let ok = CreateRequest {
            coopname: "voskhod".into(),
            domain: Some("coop.example.org".into()),
            ..CreateRequest::default()
        }
        .validate(&defaults())
        .unwrap();
        assert_eq!(ok.memory_mb, 512);
        assert_eq!(ok.chain_url, "http://127.0.0.1:8888");
        let bad = |r: CreateRequest| r.validate(&defaults()).unwrap_err();
        let base = || CreateRequest {
            coopname: "voskhod".into(),
            ..CreateRequest::default()
        };
        assert!(matches!(
            bad(CreateRequest {
                coopname: "X".into(),
                ..base()
            }),
            InputError::BadName(_)
        ));
        assert!(bad(CreateRequest {
            chain_url: Some("ftp://x".into()),
            ..base()
        })
        .to_string()
        .contains("chain_url"));
        assert!(bad(CreateRequest {
            ship_url: Some("http://x".into()),
            ..base()
        })
        .to_string()
        .contains("ship_url"));
        assert!(bad(CreateRequest {
            chain_id: Some("zz".into()),
            ..base()
        })
        .to_string()
        .contains("chain_id"));
        assert!(bad(CreateRequest {
            domain: Some("Bad Domain".into()),
            ..base()
        })
        .to_string()
        .contains("domain"));
        assert!(bad(CreateRequest {
            memory_mb: Some(1),
            ..base()
        })
        .to_string()
        .contains("memory_mb"));
        assert!(bad(CreateRequest {
            connection_limit: Some(1000),
            ..base()
        })
        .to_string()
        .contains("connection_limit"));
        let no_defaults = CreateDefaults {
            chain_url: None,
            ..defaults()
        };
        assert!(base().validate(&no_defaults).is_err());
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let cap = Duration::from_secs(30);
        assert_eq!(backoff(1, cap), Duration::from_millis(500));
        assert_eq!(backoff(2, cap), Duration::from_secs(1));
        assert_eq!(backoff(4, cap), Duration::from_secs(4));
        assert_eq!(backoff(40, cap), cap);
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let s = CoopSecrets {
            db_password: "pw-123".into(),
            jwt_key: "k".into(),
            admin_secret: "a".into(),
            secret_key: "s".into(),
        };
        assert!(!format!("{s:?}").contains("pw-123"));
    }
}
