//! A genesis with the simulated cooperative contracts and one cooperative (`voskhod`, council of
//! `chairman`, `member1`, `member2`), and builders for the registration cascade's transactions
//! and documents, all through the chain library.

use std::path::Path;

use chain::api::{ChainClient, TableRowsParams};
use chain::document::Document2;
use chain::keys::PrivateKey;
use chain::time::TimePointSec;
use chain::transaction::Action;
use chain::Checksum256;
use devchain::genesis::{AccountEntry, BoardEntry, CooperativeEntry, GenesisFile, MemberEntry};
use devchain::Genesis;
use serde_json::{json, Value};

use super::*;

pub const COOP: &str = "voskhod";
pub const CONTRACTS: &[(&str, u8)] = &[
    ("registrator", 20),
    ("gateway", 21),
    ("soviet", 22),
    ("branch", 23),
    ("draft", 24),
];

pub fn coop_key() -> PrivateKey {
    key(10)
}
pub fn chairman_key() -> PrivateKey {
    key(11)
}
/// `member1` = key(12), `member2` = key(13).
pub fn member_key(i: u8) -> PrivateKey {
    key(11 + i)
}

/// The cooperative genesis; `block_interval_ms` 60 s (blocks on request), test controls on.
pub fn coop_genesis(dir: &Path, is_branched: bool) -> Genesis {
    let mut accounts = vec![AccountEntry {
        name: n("eosio"),
        public_key: eosio_key().public_key(),
        abi: None,
        privileged: true,
    }];
    for (name, seed) in CONTRACTS {
        accounts.push(AccountEntry {
            name: n(name),
            public_key: key(*seed).public_key(),
            abi: Some(own_abi_path(name)),
            privileged: false,
        });
    }
    let member = |name: &str, k: PrivateKey| MemberEntry {
        username: n(name),
        public_key: k.public_key(),
    };
    let file = GenesisFile {
        chain_id: CHAIN_ID.into(),
        block_interval_ms: 60_000,
        lib_lag: 3,
        data_dir: dir.join("data"),
        http_addr: "127.0.0.1:0".into(),
        ship_addr: "127.0.0.1:0".into(),
        test_controls: true,
        accounts,
        cooperatives: vec![CooperativeEntry {
            username: n(COOP),
            public_key: coop_key().public_key(),
            announce: "Test cooperative".into(),
            description: String::new(),
            registration: "100.0000 AXON".into(),
            initial: "100.0000 AXON".into(),
            minimum: "300.0000 AXON".into(),
            org_registration: Some("1000.0000 AXON".into()),
            org_initial: Some("1000.0000 AXON".into()),
            org_minimum: Some("3000.0000 AXON".into()),
            is_branched,
            board: BoardEntry {
                chairman: member("chairman", chairman_key()),
                members: vec![
                    member("member1", member_key(1)),
                    member("member2", member_key(2)),
                ],
            },
        }],
    };
    Genesis::validate(file, dir).expect("genesis")
}

/// A "1.1.0" document for `registry_id`, signed by `signer` with `signer_key`.
pub fn signed_document(
    registry_id: u64,
    salt: &str,
    signer: &str,
    signer_key: &PrivateKey,
) -> Document2 {
    let doc_hash = Checksum256::sha256(format!("pdf {registry_id} {salt}")).to_hex_upper();
    let meta = json!({"registry_id": registry_id, "lang": "ru", "generator": "devchain-tests",
        "created_at": "2025-02-13 12:00:00", "block_num": 1, "coopname": COOP, "username": salt});
    let mut doc = Document2::new(&doc_hash, &meta).expect("document");
    doc.sign(
        n(signer),
        signer_key,
        TimePointSec::from_unix(1_739_448_000),
        1,
    );
    doc
}

/// `registration_hash` of `username` (the rule lives in `chain::coop`).
pub fn registration_hash(username: &str) -> Checksum256 {
    chain::coop::registration_hash(n(username))
}

/// The vote digest rule (chain.md §5): `sha256("<votefor|voteagainst>:<coop>:<id>:<unix>")`.
pub fn vote_digest(action: &str, decision_id: u64, signed_at: TimePointSec) -> Checksum256 {
    let kind = match action {
        "votefor" => chain::coop::VoteKind::For,
        "voteagainst" => chain::coop::VoteKind::Against,
        other => panic!("not a vote action: {other}"),
    };
    chain::coop::vote_digest(kind, n(COOP), decision_id, signed_at)
}

/// The controller's registration transaction's actions (all `voskhod@active`): `newaccount`,
/// `reguser`, `gateway::incomplete`, 4 × `sndagreement`.
pub async fn registration_actions(
    client: &ChainClient,
    username: &str,
    user_key: &PrivateKey,
    statement_key: &PrivateKey,
) -> Vec<Action> {
    let hash = registration_hash(username);
    let statement = signed_document(100, username, username, statement_key);
    let mut acts = vec![
        action(
            client,
            "registrator",
            "newaccount",
            COOP,
            json!({"coopname": COOP, "referer": "",
            "username": username, "public_key": user_key.public_key().to_string(), "meta": "{}"}),
        )
        .await,
        action(
            client,
            "registrator",
            "reguser",
            COOP,
            json!({"coopname": COOP, "braname": "",
            "username": username, "type": "individual", "statement": statement,
            "registration_hash": hash}),
        )
        .await,
        action(
            client,
            "gateway",
            "incomplete",
            COOP,
            json!({"coopname": COOP, "income_hash": hash}),
        )
        .await,
    ];
    for (i, kind) in ["wallet", "signature", "privacy", "user"]
        .iter()
        .enumerate()
    {
        let doc = signed_document(1 + i as u64, username, username, user_key);
        acts.push(
            action(
                client,
                "soviet",
                "sndagreement",
                COOP,
                json!({"coopname": COOP,
            "administrator": COOP, "username": username, "agreement_type": kind, "document": doc}),
            )
            .await,
        );
    }
    acts
}

/// A vote by a council member with the member's own key (`permission` = the newest field).
pub async fn vote_action(
    client: &ChainClient,
    kind: &str,
    member: &str,
    member_key: &PrivateKey,
    decision_id: u64,
    digest: Checksum256,
) -> Action {
    let signed_at = TimePointSec::from_unix(1_739_448_100);
    action(
        client,
        "soviet",
        kind,
        member,
        json!({"version": "1.0.0", "coopname": COOP,
        "username": member, "decision_id": decision_id, "signed_at": signed_at,
        "signed_hash": digest, "signature": member_key.sign_digest(&digest),
        "public_key": member_key.public_key(), "permission": "active"}),
    )
    .await
}

pub fn vote_signed_at() -> TimePointSec {
    TimePointSec::from_unix(1_739_448_100)
}

/// JSON rows of a table (up to 100).
pub async fn table(client: &ChainClient, code: &str, scope: &str, table: &str) -> Vec<Value> {
    let params = TableRowsParams::new(n(code), scope, n(table));
    client
        .get_table_rows(&params)
        .await
        .expect("get_table_rows")
        .rows
}

/// Signs and sends; returns the Leap error name on rejection.
pub async fn push(
    client: &ChainClient,
    acts: Vec<Action>,
    keys: &[&PrivateKey],
) -> Result<chain::api::SendTransactionResult, String> {
    let trx = transaction(client, acts).await;
    client
        .send_transaction(&sign(&trx, keys))
        .await
        .map_err(|e| format!("{} ({e})", e.leap_name().unwrap_or("not a Leap error")))
}
