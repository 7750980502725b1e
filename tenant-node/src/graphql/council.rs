//! Council decisions: `authorizeDecision` and `declineDecision` (chairman only). The node
//! checks the decision and, for an authorization, the chairman's signed decision document
//! (registry 501 for admissions, 600 for free decisions, generated here for the chairman), then
//! commits ONE council intent per decision to the chain-intent outbox; the outbox sender signs
//! `soviet::authorize` + `soviet::exec` (or `soviet::declinedec`) with the cooperative's key and
//! sends it exactly once.
//!
//! `getDecisionIntent` lets the council follow an intent until it is confirmed (or failed).
//!
//! Votes are NOT relayed: members sign `soviet::votefor` / `voteagainst` with their own keys and
//! push them to the chain API directly (the contract checks the voter, the digest and the key);
//! the node reads them back from the synced data (`getAgenda`).

use std::collections::HashMap;

use async_graphql::{Context, InputObject, Json, Object, Result, SimpleObject};
use chain::document::Document2;
use chain::{name, Name};

use super::guard::{self, api, bad_input, conflict, internal};
use crate::auth::Role;
use crate::db::outbox::{Intent, IntentStatus};
use crate::outbox::{CouncilAction, IntentPayload};
use crate::paperwork::keys::{ChainKeys, KeySource};
use crate::paperwork::signed::{verify_signed, SignerKeys};

/// `authorizeDecision` input.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct AuthorizeDecisionInput {
    pub decision_id: u64,
    /// The chairman's signed decision document (`document2`, version "1.1.0").
    pub document: Json<serde_json::Value>,
}

/// `declineDecision` input.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct DeclineDecisionInput {
    pub decision_id: u64,
}

/// The council intent of a decision.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct DecisionIntent {
    pub decision_id: u64,
    /// `authorize` or `decline`.
    pub action: String,
    /// `pending`, `sent`, `confirmed` (irreversibly on chain) or `failed`.
    pub status: String,
    /// False when this call found the intent already committed (a repeated call; always false
    /// from `getDecisionIntent`).
    pub created: bool,
    /// The last transaction sent for it (hex), once sent.
    pub trx_id: Option<String>,
    /// The irreversible block that holds it, once confirmed.
    pub confirmed_block: Option<u32>,
    /// Why it failed (`failed` only): the contract's assertion message when there is one.
    pub error: Option<String>,
}

fn answer(intent: &Intent, created: bool) -> DecisionIntent {
    let (decision_id, action) = match &intent.payload {
        IntentPayload::Council(a @ CouncilAction::Authorize { .. }) => {
            (a.decision_id(), "authorize")
        }
        IntentPayload::Council(a @ CouncilAction::Decline { .. }) => (a.decision_id(), "decline"),
        other => (0, other.kind()),
    };
    DecisionIntent {
        decision_id,
        action: action.into(),
        status: match intent.status {
            IntentStatus::Pending => "pending",
            IntentStatus::Sent => "sent",
            IntentStatus::Confirmed => "confirmed",
            IntentStatus::Failed => "failed",
        }
        .into(),
        created,
        trx_id: intent.trx_id.as_ref().map(ToString::to_string),
        confirmed_block: intent.confirmed_block,
        error: (intent.status == IntentStatus::Failed).then(|| failure_reason(&intent.last_error)),
    }
}

/// What the council may read of a failure: the contract's assertion message, or a generic
/// refusal (the stored error can name the chain endpoint and other internals).
fn failure_reason(stored: &str) -> String {
    const ASSERTION: &str = "assertion failure with message: ";
    match stored.find(ASSERTION) {
        Some(i) => {
            let message: String = stored[i + ASSERTION.len()..]
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(200)
                .collect();
            format!("the chain refused the transaction: {}", message.trim())
        }
        None => "the chain refused the transaction".into(),
    }
}

/// `getDecisionIntent` input.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct GetDecisionIntentInput {
    pub decision_id: u64,
}

/// `getDecisionIntent`.
#[derive(Debug, Default)]
pub struct CouncilQuery;

#[Object]
impl CouncilQuery {
    /// Chairman and members: the council intent of a decision (`authorizeDecision` or
    /// `declineDecision`) and how far it got; null when there is none.
    async fn get_decision_intent(
        &self,
        ctx: &Context<'_>,
        data: GetDecisionIntentInput,
    ) -> Result<Option<DecisionIntent>> {
        guard::require(ctx, &[Role::Chairman, Role::Member]).await?;
        let intent = api(ctx)
            .db
            .decision_intent(data.decision_id)
            .await
            .map_err(internal)?;
        Ok(intent.as_ref().map(|i| answer(i, false)))
    }
}

/// The decision on the agenda, with the checks both operations share.
async fn open_decision(api: &super::Api, id: u64) -> Result<crate::registry::Decision> {
    let d = api
        .registry
        .decision(id, None)
        .await
        .map_err(internal)?
        .ok_or_else(|| bad_input(format!("decision {id} is not known")))?;
    if !d.on_agenda {
        return Err(conflict(format!("decision {id} is already resolved")));
    }
    Ok(d)
}

/// Commits the decision's council intent; a different action already committed is a conflict.
async fn commit(
    api: &super::Api,
    candidate: Name,
    action: CouncilAction,
) -> Result<DecisionIntent> {
    let (intent, created) = api
        .db
        .council_intent(candidate, &action)
        .await
        .map_err(internal)?;
    let same_kind = matches!(
        (&intent.payload, &action),
        (
            IntentPayload::Council(CouncilAction::Authorize { .. }),
            CouncilAction::Authorize { .. }
        ) | (
            IntentPayload::Council(CouncilAction::Decline { .. }),
            CouncilAction::Decline { .. }
        )
    );
    if !same_kind {
        return Err(conflict(format!(
            "decision {} already has another council action",
            action.decision_id()
        )));
    }
    Ok(answer(&intent, created))
}

/// Checks the chairman's signed decision document: generated here for the chairman as the
/// document of `decision` (registry and `decision_id` in its meta), consistent, signed by the
/// chairman with a key of the chairman's `active` permission on chain.
async fn check_document(
    api: &super::Api,
    chairman: Name,
    decision: &crate::registry::Decision,
    document: &serde_json::Value,
) -> Result<Document2> {
    let doc: Document2 = serde_json::from_value(document.clone())
        .map_err(|e| bad_input(format!("document is not a signed document: {e}")))?;
    let registry_id = if decision.kind == name!("joincoop") {
        501
    } else if decision.kind == name!("freedecision") {
        600
    } else {
        return Err(bad_input(format!(
            "decisions of kind {} are not authorized through the node",
            decision.kind
        )));
    };
    let stored = api
        .db
        .documents_by_hash(&doc.doc_hash.to_hex_upper())
        .await
        .map_err(internal)?;
    let fits = stored.iter().any(|s| {
        s.username == chairman.to_string()
            && s.registry_id == registry_id
            && s.meta.get("decision_id").and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|t| t.parse().ok()))
            }) == Some(decision.id)
    });
    if !fits {
        return Err(bad_input(format!(
            "the document is not the decision document (registry {registry_id}) of decision {} \
             generated for {chairman}",
            decision.id
        )));
    }
    let source = ChainKeys::new(api.chain.clone());
    let mut keys = HashMap::new();
    for sig in &doc.signatures {
        if let std::collections::hash_map::Entry::Vacant(slot) = keys.entry(sig.signer) {
            slot.insert(source.signer_keys(sig.signer).await.map_err(internal)?);
        }
    }
    // the chairman must be on chain: a stored key does not count for a decision
    if matches!(keys.get(&chairman), Some(SignerKeys::Stored(_))) {
        keys.insert(chairman, SignerKeys::Unknown);
    }
    verify_signed(&doc, chairman, &stored, &keys).map_err(|e| bad_input(e.to_string()))?;
    Ok(doc)
}

/// Council mutations.
#[derive(Debug, Default)]
pub struct CouncilMutation;

#[Object]
impl CouncilMutation {
    /// Chairman only: authorizes and executes an approved decision with the chairman's signed
    /// decision document. Exactly once per decision: repeated calls return the committed
    /// intent (`created: false`).
    async fn authorize_decision(
        &self,
        ctx: &Context<'_>,
        data: AuthorizeDecisionInput,
    ) -> Result<DecisionIntent> {
        let caller = guard::require(ctx, &[Role::Chairman]).await?;
        let api = api(ctx);
        if let Some(intent) = api
            .db
            .decision_intent(data.decision_id)
            .await
            .map_err(internal)?
        {
            if matches!(
                intent.payload,
                IntentPayload::Council(CouncilAction::Authorize { .. })
            ) {
                return Ok(answer(&intent, false));
            }
            return Err(conflict(format!(
                "decision {} already has another council action",
                data.decision_id
            )));
        }
        let decision = open_decision(api, data.decision_id).await?;
        if !decision.approved {
            return Err(conflict(format!(
                "decision {} has no majority of votes for it",
                decision.id
            )));
        }
        let document = check_document(api, caller.username, &decision, &data.document).await?;
        let action = CouncilAction::Authorize {
            decision_id: decision.id,
            chairman: caller.username,
            document,
        };
        commit(api, decision.username, action).await
    }

    /// Chairman only: declines a decision on the agenda (`soviet::declinedec`; a paid
    /// registration is then refunded through a gateway outcome).
    async fn decline_decision(
        &self,
        ctx: &Context<'_>,
        data: DeclineDecisionInput,
    ) -> Result<DecisionIntent> {
        guard::require(ctx, &[Role::Chairman]).await?;
        let api = api(ctx);
        if let Some(intent) = api
            .db
            .decision_intent(data.decision_id)
            .await
            .map_err(internal)?
        {
            if matches!(
                intent.payload,
                IntentPayload::Council(CouncilAction::Decline { .. })
            ) {
                return Ok(answer(&intent, false));
            }
            return Err(conflict(format!(
                "decision {} already has another council action",
                data.decision_id
            )));
        }
        let decision = open_decision(api, data.decision_id).await?;
        if decision.authorized {
            return Err(conflict(format!(
                "decision {} is authorized and cannot be declined",
                decision.id
            )));
        }
        let action = CouncilAction::Decline {
            decision_id: decision.id,
        };
        commit(api, decision.username, action).await
    }
}

#[cfg(test)]
mod tests {
    use super::failure_reason;

    #[test]
    fn failures_show_the_contract_message_only() {
        assert_eq!(
            failure_reason(
                "push_transaction to http://10.0.0.5:8888: eosio_assert_message_exception: \
                 assertion failure with message: Decision is not authorized\nmore"
            ),
            "the chain refused the transaction: Decision is not authorized"
        );
        assert_eq!(
            failure_reason("error sending request for url (http://10.0.0.5:8888/v1/chain)"),
            "the chain refused the transaction"
        );
    }
}
