//! Document generation. The pure part ([`prepare`], [`prepare_with_meta`]) checks the data
//! (field validators and the template's JSON Schema), builds the meta, checks that meta and
//! data agree, and renders the HTML. [`Factory::generate`] adds the PDF (through
//! [`crate::pdf::PdfEngine`]) and `doc_hash` = uppercase hex SHA-256 of the PDF bytes.

use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::meta::{self, ExtraKind, Meta, MetaError, MetaInput, MetaSpec};
use crate::model::check::ValidationErrors;
use crate::model::DocumentData;
use crate::pdf::{PdfEngine, PdfError};
use crate::registry::{self, RegistryError, Template};
use crate::render::{RenderError, Renderer};
use crate::schema::{self, SchemaViolation};

/// Why a document could not be generated.
#[derive(Debug, Error)]
pub enum GenerateError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Meta(#[from] MetaError),
    #[error(transparent)]
    Data(#[from] ValidationErrors),
    #[error("data does not match the schema of registry {registry_id}: {}", join(.violations))]
    Schema {
        registry_id: u32,
        violations: Vec<SchemaViolation>,
    },
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Pdf(#[from] PdfError),
}

fn join(violations: &[SchemaViolation]) -> String {
    violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A document rendered to HTML (no PDF yet).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub template: &'static Template,
    pub meta: Meta,
    pub html: String,
    /// `<title> - <member or representative> - <created_at>.pdf`
    pub full_title: String,
}

/// A generated document: what the tenant node stores and returns.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedDocument {
    pub full_title: String,
    pub html: String,
    /// `doc_hash`: uppercase hex SHA-256 of `binary`.
    pub hash: String,
    /// The PDF.
    pub binary: Vec<u8>,
    pub meta: Meta,
}

/// `doc_hash` of PDF bytes: uppercase hex SHA-256.
pub fn doc_hash(pdf: &[u8]) -> String {
    hex::encode_upper(Sha256::digest(pdf))
}

/// The meta builder's view of a template.
pub fn meta_spec(template: &Template) -> MetaSpec<'_> {
    MetaSpec {
        registry_id: template.registry_id,
        title: &template.title,
        version: &template.version,
        extra_keys: &template.meta_keys,
    }
}

/// Checks data, builds meta (`now_unix` stands in for a missing `created_at`) and renders.
pub fn prepare(
    renderer: &Renderer,
    registry_id: u32,
    input: MetaInput,
    data: &DocumentData,
    now_unix: i64,
) -> Result<Prepared, GenerateError> {
    let template = registry::registry()?.get(registry_id)?;
    let meta = meta::build(meta_spec(template), input, now_unix)?;
    prepare_with_meta(renderer, template, meta, data)
}

/// Checks data against a complete meta and renders (generation and regeneration share it).
pub fn prepare_with_meta(
    renderer: &Renderer,
    template: &'static Template,
    meta: Meta,
    data: &DocumentData,
) -> Result<Prepared, GenerateError> {
    data.validate()?;
    let value = serde_json::to_value(data).map_err(|e| MetaError::Other(e.to_string()))?;
    let violations = schema::check(&template.schema, &value);
    if !violations.is_empty() {
        return Err(GenerateError::Schema {
            registry_id: template.registry_id,
            violations,
        });
    }
    check_agreement(template, &meta, data)?;
    let html = renderer.render(template, &meta, data)?;
    let full_title = format!(
        "{} - {} - {}.pdf",
        meta.title,
        data.user.signer_name(),
        meta.created_at
    );
    Ok(Prepared {
        template,
        meta,
        html,
        full_title,
    })
}

/// Meta and data must describe the same things: the cooperative, and the branch, decision
/// and project named by the extra keys.
fn check_agreement(template: &Template, meta: &Meta, data: &DocumentData) -> Result<(), MetaError> {
    let mismatch =
        |key: &'static str, meta: String, data: String| MetaError::DataMismatch { key, meta, data };
    if meta.coopname != data.coop.coopname {
        return Err(mismatch(
            "coopname",
            meta.coopname.clone(),
            format!("coop.coopname {}", data.coop.coopname),
        ));
    }
    if data.vars.coopname != data.coop.coopname {
        return Err(mismatch(
            "coopname",
            meta.coopname.clone(),
            format!("vars.coopname {}", data.vars.coopname),
        ));
    }
    for key in &template.required_meta_keys {
        if !meta.extra.contains_key(key) {
            let key = match ExtraKind::of(key) {
                Some(ExtraKind::Braname) => "braname",
                Some(ExtraKind::DecisionId) => "decision_id",
                Some(ExtraKind::ProjectId) => "project_id",
                _ => "skip_save",
            };
            return Err(MetaError::MissingKey {
                key,
                registry_id: template.registry_id,
            });
        }
    }
    let takes_braname = template.meta_keys.iter().any(|k| k == "braname");
    let braname_required = template.required_meta_keys.iter().any(|k| k == "braname");
    if takes_braname && !braname_required {
        // The application names a branch exactly when the cooperative works with branches.
        match (data.coop.is_branched, meta.extra_str("braname")) {
            (true, None) => {
                return Err(MetaError::MissingKey {
                    key: "braname",
                    registry_id: template.registry_id,
                })
            }
            (false, Some(b)) => {
                return Err(mismatch(
                    "braname",
                    b.to_owned(),
                    "a cooperative that is not branched".into(),
                ))
            }
            _ => {}
        }
    }
    if let Some(braname) = meta.extra_str("braname") {
        match &data.branch {
            Some(b) if b.braname == braname => {}
            other => {
                return Err(mismatch(
                    "braname",
                    braname.to_owned(),
                    other
                        .as_ref()
                        .map_or("no branch".into(), |b| format!("branch {}", b.braname)),
                ))
            }
        }
    }
    if let Some(id) = meta.extra_u64("decision_id") {
        match &data.decision {
            Some(d) if d.id == id => {}
            other => {
                return Err(mismatch(
                    "decision_id",
                    id.to_string(),
                    other
                        .as_ref()
                        .map_or("no decision".into(), |d| format!("decision {}", d.id)),
                ))
            }
        }
    }
    if let Some(id) = meta.extra_str("project_id") {
        match &data.project {
            Some(p) if p.id == id => {}
            other => {
                return Err(mismatch(
                    "project_id",
                    id.to_owned(),
                    other
                        .as_ref()
                        .map_or("no project".into(), |p| format!("project {}", p.id)),
                ))
            }
        }
    }
    Ok(())
}

/// Renders templates and turns them into PDFs.
#[derive(Debug)]
pub struct Factory {
    renderer: Renderer,
    pdf: PdfEngine,
}

impl Factory {
    pub fn new(renderer: Renderer, pdf: PdfEngine) -> Factory {
        Factory { renderer, pdf }
    }

    pub fn renderer(&self) -> &Renderer {
        &self.renderer
    }

    pub fn pdf(&self) -> &PdfEngine {
        &self.pdf
    }

    /// Generates a document; `created_at` defaults to the current time.
    pub async fn generate(
        &self,
        registry_id: u32,
        input: MetaInput,
        data: &DocumentData,
    ) -> Result<GeneratedDocument, GenerateError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let prepared = prepare(&self.renderer, registry_id, input, data, now)?;
        self.finish(prepared).await
    }

    /// Renders the PDF of a prepared document and hashes it.
    pub async fn finish(&self, prepared: Prepared) -> Result<GeneratedDocument, GenerateError> {
        let binary = self.pdf.render(&prepared.html).await?;
        Ok(GeneratedDocument {
            full_title: prepared.full_title,
            html: prepared.html,
            hash: doc_hash(&binary),
            binary,
            meta: prepared.meta,
        })
    }
}
