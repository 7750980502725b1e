//! Test helpers: an in-process devchain on loopback port 0 with test controls, keys, and a
//! transaction builder over the chain library.

#![allow(dead_code, unreachable_pub)]

use std::path::Path;
use std::time::Duration;

use chain::abi::Abi;
use chain::api::ChainClient;
use chain::bytes::Bytes;
use chain::keys::PrivateKey;
use chain::time::TimePointSec;
use chain::transaction::{Action, PackedTransaction, PermissionLevel, Transaction};
use chain::Name;
use devchain::genesis::{AccountEntry, GenesisFile};
use devchain::{ContractSet, Devchain, DevchainConfig, DevchainHandle, Genesis};
use serde_json::Value;

pub const CHAIN_ID: &str = "8a34ec7df1b8cd06ff4a8abbaa7cc50300823350cadc59ab296cb00d104d2b8f";

pub fn n(s: &str) -> Name {
    Name::parse(s).expect("name")
}

/// Deterministic test keys.
pub fn key(seed: u8) -> PrivateKey {
    PrivateKey::from_bytes(&[seed; 32]).expect("key")
}

pub fn eosio_key() -> PrivateKey {
    key(1)
}

/// A genesis with `eosio` (and `extra` accounts), test controls on, blocks only on request.
pub fn genesis(dir: &Path, extra: &[(&str, u8)]) -> Genesis {
    let mut accounts = vec![AccountEntry {
        name: n("eosio"),
        public_key: eosio_key().public_key(),
        abi: None,
        privileged: true,
    }];
    for (name, seed) in extra {
        accounts.push(AccountEntry {
            name: n(name),
            public_key: key(*seed).public_key(),
            abi: None,
            privileged: false,
        });
    }
    let file = GenesisFile {
        chain_id: CHAIN_ID.into(),
        block_interval_ms: 60_000,
        lib_lag: 3,
        data_dir: dir.join("data"),
        http_addr: "127.0.0.1:0".into(),
        ship_addr: "127.0.0.1:0".into(),
        test_controls: true,
        accounts,
        cooperatives: Vec::new(),
    };
    Genesis::validate(file, dir).expect("genesis")
}

pub async fn start(genesis: Genesis, contracts: ContractSet) -> (DevchainHandle, ChainClient) {
    let handle = Devchain::start(DevchainConfig { genesis, contracts })
        .await
        .expect("start devchain");
    let client = ChainClient::new(&handle.http_url(), Duration::from_secs(10)).expect("client");
    (handle, client)
}

/// POSTs to a test control.
pub async fn control(handle: &DevchainHandle, what: &str, body: Value) -> Value {
    let url = format!("{}/v1/devchain/{what}", handle.http_url());
    let resp = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .expect("control");
    assert!(
        resp.status().is_success(),
        "control {what}: {}",
        resp.status()
    );
    resp.json().await.expect("control json")
}

pub async fn produce(handle: &DevchainHandle, blocks: u64) -> u32 {
    let v = control(
        handle,
        "produce_block",
        serde_json::json!({"blocks": blocks}),
    )
    .await;
    v["head_block_num"].as_u64().expect("head") as u32
}

/// Encodes an action with the account's ABI from the node.
pub async fn action(
    client: &ChainClient,
    account: &str,
    name: &str,
    actor: &str,
    data: Value,
) -> Action {
    let def = client
        .get_abi(n(account))
        .await
        .expect("get_abi")
        .expect("abi");
    let abi = Abi::from_def(def).expect("abi");
    Action {
        account: n(account),
        name: n(name),
        authorization: vec![PermissionLevel::new(n(actor), n("active"))],
        data: Bytes(abi.encode_action(n(name), &data).expect("encode")),
    }
}

/// A transaction with TAPOS from `get_info` (LIB) and expiration head + 120 s.
pub async fn transaction(client: &ChainClient, actions: Vec<Action>) -> Transaction {
    let info = client.get_info().await.expect("get_info");
    let head = info.head_block_time.to_time_point_sec().expect("time");
    let mut trx = Transaction::with_tapos(
        head.checked_add_secs(120).expect("exp"),
        info.last_irreversible_block_num,
        &info.last_irreversible_block_id,
    );
    trx.actions = actions;
    trx
}

pub fn sign(trx: &Transaction, keys: &[&PrivateKey]) -> PackedTransaction {
    let chain_id = chain::Checksum256::from_hex(CHAIN_ID).expect("chain id");
    trx.sign(&chain_id, keys).to_packed()
}

pub fn expiration_in_past(trx: &mut Transaction) {
    trx.expiration = TimePointSec::from_unix(trx.expiration.as_unix() - 3600);
}

/// `<repo>/../shared` if it exists; under `CI=true` a missing folder fails the test, elsewhere
/// the caller says so and returns early.
pub fn shared_dir() -> Option<std::path::PathBuf> {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("../shared/ is missing under CI=true: the shared reference data must be beside the repository");
    }
    eprintln!("note: ../shared/ not found; skipping checks that need it");
    None
}

/// Path of one of the devchain's own ABI files (`devchain/abi/<contract>.abi`).
pub fn own_abi_path(contract: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("abi/{contract}.abi"))
}

pub mod coop;
