//! `registrator`: accounts and the participant registration cascade (chain.md §6): `newaccount`,
//! `reguser` → `confirmpay` (from gateway) → `confirmreg` | `declinereg` (from soviet) →
//! `refundpay` | `declinerfnd` (from gateway), plus `declinepay`, `adduser`, `changekey`,
//! `enabranches`/`disbranches`. Tables `accounts` [registrator], `orgs` [registrator],
//! `candidates2` [coop, index by registration_hash].

use chain::asset::Asset;
use chain::document::Document2;
use chain::keys::PublicKey;
use chain::time::TimePointSec;
use chain::{name, Checksum256, Name};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{
    add_assets, args, find_by_hash, now_sec, read_row, send, store_row, verify_document,
    verify_signer_keys, BRANCH, GATEWAY, REGISTRATOR, SOVIET,
};
use crate::contract::{key_authority, ApplyContext, Contract};
use crate::error::ChainError;
use crate::state::SecondaryKey;

const ACCOUNTS: Name = name!("accounts");
const ORGS: Name = name!("orgs");
const CANDIDATES: Name = name!("candidates2");
const USER_TYPES: [Name; 3] = [
    name!("individual"),
    name!("entrepreneur"),
    name!("organization"),
];

/// `registrator::accounts` row (`account`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountRow {
    pub username: Name,
    pub referer: Name,
    pub registrator: Name,
    #[serde(rename = "type")]
    pub kind: Name,
    pub status: Name,
    pub meta: String,
    pub storages: Vec<Name>,
    pub verifications: Vec<Value>,
    pub registered_at: TimePointSec,
}

/// The fields of a `registrator::orgs` row (`cooperative`) the contracts use; the rest is kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrgRow {
    pub username: Name,
    pub is_branched: bool,
    pub initial: Asset,
    pub minimum: Asset,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_registration: Option<Asset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_initial: Option<Asset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_minimum: Option<Asset>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl OrgRow {
    /// `(initial, minimum)` for a participant type (`org_*` for organizations).
    pub fn fees(&self, kind: Name) -> (Asset, Asset) {
        if kind == name!("organization") {
            (
                self.org_initial.unwrap_or(self.initial),
                self.org_minimum.unwrap_or(self.minimum),
            )
        } else {
            (self.initial, self.minimum)
        }
    }
}

/// `registrator::candidates2` row (`candidate`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Candidate {
    pub username: Name,
    pub coopname: Name,
    pub braname: Name,
    pub status: Name,
    pub created_at: TimePointSec,
    pub statement: Document2,
    pub registration_hash: Checksum256,
    pub initial: Asset,
    pub minimum: Asset,
}

#[derive(Debug, Deserialize)]
struct NewAccount {
    coopname: Name,
    referer: Name,
    username: Name,
    public_key: PublicKey,
    meta: String,
}

#[derive(Debug, Deserialize)]
struct RegUser {
    coopname: Name,
    braname: Name,
    username: Name,
    #[serde(rename = "type")]
    kind: Name,
    statement: Document2,
    registration_hash: Checksum256,
}

#[derive(Debug, Deserialize)]
struct ByHash {
    coopname: Name,
    registration_hash: Checksum256,
}

#[derive(Debug, Deserialize)]
struct ByHashReason {
    coopname: Name,
    registration_hash: Checksum256,
    reason: String,
}

#[derive(Debug, Deserialize)]
struct AddUser {
    coopname: Name,
    referer: Name,
    username: Name,
    #[serde(rename = "type")]
    kind: Name,
    created_at: TimePointSec,
    initial: Asset,
    minimum: Asset,
    spread_initial: bool,
    meta: String,
}

#[derive(Debug, Deserialize)]
struct ChangeKey {
    coopname: Name,
    changer: Name,
    username: Name,
    public_key: PublicKey,
}

#[derive(Debug, Deserialize)]
struct CoopOnly {
    coopname: Name,
}

#[derive(Debug, Serialize)]
struct AddParticipant {
    coopname: Name,
    username: Name,
    braname: Name,
    #[serde(rename = "type")]
    kind: Name,
    created_at: TimePointSec,
    initial: Asset,
    minimum: Asset,
    spread_initial: bool,
}

/// The simulated `registrator` contract.
#[derive(Debug, Default, Clone, Copy)]
pub struct Registrator;

impl Contract for Registrator {
    fn apply(&self, ctx: &mut ApplyContext<'_>) -> Result<(), ChainError> {
        if ctx.is_notification() {
            return Ok(());
        }
        match ctx.action_name() {
            n if n == name!("newaccount") => newaccount(ctx),
            n if n == name!("reguser") => reguser(ctx),
            n if n == name!("confirmpay") => confirmpay(ctx),
            n if n == name!("declinepay") => declinepay(ctx),
            n if n == name!("confirmreg") => confirmreg(ctx),
            n if n == name!("declinereg") => declinereg(ctx),
            n if n == name!("refundpay") => refundpay(ctx),
            n if n == name!("declinerfnd") => declinerfnd(ctx),
            n if n == name!("adduser") => adduser(ctx),
            n if n == name!("changekey") => changekey(ctx),
            n if n == name!("enabranches") => set_branched(ctx, true),
            n if n == name!("disbranches") => set_branched(ctx, false),
            other => Err(ChainError::InvalidActionArgs(format!(
                "registrator has no action {other}"
            ))),
        }
    }
}

/// The cooperative's `orgs` row; fails when the cooperative is unknown.
pub(crate) fn get_org(ctx: &ApplyContext<'_>, coopname: Name) -> Result<OrgRow, ChainError> {
    let org: Option<OrgRow> = read_row(ctx, REGISTRATOR, REGISTRATOR, ORGS, coopname.as_u64())?;
    org.ok_or_else(|| ChainError::Assert(format!("cooperative {coopname} is not found")))
}

fn get_account_row(
    ctx: &ApplyContext<'_>,
    username: Name,
) -> Result<Option<AccountRow>, ChainError> {
    read_row(ctx, REGISTRATOR, REGISTRATOR, ACCOUNTS, username.as_u64())
}

fn store_account_row(ctx: &mut ApplyContext<'_>, row: &AccountRow) -> Result<(), ChainError> {
    store_row(
        ctx,
        REGISTRATOR,
        ACCOUNTS,
        REGISTRATOR,
        row.username.as_u64(),
        row,
        Vec::new(),
    )
}

fn candidate_by_hash(
    ctx: &ApplyContext<'_>,
    coopname: Name,
    hash: Checksum256,
) -> Result<Candidate, ChainError> {
    let pk = find_by_hash(ctx, coopname, CANDIDATES, hash)
        .ok_or_else(|| ChainError::Assert(format!("no candidate with registration hash {hash}")))?;
    let row: Option<Candidate> = read_row(ctx, REGISTRATOR, coopname, CANDIDATES, pk)?;
    row.ok_or_else(|| ChainError::Assert("candidate is not found".into()))
}

fn store_candidate(ctx: &mut ApplyContext<'_>, c: &Candidate) -> Result<(), ChainError> {
    let index = vec![SecondaryKey::Checksum256(c.registration_hash)];
    store_row(
        ctx,
        c.coopname,
        CANDIDATES,
        c.coopname,
        c.username.as_u64(),
        c,
        index,
    )
}

/// Resets the account card so the user may apply again.
fn reset_card(ctx: &mut ApplyContext<'_>, username: Name) -> Result<(), ChainError> {
    if let Some(mut row) = get_account_row(ctx, username)? {
        row.kind = Name::default();
        row.status = name!("pending");
        store_account_row(ctx, &row)?;
    }
    Ok(())
}

fn newaccount(ctx: &mut ApplyContext<'_>) -> Result<(), ChainError> {
    let a: NewAccount = args(ctx)?;
    ctx.require_auth(a.coopname)?;
    get_org(ctx, a.coopname)?;
    ctx.check(
        !ctx.is_account(a.username),
        format!("account {} already exists", a.username),
    )?;
    ctx.check(
        a.referer.is_empty() || ctx.is_account(a.referer),
        "referer account does not exist",
    )?;
    let text = a.username.to_string();
    ctx.check(
        text.len() == 12 || !text.contains('.'),
        "username must be 12 characters or contain no dots",
    )?;
    ctx.create_account(
        a.username,
        key_authority(a.public_key.clone()),
        key_authority(a.public_key),
    )?;
    let row = AccountRow {
        username: a.username,
        referer: a.referer,
        registrator: a.coopname,
        kind: Name::default(),
        status: name!("pending"),
        meta: a.meta,
        storages: Vec::new(),
        verifications: Vec::new(),
        registered_at: now_sec(ctx),
    };
    store_account_row(ctx, &row)
}

/// What both ways into the cooperative (`reguser`, `adduser`) require: the cooperative's own
/// authority, its `orgs` row, an existing account and a known participant type.
fn admission_preconditions(
    ctx: &mut ApplyContext<'_>,
    coopname: Name,
    username: Name,
    kind: Name,
) -> Result<OrgRow, ChainError> {
    ctx.require_auth(coopname)?;
    let org = get_org(ctx, coopname)?;
    ctx.check(
        ctx.is_account(username),
        format!("account {username} does not exist"),
    )?;
    ctx.check(
        USER_TYPES.contains(&kind),
        format!("unknown participant type {kind}"),
    )?;
    Ok(org)
}

fn reguser(ctx: &mut ApplyContext<'_>) -> Result<(), ChainError> {
    let a: RegUser = args(ctx)?;
    let org = admission_preconditions(ctx, a.coopname, a.username, a.kind)?;
    if org.is_branched {
        ctx.check(
            !a.braname.is_empty(),
            "the cooperative is branched: braname is required",
        )?;
        let branch = ctx.get_row(BRANCH, a.coopname, name!("branches"), a.braname.as_u64());
        ctx.check(
            branch.is_some(),
            format!("branch {} is not found", a.braname),
        )?;
    }
    let mut account = match get_account_row(ctx, a.username)? {
        Some(row) => row,
        None => AccountRow {
            username: a.username,
            referer: Name::default(),
            registrator: a.coopname,
            kind: Name::default(),
            status: name!("pending"),
            meta: String::new(),
            storages: Vec::new(),
            verifications: Vec::new(),
            registered_at: now_sec(ctx),
        },
    };
    ctx.check(account.kind.is_empty(), "the account is already registered")?;
    verify_document(ctx, &a.statement, &[])?;
    verify_signer_keys(ctx, &a.statement, a.username, name!("active"))?;
    ctx.check(
        find_by_hash(ctx, a.coopname, CANDIDATES, a.registration_hash).is_none(),
        "registration hash is already used",
    )?;
    ctx.check(
        ctx.get_row(REGISTRATOR, a.coopname, CANDIDATES, a.username.as_u64())
            .is_none(),
        "the candidate already exists",
    )?;
    account.kind = a.kind;
    store_account_row(ctx, &account)?;
    let (initial, minimum) = org.fees(a.kind);
    let quantity = add_assets(ctx, initial, minimum)?;
    let candidate = Candidate {
        username: a.username,
        coopname: a.coopname,
        braname: a.braname,
        status: name!("created"),
        created_at: now_sec(ctx),
        statement: a.statement,
        registration_hash: a.registration_hash,
        initial,
        minimum,
    };
    store_candidate(ctx, &candidate)?;
    send(
        ctx,
        SOVIET,
        name!("newpackage"),
        &serde_json::json!({"coopname": a.coopname, "username": a.username,
            "action": "joincoop", "package": a.registration_hash}),
    )?;
    send(
        ctx,
        GATEWAY,
        name!("createinpay"),
        &serde_json::json!({"coopname": a.coopname, "username": a.username,
            "income_hash": a.registration_hash, "quantity": quantity,
            "callback_contract": REGISTRATOR, "confirm_callback": "confirmpay",
            "decline_callback": "declinepay"}),
    )
}

fn confirmpay(ctx: &mut ApplyContext<'_>) -> Result<(), ChainError> {
    let a: ByHash = args(ctx)?;
    ctx.require_auth(GATEWAY)?;
    let mut c = candidate_by_hash(ctx, a.coopname, a.registration_hash)?;
    ctx.check(
        c.status == name!("created"),
        format!("candidate status is {}, not created", c.status),
    )?;
    c.status = name!("payed");
    store_candidate(ctx, &c)?;
    send(
        ctx,
        SOVIET,
        name!("createagenda"),
        &serde_json::json!({"coopname": c.coopname, "username": c.username, "type": "joincoop",
            "hash": c.registration_hash, "callback_contract": REGISTRATOR,
            "confirm_callback": "confirmreg", "decline_callback": "declinereg",
            "statement": c.statement, "meta": ""}),
    )
}

fn declinepay(ctx: &mut ApplyContext<'_>) -> Result<(), ChainError> {
    let a: ByHashReason = args(ctx)?;
    ctx.require_auth(GATEWAY)?;
    let c = candidate_by_hash(ctx, a.coopname, a.registration_hash)?;
    ctx.check(
        c.status == name!("created"),
        "the payment is already confirmed",
    )?;
    ctx.print(&format!("payment declined: {}", a.reason));
    ctx.erase(c.coopname, CANDIDATES, c.username.as_u64())?;
    reset_card(ctx, c.username)
}

fn confirmreg(ctx: &mut ApplyContext<'_>) -> Result<(), ChainError> {
    #[derive(Deserialize)]
    struct ConfirmReg {
        coopname: Name,
        registration_hash: Checksum256,
        authorization: Document2,
    }
    let a: ConfirmReg = args(ctx)?;
    ctx.require_auth(SOVIET)?;
    let c = candidate_by_hash(ctx, a.coopname, a.registration_hash)?;
    ctx.check(
        c.status == name!("payed"),
        format!("candidate status is {}, not payed", c.status),
    )?;
    ctx.check(
        !a.authorization.hash.is_zero(),
        "the council's authorization is empty",
    )?;
    let mut account = get_account_row(ctx, c.username)?.ok_or_else(|| {
        ChainError::Assert(format!("account card of {} is not found", c.username))
    })?;
    account.status = name!("active");
    let kind = account.kind;
    store_account_row(ctx, &account)?;
    send(
        ctx,
        SOVIET,
        name!("addpartcpnt"),
        &AddParticipant {
            coopname: c.coopname,
            username: c.username,
            braname: c.braname,
            kind,
            created_at: now_sec(ctx),
            initial: c.initial,
            minimum: c.minimum,
            spread_initial: true,
        },
    )?;
    ctx.erase(c.coopname, CANDIDATES, c.username.as_u64())
}

fn declinereg(ctx: &mut ApplyContext<'_>) -> Result<(), ChainError> {
    let a: ByHashReason = args(ctx)?;
    ctx.require_auth(SOVIET)?;
    let mut c = candidate_by_hash(ctx, a.coopname, a.registration_hash)?;
    ctx.print(&format!("registration declined: {}", a.reason));
    if c.status == name!("payed") {
        let quantity = add_assets(ctx, c.initial, c.minimum)?;
        c.status = name!("refunding");
        store_candidate(ctx, &c)?;
        send(
            ctx,
            GATEWAY,
            name!("createoutpay"),
            &serde_json::json!({"coopname": c.coopname, "username": c.username,
                "outcome_hash": c.registration_hash, "quantity": quantity,
                "callback_contract": REGISTRATOR, "confirm_callback": "refundpay",
                "decline_callback": "declinerfnd"}),
        )
    } else {
        ctx.erase(c.coopname, CANDIDATES, c.username.as_u64())?;
        reset_card(ctx, c.username)
    }
}

fn refundpay(ctx: &mut ApplyContext<'_>) -> Result<(), ChainError> {
    let a: ByHash = args(ctx)?;
    ctx.require_auth(GATEWAY)?;
    let c = candidate_by_hash(ctx, a.coopname, a.registration_hash)?;
    ctx.check(
        c.status == name!("refunding"),
        format!("candidate status is {}, not refunding", c.status),
    )?;
    ctx.erase(c.coopname, CANDIDATES, c.username.as_u64())?;
    reset_card(ctx, c.username)
}

fn declinerfnd(ctx: &mut ApplyContext<'_>) -> Result<(), ChainError> {
    let a: ByHashReason = args(ctx)?;
    ctx.require_auth(GATEWAY)?;
    let c = candidate_by_hash(ctx, a.coopname, a.registration_hash)?;
    ctx.check(
        c.status == name!("refunding"),
        "the candidate is not being refunded",
    )?;
    // The money stays pending; the candidate keeps `refunding` until a new payout completes.
    ctx.print(&format!("refund declined: {}", a.reason));
    Ok(())
}

fn adduser(ctx: &mut ApplyContext<'_>) -> Result<(), ChainError> {
    let a: AddUser = args(ctx)?;
    let org = admission_preconditions(ctx, a.coopname, a.username, a.kind)?;
    ctx.check(
        a.initial.symbol == org.initial.symbol,
        "initial has the wrong symbol",
    )?;
    ctx.check(
        a.minimum.symbol == org.minimum.symbol,
        "minimum has the wrong symbol",
    )?;
    let row = match get_account_row(ctx, a.username)? {
        Some(mut row) => {
            ctx.check(
                row.status != name!("active"),
                "the account is already active",
            )?;
            row.kind = a.kind;
            row.status = name!("active");
            row.meta = a.meta;
            row
        }
        None => AccountRow {
            username: a.username,
            referer: a.referer,
            registrator: a.coopname,
            kind: a.kind,
            status: name!("active"),
            meta: a.meta,
            storages: Vec::new(),
            verifications: Vec::new(),
            registered_at: a.created_at,
        },
    };
    store_account_row(ctx, &row)?;
    send(
        ctx,
        SOVIET,
        name!("addpartcpnt"),
        &AddParticipant {
            coopname: a.coopname,
            username: a.username,
            braname: Name::default(),
            kind: a.kind,
            created_at: a.created_at,
            initial: a.initial,
            minimum: a.minimum,
            spread_initial: a.spread_initial,
        },
    )
}

fn changekey(ctx: &mut ApplyContext<'_>) -> Result<(), ChainError> {
    let a: ChangeKey = args(ctx)?;
    ctx.require_auth(a.coopname)?;
    get_org(ctx, a.coopname)?;
    ctx.check(ctx.is_account(a.changer), "changer account does not exist")?;
    let card = get_account_row(ctx, a.username)?.ok_or_else(|| {
        ChainError::Assert(format!("account card of {} is not found", a.username))
    })?;
    ctx.check(
        card.registrator == a.coopname,
        "the account belongs to another cooperative",
    )?;
    let mut account = ctx
        .account(a.username)
        .cloned()
        .ok_or(ChainError::UnknownAccount(a.username))?;
    let now = ctx.now();
    for p in account.permissions.iter_mut() {
        if p.name == name!("owner") || p.name == name!("active") {
            p.auth = key_authority(a.public_key.clone());
            p.last_updated = now;
        }
    }
    ctx.update_account(account)
}

fn set_branched(ctx: &mut ApplyContext<'_>, on: bool) -> Result<(), ChainError> {
    let a: CoopOnly = args(ctx)?;
    ctx.require_auth(a.coopname)?;
    let mut org = get_org(ctx, a.coopname)?;
    ctx.check(
        org.is_branched != on,
        if on {
            "branches are already enabled"
        } else {
            "branches are already disabled"
        },
    )?;
    if on {
        let branches = ctx.rows(BRANCH, a.coopname, name!("branches"), 0, u64::MAX);
        ctx.check(
            !branches.is_empty(),
            "create a branch before enabling branches",
        )?;
    }
    org.is_branched = on;
    store_row(
        ctx,
        REGISTRATOR,
        ORGS,
        REGISTRATOR,
        a.coopname.as_u64(),
        &org,
        Vec::new(),
    )
}
