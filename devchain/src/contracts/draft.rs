//! `draft`: document templates (`createdraft`, `editdraft`, `deldraft`, `upversion`) and their
//! translations (`createtrans`, `edittrans`, `deltrans`). Tables `drafts` (`onedraft`, pk
//! registry_id) and `translations` (pk id) in the action's `scope` (`draft` or a cooperative).

use chain::{name, Name};
use serde::{Deserialize, Serialize};

use super::{args, next_id, read_row, scan_rows, store_row, DRAFT};
use crate::contract::{ApplyContext, Contract};
use crate::error::ChainError;

const DRAFTS: Name = name!("drafts");
const TRANSLATIONS: Name = name!("translations");

/// `draft::drafts` row (`onedraft`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OneDraft {
    pub registry_id: u64,
    pub version: u64,
    pub default_translation_id: u64,
    pub title: String,
    pub description: String,
    pub context: String,
    pub model: String,
}

/// `draft::translations` row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Translation {
    pub id: u64,
    pub draft_id: u64,
    pub lang: Name,
    pub data: String,
}

/// The union of the draft actions' fields.
#[derive(Debug, Deserialize)]
struct DraftArgs {
    scope: Name,
    #[serde(default)]
    registry_id: Option<u64>,
    #[serde(default)]
    translate_id: Option<u64>,
    #[serde(default)]
    lang: Option<Name>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    context: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    translation_data: Option<String>,
    #[serde(default)]
    data: Option<String>,
}

/// The simulated `draft` contract.
#[derive(Debug, Default, Clone, Copy)]
pub struct Draft;

impl Contract for Draft {
    fn apply(&self, ctx: &mut ApplyContext<'_>) -> Result<(), ChainError> {
        if ctx.is_notification() {
            return Ok(());
        }
        let action = ctx.action_name();
        if action == name!("newid") {
            return ctx.require_auth(DRAFT);
        }
        let a: DraftArgs = args(ctx)?;
        // The scope's owner (`draft` for the platform's templates, else the cooperative) signs.
        ctx.require_auth(a.scope)?;
        ctx.check(
            ctx.is_account(a.scope),
            format!("scope {} is not an account", a.scope),
        )?;
        let registry_id = a.registry_id.unwrap_or_default();
        let draft: Option<OneDraft> = read_row(ctx, DRAFT, a.scope, DRAFTS, registry_id)?;
        match action {
            n if n == name!("createdraft") => {
                ctx.check(
                    draft.is_none(),
                    format!("draft {registry_id} already exists"),
                )?;
                let lang = a.lang.unwrap_or(name!("ru"));
                let translation_id = next_id(ctx, a.scope, TRANSLATIONS);
                let t = Translation {
                    id: translation_id,
                    draft_id: registry_id,
                    lang,
                    data: a.translation_data.unwrap_or_default(),
                };
                store_row(ctx, a.scope, TRANSLATIONS, a.scope, t.id, &t, Vec::new())?;
                let d = OneDraft {
                    registry_id,
                    version: 1,
                    default_translation_id: translation_id,
                    title: a.title.unwrap_or_default(),
                    description: a.description.unwrap_or_default(),
                    context: a.context.unwrap_or_default(),
                    model: a.model.unwrap_or_default(),
                };
                store_row(ctx, a.scope, DRAFTS, a.scope, registry_id, &d, Vec::new())
            }
            n if n == name!("editdraft") || n == name!("upversion") => {
                let mut d = draft.ok_or_else(|| {
                    ChainError::Assert(format!("draft {registry_id} is not found"))
                })?;
                if n == name!("upversion") {
                    d.version = d.version.saturating_add(1);
                } else {
                    d.title = a.title.unwrap_or(d.title);
                    d.description = a.description.unwrap_or(d.description);
                    d.context = a.context.unwrap_or(d.context);
                    d.model = a.model.unwrap_or(d.model);
                }
                store_row(ctx, a.scope, DRAFTS, a.scope, registry_id, &d, Vec::new())
            }
            n if n == name!("deldraft") => {
                ctx.check(draft.is_some(), format!("draft {registry_id} is not found"))?;
                let translations: Vec<(u64, Translation)> =
                    scan_rows(ctx, DRAFT, a.scope, TRANSLATIONS)?;
                for (id, t) in translations {
                    if t.draft_id == registry_id {
                        ctx.erase(a.scope, TRANSLATIONS, id)?;
                    }
                }
                ctx.erase(a.scope, DRAFTS, registry_id)
            }
            n if n == name!("createtrans") => {
                ctx.check(draft.is_some(), format!("draft {registry_id} is not found"))?;
                let lang = a.lang.unwrap_or_default();
                let existing: Vec<(u64, Translation)> =
                    scan_rows(ctx, DRAFT, a.scope, TRANSLATIONS)?;
                ctx.check(
                    !existing
                        .iter()
                        .any(|(_, t)| t.draft_id == registry_id && t.lang == lang),
                    format!("draft {registry_id} already has a {lang} translation"),
                )?;
                let t = Translation {
                    id: next_id(ctx, a.scope, TRANSLATIONS),
                    draft_id: registry_id,
                    lang,
                    data: a.data.unwrap_or_default(),
                };
                store_row(ctx, a.scope, TRANSLATIONS, a.scope, t.id, &t, Vec::new())
            }
            n if n == name!("edittrans") || n == name!("deltrans") => {
                let id = a.translate_id.unwrap_or_default();
                let t: Option<Translation> = read_row(ctx, DRAFT, a.scope, TRANSLATIONS, id)?;
                let mut t =
                    t.ok_or_else(|| ChainError::Assert(format!("translation {id} is not found")))?;
                if n == name!("deltrans") {
                    let parent: Option<OneDraft> =
                        read_row(ctx, DRAFT, a.scope, DRAFTS, t.draft_id)?;
                    ctx.check(
                        parent.is_none_or(|d| d.default_translation_id != id),
                        "the default translation cannot be deleted",
                    )?;
                    return ctx.erase(a.scope, TRANSLATIONS, id);
                }
                t.data = a.data.unwrap_or_default();
                store_row(ctx, a.scope, TRANSLATIONS, a.scope, id, &t, Vec::new())
            }
            other => Err(ChainError::InvalidActionArgs(format!(
                "draft has no action {other}"
            ))),
        }
    }
}
