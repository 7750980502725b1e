//! `gateway`: incoming and outgoing payments with callbacks (chain.md §6.9). `createinpay` /
//! `createoutpay` (from whitelisted contracts) store a pending row; the cooperative's
//! `incomplete`/`outcomplete` call the confirm callback, `indecline`/`outdecline` the decline
//! callback, and the row is erased. Tables `incomes` and `outcomes` [coop], index by hash.

use chain::asset::Asset;
use chain::time::TimePointSec;
use chain::{name, Checksum256, Name};
use serde::{Deserialize, Serialize};

use super::{
    args, find_by_hash, next_id, now_sec, pack_hash_callback, pack_reason_callback, read_row,
    require_any_auth, send_packed, store_row, REGISTRATOR, SOVIET,
};
use crate::contract::{ApplyContext, Contract};
use crate::error::ChainError;
use crate::state::SecondaryKey;

const INCOMES: Name = name!("incomes");
const OUTCOMES: Name = name!("outcomes");

/// Contracts allowed to create payments.
const WHITELIST: [Name; 6] = [
    REGISTRATOR,
    SOVIET,
    name!("wallet"),
    name!("fund"),
    name!("capital"),
    name!("marketplace"),
];

/// `income` / `outcome` row; the hash field is `income_hash` or `outcome_hash`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Payment {
    pub id: u64,
    pub coopname: Name,
    pub username: Name,
    #[serde(rename = "type")]
    pub kind: Name,
    #[serde(alias = "income_hash", alias = "outcome_hash", skip_serializing)]
    pub hash: Checksum256,
    pub callback_contract: Name,
    pub confirm_callback: Name,
    pub decline_callback: Name,
    pub quantity: Asset,
    pub status: Name,
    pub created_at: TimePointSec,
}

#[derive(Debug, Deserialize)]
struct Create {
    coopname: Name,
    username: Name,
    #[serde(alias = "income_hash", alias = "outcome_hash")]
    hash: Checksum256,
    quantity: Asset,
    callback_contract: Name,
    confirm_callback: Name,
    decline_callback: Name,
}

#[derive(Debug, Deserialize)]
struct Settle {
    coopname: Name,
    #[serde(alias = "income_hash", alias = "outcome_hash")]
    hash: Checksum256,
    #[serde(default)]
    reason: Option<String>,
}

/// Which side of the gateway an action works on.
#[derive(Debug, Clone, Copy)]
enum Side {
    In,
    Out,
}

impl Side {
    fn table(self) -> Name {
        match self {
            Side::In => INCOMES,
            Side::Out => OUTCOMES,
        }
    }

    fn hash_field(self) -> &'static str {
        match self {
            Side::In => "income_hash",
            Side::Out => "outcome_hash",
        }
    }
}

/// The simulated `gateway` contract.
#[derive(Debug, Default, Clone, Copy)]
pub struct Gateway;

impl Contract for Gateway {
    fn apply(&self, ctx: &mut ApplyContext<'_>) -> Result<(), ChainError> {
        if ctx.is_notification() {
            return Ok(());
        }
        match ctx.action_name() {
            n if n == name!("createinpay") => create(ctx, Side::In),
            n if n == name!("createoutpay") => create(ctx, Side::Out),
            n if n == name!("incomplete") => settle(ctx, Side::In, true),
            n if n == name!("indecline") => settle(ctx, Side::In, false),
            n if n == name!("outcomplete") => settle(ctx, Side::Out, true),
            n if n == name!("outdecline") => settle(ctx, Side::Out, false),
            other => Err(ChainError::InvalidActionArgs(format!(
                "gateway has no action {other}"
            ))),
        }
    }
}

fn store_payment(ctx: &mut ApplyContext<'_>, side: Side, p: &Payment) -> Result<(), ChainError> {
    let mut value =
        serde_json::to_value(p).map_err(|e| ChainError::Internal(format!("payment row: {e}")))?;
    value[side.hash_field()] = serde_json::json!(p.hash);
    let index = vec![SecondaryKey::Checksum256(p.hash)];
    store_row(
        ctx,
        p.coopname,
        side.table(),
        p.coopname,
        p.id,
        &value,
        index,
    )
}

fn create(ctx: &mut ApplyContext<'_>, side: Side) -> Result<(), ChainError> {
    let a: Create = args(ctx)?;
    require_any_auth(ctx, &WHITELIST)?;
    super::registrator::get_org(ctx, a.coopname)?;
    ctx.check(
        ctx.is_account(a.username),
        format!("account {} does not exist", a.username),
    )?;
    ctx.check(a.quantity.amount > 0, "quantity must be positive")?;
    ctx.check(
        ctx.is_account(a.callback_contract),
        "callback contract does not exist",
    )?;
    ctx.check(
        find_by_hash(ctx, a.coopname, side.table(), a.hash).is_none(),
        format!("a payment with hash {} already exists", a.hash),
    )?;
    let kind = match (side, a.callback_contract == REGISTRATOR) {
        (Side::In, true) => name!("registration"),
        (Side::In, false) => name!("deposit"),
        (Side::Out, true) => name!("refund"),
        (Side::Out, false) => name!("withdraw"),
    };
    let payment = Payment {
        id: next_id(ctx, a.coopname, side.table()),
        coopname: a.coopname,
        username: a.username,
        kind,
        hash: a.hash,
        callback_contract: a.callback_contract,
        confirm_callback: a.confirm_callback,
        decline_callback: a.decline_callback,
        quantity: a.quantity,
        status: name!("pending"),
        created_at: now_sec(ctx),
    };
    store_payment(ctx, side, &payment)
}

fn settle(ctx: &mut ApplyContext<'_>, side: Side, confirm: bool) -> Result<(), ChainError> {
    let a: Settle = args(ctx)?;
    ctx.require_auth(a.coopname)?;
    let pk = find_by_hash(ctx, a.coopname, side.table(), a.hash)
        .ok_or_else(|| ChainError::Assert(format!("no payment with hash {}", a.hash)))?;
    let row: Option<Payment> = read_row(ctx, ctx.receiver(), a.coopname, side.table(), pk)?;
    let p = row.ok_or_else(|| ChainError::Assert("payment is not found".into()))?;
    ctx.check(
        p.status == name!("pending"),
        format!("payment status is {}", p.status),
    )?;
    if confirm {
        send_packed(
            ctx,
            p.callback_contract,
            p.confirm_callback,
            pack_hash_callback(a.coopname, a.hash),
        );
    } else {
        let reason = a.reason.unwrap_or_default();
        ctx.check(!reason.is_empty(), "a reason is required")?;
        let data = pack_reason_callback(a.coopname, a.hash, &reason);
        send_packed(ctx, p.callback_contract, p.decline_callback, data);
    }
    ctx.erase(a.coopname, side.table(), pk)
}
