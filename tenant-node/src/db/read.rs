//! Generic reads of the synced data: table rows (current, or as of a block from the append-only
//! history), one row's versions, and action receipts by kind. The typed registries in
//! [`crate::db::registry`] are built on these.

use chain::{Checksum256, Name};
use serde_json::Value;

use crate::db::{block_num, checksum, name, Db, DbError};

/// A table row as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRow {
    pub code: Name,
    pub scope: Name,
    pub table: Name,
    pub primary_key: u64,
    /// The block that wrote this version.
    pub block_num: u32,
    pub payer: Name,
    /// The row decoded with the ABI in force at `block_num` (`None`: it did not decode).
    pub value: Option<Value>,
}

/// One version of a row in the history.
#[derive(Debug, Clone, PartialEq)]
pub struct RowVersion {
    pub block_num: u32,
    /// False: the row was erased in this block (`value` is its last content).
    pub present: bool,
    pub value: Option<Value>,
}

/// An action receipt as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAction {
    pub global_sequence: u64,
    pub block_num: u32,
    pub trx_id: Checksum256,
    pub action_ordinal: u32,
    pub creator_action_ordinal: u32,
    pub receiver: Name,
    pub account: Name,
    pub name: Name,
    pub data: Vec<u8>,
    pub value: Option<Value>,
}

/// Which action receipts to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionQuery<'a> {
    pub account: Name,
    /// Any of these action names.
    pub names: &'a [Name],
    /// Only receipts of this receiver (`Some(account)`: the contract's own execution, no
    /// notifications).
    pub receiver: Option<Name>,
    /// Only receipts up to this block.
    pub as_of: Option<u32>,
}

/// Counts of the stored chain data (for operators and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub actions: u64,
    pub row_versions: u64,
    pub rows: u64,
    pub abis: u64,
}

fn as_of_param(as_of: Option<u32>) -> i64 {
    as_of.map_or(i64::MAX, i64::from)
}

pub(crate) fn json(text: Option<String>) -> Result<Option<Value>, DbError> {
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| DbError::Corrupt(format!("stored JSON: {e}")))
    })
    .transpose()
}

pub(crate) fn pk(text: &str) -> Result<u64, DbError> {
    text.parse()
        .map_err(|_| DbError::Corrupt(format!("primary key {text:?}")))
}

fn u32_of(v: i32) -> Result<u32, DbError> {
    u32::try_from(v).map_err(|_| DbError::Corrupt(format!("ordinal {v}")))
}

impl Db {
    /// The rows of one table scope, current (`as_of: None`) or as they were after block `as_of`.
    pub async fn table_rows(
        &self,
        code: Name,
        scope: Name,
        table: Name,
        as_of: Option<u32>,
    ) -> Result<Vec<StoredRow>, DbError> {
        let client = self.client().await?;
        let (code_s, scope_s, table_s) = (code.to_string(), scope.to_string(), table.to_string());
        let rows = match as_of {
            None => {
                let stmt = client
                    .prepare_cached(
                        "SELECT pk::text, block_num, payer, decoded::text FROM chain_rows
                         WHERE code = $1 AND scope = $2 AND tbl = $3 ORDER BY pk",
                    )
                    .await?;
                client.query(&stmt, &[&code_s, &scope_s, &table_s]).await?
            }
            Some(b) => {
                let stmt = client
                    .prepare_cached(
                        "SELECT pk::text, block_num, payer, decoded::text FROM (
                            SELECT DISTINCT ON (pk) pk, block_num, present, payer, decoded
                            FROM chain_row_history
                            WHERE code = $1 AND scope = $2 AND tbl = $3 AND block_num <= $4
                            ORDER BY pk, block_num DESC) latest
                         WHERE present ORDER BY pk",
                    )
                    .await?;
                client
                    .query(&stmt, &[&code_s, &scope_s, &table_s, &i64::from(b)])
                    .await?
            }
        };
        rows.into_iter()
            .map(|row| {
                Ok(StoredRow {
                    code,
                    scope,
                    table,
                    primary_key: pk(&row.get::<_, String>(0))?,
                    block_num: block_num(row.get(1))?,
                    payer: name(row.get(2))?,
                    value: json(row.get(3))?,
                })
            })
            .collect()
    }

    /// The newest version of one row at or before block `as_of` (any block when `None`),
    /// erased or not.
    pub async fn row_at(
        &self,
        code: Name,
        scope: Name,
        table: Name,
        primary_key: u64,
        as_of: Option<u32>,
    ) -> Result<Option<RowVersion>, DbError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT block_num, present, decoded::text FROM chain_row_history
                 WHERE code = $1 AND scope = $2 AND tbl = $3 AND pk = $4::text::numeric
                   AND block_num <= $5
                 ORDER BY block_num DESC LIMIT 1",
                &[
                    &code.to_string(),
                    &scope.to_string(),
                    &table.to_string(),
                    &primary_key.to_string(),
                    &as_of_param(as_of),
                ],
            )
            .await?;
        row.map(|row| {
            Ok(RowVersion {
                block_num: block_num(row.get(0))?,
                present: row.get(1),
                value: json(row.get(2))?,
            })
        })
        .transpose()
    }

    /// Every stored version of one row, oldest first.
    pub async fn row_versions(
        &self,
        code: Name,
        scope: Name,
        table: Name,
        primary_key: u64,
    ) -> Result<Vec<RowVersion>, DbError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT block_num, present, decoded::text FROM chain_row_history
                 WHERE code = $1 AND scope = $2 AND tbl = $3 AND pk = $4::text::numeric
                 ORDER BY block_num",
                &[
                    &code.to_string(),
                    &scope.to_string(),
                    &table.to_string(),
                    &primary_key.to_string(),
                ],
            )
            .await?;
        rows.into_iter()
            .map(|row| {
                Ok(RowVersion {
                    block_num: block_num(row.get(0))?,
                    present: row.get(1),
                    value: json(row.get(2))?,
                })
            })
            .collect()
    }

    /// Action receipts of the given kinds, in chain order.
    pub async fn actions(&self, q: ActionQuery<'_>) -> Result<Vec<StoredAction>, DbError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT global_sequence, block_num, trx_id, action_ordinal, creator_action_ordinal,
                        receiver, account, name, data, decoded::text
                 FROM chain_actions
                 WHERE account = $1 AND name = ANY($2) AND ($3::text IS NULL OR receiver = $3)
                   AND block_num <= $4
                 ORDER BY global_sequence",
            )
            .await?;
        let receiver = q.receiver.map(|r| r.to_string());
        let rows = client
            .query(
                &stmt,
                &[
                    &q.account.to_string(),
                    &q.names.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
                    &receiver,
                    &as_of_param(q.as_of),
                ],
            )
            .await?;
        rows.into_iter()
            .map(|row| {
                let gs: i64 = row.get(0);
                Ok(StoredAction {
                    global_sequence: u64::try_from(gs)
                        .map_err(|_| DbError::Corrupt(format!("global sequence {gs}")))?,
                    block_num: block_num(row.get(1))?,
                    trx_id: checksum(row.get(2))?,
                    action_ordinal: u32_of(row.get(3))?,
                    creator_action_ordinal: u32_of(row.get(4))?,
                    receiver: name(row.get(5))?,
                    account: name(row.get(6))?,
                    name: name(row.get(7))?,
                    data: row.get(8),
                    value: json(row.get(9))?,
                })
            })
            .collect()
    }

    /// How much chain data is stored.
    pub async fn counts(&self) -> Result<Counts, DbError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT (SELECT count(*) FROM chain_actions), (SELECT count(*) FROM chain_row_history),
                        (SELECT count(*) FROM chain_rows), (SELECT count(*) FROM chain_abis)",
                &[],
            )
            .await?;
        let c = |i: usize| u64::try_from(row.get::<_, i64>(i)).unwrap_or(0);
        Ok(Counts {
            actions: c(0),
            row_versions: c(1),
            rows: c(2),
            abis: c(3),
        })
    }
}
