//! The cooperative contracts simulated in Rust (`registrator`, `gateway`, `soviet`, `branch`,
//! `draft`), their own ABIs (`devchain/abi/*.abi`, same wire layout as the COOPOS ABIs) and the
//! helpers they share: typed rows over the ABI codec, inline actions, document checks.
//!
//! [`coopos_contracts`] binds them to the production account names; [`CONTRACT_ABIS`] holds the
//! ABI JSON texts the genesis installs on those accounts.

pub mod branch;
pub mod draft;
pub mod gateway;
pub mod registrator;
pub mod soviet;

use std::sync::Arc;

use chain::asset::Asset;
use chain::bytes::{Bytes, Pack};
use chain::document::Document2;
use chain::time::TimePointSec;
use chain::transaction::{Action, PermissionLevel};
use chain::{name, Name};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::contract::{ApplyContext, ContractSet};
use crate::error::ChainError;
use crate::state::SecondaryKey;

pub const REGISTRATOR: Name = name!("registrator");
pub const SOVIET: Name = name!("soviet");
pub const GATEWAY: Name = name!("gateway");
pub const BRANCH: Name = name!("branch");
pub const DRAFT: Name = name!("draft");

/// `(account, ABI JSON)` of every simulated contract.
pub const CONTRACT_ABIS: &[(&str, &str)] = &[
    ("registrator", include_str!("../../abi/registrator.abi")),
    ("gateway", include_str!("../../abi/gateway.abi")),
    ("soviet", include_str!("../../abi/soviet.abi")),
    ("branch", include_str!("../../abi/branch.abi")),
    ("draft", include_str!("../../abi/draft.abi")),
];

/// The ABI JSON of a simulated contract account, if it is one.
pub fn contract_abi(account: &str) -> Option<&'static str> {
    CONTRACT_ABIS
        .iter()
        .find(|(a, _)| *a == account)
        .map(|(_, text)| *text)
}

/// All simulated contracts bound to their production account names.
pub fn coopos_contracts() -> ContractSet {
    ContractSet::new()
        .with(REGISTRATOR, Arc::new(registrator::Registrator))
        .with(GATEWAY, Arc::new(gateway::Gateway))
        .with(SOVIET, Arc::new(soviet::Soviet))
        .with(BRANCH, Arc::new(branch::Branch))
        .with(DRAFT, Arc::new(draft::Draft))
}

// ---- rows -----------------------------------------------------------------------------------

/// Reads and decodes a row of any contract into `T`.
pub(crate) fn read_row<T: DeserializeOwned>(
    ctx: &ApplyContext<'_>,
    code: Name,
    scope: Name,
    table: Name,
    pk: u64,
) -> Result<Option<T>, ChainError> {
    match ctx.get_row_json(code, scope, table, pk)? {
        None => Ok(None),
        Some(v) => serde_json::from_value(v)
            .map(Some)
            .map_err(|e| ChainError::Internal(format!("{code}::{table} row {pk}: {e}"))),
    }
}

/// All rows of a table of any contract, ascending by primary key.
pub(crate) fn scan_rows<T: DeserializeOwned>(
    ctx: &ApplyContext<'_>,
    code: Name,
    scope: Name,
    table: Name,
) -> Result<Vec<(u64, T)>, ChainError> {
    ctx.rows(code, scope, table, 0, u64::MAX)
        .into_iter()
        .map(|(pk, _)| {
            read_row(ctx, code, scope, table, pk)?
                .map(|row| (pk, row))
                .ok_or_else(|| ChainError::Internal(format!("{code}::{table} row {pk} vanished")))
        })
        .collect()
}

/// Writes a row of the receiver's table: `emplace` when new, `modify` otherwise.
pub(crate) fn store_row<T: Serialize>(
    ctx: &mut ApplyContext<'_>,
    scope: Name,
    table: Name,
    payer: Name,
    pk: u64,
    row: &T,
    secondary: Vec<SecondaryKey>,
) -> Result<(), ChainError> {
    let value = serde_json::to_value(row)
        .map_err(|e| ChainError::Internal(format!("{table} row to JSON: {e}")))?;
    let bytes = ctx.encode_row(table, &value)?;
    if ctx.get_row(ctx.receiver(), scope, table, pk).is_some() {
        ctx.modify(scope, table, payer, pk, bytes, secondary)
    } else {
        ctx.emplace(scope, table, payer, pk, bytes, secondary)
    }
}

/// The primary key of the receiver's row whose first secondary key is `key`.
pub(crate) fn find_by_hash(
    ctx: &ApplyContext<'_>,
    scope: Name,
    table: Name,
    key: chain::Checksum256,
) -> Option<u64> {
    ctx.find_secondary(
        ctx.receiver(),
        scope,
        table,
        0,
        SecondaryKey::Checksum256(key),
    )
    .into_iter()
    .next()
}

/// The next id of a table: one above the highest primary key (1 for an empty table).
pub(crate) fn next_id(ctx: &ApplyContext<'_>, scope: Name, table: Name) -> u64 {
    ctx.last_primary_key(ctx.receiver(), scope, table)
        .map_or(1, |pk| pk.saturating_add(1))
}

// ---- actions --------------------------------------------------------------------------------

/// The action data as `T`.
pub(crate) fn args<T: DeserializeOwned>(ctx: &ApplyContext<'_>) -> Result<T, ChainError> {
    ctx.data_as()
}

/// `actor@active`.
pub(crate) fn active(actor: Name) -> Vec<PermissionLevel> {
    vec![PermissionLevel::new(actor, name!("active"))]
}

/// Sends an inline action as `receiver@active`, encoded with the target's ABI.
pub(crate) fn send<T: Serialize>(
    ctx: &mut ApplyContext<'_>,
    account: Name,
    action: Name,
    data: &T,
) -> Result<(), ChainError> {
    let value = serde_json::to_value(data)
        .map_err(|e| ChainError::Internal(format!("{account}::{action} data: {e}")))?;
    let auth = active(ctx.receiver());
    ctx.send_inline_json(account, action, auth, &value)
}

/// Sends an inline action as `receiver@active` with positionally packed data, like a C++
/// `action(...).send()` of a tuple to a callback whose field names the sender does not know.
pub(crate) fn send_packed(ctx: &mut ApplyContext<'_>, account: Name, action: Name, data: Vec<u8>) {
    let authorization = active(ctx.receiver());
    ctx.send_inline(Action {
        account,
        name: action,
        authorization,
        data: Bytes(data),
    });
}

/// Packs the positional `(coopname, hash)` of a confirm callback.
pub(crate) fn pack_hash_callback(coopname: Name, hash: chain::Checksum256) -> Vec<u8> {
    let mut out = Vec::new();
    coopname.pack(&mut out);
    hash.pack(&mut out);
    out
}

/// Packs the positional `(coopname, hash, reason)` of a decline callback.
pub(crate) fn pack_reason_callback(
    coopname: Name,
    hash: chain::Checksum256,
    reason: &str,
) -> Vec<u8> {
    let mut out = pack_hash_callback(coopname, hash);
    reason.to_owned().pack(&mut out);
    out
}

/// `require_auth` of the first of `accounts` present in the authorization.
pub(crate) fn require_any_auth(
    ctx: &ApplyContext<'_>,
    accounts: &[Name],
) -> Result<(), ChainError> {
    match accounts.iter().find(|a| ctx.has_auth(**a)) {
        Some(_) => Ok(()),
        None => Err(ChainError::MissingAuth(
            accounts.first().copied().unwrap_or_default(),
        )),
    }
}

pub(crate) fn now_sec(ctx: &ApplyContext<'_>) -> TimePointSec {
    TimePointSec::from(ctx.block_time())
}

/// `a + b` for assets of one symbol.
pub(crate) fn add_assets(ctx: &ApplyContext<'_>, a: Asset, b: Asset) -> Result<Asset, ChainError> {
    ctx.check(a.symbol == b.symbol, "assets have different symbols")?;
    let amount = a.amount.checked_add(b.amount);
    ctx.check(amount.is_some(), "asset overflow")?;
    Ok(Asset::new(amount.unwrap_or_default(), a.symbol))
}

// ---- documents ------------------------------------------------------------------------------

/// `verify_document_or_fail(doc, required)`: every signature recovers to its public key over its
/// `signed_hash` (hashes are never recomputed) and every required signer signed.
pub(crate) fn verify_document(
    ctx: &ApplyContext<'_>,
    doc: &Document2,
    required: &[Name],
) -> Result<(), ChainError> {
    ctx.check(!doc.hash.is_zero(), "document is empty")?;
    ctx.check(!doc.signatures.is_empty(), "document has no signatures")?;
    for s in &doc.signatures {
        let recovered = s.signature.recover(&s.signed_hash).ok();
        ctx.check(
            recovered.as_ref() == Some(&s.public_key),
            format!("invalid signature {} of {} on the document", s.id, s.signer),
        )?;
    }
    for r in required {
        ctx.check(
            doc.signatures.iter().any(|s| s.signer == *r),
            format!("{r} did not sign the document"),
        )?;
    }
    Ok(())
}

/// `verify_signer_keys_or_fail(doc, signer, permission)`: `signer` signed, and every signature of
/// `signer` uses a key of `signer@permission` (`assert_recover_key_account`).
pub(crate) fn verify_signer_keys(
    ctx: &ApplyContext<'_>,
    doc: &Document2,
    signer: Name,
    permission: Name,
) -> Result<(), ChainError> {
    let mut found = false;
    for s in doc.signatures.iter().filter(|s| s.signer == signer) {
        found = true;
        ctx.check(
            ctx.key_belongs_to(&s.public_key, signer, permission),
            format!(
                "the key of signature {} does not belong to {signer}@{permission}",
                s.id
            ),
        )?;
    }
    ctx.check(found, format!("{signer} did not sign the document"))
}

/// An empty `document2` (`hash == 0`).
pub(crate) fn empty_document() -> Document2 {
    Document2 {
        version: String::new(),
        hash: chain::Checksum256::default(),
        doc_hash: chain::Checksum256::default(),
        meta_hash: chain::Checksum256::default(),
        meta: String::new(),
        signatures: Vec::new(),
    }
}
