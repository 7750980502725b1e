//! Document meta (documents.md §4): built from the caller's input with defaults, serialized in
//! the reference key order `{title, lang, registry_id, generator, links, version, coopname,
//! username, created_at, block_num, timezone, ...extras}`, and parsed back from a stored meta
//! for regeneration. The signature image never enters meta.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

use crate::clock::{ClockError, DateTime, Zone, DEFAULT_ZONE};
use crate::validate;

/// Our `generator` value.
pub const GENERATOR: &str = "mono-rs";
/// The only supported language.
pub const LANG: &str = "ru";

/// Why a meta input or a stored meta was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MetaError {
    #[error("meta is not an object of the expected shape: {0}")]
    Shape(String),
    #[error("meta.{field}: {problem}")]
    Field {
        field: &'static str,
        problem: validate::Problem,
    },
    #[error("meta.created_at: {0}")]
    CreatedAt(ClockError),
    #[error("meta.timezone: {0}")]
    Timezone(ClockError),
    #[error("meta.lang {0:?} is not supported (only \"ru\")")]
    Lang(String),
    #[error("meta.generator {0:?} is not ours ({GENERATOR:?}): this factory cannot reproduce it")]
    Generator(String),
    #[error("meta.registry_id is {found}, expected {expected}")]
    RegistryId { found: u32, expected: u32 },
    #[error("meta.version {found:?} is not available: registry {registry_id} has template version {available:?}")]
    Version {
        registry_id: u32,
        found: String,
        available: String,
    },
    #[error("meta.links[{index}] {value:?} is not a 64-character hex document hash")]
    Link { index: usize, value: String },
    #[error("meta must never contain the signature image (it belongs to the data)")]
    SignatureInMeta,
    #[error("meta.{key} is not used by registry {registry_id} (allowed extra keys: {allowed})")]
    UnknownKey {
        key: String,
        registry_id: u32,
        allowed: String,
    },
    #[error("meta.{key} must be {expected}")]
    ExtraType { key: String, expected: &'static str },
    #[error("meta.{key} is required by registry {registry_id}")]
    MissingKey { key: &'static str, registry_id: u32 },
    #[error("meta.{key} is {meta}, but the data has {data}")]
    DataMismatch {
        key: &'static str,
        meta: String,
        data: String,
    },
    #[error("{0}")]
    Other(String),
}

/// What a caller supplies to generate a document; every field but `coopname`, `username` and
/// `block_num` has a default. `block_num` is the head block the data was read at (the tenant
/// node supplies it; regeneration reads the data as of this block).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MetaInput {
    pub coopname: String,
    pub username: String,
    pub block_num: u64,
    /// `DD.MM.YYYY HH:mm` in `timezone`; default: now.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Default `Europe/Moscow`; `UTC` is also supported.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Default `ru` (the only one).
    #[serde(default)]
    pub lang: Option<String>,
    /// Default: the template's title.
    #[serde(default)]
    pub title: Option<String>,
    /// Must be ours if given.
    #[serde(default)]
    pub generator: Option<String>,
    /// Must be the template's version if given.
    #[serde(default)]
    pub version: Option<String>,
    /// Hashes of linked documents (the application links the four agreements).
    #[serde(default)]
    pub links: Vec<String>,
    /// Registry-specific keys: `braname`, `skip_save`, `decision_id`, `project_id`.
    #[serde(default, flatten)]
    pub extra: Map<String, Value>,
}

/// A complete meta; serializes in the reference key order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub title: String,
    pub lang: String,
    pub registry_id: u32,
    pub generator: String,
    pub links: Vec<String>,
    pub version: String,
    pub coopname: String,
    pub username: String,
    pub created_at: String,
    pub block_num: u64,
    pub timezone: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// How a registry uses an extra meta key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtraKind {
    /// A chain account name bound to `data.branch.braname`.
    Braname,
    /// A boolean (`skip_save`: the caller does not store the document; no effect here).
    Flag,
    /// A non-negative integer bound to `data.decision.id`.
    DecisionId,
    /// A string bound to `data.project.id`.
    ProjectId,
}

impl ExtraKind {
    /// The kind of a known extra key.
    pub fn of(key: &str) -> Option<ExtraKind> {
        match key {
            "braname" => Some(ExtraKind::Braname),
            "skip_save" => Some(ExtraKind::Flag),
            "decision_id" => Some(ExtraKind::DecisionId),
            "project_id" => Some(ExtraKind::ProjectId),
            _ => None,
        }
    }
}

/// What the meta builder needs to know about the template.
#[derive(Debug, Clone, Copy)]
pub struct MetaSpec<'a> {
    pub registry_id: u32,
    pub title: &'a str,
    pub version: &'a str,
    /// Extra keys the template accepts.
    pub extra_keys: &'a [String],
}

impl MetaInput {
    /// The input that rebuilds `meta` exactly (for regeneration).
    pub fn from_meta(meta: &Meta) -> MetaInput {
        MetaInput {
            coopname: meta.coopname.clone(),
            username: meta.username.clone(),
            block_num: meta.block_num,
            created_at: Some(meta.created_at.clone()),
            timezone: Some(meta.timezone.clone()),
            lang: Some(meta.lang.clone()),
            title: Some(meta.title.clone()),
            generator: Some(meta.generator.clone()),
            version: Some(meta.version.clone()),
            links: meta.links.clone(),
            extra: meta.extra.clone(),
        }
    }
}

fn field(field: &'static str, res: Result<(), validate::Problem>) -> Result<(), MetaError> {
    res.map_err(|problem| MetaError::Field { field, problem })
}

/// Builds a meta from input; `now_unix` is used when `created_at` is not given.
pub fn build(spec: MetaSpec<'_>, input: MetaInput, now_unix: i64) -> Result<Meta, MetaError> {
    field("coopname", validate::account_name(&input.coopname))?;
    field("username", validate::account_name(&input.username))?;
    let timezone = input.timezone.unwrap_or_else(|| DEFAULT_ZONE.to_owned());
    let zone = Zone::parse(&timezone).map_err(MetaError::Timezone)?;
    let created_at = match input.created_at {
        Some(text) => DateTime::parse_meta(&text).map_err(MetaError::CreatedAt)?,
        None => DateTime::in_zone(now_unix, zone),
    };
    let lang = input.lang.unwrap_or_else(|| LANG.to_owned());
    if lang != LANG {
        return Err(MetaError::Lang(lang));
    }
    let generator = input.generator.unwrap_or_else(|| GENERATOR.to_owned());
    if generator != GENERATOR {
        return Err(MetaError::Generator(generator));
    }
    let version = input.version.unwrap_or_else(|| spec.version.to_owned());
    if version != spec.version {
        return Err(MetaError::Version {
            registry_id: spec.registry_id,
            found: version,
            available: spec.version.to_owned(),
        });
    }
    let title = input.title.unwrap_or_else(|| spec.title.to_owned());
    field("title", validate::text(&title, 300))?;
    for (index, link) in input.links.iter().enumerate() {
        if link.len() != 64 || !link.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(MetaError::Link {
                index,
                value: link.chars().take(80).collect(),
            });
        }
    }
    let mut extra = input.extra;
    if let Some(found) = extra.remove("registry_id") {
        let found = found
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| MetaError::ExtraType {
                key: "registry_id".into(),
                expected: "an integer",
            })?;
        if found != spec.registry_id {
            return Err(MetaError::RegistryId {
                found,
                expected: spec.registry_id,
            });
        }
    }
    check_extras(spec, &extra)?;
    Ok(Meta {
        title,
        lang,
        registry_id: spec.registry_id,
        generator,
        links: input.links,
        version,
        coopname: input.coopname,
        username: input.username,
        created_at: created_at.to_string(),
        block_num: input.block_num,
        timezone: zone.name().to_owned(),
        extra,
    })
}

fn check_extras(spec: MetaSpec<'_>, extra: &Map<String, Value>) -> Result<(), MetaError> {
    for (key, value) in extra {
        if key == "signature" {
            return Err(MetaError::SignatureInMeta);
        }
        if !spec.extra_keys.iter().any(|k| k == key) {
            return Err(MetaError::UnknownKey {
                key: key.clone(),
                registry_id: spec.registry_id,
                allowed: if spec.extra_keys.is_empty() {
                    "none".to_owned()
                } else {
                    spec.extra_keys.join(", ")
                },
            });
        }
        let ok = match ExtraKind::of(key) {
            Some(ExtraKind::Braname) => value
                .as_str()
                .is_some_and(|s| validate::account_name(s).is_ok()),
            Some(ExtraKind::Flag) => value.is_boolean(),
            Some(ExtraKind::DecisionId) => value.is_u64(),
            Some(ExtraKind::ProjectId) => value.as_str().is_some_and(|s| !s.trim().is_empty()),
            None => false,
        };
        if !ok {
            let expected = match ExtraKind::of(key) {
                Some(ExtraKind::Braname) => "an account name",
                Some(ExtraKind::Flag) => "a boolean",
                Some(ExtraKind::DecisionId) => "a non-negative integer",
                Some(ExtraKind::ProjectId) => "a non-empty string",
                None => "a known key",
            };
            return Err(MetaError::ExtraType {
                key: key.clone(),
                expected,
            });
        }
    }
    Ok(())
}

impl Meta {
    /// Parses and checks a stored meta (a JSON object as kept with the document or on chain).
    pub fn from_value(value: &Value, spec: MetaSpec<'_>) -> Result<Meta, MetaError> {
        let meta: Meta =
            serde_json::from_value(value.clone()).map_err(|e| MetaError::Shape(e.to_string()))?;
        if meta.registry_id != spec.registry_id {
            return Err(MetaError::RegistryId {
                found: meta.registry_id,
                expected: spec.registry_id,
            });
        }
        // Rebuilding from its own fields must give the same meta: every field is then valid
        // and in canonical form (e.g. the zone name).
        let rebuilt = build(spec, MetaInput::from_meta(&meta), 0)?;
        if rebuilt != meta {
            return Err(MetaError::Other(
                "meta is not in canonical form (e.g. the time zone spelling)".into(),
            ));
        }
        Ok(meta)
    }

    /// The meta as a JSON object in the reference key order.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    pub fn zone(&self) -> Result<Zone, MetaError> {
        Zone::parse(&self.timezone).map_err(MetaError::Timezone)
    }

    pub fn created(&self) -> Result<DateTime, MetaError> {
        DateTime::parse_meta(&self.created_at).map_err(MetaError::CreatedAt)
    }

    /// A string extra (`braname`, `project_id`).
    pub fn extra_str(&self, key: &str) -> Option<&str> {
        self.extra.get(key).and_then(Value::as_str)
    }

    /// An integer extra (`decision_id`).
    pub fn extra_u64(&self, key: &str) -> Option<u64> {
        self.extra.get(key).and_then(Value::as_u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(keys: &[String]) -> MetaSpec<'_> {
        MetaSpec {
            registry_id: 100,
            title: "Заявление о вступлении",
            version: "1.0.0",
            extra_keys: keys,
        }
    }

    fn input() -> MetaInput {
        MetaInput {
            coopname: "voskhod".into(),
            username: "ivanov12".into(),
            block_num: 42,
            ..MetaInput::default()
        }
    }

    #[test]
    fn defaults_and_key_order() {
        let keys = vec!["braname".to_owned(), "skip_save".to_owned()];
        let mut input = input();
        input.extra.insert("skip_save".into(), Value::Bool(false));
        input
            .extra
            .insert("braname".into(), Value::from("vskpodolsk"));
        // 2025-02-01T07:30:00Z = 10:30 in Moscow.
        let meta = build(spec(&keys), input, 1_738_395_000).unwrap();
        let text = serde_json::to_string(&meta.to_value()).unwrap();
        assert_eq!(
            text,
            "{\"title\":\"Заявление о вступлении\",\"lang\":\"ru\",\"registry_id\":100,\
             \"generator\":\"mono-rs\",\"links\":[],\"version\":\"1.0.0\",\"coopname\":\"voskhod\",\
             \"username\":\"ivanov12\",\"created_at\":\"01.02.2025 10:30\",\"block_num\":42,\
             \"timezone\":\"Europe/Moscow\",\"skip_save\":false,\"braname\":\"vskpodolsk\"}"
        );
        let back = Meta::from_value(&meta.to_value(), spec(&keys)).unwrap();
        assert_eq!(back, meta);
    }

    #[test]
    fn utc_zone_and_rejections() {
        let mut i = input();
        i.timezone = Some("UTC".into());
        let meta = build(spec(&[]), i, 1_738_395_000).unwrap();
        assert_eq!(meta.created_at, "01.02.2025 07:30");
        let mut i = input();
        i.timezone = Some("America/New_York".into());
        assert!(matches!(
            build(spec(&[]), i, 0),
            Err(MetaError::Timezone(ClockError::UnsupportedZone(_)))
        ));
        let mut i = input();
        i.extra.insert(
            "signature".into(),
            Value::from("data:image/png;base64,AA=="),
        );
        assert_eq!(build(spec(&[]), i, 0), Err(MetaError::SignatureInMeta));
        let mut i = input();
        i.extra.insert("foo".into(), Value::from(1));
        assert!(matches!(
            build(spec(&[]), i, 0),
            Err(MetaError::UnknownKey { .. })
        ));
        let mut i = input();
        i.version = Some("0.9.0".into());
        assert!(matches!(
            build(spec(&[]), i, 0),
            Err(MetaError::Version { .. })
        ));
        let mut i = input();
        i.links = vec!["abc".into()];
        assert!(matches!(
            build(spec(&[]), i, 0),
            Err(MetaError::Link { index: 0, .. })
        ));
        let mut i = input();
        i.created_at = Some("2025-02-01 10:30".into());
        assert!(matches!(
            build(spec(&[]), i, 0),
            Err(MetaError::CreatedAt(_))
        ));
    }
}
