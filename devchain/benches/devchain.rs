//! Devchain throughput: accepted transactions per second (a simple signed action, end to end
//! over HTTP sequentially and with 8 requests in flight, and in-process through
//! `Node::push_transaction`), full registration cascades per second (in-process), and SHiP
//! replay speed in blocks/s over a history of a few thousand blocks read with
//! `chain::ship::ShipBlockStream`. Run: `cargo bench -p devchain --bench devchain`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use anyhow::Context;
use chain::abi::Abi;
use chain::bytes::Bytes;
use chain::keys::PrivateKey;
use chain::ship::{ShipBlockStream, ShipEvent, ShipStreamConfig};
use chain::transaction::{Action, PackedTransaction, PermissionLevel, Transaction};
use chain::Name;
use devchain::contracts::{contract_abi, coopos_contracts};
use devchain::DevchainHandle;
use futures_util::StreamExt;
use serde_json::json;
use support::coop::*;
use support::*;

const SIMPLE_HTTP: usize = 2_000;
const SIMPLE_IN_PROCESS: usize = 10_000;
const REGISTRATIONS: usize = 500;
const SHIP_BLOCKS: u32 = 5_000;

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    rt.block_on(run())
}

/// `bn` + 10 base-32 digits of `i`: a distinct 12-character account name.
fn bench_name(prefix: &str, i: usize) -> Name {
    const DIGITS: &[u8] = b"abcdefghijklmnopqrstuvwxyz12345";
    let mut text = String::from(prefix);
    let mut v = i;
    for _ in 0..(12 - prefix.len()) {
        text.push(DIGITS[v % DIGITS.len()] as char);
        v /= DIGITS.len();
    }
    n(&text)
}

struct Signer {
    abi: Abi,
    tapos: (u32, chain::Checksum256),
    expiration: chain::time::TimePointSec,
}

impl Signer {
    async fn new(client: &chain::api::ChainClient, account: &str) -> anyhow::Result<Self> {
        let info = client.get_info().await?;
        let def = client
            .get_abi(n(account))
            .await?
            .context("the account has an ABI")?;
        let head = info
            .head_block_time
            .to_time_point_sec()
            .context("head time")?;
        Ok(Signer {
            abi: Abi::from_def(def)?,
            tapos: (
                info.last_irreversible_block_num,
                info.last_irreversible_block_id,
            ),
            expiration: head.checked_add_secs(3_000).context("expiration")?,
        })
    }

    fn action(
        &self,
        account: &str,
        name: &str,
        actor: &str,
        data: serde_json::Value,
    ) -> anyhow::Result<Action> {
        Ok(Action {
            account: n(account),
            name: n(name),
            authorization: vec![PermissionLevel::new(n(actor), n("active"))],
            data: Bytes(self.abi.encode_action(n(name), &data)?),
        })
    }

    fn sign(&self, actions: Vec<Action>, keys: &[&PrivateKey]) -> PackedTransaction {
        let mut trx = Transaction::with_tapos(self.expiration, self.tapos.0, &self.tapos.1);
        trx.actions = actions;
        sign(&trx, keys)
    }
}

/// `eosio::newaccount` transactions, each signed by eosio.
async fn newaccount_trxs(
    client: &chain::api::ChainClient,
    prefix: &str,
    count: usize,
) -> anyhow::Result<Vec<PackedTransaction>> {
    let s = Signer::new(client, "eosio").await?;
    let auth = json!({"threshold": 1, "keys": [{"key": key(50).public_key(), "weight": 1}], "accounts": [], "waits": []});
    (0..count)
        .map(|i| {
            let act = s.action(
                "eosio",
                "newaccount",
                "eosio",
                json!({"creator": "eosio",
                "name": bench_name(prefix, i), "owner": auth, "active": auth}),
            )?;
            Ok(s.sign(vec![act], &[&eosio_key()]))
        })
        .collect()
}

fn report(what: &str, count: usize, elapsed: Duration, unit: &str) {
    let rate = count as f64 / elapsed.as_secs_f64();
    println!(
        "{what:<58} {count:>6} in {:>8.3} s = {rate:>9.0} {unit}",
        elapsed.as_secs_f64()
    );
}

async fn run() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (handle, client) = start(coop_genesis(dir.path(), false), coopos_contracts()).await;
    handle.node.produce_block()?;

    // 1. a simple signed action over HTTP, one request at a time
    let trxs = newaccount_trxs(&client, "ha", SIMPLE_HTTP).await?;
    let t = Instant::now();
    for (i, trx) in trxs.iter().enumerate() {
        client.send_transaction(trx).await?;
        if i % 500 == 499 {
            handle.node.produce_block()?;
        }
    }
    report(
        "eosio::newaccount over HTTP, sequential",
        trxs.len(),
        t.elapsed(),
        "trx/s",
    );

    // 2. the same with 8 requests in flight
    let trxs = newaccount_trxs(&client, "hb", SIMPLE_HTTP).await?;
    let t = Instant::now();
    let results: Vec<_> =
        futures_util::stream::iter(trxs.iter().map(|trx| client.send_transaction(trx)))
            .buffer_unordered(8)
            .collect()
            .await;
    let elapsed = t.elapsed();
    for r in results {
        r?;
    }
    handle.node.produce_block()?;
    report(
        "eosio::newaccount over HTTP, 8 in flight",
        trxs.len(),
        elapsed,
        "trx/s",
    );

    // 3. in-process, no HTTP
    let trxs = newaccount_trxs(&client, "pa", SIMPLE_IN_PROCESS).await?;
    let t = Instant::now();
    for (i, trx) in trxs.iter().enumerate() {
        handle.node.push_transaction(trx)?;
        if i % 1_000 == 999 {
            handle.node.produce_block()?;
        }
    }
    report(
        "eosio::newaccount in-process (Node::push_transaction)",
        trxs.len(),
        t.elapsed(),
        "trx/s",
    );

    // 4. full registration cascades (7 actions, 10 inline, 2 notifications each), in-process
    let trxs = registration_trxs(&client, REGISTRATIONS).await?;
    let t = Instant::now();
    for (i, trx) in trxs.iter().enumerate() {
        handle.node.push_transaction(trx)?;
        if i % 100 == 99 {
            handle.node.produce_block()?;
        }
    }
    report(
        "registration transaction in-process",
        trxs.len(),
        t.elapsed(),
        "trx/s",
    );
    let t = Instant::now();
    let trxs = registration_trxs_over(&client, REGISTRATIONS, "hr").await?;
    let build = t.elapsed();
    let t = Instant::now();
    for trx in &trxs {
        client.send_transaction(trx).await?;
    }
    report(
        "registration transaction over HTTP, sequential",
        trxs.len(),
        t.elapsed(),
        "trx/s",
    );
    println!(
        "(building and signing {} registration transactions took {:.3} s)",
        trxs.len(),
        build.as_secs_f64()
    );

    // 5. SHiP replay of the history (mostly empty blocks after the activity above)
    let head = fill_blocks(&handle, SHIP_BLOCKS)?;
    for window in [16u32, 256] {
        let mut config = ShipStreamConfig::new(handle.ship_url(), 1);
        config.end_block_num = head + 1;
        config.max_messages_in_flight = window;
        let t = Instant::now();
        let mut stream = ShipBlockStream::connect(config, Vec::new()).await?;
        let (mut blocks, mut actions) = (0usize, 0usize);
        while let Some(event) = stream.next().await? {
            if let ShipEvent::Block(b) = event {
                blocks += 1;
                actions += b
                    .executed_traces()
                    .map(|t| t.v0().action_traces.len())
                    .sum::<usize>();
                if b.this_block.block_num == head {
                    break;
                }
            }
        }
        let elapsed = t.elapsed();
        report(
            &format!("SHiP replay 1..={head}, traces+deltas, window {window}"),
            blocks,
            elapsed,
            "blocks/s",
        );
        println!(
            "  ({actions} action traces, {:.0} actions/s)",
            actions as f64 / elapsed.as_secs_f64()
        );
    }
    handle.shutdown().await
}

async fn registration_trxs(
    client: &chain::api::ChainClient,
    count: usize,
) -> anyhow::Result<Vec<PackedTransaction>> {
    registration_trxs_over(client, count, "rg").await
}

/// Registration transactions of distinct users (same key), coop-signed.
async fn registration_trxs_over(
    client: &chain::api::ChainClient,
    count: usize,
    prefix: &str,
) -> anyhow::Result<Vec<PackedTransaction>> {
    let mut signers = Vec::new();
    for account in ["registrator", "gateway", "soviet"] {
        anyhow::ensure!(contract_abi(account).is_some(), "{account} ABI");
        signers.push(Signer::new(client, account).await?);
    }
    let user_key = key(51);
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let username = bench_name(prefix, i).to_string();
        let hash = registration_hash(&username);
        let statement = signed_document(100, &username, &username, &user_key);
        let mut acts = vec![
            signers[0].action("registrator", "newaccount", COOP, json!({"coopname": COOP, "referer": "",
                "username": username, "public_key": user_key.public_key(), "meta": ""}))?,
            signers[0].action("registrator", "reguser", COOP, json!({"coopname": COOP, "braname": "",
                "username": username, "type": "individual", "statement": statement, "registration_hash": hash}))?,
            signers[1].action("gateway", "incomplete", COOP, json!({"coopname": COOP, "income_hash": hash}))?,
        ];
        for (j, kind) in ["wallet", "signature", "privacy", "user"]
            .iter()
            .enumerate()
        {
            let doc = signed_document(1 + j as u64, &username, &username, &user_key);
            acts.push(signers[2].action("soviet", "sndagreement", COOP, json!({"coopname": COOP,
                "administrator": COOP, "username": username, "agreement_type": kind, "document": doc}))?);
        }
        out.push(signers[0].sign(acts, &[&coop_key()]));
    }
    Ok(out)
}

/// Produces empty blocks until the head reaches `target`; returns the head.
fn fill_blocks(handle: &DevchainHandle, target: u32) -> anyhow::Result<u32> {
    let mut head = handle.node.produce_block()?;
    while head < target {
        head = handle.node.produce_block()?;
    }
    Ok(head)
}
