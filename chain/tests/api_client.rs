//! Chain HTTP API client against a raw HTTP/1.1 loopback server answering with Leap-shaped JSON:
//! parsing, paging, typed Leap errors, timeouts, no retries.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use chain::abi::AbiDef;
use chain::api::*;
use chain::bytes::Pack;
use chain::keys::PrivateKey;
use chain::transaction::PackedTransaction;
use chain::{Checksum256, Name};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the test server answers: `Some((status, body))`, or `None` to never answer.
type Reply = Option<(u16, String)>;
type Log = Arc<Mutex<Vec<(String, Value)>>>;

fn n(s: &str) -> Name {
    Name::parse(s).expect("name")
}

async fn read_request(tcp: &mut TcpStream) -> Option<(String, Value)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let read = tcp.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).into_owned();
    let path = head.split_whitespace().nth(1)?.to_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    while buf.len() < header_end + length {
        let read = tcp.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..read]);
    }
    let body = serde_json::from_slice(&buf[header_end..header_end + length]).unwrap_or(Value::Null);
    Some((path, body))
}

/// A minimal HTTP/1.1 server: one request per connection, `Connection: close`.
async fn spawn_http<F>(handler: F) -> (String, Log)
where
    F: Fn(&str, &Value) -> Reply + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let log: Log = Arc::default();
    let server_log = log.clone();
    let handler = Arc::new(handler);
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                return;
            };
            let (log, handler) = (server_log.clone(), handler.clone());
            tokio::spawn(async move {
                let Some((path, body)) = read_request(&mut tcp).await else {
                    return;
                };
                log.lock().expect("log").push((path.clone(), body.clone()));
                match handler(&path, &body) {
                    Some((status, text)) => {
                        let response = format!(
                            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                            text.len()
                        );
                        let _ = tcp.write_all(response.as_bytes()).await;
                        let _ = tcp.shutdown().await;
                    }
                    None => {
                        // Hold the connection open and never answer.
                        tokio::time::sleep(Duration::from_secs(60)).await;
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), log)
}

fn client(url: &str) -> ChainClient {
    ChainClient::new(url, Duration::from_secs(5)).expect("client")
}

fn id_hex(byte: u8) -> String {
    hex::encode([byte; 32])
}

#[tokio::test]
async fn get_info_parses_leap_json_and_gives_tapos() {
    let mut lib_id = [0u8; 32];
    lib_id[8..12].copy_from_slice(&[0x78, 0x56, 0x34, 0x12]);
    let lib_hex = hex::encode(lib_id);
    let body = json!({
        "server_version": "d133c641",
        "chain_id": id_hex(0xcc),
        "head_block_num": 70_005,
        "last_irreversible_block_num": 70_000,
        "last_irreversible_block_id": lib_hex,
        "head_block_id": id_hex(2),
        "head_block_time": "2025-01-02T03:04:05.500",
        "head_block_producer": "eosio",
        "virtual_block_cpu_limit": 200_000_000,
        "virtual_block_net_limit": 1_048_576_000,
        "block_cpu_limit": 199_900,
        "block_net_limit": 1_048_576,
        "server_version_string": "v5.1.0-dev",
        "fork_db_head_block_num": 70_005,
        "fork_db_head_block_id": id_hex(2),
        "server_full_version_string": "v5.1.0-dev-d133c641",
        "total_cpu_weight": "123456789012345",
        "total_net_weight": 42,
        "earliest_available_block_num": 1,
        "last_irreversible_block_time": "2025-01-02T03:01:35.500",
        "some_future_field": {"x": 1}
    })
    .to_string();
    let (url, log) =
        spawn_http(move |path, _| (path == "/v1/chain/get_info").then(|| (200, body.clone())))
            .await;
    let info = client(&url).get_info().await.expect("get_info");
    assert_eq!(info.head_block_num, 70_005);
    assert_eq!(info.chain_id, Checksum256([0xcc; 32]));
    assert_eq!(info.head_block_producer, n("eosio"));
    assert_eq!(info.total_cpu_weight, Some(123_456_789_012_345));
    assert_eq!(info.total_net_weight, Some(42));
    assert_eq!(info.head_block_time.to_string(), "2025-01-02T03:04:05.500");
    assert_eq!(info.tapos(), ((70_000 & 0xffff) as u16, 0x1234_5678));
    assert_eq!(log.lock().expect("log").len(), 1);
}

#[tokio::test]
async fn a_missing_required_field_is_a_decode_error() {
    let (url, _) = spawn_http(|_, _| Some((200, json!({"server_version": "x"}).to_string()))).await;
    let err = client(&url).get_info().await.expect_err("must fail");
    assert!(matches!(err, ChainApiError::Decode { .. }), "{err:?}");
}

#[tokio::test]
async fn get_table_rows_paging_follows_next_key() {
    // 25 rows with keys 100..125; pages of `limit` from `lower_bound`.
    let (url, log) = spawn_http(|path, body| {
        assert_eq!(path, "/v1/chain/get_table_rows");
        assert_eq!(body["json"], true);
        let lower: u64 = body["lower_bound"].as_str().map_or(100, |s| s.parse().expect("numeric bound"));
        let limit = body["limit"].as_u64().expect("limit");
        let keys: Vec<u64> = (lower..125).take(limit as usize).collect();
        let next = keys.last().map_or(125, |k| k + 1);
        let more = next < 125;
        let rows: Vec<Value> = keys.iter().map(|k| json!({"id": k, "username": "alice"})).collect();
        Some((200, json!({"rows": rows, "more": more, "next_key": if more { next.to_string() } else { String::new() }}).to_string()))
    })
    .await;
    let mut params = TableRowsParams::new(n("soviet"), "coop", n("decisions"));
    params.limit = 10;
    let c = client(&url);
    let page = c.get_table_rows(&params).await.expect("page");
    assert_eq!(page.rows.len(), 10);
    assert!(page.more);
    assert_eq!(page.next_key, "110");

    let all = c.get_all_table_rows(&params, 1000).await.expect("all rows");
    let ids: Vec<u64> = all.iter().map(|r| r["id"].as_u64().expect("id")).collect();
    assert_eq!(ids, (100..125).collect::<Vec<_>>());
    let bounds: Vec<Value> = log.lock().expect("log")[1..]
        .iter()
        .map(|(_, b)| b["lower_bound"].clone())
        .collect();
    assert_eq!(bounds, vec![Value::Null, json!("110"), json!("120")]);

    let err = c
        .get_all_table_rows(&params, 15)
        .await
        .expect_err("bounded");
    assert!(
        matches!(err, ChainApiError::TooManyRows { max_rows: 15, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn leap_error_body_becomes_a_typed_error_and_sends_are_not_retried() {
    let error = json!({
        "code": 500,
        "message": "Internal Service Error",
        "error": {
            "code": 3040005,
            "name": "expired_tx_exception",
            "what": "Expired Transaction",
            "details": [{"message": "expired transaction abc, expiration 2025-01-01T00:00:00", "file": "producer_plugin.cpp", "line_number": 700, "method": "on_incoming_transaction_async"}]
        }
    })
    .to_string();
    let (url, log) = spawn_http(move |_, _| Some((500, error.clone()))).await;
    let key = PrivateKey::from_bytes(&[3u8; 32]).expect("key");
    let trx = PackedTransaction {
        signatures: vec![key.sign_digest(&Checksum256([1; 32]))],
        compression: 0,
        packed_context_free_data: vec![],
        packed_trx: vec![0xde, 0xad, 0xbe, 0xef],
    };
    let err = client(&url)
        .send_transaction(&trx)
        .await
        .expect_err("must fail");
    match &err {
        ChainApiError::Leap {
            http_status,
            code,
            name,
            what,
            details,
            ..
        } => {
            assert_eq!((*http_status, *code), (500, 3040005));
            assert_eq!(name, "expired_tx_exception");
            assert_eq!(what, "Expired Transaction");
            assert_eq!(details.len(), 1);
            assert!(details[0].starts_with("expired transaction abc"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(err.leap_name(), Some("expired_tx_exception"));
    let log = log.lock().expect("log").clone();
    assert_eq!(log.len(), 1, "a transaction is sent exactly once");
    assert_eq!(log[0].0, "/v1/chain/send_transaction");
    assert_eq!(log[0].1["packed_trx"], "deadbeef");
    assert_eq!(
        log[0].1["signatures"][0],
        json!(trx.signatures[0].to_string())
    );
}

#[tokio::test]
async fn send_transaction_variants_parse_the_processed_trace() {
    let ok = json!({
        "transaction_id": id_hex(7),
        "processed": {
            "id": id_hex(7), "block_num": 1234, "block_time": "2025-01-02T03:04:05.500",
            "producer_block_id": null,
            "receipt": {"status": "executed", "cpu_usage_us": 310, "net_usage_words": 18},
            "elapsed": 310, "net_usage": 144, "scheduled": false,
            "action_traces": [{"receiver": "soviet"}], "account_ram_delta": null,
            "except": null, "error_code": null
        }
    })
    .to_string();
    let (url, log) = spawn_http(move |_, _| Some((202, ok.clone()))).await;
    let trx = PackedTransaction {
        packed_trx: vec![1, 2],
        ..PackedTransaction::default()
    };
    let c = client(&url);
    for (i, result) in [
        c.send_transaction(&trx).await,
        c.push_transaction(&trx).await,
        c.send_transaction2(
            &trx,
            SendTransaction2Options {
                return_failure_trace: true,
                ..Default::default()
            },
        )
        .await,
    ]
    .into_iter()
    .enumerate()
    {
        let result = result.unwrap_or_else(|e| panic!("call {i}: {e}"));
        assert_eq!(result.transaction_id, Checksum256([7; 32]));
        assert_eq!(result.processed.block_num, 1234);
        assert_eq!(
            result.processed.receipt.as_ref().map(|r| r.status.as_str()),
            Some("executed")
        );
        assert!(!result.failed());
    }
    let log = log.lock().expect("log").clone();
    let paths: Vec<&str> = log.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/v1/chain/send_transaction",
            "/v1/chain/push_transaction",
            "/v1/chain/send_transaction2"
        ]
    );
    assert_eq!(log[2].1["return_failure_trace"], true);
    assert_eq!(log[2].1["retry_trx"], false);
    assert_eq!(log[2].1["transaction"]["packed_trx"], "0102");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let (url, _) = spawn_http(|_, _| None).await;
    let c = ChainClient::new(&url, Duration::from_millis(300)).expect("client");
    let started = Instant::now();
    let err = c.get_info().await.expect_err("must time out");
    assert!(matches!(err, ChainApiError::Timeout { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn connection_refused_and_non_leap_errors() {
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind")
        .local_addr()
        .expect("addr");
    let err = client(&format!("http://{closed}"))
        .get_info()
        .await
        .expect_err("refused");
    assert!(matches!(err, ChainApiError::Connect { .. }), "{err:?}");

    let (url, _) = spawn_http(|_, _| Some((502, "<html>bad gateway</html>".into()))).await;
    let err = client(&url).get_info().await.expect_err("502");
    assert!(
        matches!(err, ChainApiError::Http { status: 502, .. }),
        "{err:?}"
    );

    assert!(matches!(
        ChainClient::new("ftp://x", Duration::from_secs(1)),
        Err(ChainApiError::BadUrl { .. })
    ));
}

const TOKEN_ABI: &str = r#"{
  "version": "eosio::abi/1.2",
  "types": [{"new_type_name": "account_name", "type": "name"}],
  "structs": [
    {"name": "transfer", "base": "", "fields": [
      {"name": "from", "type": "account_name"}, {"name": "to", "type": "name"},
      {"name": "quantity", "type": "asset"}, {"name": "memo", "type": "string"}]},
    {"name": "account", "base": "", "fields": [{"name": "balance", "type": "asset"}]}
  ],
  "actions": [{"name": "transfer", "type": "transfer", "ricardian_contract": ""}],
  "tables": [{"name": "accounts", "index_type": "i64", "key_names": [], "key_types": [], "type": "account"}],
  "ricardian_clauses": [], "error_messages": [], "abi_extensions": [], "variants": [], "action_results": []
}"#;

#[tokio::test]
async fn get_raw_abi_decodes_the_binary_abi_and_get_abi_the_json() {
    let def = AbiDef::from_json(TOKEN_ABI).expect("abi json");
    let b64 = base64::engine::general_purpose::STANDARD.encode(def.packed());
    let (url, log) = spawn_http(move |path, body| {
        let account = body["account_name"].as_str().expect("account_name");
        Some(match (path, account) {
            ("/v1/chain/get_raw_abi", "eosio.token") => (200, json!({"account_name": "eosio.token", "code_hash": id_hex(1), "abi_hash": id_hex(2), "abi": b64}).to_string()),
            ("/v1/chain/get_raw_abi", _) => (200, json!({"account_name": account, "code_hash": id_hex(0), "abi_hash": id_hex(0)}).to_string()),
            ("/v1/chain/get_abi", _) => (200, format!(r#"{{"account_name":"eosio.token","abi":{TOKEN_ABI}}}"#)),
            _ => (404, "{}".into()),
        })
    })
    .await;
    let c = client(&url);
    let raw = c.get_raw_abi(n("eosio.token")).await.expect("raw abi");
    assert_eq!(raw.account_name, n("eosio.token"));
    assert_eq!(raw.code_hash, Checksum256([1; 32]));
    assert_eq!(raw.abi_hash, Checksum256([2; 32]));
    assert_eq!(raw.abi.as_ref(), Some(&def));
    let none = c.get_raw_abi(n("alice")).await.expect("no abi");
    assert_eq!(none.abi, None);
    assert_eq!(c.get_abi(n("eosio.token")).await.expect("abi"), Some(def));
    assert_eq!(
        log.lock().expect("log")[0].1,
        json!({"account_name": "eosio.token"})
    );
}

#[tokio::test]
async fn get_account_reads_permissions_and_limits() {
    let key = PrivateKey::from_bytes(&[9u8; 32])
        .expect("key")
        .public_key();
    let body = json!({
        "account_name": "coop", "head_block_num": 10, "head_block_time": "2025-01-02T03:04:05.500",
        "privileged": false, "last_code_update": "1970-01-01T00:00:00.000", "created": "2024-05-06T07:08:09.000",
        "core_liquid_balance": "12.0000 AXON",
        "ram_quota": 8192, "net_weight": "10000", "cpu_weight": 10000,
        "net_limit": {"used": 100, "available": "2000", "max": 2100, "last_usage_update_time": "2025-01-02T03:04:05.000", "current_used": 100},
        "cpu_limit": {"used": 5, "available": 95, "max": 100},
        "ram_usage": 4096,
        "permissions": [
            {"perm_name": "active", "parent": "owner", "required_auth": {
                "threshold": 1,
                "keys": [{"key": key.to_string(), "weight": 1}],
                "accounts": [{"permission": {"actor": "registrator", "permission": "eosio.code"}, "weight": 1}],
                "waits": []}},
            {"perm_name": "owner", "parent": "", "required_auth": {"threshold": 1, "keys": [], "accounts": [], "waits": []}, "linked_actions": []}
        ],
        "total_resources": null, "self_delegated_bandwidth": null, "refund_request": null, "voter_info": null,
        "rex_info": null, "subjective_cpu_bill_limit": {"used": 0, "available": 0, "max": 0}, "eosio_any_linked_actions": []
    })
    .to_string();
    let (url, _) = spawn_http(move |_, _| Some((200, body.clone()))).await;
    let account = client(&url).get_account(n("coop")).await.expect("account");
    assert_eq!(account.account_name, n("coop"));
    assert_eq!(account.ram_available(), 4096);
    assert_eq!(account.net_limit.available, 2000);
    assert_eq!(account.net_weight, Some(10_000));
    let active = account.permission(n("active")).expect("active");
    assert_eq!(active.parent, n("owner"));
    assert_eq!(active.required_auth.threshold, 1);
    assert_eq!(active.required_auth.keys[0].key, key);
    assert_eq!(
        active.required_auth.accounts[0].permission.actor,
        n("registrator")
    );
    assert_eq!(
        account.permission(n("owner")).expect("owner").parent,
        Name::default()
    );
}

#[tokio::test]
async fn get_block_and_get_block_info() {
    let packed = json!({"id": id_hex(5), "signatures": [], "compression": "none", "packed_context_free_data": "", "context_free_data": [], "packed_trx": "00", "transaction": {"actions": []}});
    let block = json!({
        "timestamp": "2025-01-02T03:04:05.500", "producer": "eosio", "confirmed": 0,
        "previous": id_hex(1), "transaction_mroot": id_hex(0), "action_mroot": id_hex(0),
        "schedule_version": 2, "new_producers": null, "producer_signature": "SIG_K1_x",
        "transactions": [
            {"status": "executed", "cpu_usage_us": 200, "net_usage_words": 16, "trx": packed},
            {"status": "executed", "cpu_usage_us": 10, "net_usage_words": 0, "trx": id_hex(6)}
        ],
        "id": id_hex(2), "block_num": 77, "ref_block_prefix": 305419896
    });
    let info = json!({
        "block_num": 77, "ref_block_num": 77, "id": id_hex(2), "timestamp": "2025-01-02T03:04:05.500",
        "producer": "eosio", "confirmed": 0, "previous": id_hex(1), "transaction_mroot": id_hex(0),
        "action_mroot": id_hex(0), "schedule_version": 2, "producer_signature": "SIG_K1_x", "ref_block_prefix": 305419896
    });
    let (url, log) = spawn_http(move |path, _| {
        Some((
            200,
            if path.ends_with("get_block") {
                block.to_string()
            } else {
                info.to_string()
            },
        ))
    })
    .await;
    let c = client(&url);
    let b = c.get_block("77").await.expect("block");
    assert_eq!((b.block_num, b.ref_block_prefix), (77, 0x1234_5678));
    assert_eq!(b.transactions.len(), 2);
    assert!(matches!(&b.transactions[0].trx, BlockTrx::Packed(p) if p.id == Checksum256([5; 32])));
    assert!(matches!(&b.transactions[1].trx, BlockTrx::Id(id) if *id == Checksum256([6; 32])));
    let i = c.get_block_info(77).await.expect("block info");
    assert_eq!(
        (i.block_num, i.ref_block_num, i.id),
        (77, 77, Checksum256([2; 32]))
    );
    let log = log.lock().expect("log").clone();
    assert_eq!(log[0].1, json!({"block_num_or_id": "77"}));
    assert_eq!(log[1].1, json!({"block_num": 77}));
}
