//! A decoded SHiP block (`get_blocks_result_v0` with its `bytes?` payloads unpacked) and helpers
//! over traces and deltas.

use crate::bytes::{Bytes, DecodeError, Unpack};
use crate::checksum::Checksum256;
use crate::name::Name;
use crate::ship::client::ShipError;
use crate::ship::types::BlockPosition;
use crate::ship::types::{
    AccountRow, AccountV0, ContractRow, ContractRowV0, GetBlocksResultV0, SignedBlock, TableDelta,
    TransactionTrace,
};
use crate::time::BlockTimestamp;

/// The header fields most consumers need.
#[derive(Debug, Clone, PartialEq)]
pub struct ShipBlockHeader {
    pub timestamp: BlockTimestamp,
    pub producer: Name,
    pub previous: Checksum256,
    /// This block's id (`this_block.block_id`).
    pub id: Checksum256,
}

/// One block from the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct ShipBlock {
    pub head: BlockPosition,
    pub last_irreversible: BlockPosition,
    pub this_block: BlockPosition,
    pub prev_block: Option<BlockPosition>,
    /// Present when the stream fetches blocks.
    pub header: Option<ShipBlockHeader>,
    /// The whole signed block, when the stream fetches blocks.
    pub block: Option<SignedBlock>,
    /// Every transaction trace, failed ones included (see [`ShipBlock::executed_traces`]).
    pub traces: Vec<TransactionTrace>,
    pub deltas: Vec<TableDelta>,
}

impl ShipBlock {
    /// Decodes a result's payloads. `Ok(None)` when the result carries no `this_block`.
    pub fn decode(result: GetBlocksResultV0) -> Result<Option<ShipBlock>, ShipError> {
        let Some(this_block) = result.this_block else {
            return Ok(None);
        };
        let num = this_block.block_num;
        let err = |what: &'static str| {
            move |source| ShipError::Decode {
                what,
                block_num: Some(num),
                source,
            }
        };
        let block = result
            .block
            .filter(|b| !b.0.is_empty())
            .map(|b| SignedBlock::unpacked(&b.0))
            .transpose()
            .map_err(err("signed_block"))?;
        let traces = decode_list::<TransactionTrace>(result.traces).map_err(err("traces"))?;
        let deltas = decode_list::<TableDelta>(result.deltas).map_err(err("deltas"))?;
        let header = block.as_ref().map(|b| {
            let h = b.block_header();
            ShipBlockHeader {
                timestamp: h.timestamp,
                producer: h.producer,
                previous: h.previous,
                id: this_block.block_id,
            }
        });
        Ok(Some(ShipBlock {
            head: result.head,
            last_irreversible: result.last_irreversible,
            this_block,
            prev_block: result.prev_block,
            header,
            block,
            traces,
            deltas,
        }))
    }

    /// Traces of transactions that executed (`status == 0`); failed ones must be skipped.
    pub fn executed_traces(&self) -> impl Iterator<Item = &TransactionTrace> {
        executed_traces(&self.traces)
    }

    /// Decoded `contract_row` changes, in delta order.
    pub fn contract_rows(&self) -> Result<Vec<RowChange<ContractRowV0>>, ShipError> {
        contract_row_changes(&self.deltas).map_err(|source| ShipError::Decode {
            what: "contract_row",
            block_num: Some(self.this_block.block_num),
            source,
        })
    }

    /// Decoded `account` changes (new ABIs arrive here), in delta order.
    pub fn accounts(&self) -> Result<Vec<RowChange<AccountV0>>, ShipError> {
        account_changes(&self.deltas).map_err(|source| ShipError::Decode {
            what: "account",
            block_num: Some(self.this_block.block_num),
            source,
        })
    }
}

/// `bytes?` holding a packed array; absent or empty means no items.
fn decode_list<T: Unpack>(data: Option<Bytes>) -> Result<Vec<T>, DecodeError> {
    match data {
        Some(b) if !b.0.is_empty() => Vec::<T>::unpacked(&b.0),
        _ => Ok(Vec::new()),
    }
}

/// Skips traces with `status != 0`.
pub fn executed_traces(traces: &[TransactionTrace]) -> impl Iterator<Item = &TransactionTrace> {
    traces.iter().filter(|t| t.executed())
}

/// A row of a SHiP table delta; `present == false` means the row was removed (its last value is
/// carried in `row`).
#[derive(Debug, Clone, PartialEq)]
pub struct RowChange<T> {
    pub present: bool,
    pub row: T,
}

fn rows_of<'a>(
    deltas: &'a [TableDelta],
    table: &'a str,
) -> impl Iterator<Item = (bool, &'a [u8])> + 'a {
    deltas
        .iter()
        .filter(move |d| d.name() == table)
        .flat_map(|d| d.v0().rows.iter().map(|r| (r.present, r.data.0.as_slice())))
}

/// Decodes every row of the `contract_row` deltas.
pub fn contract_row_changes(
    deltas: &[TableDelta],
) -> Result<Vec<RowChange<ContractRowV0>>, DecodeError> {
    rows_of(deltas, "contract_row")
        .map(|(present, data)| {
            let ContractRow::V0(row) = ContractRow::unpacked(data)?;
            Ok(RowChange { present, row })
        })
        .collect()
}

/// Decodes every row of the `account` deltas.
pub fn account_changes(deltas: &[TableDelta]) -> Result<Vec<RowChange<AccountV0>>, DecodeError> {
    rows_of(deltas, "account")
        .map(|(present, data)| {
            let AccountRow::V0(row) = AccountRow::unpacked(data)?;
            Ok(RowChange { present, row })
        })
        .collect()
}
