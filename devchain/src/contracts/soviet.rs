//! `soviet`: the council (chain.md §5–§7). Boards (`createboard`, `updateboard`), the agenda
//! (`createagenda`, `freedecision` → decision row + `newsubmitted`), votes (`votefor`,
//! `voteagainst` with the vote digest rule), `authorize` (chairman-signed document2), `exec`
//! (confirm callback, `newresolved`/`newdecision`, decision erased), `declinedec` (decline
//! callback, `newdeclined`), participants (`addpartcpnt`, `selectbranch`) and agreements
//! (`sndagreement`). The `new*` event actions notify the cooperative.

use chain::asset::Asset;
use chain::bytes::Pack;
use chain::coop::{vote_digest, VoteKind};
use chain::document::Document2;
use chain::keys::{PublicKey, Signature};
use chain::time::TimePointSec;
use chain::{name, Checksum256, Name};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{
    args, empty_document, next_id, now_sec, pack_reason_callback, read_row, require_any_auth,
    scan_rows, send, send_packed, store_row, verify_document, verify_signer_keys, BRANCH,
    REGISTRATOR, SOVIET,
};
use crate::contract::{ApplyContext, Contract};
use crate::error::ChainError;
use crate::state::SecondaryKey;

const BOARDS: Name = name!("boards");
const DECISIONS: Name = name!("decisions");
const PARTICIPANTS: Name = name!("participants");
const AGREEMENTS: Name = name!("agreements3");
const COUNTS: Name = name!("counts");
const VOTE_VERSION: &str = "1.0.0";
const BOARD_TYPES: [Name; 3] = [name!("soviet"), name!("executive"), name!("audit")];

/// `board_member`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BoardMember {
    pub username: Name,
    pub is_voting: bool,
    pub position_title: String,
    pub position: Name,
}

/// `soviet::boards` row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Board {
    pub id: u64,
    #[serde(rename = "type")]
    pub kind: Name,
    pub name: String,
    pub description: String,
    pub members: Vec<BoardMember>,
    pub created_at: TimePointSec,
    pub last_update: TimePointSec,
}

/// `soviet::decisions` row (`decision`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Decision {
    pub id: u64,
    pub coopname: Name,
    pub username: Name,
    #[serde(rename = "type")]
    pub kind: Name,
    pub batch_id: u64,
    pub statement: Document2,
    pub votes_for: Vec<Name>,
    pub votes_against: Vec<Name>,
    pub validated: bool,
    pub approved: bool,
    pub authorized: bool,
    pub authorized_by: Name,
    pub authorization: Document2,
    pub created_at: TimePointSec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_at: Option<TimePointSec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_contract: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_callback: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline_callback: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<Checksum256>,
}

/// `soviet::participants` row (`participant`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Participant {
    pub username: Name,
    pub created_at: TimePointSec,
    pub last_update: TimePointSec,
    pub last_min_pay: TimePointSec,
    pub status: Name,
    pub is_initial: bool,
    pub is_minimum: bool,
    pub has_vote: bool,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub braname: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_amount: Option<Asset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_amount: Option<Asset>,
}

/// `soviet::agreements3` row (`agreement2`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Agreement {
    pub id: u64,
    pub coopname: Name,
    pub username: Name,
    #[serde(rename = "type")]
    pub kind: Name,
    pub program_id: u64,
    pub draft_id: u64,
    pub version: u64,
    pub document: Document2,
    pub status: Name,
    pub updated_at: TimePointSec,
}

/// `soviet::counts` row.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Count {
    key: Name,
    secondary_key: Name,
    value: u64,
}

#[derive(Debug, Deserialize)]
struct BoardArgs {
    coopname: Name,
    username: Name,
    #[serde(rename = "type", default)]
    kind: Option<Name>,
    #[serde(default)]
    board_id: Option<u64>,
    members: Vec<BoardMember>,
    name: String,
    description: String,
}

#[derive(Debug, Deserialize)]
struct CreateAgenda {
    coopname: Name,
    username: Name,
    #[serde(rename = "type")]
    kind: Name,
    hash: Checksum256,
    callback_contract: Name,
    confirm_callback: Name,
    decline_callback: Name,
    statement: Document2,
    meta: String,
}

#[derive(Debug, Deserialize)]
struct Vote {
    version: String,
    coopname: Name,
    username: Name,
    decision_id: u64,
    signed_at: TimePointSec,
    signed_hash: Checksum256,
    signature: Signature,
    public_key: PublicKey,
    #[serde(default)]
    permission: Option<Name>,
}

#[derive(Debug, Deserialize)]
struct Authorize {
    coopname: Name,
    chairman: Name,
    decision_id: u64,
    document: Document2,
    #[serde(default)]
    permission: Option<Name>,
}

#[derive(Debug, Deserialize)]
struct ExecArgs {
    #[serde(default)]
    executer: Option<Name>,
    coopname: Name,
    decision_id: u64,
}

#[derive(Debug, Deserialize)]
struct AddParticipant {
    coopname: Name,
    username: Name,
    braname: Name,
    #[serde(rename = "type")]
    kind: Name,
    created_at: TimePointSec,
    initial: Asset,
    minimum: Asset,
}

#[derive(Debug, Deserialize)]
struct SendAgreement {
    coopname: Name,
    administrator: Name,
    username: Name,
    agreement_type: Name,
    document: Document2,
}

#[derive(Debug, Deserialize)]
struct SelectBranch {
    coopname: Name,
    username: Name,
    braname: Name,
    document: Document2,
}

#[derive(Debug, Deserialize)]
struct FreeDecision {
    coopname: Name,
    username: Name,
    document: Document2,
    meta: String,
}

#[derive(Debug, Deserialize)]
struct Event {
    coopname: Name,
}

/// The simulated `soviet` contract.
#[derive(Debug, Default, Clone, Copy)]
pub struct Soviet;

impl Contract for Soviet {
    fn apply(&self, ctx: &mut ApplyContext<'_>) -> Result<(), ChainError> {
        if ctx.is_notification() {
            return Ok(());
        }
        match ctx.action_name() {
            n if n == name!("createboard") => board(ctx, true),
            n if n == name!("updateboard") => board(ctx, false),
            n if n == name!("createagenda") => createagenda(ctx),
            n if n == name!("freedecision") => freedecision(ctx),
            n if n == name!("votefor") => vote(ctx, true),
            n if n == name!("voteagainst") => vote(ctx, false),
            n if n == name!("authorize") => authorize(ctx),
            n if n == name!("exec") => exec(ctx),
            n if n == name!("declinedec") => declinedec(ctx),
            n if n == name!("addpartcpnt") => addpartcpnt(ctx),
            n if n == name!("sndagreement") => sndagreement(ctx),
            n if n == name!("selectbranch") => selectbranch(ctx),
            n if n == name!("newpackage") => event(ctx, &[REGISTRATOR, SOVIET]),
            n if [
                name!("newsubmitted"),
                name!("newresolved"),
                name!("newdecision"),
                name!("newdeclined"),
                name!("newagreement"),
            ]
            .contains(&n) =>
            {
                event(ctx, &[SOVIET])
            }
            other => Err(ChainError::InvalidActionArgs(format!(
                "soviet has no action {other}"
            ))),
        }
    }
}

/// The cooperative's council (`boards` row of type `soviet`).
fn soviet_board(ctx: &ApplyContext<'_>, coopname: Name) -> Result<Board, ChainError> {
    let boards: Vec<(u64, Board)> = scan_rows(ctx, SOVIET, coopname, BOARDS)?;
    boards
        .into_iter()
        .map(|(_, b)| b)
        .find(|b| b.kind == name!("soviet"))
        .ok_or_else(|| ChainError::Assert(format!("cooperative {coopname} has no council")))
}

fn chairman_of(board: &Board) -> Option<Name> {
    board
        .members
        .iter()
        .find(|m| m.position == name!("chairman"))
        .map(|m| m.username)
}

fn get_decision(ctx: &ApplyContext<'_>, coopname: Name, id: u64) -> Result<Decision, ChainError> {
    let d: Option<Decision> = read_row(ctx, SOVIET, coopname, DECISIONS, id)?;
    d.ok_or_else(|| ChainError::Assert(format!("decision {id} is not found")))
}

fn store_decision(ctx: &mut ApplyContext<'_>, d: &Decision) -> Result<(), ChainError> {
    store_row(ctx, d.coopname, DECISIONS, d.coopname, d.id, d, Vec::new())
}

/// `get_global_id_in_scope(soviet, coop, "decisions")`: the `counts` row's value + 1.
fn next_decision_id(ctx: &mut ApplyContext<'_>, coopname: Name) -> Result<u64, ChainError> {
    let key = name!("decisions");
    let current: Option<Count> = read_row(ctx, SOVIET, coopname, COUNTS, key.as_u64())?;
    let value = current.map_or(0, |c| c.value).saturating_add(1);
    let row = Count {
        key,
        secondary_key: Name::default(),
        value,
    };
    store_row(
        ctx,
        coopname,
        COUNTS,
        coopname,
        key.as_u64(),
        &row,
        Vec::new(),
    )?;
    Ok(value)
}

fn board(ctx: &mut ApplyContext<'_>, create: bool) -> Result<(), ChainError> {
    let a: BoardArgs = args(ctx)?;
    ctx.require_auth(a.coopname)?;
    super::registrator::get_org(ctx, a.coopname)?;
    ctx.check(
        ctx.is_account(a.username),
        "username account does not exist",
    )?;
    ctx.check(!a.members.is_empty(), "a board needs members")?;
    for m in &a.members {
        ctx.check(
            ctx.is_account(m.username),
            format!("member {} does not exist", m.username),
        )?;
    }
    let chairmen = a
        .members
        .iter()
        .filter(|m| m.position == name!("chairman"))
        .count();
    let now = now_sec(ctx);
    let board = if create {
        let kind = a.kind.unwrap_or_default();
        ctx.check(
            BOARD_TYPES.contains(&kind),
            format!("unknown board type {kind}"),
        )?;
        if kind == name!("soviet") {
            ctx.check(
                soviet_board(ctx, a.coopname).is_err(),
                "the council already exists",
            )?;
            ctx.check(chairmen == 1, "the council needs exactly one chairman")?;
        }
        Board {
            id: next_id(ctx, a.coopname, BOARDS),
            kind,
            name: a.name,
            description: a.description,
            members: a.members,
            created_at: now,
            last_update: now,
        }
    } else {
        let id = a.board_id.unwrap_or_default();
        let old: Option<Board> = read_row(ctx, SOVIET, a.coopname, BOARDS, id)?;
        let old = old.ok_or_else(|| ChainError::Assert(format!("board {id} is not found")))?;
        if old.kind == name!("soviet") {
            ctx.check(chairmen == 1, "the council needs exactly one chairman")?;
        }
        Board {
            members: a.members,
            name: a.name,
            description: a.description,
            last_update: now,
            ..old
        }
    };
    store_row(
        ctx,
        a.coopname,
        BOARDS,
        a.coopname,
        board.id,
        &board,
        Vec::new(),
    )
}

/// Puts a decision on the agenda and emits `newsubmitted`.
#[allow(clippy::too_many_arguments)]
fn submit(
    ctx: &mut ApplyContext<'_>,
    coopname: Name,
    username: Name,
    kind: Name,
    statement: Document2,
    meta: String,
    callbacks: Option<(Name, Name, Name)>,
    hash: Checksum256,
) -> Result<(), ChainError> {
    let id = next_decision_id(ctx, coopname)?;
    let (contract, confirm, decline) = callbacks.unwrap_or_default();
    let d = Decision {
        id,
        coopname,
        username,
        kind,
        batch_id: 0,
        statement: statement.clone(),
        votes_for: Vec::new(),
        votes_against: Vec::new(),
        validated: false,
        approved: false,
        authorized: false,
        authorized_by: Name::default(),
        authorization: empty_document(),
        created_at: now_sec(ctx),
        expired_at: now_sec(ctx).checked_add_secs(30 * 86_400),
        meta: Some(meta),
        callback_contract: Some(contract),
        confirm_callback: Some(confirm),
        decline_callback: Some(decline),
        hash: Some(hash),
    };
    store_decision(ctx, &d)?;
    ctx.print(&format!("decision {id}"));
    send(
        ctx,
        SOVIET,
        name!("newsubmitted"),
        &json!({"coopname": coopname, "username": username, "action": kind,
            "package": hash, "document": statement}),
    )
}

fn createagenda(ctx: &mut ApplyContext<'_>) -> Result<(), ChainError> {
    let a: CreateAgenda = args(ctx)?;
    require_any_auth(ctx, &[a.callback_contract, a.coopname])?;
    super::registrator::get_org(ctx, a.coopname)?;
    soviet_board(ctx, a.coopname)?;
    ctx.check(
        ctx.is_account(a.username),
        "username account does not exist",
    )?;
    verify_document(ctx, &a.statement, &[])?;
    let callbacks = Some((a.callback_contract, a.confirm_callback, a.decline_callback));
    submit(
        ctx,
        a.coopname,
        a.username,
        a.kind,
        a.statement,
        a.meta,
        callbacks,
        a.hash,
    )
}

fn freedecision(ctx: &mut ApplyContext<'_>) -> Result<(), ChainError> {
    let a: FreeDecision = args(ctx)?;
    ctx.require_auth(a.coopname)?;
    soviet_board(ctx, a.coopname)?;
    verify_document(ctx, &a.document, &[a.username])?;
    verify_signer_keys(ctx, &a.document, a.username, name!("active"))?;
    let hash = a.document.hash;
    submit(
        ctx,
        a.coopname,
        a.username,
        name!("freedecision"),
        a.document,
        a.meta,
        None,
        hash,
    )
}

fn vote(ctx: &mut ApplyContext<'_>, for_: bool) -> Result<(), ChainError> {
    let a: Vote = args(ctx)?;
    if !ctx.has_auth(a.username) {
        ctx.require_auth(a.coopname)?;
    }
    ctx.check(
        a.version == VOTE_VERSION,
        format!("vote version must be {VOTE_VERSION}"),
    )?;
    let board = soviet_board(ctx, a.coopname)?;
    let voting: Vec<Name> = board
        .members
        .iter()
        .filter(|m| m.is_voting)
        .map(|m| m.username)
        .collect();
    ctx.check(
        voting.contains(&a.username),
        format!("{} is not a voting member of the council", a.username),
    )?;
    let kind = if for_ {
        VoteKind::For
    } else {
        VoteKind::Against
    };
    let digest = vote_digest(kind, a.coopname, a.decision_id, a.signed_at);
    ctx.check(
        a.signed_hash == digest,
        "signed_hash does not match the vote digest",
    )?;
    let recovered = a.signature.recover(&a.signed_hash).ok();
    ctx.check(
        recovered.as_ref() == Some(&a.public_key),
        "invalid vote signature",
    )?;
    let permission = a.permission.unwrap_or(name!("active"));
    ctx.check(
        permission == name!("active") || permission == name!("owner"),
        format!("permission {permission} needs an automator row (not simulated)"),
    )?;
    ctx.check(
        ctx.key_belongs_to(&a.public_key, a.username, permission),
        format!("the key does not belong to {}@{permission}", a.username),
    )?;
    let mut d = get_decision(ctx, a.coopname, a.decision_id)?;
    ctx.check(
        !d.votes_for.contains(&a.username) && !d.votes_against.contains(&a.username),
        format!("{} has already voted", a.username),
    )?;
    if for_ {
        d.votes_for.push(a.username);
    } else {
        d.votes_against.push(a.username);
    }
    d.approved = d.votes_for.len() * 2 > voting.len();
    store_decision(ctx, &d)
}

fn authorize(ctx: &mut ApplyContext<'_>) -> Result<(), ChainError> {
    let a: Authorize = args(ctx)?;
    ctx.require_auth(a.coopname)?;
    let board = soviet_board(ctx, a.coopname)?;
    ctx.check(
        chairman_of(&board) == Some(a.chairman),
        format!("{} is not the chairman", a.chairman),
    )?;
    let mut d = get_decision(ctx, a.coopname, a.decision_id)?;
    ctx.check(!d.authorized, "the decision is already authorized")?;
    ctx.check(d.approved, "the decision has no majority of votes for it")?;
    verify_document(ctx, &a.document, &[a.chairman])?;
    let permission = a.permission.unwrap_or(name!("active"));
    verify_signer_keys(ctx, &a.document, a.chairman, permission)?;
    d.authorized = true;
    d.authorized_by = a.chairman;
    d.authorization = a.document;
    store_decision(ctx, &d)
}

fn exec(ctx: &mut ApplyContext<'_>) -> Result<(), ChainError> {
    let a: ExecArgs = args(ctx)?;
    let executer = a.executer.unwrap_or(a.coopname);
    require_any_auth(ctx, &[executer, a.coopname])?;
    let d = get_decision(ctx, a.coopname, a.decision_id)?;
    ctx.check(
        d.approved && d.authorized,
        "the decision is not approved and authorized",
    )?;
    let hash = d.hash.unwrap_or(d.statement.hash);
    if let (Some(contract), Some(confirm)) = (d.callback_contract, d.confirm_callback) {
        if !contract.is_empty() && !confirm.is_empty() {
            let mut data = Vec::new();
            a.coopname.pack(&mut data);
            hash.pack(&mut data);
            d.authorization.pack(&mut data);
            send_packed(ctx, contract, confirm, data);
        }
    }
    for event in [name!("newresolved"), name!("newdecision")] {
        let document = if event == name!("newresolved") {
            &d.statement
        } else {
            &d.authorization
        };
        send(
            ctx,
            SOVIET,
            event,
            &json!({"coopname": a.coopname, "username": d.username, "action": d.kind,
                "package": hash, "document": document}),
        )?;
    }
    ctx.erase(a.coopname, DECISIONS, d.id)
}

fn declinedec(ctx: &mut ApplyContext<'_>) -> Result<(), ChainError> {
    #[derive(Deserialize)]
    struct DeclineDec {
        coopname: Name,
        decision_id: u64,
    }
    let a: DeclineDec = args(ctx)?;
    ctx.require_auth(a.coopname)?;
    let d = get_decision(ctx, a.coopname, a.decision_id)?;
    ctx.check(!d.authorized, "an authorized decision cannot be declined")?;
    let hash = d.hash.unwrap_or(d.statement.hash);
    if let (Some(contract), Some(decline)) = (d.callback_contract, d.decline_callback) {
        if !contract.is_empty() && !decline.is_empty() {
            let data = pack_reason_callback(a.coopname, hash, "declined by the council");
            send_packed(ctx, contract, decline, data);
        }
    }
    send(
        ctx,
        SOVIET,
        name!("newdeclined"),
        &json!({"coopname": a.coopname, "username": d.username, "package": hash,
            "document": d.statement}),
    )?;
    ctx.erase(a.coopname, DECISIONS, d.id)
}

fn addpartcpnt(ctx: &mut ApplyContext<'_>) -> Result<(), ChainError> {
    let a: AddParticipant = args(ctx)?;
    ctx.require_auth(REGISTRATOR)?;
    ctx.check(
        ctx.get_row(SOVIET, a.coopname, PARTICIPANTS, a.username.as_u64())
            .is_none(),
        format!("{} is already a participant", a.username),
    )?;
    let p = Participant {
        username: a.username,
        created_at: a.created_at,
        last_update: now_sec(ctx),
        last_min_pay: a.created_at,
        status: name!("accepted"),
        is_initial: true,
        is_minimum: true,
        has_vote: true,
        kind: Some(a.kind),
        braname: Some(a.braname),
        initial_amount: Some(a.initial),
        minimum_amount: Some(a.minimum),
    };
    store_row(
        ctx,
        a.coopname,
        PARTICIPANTS,
        a.coopname,
        a.username.as_u64(),
        &p,
        Vec::new(),
    )
}

fn sndagreement(ctx: &mut ApplyContext<'_>) -> Result<(), ChainError> {
    let a: SendAgreement = args(ctx)?;
    ctx.require_auth(a.administrator)?;
    ctx.check(
        a.administrator == a.coopname,
        "the administrator must be the cooperative",
    )?;
    ctx.check(
        ctx.is_account(a.username),
        "username account does not exist",
    )?;
    verify_document(ctx, &a.document, &[a.username])?;
    verify_signer_keys(ctx, &a.document, a.username, name!("active"))?;
    let draft_id = serde_json::from_str::<serde_json::Value>(&a.document.meta)
        .ok()
        .and_then(|m| m.get("registry_id").and_then(serde_json::Value::as_u64))
        .unwrap_or_default();
    // index 0 of agreements3: the username (the contract's `byusername`)
    let mut id = None;
    for pk in ctx.find_secondary(
        SOVIET,
        a.coopname,
        AGREEMENTS,
        0,
        SecondaryKey::U64(a.username.as_u64()),
    ) {
        let g: Option<Agreement> = read_row(ctx, SOVIET, a.coopname, AGREEMENTS, pk)?;
        if g.is_some_and(|g| g.kind == a.agreement_type) {
            id = Some(pk);
        }
    }
    let id = id.unwrap_or_else(|| next_id(ctx, a.coopname, AGREEMENTS));
    let row = Agreement {
        id,
        coopname: a.coopname,
        username: a.username,
        kind: a.agreement_type,
        program_id: 0,
        draft_id,
        version: 1,
        document: a.document.clone(),
        status: name!("confirmed"),
        updated_at: now_sec(ctx),
    };
    store_row(
        ctx,
        a.coopname,
        AGREEMENTS,
        a.coopname,
        id,
        &row,
        Vec::new(),
    )?;
    send(
        ctx,
        SOVIET,
        name!("newagreement"),
        &json!({"coopname": a.coopname, "username": a.username, "type": a.agreement_type,
            "document": a.document}),
    )
}

fn selectbranch(ctx: &mut ApplyContext<'_>) -> Result<(), ChainError> {
    let a: SelectBranch = args(ctx)?;
    ctx.require_auth(a.coopname)?;
    let org = super::registrator::get_org(ctx, a.coopname)?;
    ctx.check(org.is_branched, "the cooperative has no branches enabled")?;
    let branch = ctx.get_row(BRANCH, a.coopname, name!("branches"), a.braname.as_u64());
    ctx.check(
        branch.is_some(),
        format!("branch {} is not found", a.braname),
    )?;
    verify_document(ctx, &a.document, &[a.username])?;
    verify_signer_keys(ctx, &a.document, a.username, name!("active"))?;
    let p: Option<Participant> =
        read_row(ctx, SOVIET, a.coopname, PARTICIPANTS, a.username.as_u64())?;
    let mut p =
        p.ok_or_else(|| ChainError::Assert(format!("{} is not a participant", a.username)))?;
    p.braname = Some(a.braname);
    p.last_update = now_sec(ctx);
    store_row(
        ctx,
        a.coopname,
        PARTICIPANTS,
        a.coopname,
        a.username.as_u64(),
        &p,
        Vec::new(),
    )
}

/// The `new*` event actions: sent inline by `from`, they notify the cooperative.
fn event(ctx: &mut ApplyContext<'_>, from: &[Name]) -> Result<(), ChainError> {
    let a: Event = args(ctx)?;
    require_any_auth(ctx, from)?;
    ctx.require_recipient(a.coopname)
}
