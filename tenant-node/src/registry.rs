//! The registries' typed records (pure): parsed from decoded rows and actions, plus the two
//! registries assembled from action sequences (payments, document packages). The reads that
//! feed them, current or as of a block, are in `db::registry`.

use chain::asset::Asset;
use chain::time::TimePointSec;
use chain::{Checksum256, Name};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A u64 the ABI codec renders as a number (≤ 2^53) or a string.
fn flex_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| serde::de::Error::custom("not a u64")),
        Value::String(s) => s.parse().map_err(serde::de::Error::custom),
        _ => Err(serde::de::Error::custom("expected a u64")),
    }
}

/// Parses a decoded row or action into `T` (`None` when it was not decoded or does not fit).
pub fn parse<T: DeserializeOwned>(value: Option<&Value>) -> Option<T> {
    value.and_then(|v| T::deserialize(v).ok())
}

/// A `document2`, reduced to what the registries keep.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DocRef {
    pub hash: Checksum256,
    /// SHA-256 of the PDF (`document2.doc_hash`; absent in the legacy `document`).
    #[serde(default)]
    pub doc_hash: Option<Checksum256>,
}

/// The cooperative (`registrator::orgs`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Cooperative {
    pub username: Name,
    pub parent_username: Name,
    pub announce: String,
    pub description: String,
    pub is_cooperative: bool,
    pub is_branched: bool,
    pub is_enrolled: bool,
    pub coop_type: Name,
    pub registration: Asset,
    pub initial: Asset,
    pub minimum: Asset,
    #[serde(default)]
    pub org_registration: Option<Asset>,
    #[serde(default)]
    pub org_initial: Option<Asset>,
    #[serde(default)]
    pub org_minimum: Option<Asset>,
    #[serde(default)]
    pub status: Option<Name>,
    #[serde(skip)]
    pub block_num: u32,
}

/// A seat on a board.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BoardMember {
    pub username: Name,
    pub is_voting: bool,
    pub position_title: String,
    pub position: Name,
}

/// A board (`soviet::boards`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Board {
    #[serde(deserialize_with = "flex_u64")]
    pub id: u64,
    #[serde(rename = "type")]
    pub kind: Name,
    pub name: String,
    pub description: String,
    pub members: Vec<BoardMember>,
    pub created_at: TimePointSec,
    pub last_update: TimePointSec,
    #[serde(skip)]
    pub block_num: u32,
}

/// Roles derived from the council (`soviet` board): the chairman and the voting members.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Roles {
    pub chairman: Option<Name>,
    /// Voting members, the chairman included, in board order.
    pub voting_members: Vec<Name>,
    /// Every member of the council, in board order.
    pub members: Vec<Name>,
}

/// The council's roles (the first board of type `soviet`).
pub fn roles(boards: &[Board]) -> Roles {
    let soviet = chain::name!("soviet");
    let Some(board) = boards.iter().find(|b| b.kind == soviet) else {
        return Roles::default();
    };
    let chairman_pos = chain::name!("chairman");
    Roles {
        chairman: board
            .members
            .iter()
            .find(|m| m.position == chairman_pos)
            .map(|m| m.username),
        voting_members: board
            .members
            .iter()
            .filter(|m| m.is_voting)
            .map(|m| m.username)
            .collect(),
        members: board.members.iter().map(|m| m.username).collect(),
    }
}

/// An applicant (`registrator::candidates2`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Candidate {
    pub username: Name,
    pub braname: Name,
    pub status: Name,
    pub created_at: TimePointSec,
    pub statement: DocRef,
    pub registration_hash: Checksum256,
    pub initial: Asset,
    pub minimum: Asset,
    #[serde(skip)]
    pub block_num: u32,
}

/// A participant (`soviet::participants`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Participant {
    pub username: Name,
    pub created_at: TimePointSec,
    pub last_update: TimePointSec,
    pub status: Name,
    pub is_initial: bool,
    pub is_minimum: bool,
    pub has_vote: bool,
    #[serde(default, rename = "type")]
    pub kind: Option<Name>,
    #[serde(default)]
    pub braname: Option<Name>,
    #[serde(default)]
    pub initial_amount: Option<Asset>,
    #[serde(default)]
    pub minimum_amount: Option<Asset>,
    #[serde(skip)]
    pub block_num: u32,
}

/// A decision (`soviet::decisions`) as of some block.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Decision {
    #[serde(deserialize_with = "flex_u64")]
    pub id: u64,
    pub username: Name,
    #[serde(rename = "type")]
    pub kind: Name,
    pub statement: DocRef,
    pub votes_for: Vec<Name>,
    pub votes_against: Vec<Name>,
    pub validated: bool,
    pub approved: bool,
    pub authorized: bool,
    pub authorized_by: Name,
    pub authorization: DocRef,
    pub created_at: TimePointSec,
    /// The package hash (newest contracts).
    #[serde(default)]
    pub hash: Option<Checksum256>,
    /// The block of this version.
    #[serde(skip)]
    pub block_num: u32,
    /// False once the decision left the agenda (executed or declined). An erased row keeps its
    /// state of the block before (e.g. `authorized` set and executed in one transaction never
    /// shows): see `resolution`.
    #[serde(skip)]
    pub on_agenda: bool,
    /// How it left the agenda, from its package's events (`None` while on the agenda).
    #[serde(skip)]
    pub resolution: Option<Resolution>,
}

/// How a decision left the agenda.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Authorized by the chairman and executed (`newdecision`).
    Executed { block_num: u32 },
    /// Declined (`newdeclined`).
    Declined { block_num: u32 },
}

/// For or against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoteKind {
    For,
    Against,
}

/// A council member's vote (`soviet::votefor` / `voteagainst`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Vote {
    #[serde(deserialize_with = "flex_u64")]
    pub decision_id: u64,
    pub username: Name,
    pub signed_at: TimePointSec,
    pub signed_hash: Checksum256,
    #[serde(skip, default = "vote_for")]
    pub kind: VoteKind,
    #[serde(skip)]
    pub block_num: u32,
    #[serde(skip)]
    pub global_sequence: u64,
}

fn vote_for() -> VoteKind {
    VoteKind::For
}

/// A branch (`branch::branches`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Branch {
    pub braname: Name,
    pub trustee: Name,
    pub trusted: Vec<Name>,
    #[serde(skip)]
    pub block_num: u32,
}

/// Incoming (`gateway` incomes) or outgoing (outcomes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Incoming,
    Outgoing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    Pending,
    Completed,
    Declined,
}

/// A payment through the gateway, from its actions (an income is often created and settled in
/// one block, so its table row may never exist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub direction: Direction,
    pub hash: Checksum256,
    pub username: Name,
    pub quantity: Asset,
    pub status: PaymentStatus,
    pub reason: Option<String>,
    pub created_block: u32,
    pub settled_block: Option<u32>,
    pub global_sequence: u64,
}

/// One gateway action, in chain order.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayEvent {
    pub action: Name,
    pub block_num: u32,
    pub global_sequence: u64,
    pub value: Value,
}

#[derive(Deserialize)]
struct CreatePay {
    username: Name,
    #[serde(alias = "income_hash", alias = "outcome_hash")]
    hash: Checksum256,
    quantity: Asset,
}

#[derive(Deserialize)]
struct SettlePay {
    #[serde(alias = "income_hash", alias = "outcome_hash")]
    hash: Checksum256,
    #[serde(default)]
    reason: Option<String>,
}

/// Payments from gateway events (in chain order). A hash may be reused (a refunded applicant
/// applies again), so a settlement closes the newest pending payment with its hash.
pub fn payments(events: &[GatewayEvent]) -> Vec<Payment> {
    let mut out: Vec<Payment> = Vec::new();
    for e in events {
        let (direction, step) = match e.action.to_string().as_str() {
            "createinpay" => (Direction::Incoming, None),
            "createoutpay" => (Direction::Outgoing, None),
            "incomplete" => (Direction::Incoming, Some(PaymentStatus::Completed)),
            "indecline" => (Direction::Incoming, Some(PaymentStatus::Declined)),
            "outcomplete" => (Direction::Outgoing, Some(PaymentStatus::Completed)),
            "outdecline" => (Direction::Outgoing, Some(PaymentStatus::Declined)),
            _ => continue,
        };
        match step {
            None => {
                let Ok(c) = CreatePay::deserialize(&e.value) else {
                    continue;
                };
                out.push(Payment {
                    direction,
                    hash: c.hash,
                    username: c.username,
                    quantity: c.quantity,
                    status: PaymentStatus::Pending,
                    reason: None,
                    created_block: e.block_num,
                    settled_block: None,
                    global_sequence: e.global_sequence,
                });
            }
            Some(status) => {
                let Ok(s) = SettlePay::deserialize(&e.value) else {
                    continue;
                };
                if let Some(p) = out.iter_mut().rev().find(|p| {
                    p.direction == direction
                        && p.hash == s.hash
                        && p.status == PaymentStatus::Pending
                }) {
                    p.status = status;
                    p.reason = s.reason;
                    p.settled_block = Some(e.block_num);
                }
            }
        }
    }
    out
}

/// A soviet event action (`newpackage`, `newsubmitted`, …, `newagreement`), in chain order.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageEvent {
    pub action: Name,
    pub block_num: u32,
    pub global_sequence: u64,
    pub trx_id: Checksum256,
    pub value: Value,
}

/// An agreement signed with a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementRef {
    pub kind: Name,
    pub hash: Checksum256,
    pub doc_hash: Option<Checksum256>,
    pub block_num: u32,
}

/// The documents of one package, by hash (the documents themselves come later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentPackage {
    pub package: Checksum256,
    pub username: Name,
    /// What the package asks for (`joincoop`, …).
    pub action: Name,
    pub statement_hash: Option<Checksum256>,
    /// The statement's PDF hash, the key of the node's stored document.
    pub statement_doc_hash: Option<Checksum256>,
    /// The chairman's authorization (the decision document).
    pub decision_hash: Option<Checksum256>,
    pub decision_doc_hash: Option<Checksum256>,
    pub declined: bool,
    /// Agreements signed in the transaction that opened the package.
    pub agreements: Vec<AgreementRef>,
    pub opened_block: u32,
    pub resolved_block: Option<u32>,
}

#[derive(Deserialize)]
struct EventData {
    username: Name,
    #[serde(default)]
    action: Option<Name>,
    #[serde(default)]
    package: Option<Checksum256>,
    #[serde(default)]
    document: Option<DocRef>,
    #[serde(default, rename = "type")]
    kind: Option<Name>,
}

/// Packages from soviet events (in chain order).
pub fn document_packages(events: &[PackageEvent]) -> Vec<DocumentPackage> {
    let mut out: Vec<DocumentPackage> = Vec::new();
    let mut opened_in: Vec<Checksum256> = Vec::new();
    for e in events {
        let Ok(d) = EventData::deserialize(&e.value) else {
            continue;
        };
        let action = e.action.to_string();
        if action == "newagreement" {
            continue;
        }
        let Some(package) = d.package else { continue };
        // a package closes with the decision document or the decline; a reused hash (an
        // applicant who applies again) opens a new one
        let open = |p: &DocumentPackage| !p.declined && p.decision_hash.is_none();
        let idx = match out.iter().rposition(|p| p.package == package && open(p)) {
            Some(i) => i,
            None => {
                out.push(DocumentPackage {
                    package,
                    username: d.username,
                    action: d.action.unwrap_or_default(),
                    statement_hash: None,
                    statement_doc_hash: None,
                    decision_hash: None,
                    decision_doc_hash: None,
                    declined: false,
                    agreements: Vec::new(),
                    opened_block: e.block_num,
                    resolved_block: None,
                });
                opened_in.push(e.trx_id);
                out.len() - 1
            }
        };
        let p = &mut out[idx];
        let hash = d.document.as_ref().map(|doc| doc.hash);
        let doc_hash = d.document.as_ref().and_then(|doc| doc.doc_hash);
        match action.as_str() {
            "newsubmitted" if hash.is_some() => {
                p.statement_hash = hash;
                p.statement_doc_hash = doc_hash;
            }
            "newresolved" => {
                if p.statement_hash.is_none() {
                    p.statement_hash = hash;
                    p.statement_doc_hash = doc_hash;
                }
                p.resolved_block = Some(e.block_num);
            }
            "newdecision" => {
                p.decision_hash = hash;
                p.decision_doc_hash = doc_hash;
                p.resolved_block = Some(e.block_num);
            }
            "newdeclined" => {
                p.declined = true;
                p.resolved_block = Some(e.block_num);
            }
            _ => {}
        }
    }
    for (p, trx) in out.iter_mut().zip(&opened_in) {
        p.agreements = events
            .iter()
            .filter(|e| e.trx_id == *trx && e.action.to_string() == "newagreement")
            .filter_map(|e| {
                let d = EventData::deserialize(&e.value).ok()?;
                let document = d.document?;
                Some(AgreementRef {
                    kind: d.kind?,
                    hash: document.hash,
                    doc_hash: document.doc_hash,
                    block_num: e.block_num,
                })
            })
            .collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn n(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    fn gw(action: &str, gs: u64, value: Value) -> GatewayEvent {
        GatewayEvent {
            action: n(action),
            block_num: gs as u32,
            global_sequence: gs,
            value,
        }
    }

    #[test]
    fn payments_follow_their_hash_even_when_it_is_reused() {
        let h = Checksum256::sha256("bob").to_hex();
        let create = |kind: &str, gs| {
            let field = if kind == "createinpay" {
                "income_hash"
            } else {
                "outcome_hash"
            };
            gw(
                kind,
                gs,
                json!({"coopname": "voskhod", "username": "bob", field: h,
                "quantity": "400.0000 AXON"}),
            )
        };
        let events = vec![
            create("createinpay", 1),
            gw("incomplete", 2, json!({"income_hash": h})),
            create("createoutpay", 3),
            gw("outcomplete", 4, json!({"outcome_hash": h})),
            create("createinpay", 5),
            gw("indecline", 6, json!({"income_hash": h, "reason": "no"})),
            create("createinpay", 7),
        ];
        let p = payments(&events);
        let summary: Vec<(Direction, PaymentStatus, Option<u32>)> = p
            .iter()
            .map(|p| (p.direction, p.status, p.settled_block))
            .collect();
        assert_eq!(
            summary,
            [
                (Direction::Incoming, PaymentStatus::Completed, Some(2)),
                (Direction::Outgoing, PaymentStatus::Completed, Some(4)),
                (Direction::Incoming, PaymentStatus::Declined, Some(6)),
                (Direction::Incoming, PaymentStatus::Pending, None),
            ]
        );
        assert_eq!(p[2].reason.as_deref(), Some("no"));
        assert_eq!(p[0].quantity.to_string(), "400.0000 AXON");
    }

    #[test]
    fn packages_collect_statement_decision_and_agreements() {
        let pkg = Checksum256::sha256("alice").to_hex();
        let doc = |s: &str| json!({"hash": Checksum256::sha256(s).to_hex()});
        let trx = Checksum256::sha256("trx");
        let ev = |action: &str, gs: u64, trx_id: Checksum256, value: Value| PackageEvent {
            action: n(action),
            block_num: gs as u32,
            global_sequence: gs,
            trx_id,
            value,
        };
        let other = Checksum256::sha256("other");
        let events = vec![
            ev(
                "newpackage",
                1,
                trx,
                json!({"username": "alice", "action": "joincoop", "package": pkg}),
            ),
            ev(
                "newagreement",
                2,
                trx,
                json!({"username": "alice", "type": "wallet", "document": doc("w")}),
            ),
            ev(
                "newsubmitted",
                3,
                trx,
                json!({"username": "alice", "action": "joincoop", "package": pkg, "document": doc("st")}),
            ),
            ev(
                "newagreement",
                4,
                other,
                json!({"username": "alice", "type": "user", "document": doc("u")}),
            ),
            ev(
                "newresolved",
                5,
                other,
                json!({"username": "alice", "action": "joincoop", "package": pkg, "document": doc("st")}),
            ),
            ev(
                "newdecision",
                6,
                other,
                json!({"username": "alice", "action": "joincoop", "package": pkg, "document": doc("dec")}),
            ),
        ];
        let p = document_packages(&events);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].action, n("joincoop"));
        assert_eq!(p[0].statement_hash, Some(Checksum256::sha256("st")));
        assert_eq!(p[0].decision_hash, Some(Checksum256::sha256("dec")));
        assert_eq!(p[0].resolved_block, Some(6));
        assert_eq!(
            p[0].agreements.len(),
            1,
            "only the opening transaction's agreements"
        );
        assert_eq!(p[0].agreements[0].kind, n("wallet"));
    }

    #[test]
    fn roles_come_from_the_council() {
        let board: Board = serde_json::from_value(json!({"id": 1, "type": "soviet",
            "name": "Council", "description": "", "created_at": "2025-01-01T00:00:00",
            "last_update": "2025-01-01T00:00:00", "members": [
              {"username": "member1", "is_voting": true, "position_title": "Member", "position": "member"},
              {"username": "chairman", "is_voting": true, "position_title": "Chairman", "position": "chairman"},
              {"username": "observer", "is_voting": false, "position_title": "Observer", "position": "member"}]}))
        .unwrap();
        let r = roles(&[board]);
        assert_eq!(r.chairman, Some(n("chairman")));
        assert_eq!(r.voting_members, [n("member1"), n("chairman")]);
        assert_eq!(r.members.len(), 3);
    }
}
