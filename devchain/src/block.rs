//! Block assembly: Leap block ids (sha256 of the header with the block number in the first four
//! bytes, big-endian), merkle roots, SHiP table deltas from a block's state changes, and the
//! [`BlockRecord`] the block log stores.

use chain::bytes::{Bytes, Pack};
use chain::ship::{
    AccountMetadataRow, AccountMetadataV0, AccountRow, AccountV0, BlockHeader, CodeId, ContractRow,
    ContractRowV0, PermissionRow, PermissionV0, Row, TableDelta, TableDeltaV0,
};
use chain::{pack_struct, Checksum256};

use crate::state::{AccountState, StateChange, StateKey, StateValue};

/// One block as stored: the SHiP payloads plus the state changes (before/after values) that
/// restart replay and forks use.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockRecord {
    pub block_num: u32,
    pub id: Checksum256,
    /// Packed `signed_block`.
    pub block: Bytes,
    /// Packed `transaction_trace[]`.
    pub traces: Bytes,
    /// Packed `table_delta[]`.
    pub deltas: Bytes,
    pub changes: Vec<StateChange>,
}
pack_struct!(BlockRecord {
    block_num,
    id,
    block,
    traces,
    deltas,
    changes
});

/// `block_header::calculate_id`: sha256 of the packed header, first 4 bytes = number (BE).
pub fn block_id(header: &BlockHeader, block_num: u32) -> Checksum256 {
    let mut id = Checksum256::sha256(header.packed());
    id.0[..4].copy_from_slice(&block_num.to_be_bytes());
    id
}

/// Leap's canonical merkle root (left node high bit cleared, right node set).
pub fn merkle(mut ids: Vec<Checksum256>) -> Checksum256 {
    if ids.is_empty() {
        return Checksum256::default();
    }
    while ids.len() > 1 {
        if ids.len() % 2 == 1 {
            if let Some(last) = ids.last().copied() {
                ids.push(last);
            }
        }
        ids = ids
            .chunks(2)
            .map(|pair| {
                let mut l = pair[0];
                let mut r = pair[1];
                l.0[0] &= 0x7f;
                r.0[0] |= 0x80;
                let mut buf = Vec::with_capacity(64);
                buf.extend_from_slice(&l.0);
                buf.extend_from_slice(&r.0);
                Checksum256::sha256(buf)
            })
            .collect();
    }
    ids[0]
}

fn account_of(v: &Option<StateValue>) -> Option<&AccountState> {
    match v {
        Some(StateValue::Account(a)) => Some(a),
        _ => None,
    }
}

/// SHiP deltas for a block: `account` (created or ABI changed), `account_metadata` (created or
/// code changed), `contract_row` (final state per row), `permission` (changed permissions).
pub fn deltas_from_changes(changes: &[StateChange]) -> Vec<TableDelta> {
    let mut accounts = Vec::new();
    let mut metadata = Vec::new();
    let mut rows = Vec::new();
    let mut permissions = Vec::new();
    for change in changes {
        match change.key {
            StateKey::Global => {}
            StateKey::Account(_) => {
                let (before, Some(after)) = (account_of(&change.before), account_of(&change.after))
                else {
                    continue;
                };
                if before.is_none_or(|b| b.abi != after.abi) {
                    let row = AccountRow::V0(AccountV0 {
                        name: after.name,
                        creation_date: after.creation_date,
                        abi: after.abi.clone(),
                    });
                    accounts.push(Row {
                        present: true,
                        data: Bytes(row.packed()),
                    });
                }
                if before.is_none_or(|b| {
                    b.code_hash != after.code_hash || b.privileged != after.privileged
                }) {
                    let row = AccountMetadataRow::V0(AccountMetadataV0 {
                        name: after.name,
                        privileged: after.privileged,
                        last_code_update: after.last_code_update,
                        code: (!after.code_hash.is_zero()).then_some(CodeId {
                            vm_type: 0,
                            vm_version: 0,
                            code_hash: after.code_hash,
                        }),
                    });
                    metadata.push(Row {
                        present: true,
                        data: Bytes(row.packed()),
                    });
                }
                for p in &after.permissions {
                    let old = before.and_then(|b| b.permission(p.name));
                    if old != Some(p) {
                        let row = PermissionRow::V0(PermissionV0 {
                            owner: after.name,
                            name: p.name,
                            parent: p.parent,
                            last_updated: p.last_updated,
                            auth: p.auth.clone(),
                        });
                        permissions.push(Row {
                            present: true,
                            data: Bytes(row.packed()),
                        });
                    }
                }
            }
            StateKey::Row(key) => {
                let value = match (&change.before, &change.after) {
                    (_, Some(StateValue::Row(v))) => (true, v),
                    (Some(StateValue::Row(v)), None) => (false, v),
                    _ => continue,
                };
                if change.before == change.after {
                    continue;
                }
                let row = ContractRow::V0(ContractRowV0 {
                    code: key.table.code,
                    scope: key.table.scope,
                    table: key.table.table,
                    primary_key: key.primary_key,
                    payer: value.1.payer,
                    value: value.1.value.clone(),
                });
                rows.push(Row {
                    present: value.0,
                    data: Bytes(row.packed()),
                });
            }
        }
    }
    [
        ("account", accounts),
        ("account_metadata", metadata),
        ("contract_row", rows),
        ("permission", permissions),
    ]
    .into_iter()
    .filter(|(_, rows)| !rows.is_empty())
    .map(|(name, rows)| {
        TableDelta::V0(TableDeltaV0 {
            name: name.to_owned(),
            rows,
        })
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merkle_of_one_is_itself_and_of_two_is_canonical() {
        let a = Checksum256::sha256(b"a");
        let b = Checksum256::sha256(b"b");
        assert_eq!(merkle(vec![a]), a);
        assert_eq!(merkle(Vec::new()), Checksum256::default());
        let root = merkle(vec![a, b]);
        assert_ne!(root, merkle(vec![b, a]));
    }
}
