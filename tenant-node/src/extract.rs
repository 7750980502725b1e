//! From a SHiP block to the records the node stores (pure): the cooperative's action receipts
//! (executed transactions only, one record per receipt), its table-row changes, and the ABI
//! changes of followed accounts, each decoded with the ABI in force at that point.

use chain::bytes::Reader;
use chain::ship::{ShipBlock, ShipError};
use chain::{Checksum256, Name, Unpack};
use serde_json::Value;
use thiserror::Error;

use crate::abis::AbiHistory;
use crate::filter::{ActionInterest, CoopField, Interest, RowInterest, EOSIO, SETABI};

/// Why a block could not be turned into records.
#[derive(Debug, Error)]
pub enum ExtractError {
    #[error("block {block_num} came without its header (the stream must fetch blocks)")]
    NoHeader { block_num: u32 },
    #[error("block {block_num}: {source}")]
    Ship {
        block_num: u32,
        #[source]
        source: ShipError,
    },
}

/// One stored action receipt.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionRecord {
    pub global_sequence: u64,
    pub trx_id: Checksum256,
    pub action_ordinal: u32,
    pub creator_action_ordinal: u32,
    pub receiver: Name,
    pub account: Name,
    pub name: Name,
    /// `(actor, permission)` pairs.
    pub authorization: Vec<(Name, Name)>,
    pub data: Vec<u8>,
    /// The data decoded with the ABI in force (JSON text); `None` when it does not decode.
    pub json: Option<String>,
}

/// One stored table-row change (`present == false`: the row was erased; `data` is its last value).
#[derive(Debug, Clone, PartialEq)]
pub struct RowRecord {
    pub code: Name,
    pub scope: Name,
    pub table: Name,
    pub primary_key: u64,
    pub present: bool,
    pub payer: Name,
    pub data: Vec<u8>,
    pub json: Option<String>,
}

impl RowRecord {
    pub fn key(&self) -> (Name, Name, Name, u64) {
        (self.code, self.scope, self.table, self.primary_key)
    }
}

/// A followed account's new ABI (empty bytes: the ABI was cleared).
#[derive(Debug, Clone, PartialEq)]
pub struct AbiRecord {
    pub account: Name,
    pub abi: Vec<u8>,
}

/// Everything the node stores for one block.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockData {
    pub block_num: u32,
    pub block_id: Checksum256,
    /// Block time, microseconds since the Unix epoch.
    pub timestamp_us: i64,
    pub head: u32,
    pub last_irreversible: u32,
    pub actions: Vec<ActionRecord>,
    pub rows: Vec<RowRecord>,
    pub abis: Vec<AbiRecord>,
}

/// Extracts a block's records, updating `abis` with the ABI changes it carries.
pub fn extract_block(
    block: &ShipBlock,
    interest: &Interest,
    abis: &mut AbiHistory,
) -> Result<BlockData, ExtractError> {
    let block_num = block.this_block.block_num;
    let header = block
        .header
        .as_ref()
        .ok_or(ExtractError::NoHeader { block_num })?;
    let ship_err = |source| ExtractError::Ship { block_num, source };
    let abi_accounts = interest.abi_accounts();
    let mut data = BlockData {
        block_num,
        block_id: block.this_block.block_id,
        timestamp_us: header.timestamp.to_time_point().as_micros(),
        head: block.head.block_num,
        last_irreversible: block.last_irreversible.block_num,
        actions: Vec::new(),
        rows: Vec::new(),
        abis: Vec::new(),
    };

    for trx in block.executed_traces() {
        let trx = trx.v0();
        for trace in &trx.action_traces {
            let v = trace.view();
            let Some(receipt) = v.receipt else { continue };
            let receiver = receipt.receiver;
            let act = v.act;
            let verdict = interest.action(receiver, act.account, act.name);
            if !action_concerns(
                verdict,
                interest,
                abis,
                block_num,
                act.account,
                act.name,
                &act.data.0,
            ) {
                continue;
            }
            if act.account == EOSIO && act.name == SETABI && receiver == EOSIO {
                let Some((account, abi)) = parse_setabi(&act.data.0) else {
                    continue;
                };
                if !abi_accounts.contains(&account) {
                    continue;
                }
                // decode the setabi itself with eosio's ABI before it can change
                let json = decode_action(abis, block_num, act.account, act.name, &act.data.0);
                abis.set(account, block_num, abi.clone());
                push_abi(&mut data.abis, account, abi);
                data.actions.push(action_record(trx.id, &v, receipt, json));
                continue;
            }
            let json = decode_action(abis, block_num, act.account, act.name, &act.data.0);
            data.actions.push(action_record(trx.id, &v, receipt, json));
        }
    }

    for change in block.accounts().map_err(ship_err)? {
        let account = change.row.name;
        if change.present && abi_accounts.contains(&account) {
            // `account` deltas come with account creation and every ABI change
            let abi = change.row.abi.0;
            abis.set(account, block_num, abi.clone());
            push_abi(&mut data.abis, account, abi);
        }
    }

    for change in block.contract_rows().map_err(ship_err)? {
        let r = change.row;
        let field = match interest.row(r.code, r.scope, r.table) {
            RowInterest::Drop => continue,
            RowInterest::Keep => None,
            RowInterest::Field(f) => Some(f),
        };
        let value = abis
            .at(r.code, block_num)
            .and_then(|v| v.abi())
            .and_then(|abi| abi.decode_table_row(r.table, &r.value.0).ok());
        if let Some(f) = field {
            if !value
                .as_ref()
                .and_then(|v| name_field(v, f))
                .is_some_and(|n| interest.accepts(f, n))
            {
                continue;
            }
        }
        let record = RowRecord {
            code: r.code,
            scope: r.scope,
            table: r.table,
            primary_key: r.primary_key,
            present: change.present,
            payer: r.payer,
            data: r.value.0,
            json: value.map(|v| v.to_string()),
        };
        // SHiP sends a row's final state once per block; keep the last if it repeats
        if let Some(prev) = data.rows.iter_mut().find(|p| p.key() == record.key()) {
            *prev = record;
        } else {
            data.rows.push(record);
        }
    }
    Ok(data)
}

/// Whether a receipt concerns the cooperative, reading its cooperative field by plan when it can.
fn action_concerns(
    verdict: ActionInterest,
    interest: &Interest,
    abis: &AbiHistory,
    block_num: u32,
    account: Name,
    action: Name,
    data: &[u8],
) -> bool {
    let field = match verdict {
        ActionInterest::Keep => return true,
        ActionInterest::Drop => return false,
        ActionInterest::Field(f) => f,
    };
    let Some(version) = abis.at(account, block_num) else {
        return false;
    };
    let (Some(abi), Some(plans)) = (version.abi(), version.plans()) else {
        return false;
    };
    let plan = plans.get(action, field);
    let value = match plan {
        crate::filter::FieldPlan::Absent => None,
        crate::filter::FieldPlan::At(_) => plan.read(data),
        crate::filter::FieldPlan::Decode => abi
            .decode_action(action, data)
            .ok()
            .and_then(|v| name_field(&v, field)),
    };
    value.is_some_and(|n| interest.accepts(field, n))
}

fn name_field(value: &Value, field: CoopField) -> Option<Name> {
    value
        .get(field.field_name())
        .and_then(Value::as_str)
        .and_then(|s| Name::parse(s).ok())
}

fn decode_action(
    abis: &AbiHistory,
    block_num: u32,
    account: Name,
    action: Name,
    data: &[u8],
) -> Option<String> {
    let abi = abis.at(account, block_num)?.abi()?;
    match abi.decode_action(action, data) {
        Ok(v) => Some(v.to_string()),
        Err(e) => {
            tracing::debug!(%account, %action, error = %e, "Action data does not decode");
            None
        }
    }
}

/// `eosio::setabi{account: name, abi: bytes, memo: string$}`.
fn parse_setabi(data: &[u8]) -> Option<(Name, Vec<u8>)> {
    let mut r = Reader::new(data);
    let account = Name::unpack(&mut r).ok()?;
    let abi = r.bytes().ok()?.to_vec();
    Some((account, abi))
}

fn push_abi(abis: &mut Vec<AbiRecord>, account: Name, abi: Vec<u8>) {
    match abis.iter_mut().find(|a| a.account == account) {
        Some(a) => a.abi = abi,
        None => abis.push(AbiRecord { account, abi }),
    }
}

fn action_record(
    trx_id: Checksum256,
    v: &chain::ship::ActionTraceRef<'_>,
    receipt: &chain::ship::ActionReceiptV0,
    json: Option<String>,
) -> ActionRecord {
    ActionRecord {
        global_sequence: receipt.global_sequence,
        trx_id,
        action_ordinal: v.action_ordinal,
        creator_action_ordinal: v.creator_action_ordinal,
        receiver: receipt.receiver,
        account: v.act.account,
        name: v.act.name,
        authorization: v
            .act
            .authorization
            .iter()
            .map(|p| (p.actor, p.permission))
            .collect(),
        data: v.act.data.0.clone(),
        json,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Contracts;
    use chain::bytes::{Bytes, Pack, VarUint32};
    use chain::ship::{
        Action, ActionReceipt, ActionReceiptV0, ActionTrace, ActionTraceV0, BlockPosition,
        PermissionLevel, ShipBlockHeader, TransactionTrace, TransactionTraceV0,
    };
    use chain::time::BlockTimestamp;
    use serde_json::json;

    fn n(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    const SOVIET_ABI: &str = r#"{"version":"eosio::abi/1.2","structs":[
        {"name":"vote","base":"","fields":[{"name":"coopname","type":"name"},{"name":"id","type":"uint64"}]}],
        "actions":[{"name":"votefor","type":"vote","ricardian_contract":""}]}"#;

    fn trace(receiver: &str, coop: &str, global_sequence: u64) -> ActionTrace {
        let abi = chain::abi::Abi::from_json(SOVIET_ABI).unwrap();
        let data = abi
            .encode_action(n("votefor"), &json!({"coopname": coop, "id": 7}))
            .unwrap();
        ActionTrace::V0(ActionTraceV0 {
            action_ordinal: VarUint32(1),
            creator_action_ordinal: VarUint32(0),
            receipt: Some(ActionReceipt::V0(ActionReceiptV0 {
                receiver: n(receiver),
                act_digest: Checksum256::default(),
                global_sequence,
                recv_sequence: 1,
                auth_sequence: Vec::new(),
                code_sequence: VarUint32(0),
                abi_sequence: VarUint32(0),
            })),
            receiver: n(receiver),
            act: Action {
                account: n("soviet"),
                name: n("votefor"),
                authorization: vec![PermissionLevel {
                    actor: n(coop),
                    permission: n("active"),
                }],
                data: Bytes(data),
            },
            context_free: false,
            elapsed: 0,
            console: String::new(),
            account_ram_deltas: Vec::new(),
            except: None,
            error_code: None,
        })
    }

    fn transaction(status: u8, action_traces: Vec<ActionTrace>) -> TransactionTrace {
        TransactionTrace::V0(TransactionTraceV0 {
            id: Checksum256::sha256([status]),
            status,
            cpu_usage_us: 0,
            net_usage_words: VarUint32(0),
            elapsed: 0,
            net_usage: 0,
            scheduled: false,
            action_traces,
            account_ram_delta: None,
            except: None,
            error_code: None,
            failed_dtrx_trace: None,
            partial: None,
        })
    }

    #[test]
    fn failed_transactions_and_other_cooperatives_are_skipped() {
        let position = BlockPosition {
            block_num: 9,
            block_id: Checksum256::sha256("9"),
        };
        let block = ShipBlock {
            head: position,
            last_irreversible: position,
            this_block: position,
            prev_block: None,
            header: Some(ShipBlockHeader {
                timestamp: BlockTimestamp::from_slot(100),
                producer: n("eosio"),
                previous: Checksum256::default(),
                id: position.block_id,
            }),
            block: None,
            traces: vec![
                transaction(
                    0,
                    vec![trace("soviet", "voskhod", 1), trace("soviet", "zarya", 2)],
                ),
                transaction(1, vec![trace("soviet", "voskhod", 3)]),
                transaction(0, vec![trace("voskhod", "zarya", 4)]),
            ],
            deltas: Vec::new(),
        };
        let interest = Interest {
            coop: n("voskhod"),
            contracts: Contracts {
                registrator: n("registrator"),
                soviet: n("soviet"),
                gateway: n("gateway"),
                branch: n("branch"),
                draft: n("draft"),
                wallet: n("wallet"),
                fund: n("fund"),
            },
        };
        let mut abis = AbiHistory::new();
        let abi = chain::abi::AbiDef::from_json(SOVIET_ABI).unwrap().packed();
        abis.set(n("soviet"), 0, abi);
        let data = extract_block(&block, &interest, &mut abis).unwrap();
        let kept: Vec<u64> = data.actions.iter().map(|a| a.global_sequence).collect();
        // 1: voskhod's vote; 2: another coop; 3: failed transaction; 4: received by voskhod
        assert_eq!(kept, vec![1, 4]);
        let v: serde_json::Value =
            serde_json::from_str(data.actions[0].json.as_deref().unwrap()).unwrap();
        assert_eq!(v["coopname"], "voskhod");
        assert_eq!(
            data.timestamp_us,
            BlockTimestamp::from_slot(100).to_time_point().as_micros()
        );
    }
}
