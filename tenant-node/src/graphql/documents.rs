//! Document verification over GraphQL: `verifyDocument(doc_hash, username?)` regenerates every
//! stored record of a hash from its stored meta (and the private data as of its block) and
//! reports match or mismatch with the reason, like the `regenerate` subcommand. The chairman
//! and members verify any document; a user only their own.
//!
//! The document factory (WeasyPrint) is started on first use (`Api::paperwork`), so a node
//! that never verifies a document never starts PDF workers.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};

use super::guard::{self, api, bad_input, forbidden, internal, unavailable};
use super::query::parse_name;
use crate::auth::Role;
use crate::paperwork::PaperworkError;

/// `verifyDocument` input.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct VerifyDocumentInput {
    /// The document's hash (64 hex characters, any case).
    pub doc_hash: String,
    /// Only this member's record (a user: only their own, the default for a user).
    pub username: Option<String>,
}

/// The verdict on one stored record of the hash.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct DocumentVerdict {
    pub doc_hash: String,
    pub username: String,
    pub registry_id: u32,
    pub block_num: u32,
    /// The regenerated document has the stored hash (and the stored PDF's bytes).
    pub matches: bool,
    /// Why it does not match (empty on a match).
    pub reason: String,
}

/// Document queries.
#[derive(Debug, Default)]
pub struct DocumentsQuery;

#[Object]
impl DocumentsQuery {
    /// Regenerates the stored records of `doc_hash` from their stored meta and compares each
    /// with its hash and stored PDF. Chairman and members: any record; a user: their own.
    async fn verify_document(
        &self,
        ctx: &Context<'_>,
        data: VerifyDocumentInput,
    ) -> Result<Vec<DocumentVerdict>> {
        let caller = guard::caller(ctx).await?;
        let council = caller.is_any(&[Role::Chairman, Role::Member]);
        let username = match data.username.as_deref() {
            Some(u) => {
                let u = parse_name("username", u)?;
                if !council && u != caller.username {
                    return Err(forbidden());
                }
                Some(u)
            }
            None if council => None,
            None => Some(caller.username),
        };
        let hash = data.doc_hash.trim();
        if hash.len() != 64 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad_input("doc_hash must be 64 hex characters"));
        }
        let api = api(ctx);
        let paperwork = api.paperwork.get().await.map_err(|e| {
            tracing::error!(error = %format!("{e:#}"), "The document factory did not start");
            unavailable("document verification is unavailable on this node")
        })?;
        let who = username.map(|u| u.to_string());
        let outcome = paperwork.regenerate(hash, who.as_deref()).await;
        let records = match outcome {
            Ok(r) => r,
            Err(e @ PaperworkError::UnknownDocument { .. }) => {
                return Err(bad_input(e.to_string()))
            }
            Err(e) => return Err(internal(e)),
        };
        Ok(records
            .into_iter()
            .map(|r| DocumentVerdict {
                doc_hash: r.doc_hash,
                username: r.username,
                registry_id: r.registry_id,
                block_num: r.block_num,
                matches: r.verdict.is_match(),
                reason: match r.verdict {
                    documents::verify::Verdict::Match { .. } => String::new(),
                    documents::verify::Verdict::Mismatch(m) => m.to_string(),
                },
            })
            .collect())
    }
}
