//! The chain API endpoints (`/v1/chain/*`) as functions from a request body to Leap's response
//! JSON; `http.rs` only routes. Field names follow Leap 5 (and `chain::api::types`).

use base64::Engine;
use chain::bytes::Unpack;
use chain::ship::{ActionTrace, SignedBlock, TransactionTraceV0, TransactionVariant};
use chain::transaction::{PackedTransaction, Transaction};
use chain::{Checksum256, Name};
use serde_json::{json, Value};

use crate::chain::Applied;
use crate::error::ChainError;
use crate::node::Node;
use crate::state::{ChainState, RowKey, SecondaryKey, TableKey};

fn field<T: serde::de::DeserializeOwned>(body: &Value, key: &str) -> Result<T, ChainError> {
    let v = body
        .get(key)
        .ok_or_else(|| ChainError::BadRequest(format!("missing field {key}")))?;
    serde_json::from_value(v.clone()).map_err(|e| ChainError::BadRequest(format!("{key}: {e}")))
}

fn opt_field<T: serde::de::DeserializeOwned>(
    body: &Value,
    key: &str,
) -> Result<Option<T>, ChainError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => field(body, key).map(Some),
    }
}

pub fn get_info(node: &Node) -> Result<Value, ChainError> {
    node.with(|i| {
        let c = &i.chain;
        let head = c.head();
        let lib = c.block(c.lib_num()).unwrap_or(head);
        json!({
            "server_version": "devchain",
            "chain_id": c.params().chain_id,
            "head_block_num": head.num,
            "last_irreversible_block_num": lib.num,
            "last_irreversible_block_id": lib.id,
            "last_irreversible_block_time": lib.timestamp,
            "head_block_id": head.id,
            "head_block_time": head.timestamp,
            "head_block_producer": "eosio",
            "virtual_block_cpu_limit": 200000000,
            "virtual_block_net_limit": 1048576000,
            "block_cpu_limit": 200000,
            "block_net_limit": 1048576,
            "server_version_string": concat!("v5.0.0-devchain-", env!("CARGO_PKG_VERSION")),
            "fork_db_head_block_num": head.num,
            "fork_db_head_block_id": head.id,
            "server_full_version_string": concat!("v5.0.0-devchain-", env!("CARGO_PKG_VERSION")),
            "total_cpu_weight": "0",
            "total_net_weight": "0",
            "earliest_available_block_num": 1,
        })
    })
}

fn block_num_of(node: &Node, body: &Value, key: &str) -> Result<u32, ChainError> {
    let v = body
        .get(key)
        .ok_or_else(|| ChainError::BadRequest(format!("missing field {key}")))?;
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => {
            return Err(ChainError::BadRequest(format!(
                "{key} must be a number or id"
            )))
        }
    };
    if text.len() == 64 {
        let id = Checksum256::from_hex(&text).map_err(|e| ChainError::BadRequest(e.to_string()))?;
        return node
            .with(|i| i.chain.block_by_id(&id).map(|b| b.num))?
            .ok_or_else(|| ChainError::UnknownBlock(format!("block {text} not found")));
    }
    text.parse::<u32>()
        .map_err(|_| ChainError::BadRequest(format!("{key}: {text:?} is not a block number or id")))
}

fn load_block(
    node: &Node,
    num: u32,
) -> Result<(crate::block::BlockRecord, SignedBlock), ChainError> {
    let exists = node.with(|i| i.chain.block(num).is_some())?;
    if !exists {
        return Err(ChainError::UnknownBlock(format!(
            "Could not find block: {num}"
        )));
    }
    let record = node.read_block(num)?;
    let block = SignedBlock::unpacked(&record.block.0)
        .map_err(|e| ChainError::Internal(format!("block {num}: {e}")))?;
    Ok((record, block))
}

fn header_json(record: &crate::block::BlockRecord, block: &SignedBlock) -> Value {
    let h = block.block_header();
    let i = record.id.0;
    json!({
        "timestamp": h.timestamp,
        "producer": h.producer,
        "confirmed": h.confirmed,
        "previous": h.previous,
        "transaction_mroot": h.transaction_mroot,
        "action_mroot": h.action_mroot,
        "schedule_version": h.schedule_version,
        "new_producers": null,
        "producer_signature": block.header.producer_signature.to_string(),
        "id": record.id,
        "block_num": record.block_num,
        "ref_block_num": record.block_num & 0xffff,
        "ref_block_prefix": u32::from_le_bytes([i[8], i[9], i[10], i[11]]),
    })
}

pub fn get_block(node: &Node, body: &Value) -> Result<Value, ChainError> {
    let num = block_num_of(node, body, "block_num_or_id")?;
    let (record, block) = load_block(node, num)?;
    let mut out = header_json(&record, &block);
    let state_abis = |acc: Name| node.with(|i| i.chain.state().abi(acc)).ok().flatten();
    let txs: Vec<Value> = block
        .transactions
        .iter()
        .map(|r| {
            let trx = match &r.trx {
                TransactionVariant::Id(id) => json!(id),
                TransactionVariant::Packed(p) => {
                    let id = Checksum256::sha256(&p.packed_trx.0);
                    let transaction = Transaction::unpacked(&p.packed_trx.0)
                        .map(|t| transaction_json(&t, &state_abis))
                        .unwrap_or(Value::Null);
                    json!({
                        "id": id,
                        "signatures": p.signatures.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                        "compression": if p.compression == 0 { "none" } else { "zlib" },
                        "packed_context_free_data": hex::encode(&p.packed_context_free_data.0),
                        "context_free_data": [],
                        "packed_trx": hex::encode(&p.packed_trx.0),
                        "transaction": transaction,
                    })
                }
            };
            json!({
                "status": if r.header.status == 0 { "executed" } else { "hard_fail" },
                "cpu_usage_us": r.header.cpu_usage_us,
                "net_usage_words": r.header.net_usage_words.0,
                "trx": trx,
            })
        })
        .collect();
    out["transactions"] = Value::Array(txs);
    out["block_extensions"] = json!([]);
    Ok(out)
}

fn transaction_json(
    t: &Transaction,
    abis: &dyn Fn(Name) -> Option<std::sync::Arc<chain::abi::Abi>>,
) -> Value {
    let mut v = serde_json::to_value(t).unwrap_or(Value::Null);
    if let Some(actions) = v.get_mut("actions").and_then(Value::as_array_mut) {
        for (json_act, act) in actions.iter_mut().zip(&t.actions) {
            json_act["hex_data"] = json!(hex::encode(&act.data.0));
            if let Some(decoded) =
                abis(act.account).and_then(|a| a.decode_action(act.name, &act.data.0).ok())
            {
                json_act["data"] = decoded;
            }
        }
    }
    v
}

pub fn get_block_info(node: &Node, body: &Value) -> Result<Value, ChainError> {
    let num = block_num_of(node, body, "block_num")?;
    let (record, block) = load_block(node, num)?;
    Ok(header_json(&record, &block))
}

pub fn get_raw_abi(node: &Node, body: &Value) -> Result<Value, ChainError> {
    let account: Name = field(body, "account_name")?;
    node.with(|i| {
        let acc = i
            .chain
            .state()
            .account(account)
            .ok_or(ChainError::UnknownAccount(account))?;
        let abi_hash = if acc.abi.0.is_empty() {
            Checksum256::default()
        } else {
            Checksum256::sha256(&acc.abi.0)
        };
        Ok(json!({
            "account_name": account,
            "code_hash": acc.code_hash,
            "abi_hash": abi_hash,
            "abi": base64::engine::general_purpose::STANDARD.encode(&acc.abi.0),
        }))
    })?
}

pub fn get_abi(node: &Node, body: &Value) -> Result<Value, ChainError> {
    let account: Name = field(body, "account_name")?;
    node.with(|i| {
        let state = i.chain.state();
        if state.account(account).is_none() {
            return Err(ChainError::UnknownAccount(account));
        }
        Ok(match state.abi(account) {
            Some(abi) => json!({"account_name": account, "abi": abi.def()}),
            None => json!({"account_name": account}),
        })
    })?
}

pub fn get_account(node: &Node, body: &Value) -> Result<Value, ChainError> {
    let account: Name = field(body, "account_name")?;
    node.with(|i| {
        let acc = i
            .chain
            .state()
            .account(account)
            .ok_or(ChainError::UnknownAccount(account))?;
        let unlimited = json!({"used": 0, "available": -1, "max": -1});
        let permissions: Vec<Value> = acc
            .permissions
            .iter()
            .map(|p| {
                json!({
                    "perm_name": p.name,
                    "parent": p.parent,
                    "required_auth": {
                        "threshold": p.auth.threshold,
                        "keys": p.auth.keys.iter().map(|k| json!({"key": k.key.to_string(), "weight": k.weight})).collect::<Vec<_>>(),
                        "accounts": p.auth.accounts.iter().map(|a| json!({"permission": {"actor": a.permission.actor, "permission": a.permission.permission}, "weight": a.weight})).collect::<Vec<_>>(),
                        "waits": p.auth.waits.iter().map(|w| json!({"wait_sec": w.wait_sec, "weight": w.weight})).collect::<Vec<_>>(),
                    },
                    "linked_actions": [],
                })
            })
            .collect();
        Ok(json!({
            "account_name": account,
            "head_block_num": i.chain.head().num,
            "head_block_time": i.chain.head().timestamp,
            "privileged": acc.privileged,
            "last_code_update": acc.last_code_update,
            "created": acc.creation_date.to_time_point(),
            "ram_quota": -1,
            "net_weight": -1,
            "cpu_weight": -1,
            "net_limit": unlimited,
            "cpu_limit": unlimited,
            "ram_usage": 0,
            "permissions": permissions,
            "total_resources": null,
            "self_delegated_bandwidth": null,
            "refund_request": null,
            "voter_info": null,
            "rex_info": null,
        }))
    })?
}

/// A `get_table_rows` bound: a number, a name, or (for checksum256 indices) hex.
fn parse_key(text: &str, key_type: &str) -> Result<SecondaryKey, ChainError> {
    let bad = || ChainError::TableQuery(format!("cannot parse bound {text:?} as {key_type}"));
    match key_type {
        "sha256" | "i256" | "checksum256" => Checksum256::from_hex(text)
            .map(SecondaryKey::Checksum256)
            .map_err(|_| bad()),
        _ => text
            .parse::<u64>()
            .or_else(|_| Name::parse(text).map(|n| n.as_u64()))
            .map(SecondaryKey::U64)
            .map_err(|_| bad()),
    }
}

fn key_text(k: SecondaryKey) -> String {
    match k {
        SecondaryKey::U64(v) => v.to_string(),
        SecondaryKey::Checksum256(c) => c.to_string(),
    }
}

pub fn get_table_rows(node: &Node, body: &Value) -> Result<Value, ChainError> {
    let code: Name = field(body, "code")?;
    let table: Name = field(body, "table")?;
    let scope_text: String = match body.get("scope") {
        Some(Value::Number(n)) => n.to_string(),
        _ => field(body, "scope")?,
    };
    let scope = scope_text
        .parse::<u64>()
        .map(Name::from_u64)
        .or_else(|_| Name::parse(&scope_text))
        .map_err(|_| ChainError::TableQuery(format!("bad scope {scope_text:?}")))?;
    let limit = opt_field::<Value>(body, "limit")?
        .and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
        .unwrap_or(10)
        .clamp(1, 10_000) as usize;
    let reverse = opt_field::<bool>(body, "reverse")?.unwrap_or(false);
    let json_rows = opt_field::<bool>(body, "json")?.unwrap_or(false);
    let show_payer = opt_field::<bool>(body, "show_payer")?.unwrap_or(false);
    let index: u8 = match opt_field::<Value>(body, "index_position")? {
        None => 1,
        Some(v) => {
            let t = v
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| v.to_string());
            match t.as_str() {
                "" | "primary" | "1" => 1,
                "secondary" | "2" => 2,
                "tertiary" | "3" => 3,
                other => other
                    .parse()
                    .map_err(|_| ChainError::TableQuery(format!("index_position {other:?}")))?,
            }
        }
    };
    let key_type = opt_field::<String>(body, "key_type")?.unwrap_or_default();
    let bound = |key: &str| -> Result<Option<SecondaryKey>, ChainError> {
        match opt_field::<Value>(body, key)? {
            None => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => parse_key(&s, &key_type).map(Some),
            Some(v) => parse_key(&v.to_string(), &key_type).map(Some),
        }
    };
    let (lower, upper) = (bound("lower_bound")?, bound("upper_bound")?);
    node.with(|i| {
        let state = i.chain.state();
        let tk = TableKey { code, scope, table };
        let abi = state.abi(code);
        if json_rows && abi.as_ref().and_then(|a| a.table_type(table)).is_none() {
            return Err(ChainError::TableQuery(format!(
                "table {table} is not specified in the ABI of {code}"
            )));
        }
        let keys: Vec<(SecondaryKey, u64)> = if index <= 1 {
            let lo = match lower {
                Some(SecondaryKey::U64(v)) => v,
                None => 0,
                _ => {
                    return Err(ChainError::TableQuery(
                        "primary key must be a number or name".into(),
                    ))
                }
            };
            let hi = match upper {
                Some(SecondaryKey::U64(v)) => v,
                None => u64::MAX,
                _ => {
                    return Err(ChainError::TableQuery(
                        "primary key must be a number or name".into(),
                    ))
                }
            };
            state
                .rows(tk, lo, hi)
                .filter(|_| lo <= hi)
                .map(|(pk, _)| (SecondaryKey::U64(pk), pk))
                .collect()
        } else {
            let sample = lower.or(upper).unwrap_or(SecondaryKey::U64(0));
            let (min, max) = match sample {
                SecondaryKey::U64(_) => (SecondaryKey::U64(0), SecondaryKey::U64(u64::MAX)),
                SecondaryKey::Checksum256(_) => (
                    SecondaryKey::Checksum256(Checksum256::default()),
                    SecondaryKey::Checksum256(Checksum256([0xff; 32])),
                ),
            };
            state
                .secondary_range(tk, index - 2, lower.unwrap_or(min), upper.unwrap_or(max))
                .collect()
        };
        let ordered: Box<dyn Iterator<Item = &(SecondaryKey, u64)>> = if reverse {
            Box::new(keys.iter().rev())
        } else {
            Box::new(keys.iter())
        };
        let mut rows = Vec::new();
        let mut next_key = String::new();
        for (n, (sk, pk)) in ordered.enumerate() {
            if n == limit {
                next_key = key_text(*sk);
                break;
            }
            rows.push(row_json(state, tk, *pk, json_rows, show_payer)?);
        }
        Ok(json!({"rows": rows, "more": !next_key.is_empty(), "next_key": next_key}))
    })?
}

fn row_json(
    state: &ChainState,
    tk: TableKey,
    pk: u64,
    json_rows: bool,
    show_payer: bool,
) -> Result<Value, ChainError> {
    let row = state
        .row(&RowKey {
            table: tk,
            primary_key: pk,
        })
        .ok_or_else(|| ChainError::Internal(format!("row {pk} vanished")))?;
    let data = match (json_rows, state.abi(tk.code)) {
        (true, Some(abi)) => abi
            .decode_table_row(tk.table, &row.value.0)
            .map_err(|e| ChainError::Unpack(format!("{}::{} row {pk}: {e}", tk.code, tk.table)))?,
        _ => json!(hex::encode(&row.value.0)),
    };
    Ok(if show_payer {
        json!({"data": data, "payer": row.payer})
    } else {
        data
    })
}

fn action_trace_json(
    t: &ActionTrace,
    trace: &TransactionTraceV0,
    applied: &Applied,
    state: &ChainState,
) -> Value {
    let v = t.view();
    let data = state
        .abi(v.act.account)
        .and_then(|a| a.decode_action(v.act.name, &v.act.data.0).ok())
        .unwrap_or_else(|| json!(hex::encode(&v.act.data.0)));
    let receipt = v.receipt.map(|r| {
        json!({
            "receiver": r.receiver,
            "act_digest": r.act_digest,
            "global_sequence": r.global_sequence,
            "recv_sequence": r.recv_sequence,
            "auth_sequence": r.auth_sequence.iter().map(|s| json!([s.account, s.sequence])).collect::<Vec<_>>(),
            "code_sequence": r.code_sequence.0,
            "abi_sequence": r.abi_sequence.0,
        })
    });
    json!({
        "action_ordinal": v.action_ordinal,
        "creator_action_ordinal": v.creator_action_ordinal,
        "closest_unnotified_ancestor_action_ordinal": v.creator_action_ordinal,
        "receipt": receipt,
        "receiver": v.receiver,
        "act": {
            "account": v.act.account,
            "name": v.act.name,
            "authorization": v.act.authorization.iter().map(|l| json!({"actor": l.actor, "permission": l.permission})).collect::<Vec<_>>(),
            "data": data,
            "hex_data": hex::encode(&v.act.data.0),
        },
        "context_free": false,
        "elapsed": 0,
        "console": match t { ActionTrace::V0(x) => x.console.clone(), ActionTrace::V1(x) => x.console.clone() },
        "trx_id": trace.id,
        "block_num": applied.block_num,
        "block_time": applied.block_time,
        "producer_block_id": null,
        "account_ram_deltas": [],
        "except": null,
        "error_code": null,
        "return_value_hex_data": "",
    })
}

fn push(node: &Node, ptrx: &PackedTransaction) -> Result<Value, ChainError> {
    let applied = node.push_transaction(ptrx)?;
    let t = &applied.trace;
    let traces: Vec<Value> = node.with(|i| {
        t.action_traces
            .iter()
            .map(|a| action_trace_json(a, t, &applied, i.chain.state()))
            .collect()
    })?;
    Ok(json!({
        "transaction_id": t.id,
        "processed": {
            "id": t.id,
            "block_num": applied.block_num,
            "block_time": applied.block_time,
            "producer_block_id": null,
            "receipt": {"status": "executed", "cpu_usage_us": t.cpu_usage_us, "net_usage_words": t.net_usage_words.0},
            "elapsed": 0,
            "net_usage": t.net_usage,
            "scheduled": false,
            "action_traces": traces,
            "account_ram_delta": null,
            "except": null,
            "error_code": null,
        },
    }))
}

fn packed_from(body: &Value) -> Result<PackedTransaction, ChainError> {
    serde_json::from_value(body.clone())
        .map_err(|e| ChainError::Unpack(format!("packed transaction: {e}")))
}

pub fn send_transaction(node: &Node, body: &Value) -> Result<Value, ChainError> {
    push(node, &packed_from(body)?)
}

pub fn send_transaction2(node: &Node, body: &Value) -> Result<Value, ChainError> {
    let trx = body
        .get("transaction")
        .ok_or_else(|| ChainError::BadRequest("missing field transaction".into()))?;
    push(node, &packed_from(trx)?)
}
