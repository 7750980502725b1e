//! Transactions over real HTTP with the chain library's client: newaccount, setabi, a simulated
//! contract (tables, notifications, inline actions), and every rejection with Leap's error and no
//! state change.

mod support;

use std::sync::Arc;

use chain::api::{ChainApiError, TableRowsParams};
use chain::bytes::Pack;
use chain::Name;
use devchain::state::SecondaryKey;
use devchain::{ApplyContext, ChainError, Contract, ContractSet};
use serde_json::json;
use support::*;

const NOTES_ABI: &str = r#"{"version":"eosio::abi/1.2","structs":[
 {"name":"add","base":"","fields":[{"name":"id","type":"uint64"},{"name":"owner","type":"name"},{"name":"text","type":"string"}]},
 {"name":"log","base":"","fields":[{"name":"id","type":"uint64"}]},
 {"name":"note","base":"","fields":[{"name":"id","type":"uint64"},{"name":"owner","type":"name"},{"name":"text","type":"string"}]}],
 "actions":[{"name":"add","type":"add","ricardian_contract":""},{"name":"log","type":"log","ricardian_contract":""}],
 "tables":[{"name":"notes","index_type":"i64","key_names":[],"key_types":[],"type":"note"}]}"#;

/// A tiny contract: `add` stores a note, notifies the owner and logs inline.
#[derive(Debug)]
struct Notes;

impl Contract for Notes {
    fn apply(&self, ctx: &mut ApplyContext<'_>) -> Result<(), ChainError> {
        if ctx.is_notification() {
            return Ok(());
        }
        if ctx.action_name() == n("add") {
            #[derive(serde::Deserialize)]
            struct Add {
                id: u64,
                owner: Name,
                text: String,
            }
            let a: Add = ctx.data_as()?;
            let id = a.id;
            ctx.require_auth(a.owner)?;
            ctx.check(!a.text.is_empty(), "text must not be empty")?;
            let row = ctx.encode_row(n("notes"), ctx.data())?;
            ctx.emplace(
                a.owner,
                n("notes"),
                a.owner,
                id,
                row,
                vec![SecondaryKey::U64(id * 10)],
            )?;
            ctx.require_recipient(a.owner)?;
            let auth = vec![chain::transaction::PermissionLevel::new(
                n("notes"),
                n("active"),
            )];
            ctx.send_inline_json(n("notes"), n("log"), auth, &json!({"id": id}))?;
        } else {
            ctx.print("logged");
        }
        Ok(())
    }
}

fn authority(seed: u8) -> serde_json::Value {
    json!({"threshold": 1, "keys": [{"key": key(seed).public_key().to_string(), "weight": 1}], "accounts": [], "waits": []})
}

fn leap_name(e: &ChainApiError) -> String {
    e.leap_name().unwrap_or("not a Leap error").to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn transactions_are_validated_like_leap() {
    let dir = tempfile::tempdir().unwrap();
    let contracts = ContractSet::new().with(n("notes"), Arc::new(Notes));
    let (handle, client) = start(genesis(dir.path(), &[]), contracts).await;
    produce(&handle, 4).await;

    // newaccount alice and notes, signed by eosio
    let mut acts = Vec::new();
    for (name, seed) in [("alice", 2u8), ("notes", 3u8)] {
        acts.push(
            action(&client, "eosio", "newaccount", "eosio",
                json!({"creator": "eosio", "name": name, "owner": authority(seed), "active": authority(seed)}))
            .await,
        );
    }
    let trx = transaction(&client, acts).await;
    let sent = client
        .send_transaction(&sign(&trx, &[&eosio_key()]))
        .await
        .unwrap();
    assert_eq!(sent.transaction_id, trx.id());
    assert_eq!(sent.processed.action_traces.len(), 2);
    let alice = client.get_account(n("alice")).await.unwrap();
    let active = alice.permission(n("active")).unwrap();
    assert_eq!(active.required_auth.keys[0].key, key(2).public_key());

    // setabi on notes, signed by notes' key
    let abi_bytes = chain::abi::AbiDef::from_json(NOTES_ABI).unwrap().packed();
    let setabi = action(
        &client,
        "eosio",
        "setabi",
        "notes",
        json!({"account": "notes", "abi": hex::encode(&abi_bytes)}),
    )
    .await;
    let trx = transaction(&client, vec![setabi]).await;
    client
        .push_transaction(&sign(&trx, &[&key(3)]))
        .await
        .unwrap();
    let raw = client.get_raw_abi(n("notes")).await.unwrap();
    assert_eq!(raw.abi.unwrap().tables[0].type_, "note");

    // the contract: table row, notification, inline action
    let add = action(
        &client,
        "notes",
        "add",
        "alice",
        json!({"id": 7, "owner": "alice", "text": "hi"}),
    )
    .await;
    let trx = transaction(&client, vec![add.clone()]).await;
    let good = sign(&trx, &[&key(2)]);
    let res = client
        .send_transaction2(&good, chain::api::SendTransaction2Options::default())
        .await
        .unwrap();
    let traces = &res.processed.action_traces;
    assert_eq!(traces.len(), 3, "{traces:#?}");
    assert_eq!(traces[1]["receiver"], "alice");
    assert_eq!(traces[1]["receipt"]["receiver"], "alice");
    assert_eq!(traces[2]["act"]["name"], "log");
    assert_eq!(traces[2]["creator_action_ordinal"], 1);
    assert_eq!(traces[2]["console"], "logged");
    let mut params = TableRowsParams::new(n("notes"), "alice", n("notes"));
    params.limit = 1;
    let rows = client.get_table_rows(&params).await.unwrap();
    assert_eq!(
        rows.rows,
        vec![json!({"id": 7, "owner": "alice", "text": "hi"})]
    );
    assert!(!rows.more);
    params.index_position = Some("2".into());
    params.key_type = Some("i64".into());
    params.lower_bound = Some("70".into());
    let rows = client.get_table_rows(&params).await.unwrap();
    assert_eq!(rows.rows.len(), 1);

    // rejections, none of which changes anything
    let expect = |r: Result<chain::api::SendTransactionResult, ChainApiError>, name: &str| {
        let e = r.expect_err(name);
        assert_eq!(leap_name(&e), name, "{e}");
        if let ChainApiError::Leap { http_status, .. } = e {
            assert_eq!(http_status, 500);
        }
    };
    expect(client.send_transaction(&good).await, "tx_duplicate");
    let add2 = action(
        &client,
        "notes",
        "add",
        "alice",
        json!({"id": 8, "owner": "alice", "text": "x"}),
    )
    .await;
    let trx2 = transaction(&client, vec![add2.clone()]).await;
    expect(
        client.send_transaction(&sign(&trx2, &[&key(9)])).await,
        "unsatisfied_authorization",
    );
    let mut tampered = sign(&trx2, &[&key(2)]);
    let last = tampered.packed_trx.len() - 2;
    tampered.packed_trx[last] ^= 1;
    expect(
        client.send_transaction(&tampered).await,
        "unsatisfied_authorization",
    );
    let mut expired = trx2.clone();
    expiration_in_past(&mut expired);
    expect(
        client.send_transaction(&sign(&expired, &[&key(2)])).await,
        "expired_tx_exception",
    );
    let mut bad_tapos = trx2.clone();
    bad_tapos.ref_block_prefix ^= 0xffff;
    expect(
        client.send_transaction(&sign(&bad_tapos, &[&key(2)])).await,
        "invalid_ref_block_exception",
    );
    let mut garbage = add2.clone();
    garbage.data.0.truncate(3);
    let trx3 = transaction(&client, vec![garbage]).await;
    expect(
        client.send_transaction(&sign(&trx3, &[&key(2)])).await,
        "unpack_exception",
    );
    let empty = action(
        &client,
        "notes",
        "add",
        "alice",
        json!({"id": 9, "owner": "alice", "text": ""}),
    )
    .await;
    let trx4 = transaction(&client, vec![empty]).await;
    expect(
        client.send_transaction(&sign(&trx4, &[&key(2)])).await,
        "eosio_assert_message_exception",
    );
    let mut params = TableRowsParams::new(n("notes"), "alice", n("notes"));
    params.limit = 10;
    assert_eq!(
        client.get_table_rows(&params).await.unwrap().rows.len(),
        1,
        "rejected transactions changed nothing"
    );
    assert!(client.get_account(n("bob")).await.is_err());

    // the accepted transaction is in a block
    let head = produce(&handle, 1).await;
    let block = client.get_block(&head.to_string()).await.unwrap();
    assert_eq!(
        block.transactions.len(),
        3,
        "newaccount, setabi and add are pending together"
    );
    assert_eq!(block.block_num, head);
    let info = client.get_block_info(head).await.unwrap();
    assert_eq!(info.id, block.id);
    assert_eq!(
        u32::from_be_bytes(block.id.0[..4].try_into().unwrap()),
        head
    );
    handle.shutdown().await.unwrap();
}
