//! Regeneration and verification ("сверить", documents.md §6): from a stored meta alone plus
//! the data as of `meta.block_num` (the tenant node reads its versioned tables at that block),
//! regenerate the PDF and compare `doc_hash`; and the unsigned `document2` of a generated
//! document (`meta_hash` over the JCS meta, `hash = sha256(meta_hash + doc_hash)`).

use chain::document::{Document2, DocumentError};
use serde_json::Value;
use thiserror::Error;

use crate::factory::{self, doc_hash, Factory, GenerateError, GeneratedDocument};
use crate::meta::{Meta, MetaError};
use crate::model::DocumentData;
use crate::pdf::PdfError;
use crate::registry;

/// Why a stored document does not match its regeneration.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Mismatch {
    #[error("the expected doc_hash {0:?} is not 64 hex characters")]
    BadExpectedHash(String),
    #[error("the stored PDF hashes to {computed}, not to the expected {expected}")]
    StoredBinary { expected: String, computed: String },
    #[error("the stored meta is unusable: {0}")]
    Meta(String),
    #[error("this build cannot reproduce template version {found} of registry {registry_id} (it has {available})")]
    TemplateVersion {
        registry_id: u32,
        found: String,
        available: String,
    },
    #[error("the data as of the meta's block is rejected: {0}")]
    Data(String),
    #[error("the regenerated PDF hashes to {regenerated}, not to {expected}: meta or data differ from what was generated (or WeasyPrint {weasyprint} or fonts differ from the original)")]
    HashDiffers {
        expected: String,
        regenerated: String,
        weasyprint: String,
    },
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The regenerated PDF has the expected `doc_hash`.
    Match {
        doc_hash: String,
    },
    Mismatch(Mismatch),
}

impl Verdict {
    pub fn is_match(&self) -> bool {
        matches!(self, Verdict::Match { .. })
    }
}

/// The registry id of a stored meta.
fn registry_id(meta: &Value) -> Result<u32, Mismatch> {
    meta.get("registry_id")
        .and_then(Value::as_u64)
        .and_then(|id| u32::try_from(id).ok())
        .ok_or_else(|| Mismatch::Meta("registry_id is missing or not an integer".into()))
}

/// Parses a stored meta (a JSON object, or the text kept in `document2.meta`) against its
/// template.
pub fn parse_stored_meta(stored: &Value) -> Result<Meta, Mismatch> {
    let stored = match stored {
        Value::String(text) => {
            serde_json::from_str(text).map_err(|e| Mismatch::Meta(format!("not JSON: {e}")))?
        }
        other => other.clone(),
    };
    let id = registry_id(&stored)?;
    let template = registry::registry()
        .and_then(|r| r.get(id))
        .map_err(|e| Mismatch::Meta(e.to_string()))?;
    Meta::from_value(&stored, factory::meta_spec(template)).map_err(|e| match e {
        MetaError::Version {
            registry_id,
            found,
            available,
        } => Mismatch::TemplateVersion {
            registry_id,
            found,
            available,
        },
        other => Mismatch::Meta(other.to_string()),
    })
}

/// Regenerates a document from a stored meta and the data as of `meta.block_num`.
pub async fn regenerate(
    factory: &Factory,
    stored_meta: &Value,
    data: &DocumentData,
) -> Result<GeneratedDocument, RegenerateError> {
    let meta = parse_stored_meta(stored_meta).map_err(RegenerateError::Mismatch)?;
    let template = registry::registry()
        .and_then(|r| r.get(meta.registry_id))
        .map_err(|e| RegenerateError::Mismatch(Mismatch::Meta(e.to_string())))?;
    let prepared = factory::prepare_with_meta(factory.renderer(), template, meta, data)
        .map_err(|e| RegenerateError::Mismatch(Mismatch::Data(e.to_string())))?;
    factory.finish(prepared).await.map_err(|e| match e {
        GenerateError::Pdf(p) => RegenerateError::Pdf(p),
        other => RegenerateError::Mismatch(Mismatch::Data(other.to_string())),
    })
}

/// Regeneration either could not be decided (the PDF engine failed) or found a mismatch.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RegenerateError {
    #[error(transparent)]
    Mismatch(Mismatch),
    #[error(transparent)]
    Pdf(PdfError),
}

/// Verifies a stored document: its PDF (if given) must hash to `expected_doc_hash`, and
/// regenerating from `stored_meta` and `data` (as of `meta.block_num`) must give that hash.
/// Hash case is ignored. `Err` only when the PDF engine failed (nothing was decided).
pub async fn verify(
    factory: &Factory,
    stored_meta: &Value,
    data: &DocumentData,
    expected_doc_hash: &str,
    stored_pdf: Option<&[u8]>,
) -> Result<Verdict, PdfError> {
    let expected = expected_doc_hash.to_ascii_uppercase();
    if expected.len() != 64 || !expected.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(Verdict::Mismatch(Mismatch::BadExpectedHash(
            expected_doc_hash.chars().take(80).collect(),
        )));
    }
    if let Some(pdf) = stored_pdf {
        let computed = doc_hash(pdf);
        if computed != expected {
            return Ok(Verdict::Mismatch(Mismatch::StoredBinary {
                expected,
                computed,
            }));
        }
    }
    match regenerate(factory, stored_meta, data).await {
        Ok(doc) if doc.hash == expected => Ok(Verdict::Match { doc_hash: doc.hash }),
        Ok(doc) => Ok(Verdict::Mismatch(Mismatch::HashDiffers {
            expected,
            regenerated: doc.hash,
            weasyprint: factory.pdf().weasyprint_version().to_owned(),
        })),
        Err(RegenerateError::Mismatch(m)) => Ok(Verdict::Mismatch(m)),
        Err(RegenerateError::Pdf(e)) => Err(e),
    }
}

/// The unsigned `document2` ("1.1.0") of a generated document: `doc_hash` as generated
/// (uppercase), meta stored in JCS form, `meta_hash = sha256(JCS(meta))`,
/// `hash = sha256(meta_hash + doc_hash)`.
pub fn document2(doc: &GeneratedDocument) -> Result<Document2, DocumentError> {
    Document2::new(&doc.hash, &doc.meta.to_value())
}
