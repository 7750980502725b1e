//! The document registry: one template per `registry_id`, embedded into the binary from
//! `templates/documents/` (manifest with title and version, data JSON Schema, Russian
//! translation table, minijinja HTML), plus the shared layout, macros, stylesheet, schema
//! definitions and common translations.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;
use thiserror::Error;

/// Why a registry lookup failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RegistryError {
    #[error("registry_id {0} has no template (known: 1, 2, 3, 4, 100, 101, 501, 599, 600)")]
    Unknown(u32),
    #[error("embedded template file {file} is broken: {reason}")]
    Broken { file: String, reason: String },
}

/// One embedded template folder.
struct Source {
    dir: &'static str,
    html_name: &'static str,
    html: &'static str,
    manifest: &'static str,
    schema: &'static str,
    ru: &'static str,
}

macro_rules! source {
    ($dir:literal) => {
        Source {
            dir: $dir,
            html_name: concat!($dir, "/document.html.j2"),
            html: include_str!(concat!(
                "../../templates/documents/",
                $dir,
                "/document.html.j2"
            )),
            manifest: include_str!(concat!(
                "../../templates/documents/",
                $dir,
                "/template.json"
            )),
            schema: include_str!(concat!("../../templates/documents/", $dir, "/schema.json")),
            ru: include_str!(concat!("../../templates/documents/", $dir, "/ru.json")),
        }
    };
}

const SOURCES: [Source; 9] = [
    source!("1.wallet-agreement"),
    source!("2.signature-regulation"),
    source!("3.privacy-consent"),
    source!("4.user-agreement"),
    source!("100.participant-application"),
    source!("101.select-branch"),
    source!("501.admission-decision"),
    source!("599.free-decision-project"),
    source!("600.free-decision"),
];

/// Shared files: (template name, source).
pub(crate) const SHARED_TEMPLATES: [(&str, &str); 2] = [
    (
        "base.html.j2",
        include_str!("../../templates/documents/base.html.j2"),
    ),
    (
        "macros.html.j2",
        include_str!("../../templates/documents/macros.html.j2"),
    ),
];
/// The print stylesheet, inlined into every document.
pub const PRINT_CSS: &str = include_str!("../../templates/documents/print.css");
const DEFINITIONS: &str = include_str!("../../templates/documents/definitions.json");
const COMMON_RU: &str = include_str!("../../templates/documents/common.ru.json");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    registry_id: u32,
    title: String,
    description: String,
    version: String,
    #[serde(default)]
    meta_keys: Vec<String>,
    #[serde(default)]
    required_meta_keys: Vec<String>,
}

/// A document template.
#[derive(Debug, Clone)]
pub struct Template {
    pub registry_id: u32,
    /// Folder name, e.g. `100.participant-application`.
    pub name: &'static str,
    /// Default document title (goes to meta and the PDF).
    pub title: String,
    pub description: String,
    /// Template version (meta `version`).
    pub version: String,
    /// Registry-specific meta keys it accepts (`braname`, `skip_save`, `decision_id`, …).
    pub meta_keys: Vec<String>,
    /// Extra meta keys that must be present (`braname` of registry 100 is required exactly
    /// when the cooperative is branched).
    pub required_meta_keys: Vec<String>,
    /// JSON Schema of its data, self-contained (shared `$defs` merged in).
    pub schema: Value,
    /// Russian texts by key (common texts merged in, the template's own win).
    pub translations: BTreeMap<String, String>,
    /// minijinja name of the HTML template.
    pub(crate) html_name: &'static str,
    pub(crate) html: &'static str,
}

/// All templates by registry id.
#[derive(Debug)]
pub struct Registry {
    templates: BTreeMap<u32, Template>,
}

fn broken(file: &str, reason: impl ToString) -> RegistryError {
    RegistryError::Broken {
        file: file.to_owned(),
        reason: reason.to_string(),
    }
}

fn parse_table(file: &str, text: &str) -> Result<BTreeMap<String, String>, RegistryError> {
    serde_json::from_str(text).map_err(|e| broken(file, e))
}

fn load() -> Result<Registry, RegistryError> {
    let definitions: Value =
        serde_json::from_str(DEFINITIONS).map_err(|e| broken("definitions.json", e))?;
    let defs = definitions
        .get("$defs")
        .cloned()
        .ok_or_else(|| broken("definitions.json", "no $defs"))?;
    let common = parse_table("common.ru.json", COMMON_RU)?;
    let mut templates = BTreeMap::new();
    for s in &SOURCES {
        let file = |f: &str| format!("{}/{f}", s.dir);
        let m: Manifest =
            serde_json::from_str(s.manifest).map_err(|e| broken(&file("template.json"), e))?;
        if !s.dir.starts_with(&format!("{}.", m.registry_id)) {
            return Err(broken(
                &file("template.json"),
                "registry_id differs from the folder",
            ));
        }
        if let Some(k) = m
            .required_meta_keys
            .iter()
            .find(|k| !m.meta_keys.contains(k))
        {
            return Err(broken(
                &file("template.json"),
                format!("{k} required but not allowed"),
            ));
        }
        let mut schema: Value =
            serde_json::from_str(s.schema).map_err(|e| broken(&file("schema.json"), e))?;
        match schema.as_object_mut() {
            Some(obj) => {
                obj.insert("$defs".into(), defs.clone());
            }
            None => return Err(broken(&file("schema.json"), "not an object")),
        }
        let mut translations = common.clone();
        translations.extend(parse_table(&file("ru.json"), s.ru)?);
        let template = Template {
            registry_id: m.registry_id,
            name: s.dir,
            title: m.title,
            description: m.description,
            version: m.version,
            meta_keys: m.meta_keys,
            required_meta_keys: m.required_meta_keys,
            schema,
            translations,
            html_name: s.html_name,
            html: s.html,
        };
        if templates.insert(m.registry_id, template).is_some() {
            return Err(broken(&file("template.json"), "duplicate registry_id"));
        }
    }
    Ok(Registry { templates })
}

/// The embedded registry (parsed once).
pub fn registry() -> Result<&'static Registry, RegistryError> {
    static REGISTRY: OnceLock<Result<Registry, RegistryError>> = OnceLock::new();
    REGISTRY.get_or_init(load).as_ref().map_err(Clone::clone)
}

impl Registry {
    pub fn get(&self, registry_id: u32) -> Result<&Template, RegistryError> {
        self.templates
            .get(&registry_id)
            .ok_or(RegistryError::Unknown(registry_id))
    }

    /// Templates in registry id order.
    pub fn templates(&self) -> impl Iterator<Item = &Template> {
        self.templates.values()
    }
}

impl Template {
    /// The minijinja source of the HTML template.
    pub fn html_source(&self) -> &'static str {
        self.html
    }
}
