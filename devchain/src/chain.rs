//! The pure state machine of the devchain: validates and applies transactions to the pending
//! block, seals blocks into [`BlockRecord`]s, replays records on restart and replaces reversible
//! blocks for fork tests. No I/O and no clock: callers pass `now`.

use std::collections::{BTreeMap, HashMap};

use chain::bytes::{Bytes, Pack, Unpack, VarUint32};
use chain::keys::{PrivateKey, PublicKey};
use chain::ship::{
    BlockHeader, PartialTransaction, PartialTransactionV0, ShipPackedTransaction, SignedBlock,
    SignedBlockHeader, TransactionReceipt, TransactionReceiptHeader, TransactionTrace,
    TransactionTraceV0, TransactionVariant,
};
use chain::time::{BlockTimestamp, TimePoint, TimePointSec};
use chain::transaction::PackedTransaction;
use chain::{name, Checksum256};

use crate::auth::check_transaction_auth;
use crate::block::{block_id, deltas_from_changes, merkle, BlockRecord};
use crate::contract::ContractSet;
use crate::error::ChainError;
use crate::exec::{execute_transaction, ExecParams};
use crate::state::{ChainState, Journal, StateChange, StateKey, StateValue};

/// Leap's `max_transaction_lifetime`.
pub const MAX_TRX_LIFETIME_SECS: u32 = 3600;
/// CPU time reported per transaction (the devchain does not meter).
const CPU_USAGE_US: u32 = 100;

/// Header facts kept in memory for every block (TAPOS, `get_info`, SHiP positions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockMeta {
    pub num: u32,
    pub id: Checksum256,
    pub timestamp: BlockTimestamp,
    pub previous: Checksum256,
}

/// A transaction applied to the pending block.
#[derive(Debug, Clone)]
pub struct Applied {
    pub trace: TransactionTraceV0,
    pub block_num: u32,
    pub block_time: BlockTimestamp,
}

#[derive(Debug, Default)]
struct Pending {
    timestamp: BlockTimestamp,
    receipts: Vec<TransactionReceipt>,
    traces: Vec<TransactionTrace>,
    packed: Vec<PackedTransaction>,
    /// Value of each touched key before the block.
    before: BTreeMap<StateKey, Option<StateValue>>,
}

/// Chain parameters the state machine needs.
#[derive(Debug, Clone)]
pub struct ChainParams {
    pub chain_id: Checksum256,
    pub lib_lag: u32,
}

/// The devchain's chain: state, block metadata and the pending block.
#[derive(Debug)]
pub struct Chain {
    params: ChainParams,
    state: ChainState,
    contracts: ContractSet,
    blocks: Vec<BlockMeta>,
    pending: Pending,
    /// Applied transaction ids and their expirations (duplicate check).
    recent: HashMap<Checksum256, TimePointSec>,
    producer_key: PrivateKey,
}

fn producer_key(chain_id: &Checksum256) -> Result<PrivateKey, ChainError> {
    let mut seed = b"devchain producer ".to_vec();
    seed.extend_from_slice(&chain_id.0);
    PrivateKey::from_bytes(&Checksum256::sha256(seed).0)
        .map_err(|e| ChainError::Internal(format!("producer key: {e}")))
}

fn slot(now: TimePoint) -> BlockTimestamp {
    BlockTimestamp::from_time_point(now).unwrap_or_default()
}

impl Chain {
    fn empty(params: ChainParams, contracts: ContractSet) -> Result<Chain, ChainError> {
        Ok(Chain {
            producer_key: producer_key(&params.chain_id)?,
            params,
            state: ChainState::default(),
            contracts,
            blocks: Vec::new(),
            pending: Pending::default(),
            recent: HashMap::new(),
        })
    }

    /// A new chain: `genesis` writes the initial state, which becomes block 1.
    pub fn genesis(
        params: ChainParams,
        contracts: ContractSet,
        now: TimePoint,
        genesis: impl FnOnce(&mut ChainState, &mut Journal, BlockTimestamp) -> Result<(), ChainError>,
    ) -> Result<(Chain, BlockRecord), ChainError> {
        let mut chain = Chain::empty(params, contracts)?;
        chain.pending.timestamp = slot(now);
        let mut journal = Journal::default();
        genesis(&mut chain.state, &mut journal, chain.pending.timestamp)?;
        chain.absorb(&journal);
        let record = chain.produce_block(now);
        Ok((chain, record))
    }

    /// Rebuilds a chain from its stored blocks (in order, starting at block 1).
    pub fn replay(
        params: ChainParams,
        contracts: ContractSet,
        records: impl IntoIterator<Item = BlockRecord>,
        now: TimePoint,
    ) -> Result<Chain, ChainError> {
        let mut chain = Chain::empty(params, contracts)?;
        for record in records {
            let expected = chain.blocks.len() as u32 + 1;
            if record.block_num != expected {
                return Err(ChainError::Internal(format!(
                    "block log: expected block {expected}, found {}",
                    record.block_num
                )));
            }
            for change in &record.changes {
                chain.state.put(change.key, change.after.clone());
            }
            let block = SignedBlock::unpacked(&record.block.0)
                .map_err(|e| ChainError::Internal(format!("block {expected}: {e}")))?;
            for ptrx in packed_transactions(&block) {
                if let Ok(trx) = ptrx.transaction() {
                    chain.recent.insert(ptrx.id(), trx.expiration);
                }
            }
            chain.blocks.push(meta_of(&record, &block));
        }
        if chain.blocks.is_empty() {
            return Err(ChainError::Internal("block log is empty".into()));
        }
        chain.start_pending(now, None);
        Ok(chain)
    }

    pub fn params(&self) -> &ChainParams {
        &self.params
    }

    pub fn state(&self) -> &ChainState {
        &self.state
    }

    /// The last sealed block.
    pub fn head(&self) -> BlockMeta {
        self.blocks[self.blocks.len() - 1]
    }

    pub fn lib_num(&self) -> u32 {
        let head = self.head().num;
        head.saturating_sub(self.params.lib_lag).max(1)
    }

    pub fn block(&self, num: u32) -> Option<BlockMeta> {
        num.checked_sub(1)
            .and_then(|i| self.blocks.get(i as usize).copied())
    }

    pub fn block_by_id(&self, id: &Checksum256) -> Option<BlockMeta> {
        let num = u32::from_be_bytes([id.0[0], id.0[1], id.0[2], id.0[3]]);
        self.block(num).filter(|b| b.id == *id)
    }

    fn start_pending(&mut self, now: TimePoint, min_slot: Option<BlockTimestamp>) {
        let after_head = BlockTimestamp::from_slot(self.head().timestamp.slot() + 1);
        let mut ts = slot(now).max(after_head);
        if let Some(min) = min_slot {
            ts = ts.max(min);
        }
        self.pending = Pending {
            timestamp: ts,
            ..Pending::default()
        };
    }

    fn absorb(&mut self, journal: &Journal) {
        for (key, old) in journal.entries() {
            self.pending
                .before
                .entry(*key)
                .or_insert_with(|| old.clone());
        }
    }

    /// Validates a transaction like Leap and applies it to the pending block; nothing changes on
    /// error.
    pub fn push_transaction(&mut self, ptrx: &PackedTransaction) -> Result<Applied, ChainError> {
        let trx = ptrx
            .transaction()
            .map_err(|e| ChainError::Unpack(format!("packed_trx: {e}")))?;
        let id = ptrx.id();
        if self.recent.contains_key(&id) {
            return Err(ChainError::Duplicate(id.to_string()));
        }
        let block_time = TimePointSec::from(self.pending.timestamp);
        if trx.expiration <= block_time {
            return Err(ChainError::Expired(format!(
                "expired transaction {id}, expiration {}, block time {block_time}",
                trx.expiration
            )));
        }
        if trx.expiration.as_unix() > block_time.as_unix().saturating_add(MAX_TRX_LIFETIME_SECS) {
            return Err(ChainError::ExpirationTooFar(format!(
                "expiration {} is more than {MAX_TRX_LIFETIME_SECS} s after {block_time}",
                trx.expiration
            )));
        }
        self.check_tapos(trx.ref_block_num, trx.ref_block_prefix)?;
        if !trx.context_free_actions.is_empty() || !ptrx.packed_context_free_data.is_empty() {
            return Err(ChainError::InvalidActionArgs(
                "context-free actions are not supported by the devchain".into(),
            ));
        }
        let digest = ptrx.signing_digest(&self.params.chain_id);
        let mut keys: Vec<PublicKey> = Vec::new();
        for sig in &ptrx.signatures {
            let key = sig.recover(&digest).map_err(|e| {
                ChainError::UnsatisfiedAuthorization(format!("cannot recover a key: {e}"))
            })?;
            if keys.contains(&key) {
                return Err(ChainError::DuplicateSignature);
            }
            keys.push(key);
        }
        check_transaction_auth(&self.state, &trx, &keys)?;
        let block_num = self.head().num + 1;
        let mut journal = Journal::default();
        let params = ExecParams {
            block_time: self.pending.timestamp,
            block_num,
            trx_id: id,
        };
        let action_traces =
            match execute_transaction(&mut self.state, &mut journal, &self.contracts, &trx, params)
            {
                Ok(t) => t,
                Err(e) => {
                    self.state.rollback(journal);
                    return Err(e);
                }
            };
        self.absorb(&journal);
        let net_usage_words = VarUint32(ptrx.packed_trx.len().div_ceil(8) as u32);
        let trace = TransactionTraceV0 {
            id,
            status: 0,
            cpu_usage_us: CPU_USAGE_US,
            net_usage_words,
            elapsed: 0,
            net_usage: u64::from(net_usage_words.0) * 8,
            scheduled: false,
            action_traces,
            account_ram_delta: None,
            except: None,
            error_code: None,
            failed_dtrx_trace: None,
            partial: Some(PartialTransaction::V0(PartialTransactionV0 {
                expiration: trx.expiration,
                ref_block_num: trx.ref_block_num,
                ref_block_prefix: trx.ref_block_prefix,
                max_net_usage_words: trx.max_net_usage_words,
                max_cpu_usage_ms: trx.max_cpu_usage_ms,
                delay_sec: trx.delay_sec,
                transaction_extensions: Vec::new(),
                signatures: ptrx.signatures.clone(),
                context_free_data: Vec::new(),
            })),
        };
        self.pending.receipts.push(TransactionReceipt {
            header: TransactionReceiptHeader {
                status: 0,
                cpu_usage_us: CPU_USAGE_US,
                net_usage_words,
            },
            trx: TransactionVariant::Packed(ShipPackedTransaction {
                signatures: ptrx.signatures.clone(),
                compression: 0,
                packed_context_free_data: Bytes(ptrx.packed_context_free_data.clone()),
                packed_trx: Bytes(ptrx.packed_trx.clone()),
            }),
        });
        self.pending
            .traces
            .push(TransactionTrace::V0(trace.clone()));
        self.pending.packed.push(ptrx.clone());
        self.recent.insert(id, trx.expiration);
        Ok(Applied {
            trace,
            block_num,
            block_time: self.pending.timestamp,
        })
    }

    /// TAPOS: `ref_block_num` names the newest block with those low 16 bits (within the last
    /// 65536 blocks) and `ref_block_prefix` matches bytes 8..12 of its id.
    fn check_tapos(&self, ref_block_num: u16, ref_block_prefix: u32) -> Result<(), ChainError> {
        let head = self.head().num;
        let back = (head.wrapping_sub(u32::from(ref_block_num))) & 0xffff;
        let num = head.checked_sub(back).filter(|n| *n >= 1);
        let block = num.and_then(|n| self.block(n));
        let ok = block.is_some_and(|b| {
            let i = b.id.0;
            u32::from_le_bytes([i[8], i[9], i[10], i[11]]) == ref_block_prefix
        });
        if ok {
            Ok(())
        } else {
            Err(ChainError::InvalidRefBlock(format!(
                "transaction's reference block (num {ref_block_num}, prefix {ref_block_prefix}) did not match any recent block"
            )))
        }
    }

    /// Seals the pending block and starts the next one.
    pub fn produce_block(&mut self, now: TimePoint) -> BlockRecord {
        let pending = std::mem::take(&mut self.pending);
        let timestamp = pending.timestamp.max(slot(now));
        let previous = self.blocks.last().map(|b| b.id).unwrap_or_default();
        let block_num = self.blocks.len() as u32 + 1;
        let action_digests: Vec<Checksum256> = pending
            .traces
            .iter()
            .flat_map(|t| t.v0().action_traces.iter())
            .filter_map(|a| a.receipt().map(|r| Checksum256::sha256(r.packed())))
            .collect();
        let header = BlockHeader {
            timestamp,
            producer: name!("eosio"),
            confirmed: 0,
            previous,
            transaction_mroot: merkle(
                pending
                    .receipts
                    .iter()
                    .map(|r| Checksum256::sha256(r.packed()))
                    .collect(),
            ),
            action_mroot: merkle(action_digests),
            schedule_version: 0,
            new_producers: None,
            header_extensions: Vec::new(),
        };
        let id = block_id(&header, block_num);
        let producer_signature = self
            .producer_key
            .sign_digest(&Checksum256::sha256(header.packed()));
        let block = SignedBlock {
            header: SignedBlockHeader {
                header,
                producer_signature,
            },
            transactions: pending.receipts,
            block_extensions: Vec::new(),
        };
        let changes: Vec<StateChange> = pending
            .before
            .into_iter()
            .map(|(key, before)| StateChange {
                key,
                after: self.state.get(&key),
                before,
            })
            .filter(|c| c.before != c.after)
            .collect();
        let record = BlockRecord {
            block_num,
            id,
            block: Bytes(block.packed()),
            traces: Bytes(pending.traces.packed()),
            deltas: Bytes(deltas_from_changes(&changes).packed()),
            changes,
        };
        self.blocks.push(BlockMeta {
            num: block_num,
            id,
            timestamp,
            previous,
        });
        let head_time = TimePointSec::from(timestamp);
        self.recent.retain(|_, exp| *exp > head_time);
        self.start_pending(now, None);
        record
    }

    /// Replaces the newest `removed.len()` blocks (their records, oldest first, all above LIB)
    /// with new ones: state is rolled back, their transactions and the pending ones are applied
    /// again where still valid, and as many new blocks are produced (later timestamps, so new
    /// ids). Returns the new records.
    pub fn fork(
        &mut self,
        removed: &[BlockRecord],
        now: TimePoint,
    ) -> Result<Vec<BlockRecord>, ChainError> {
        let n = removed.len() as u32;
        let head = self.head();
        if n == 0 || head.num.saturating_sub(n) < self.lib_num() {
            return Err(ChainError::BadRequest(format!(
                "can only replace reversible blocks (head {}, LIB {})",
                head.num,
                self.lib_num()
            )));
        }
        let pending = std::mem::take(&mut self.pending);
        for (key, before) in pending.before {
            self.state.put(key, before);
        }
        let mut replay: Vec<PackedTransaction> = Vec::new();
        for record in removed.iter().rev() {
            if self.head().id != record.id {
                return Err(ChainError::Internal(format!(
                    "fork: record {} is not the head",
                    record.block_num
                )));
            }
            for change in record.changes.iter().rev() {
                self.state.put(change.key, change.before.clone());
            }
            let block = SignedBlock::unpacked(&record.block.0)
                .map_err(|e| ChainError::Internal(format!("block {}: {e}", record.block_num)))?;
            let mut txs = packed_transactions(&block);
            txs.extend(replay);
            replay = txs;
            self.blocks.pop();
        }
        replay.extend(pending.packed);
        for p in &replay {
            self.recent.remove(&p.id());
        }
        self.start_pending(
            now,
            Some(BlockTimestamp::from_slot(head.timestamp.slot() + 1)),
        );
        for p in &replay {
            if let Err(e) = self.push_transaction(p) {
                tracing::info!(id = %p.id(), error = %e, "fork dropped a transaction");
            }
        }
        Ok((0..n).map(|_| self.produce_block(now)).collect())
    }
}

fn meta_of(record: &BlockRecord, block: &SignedBlock) -> BlockMeta {
    let h = block.block_header();
    BlockMeta {
        num: record.block_num,
        id: record.id,
        timestamp: h.timestamp,
        previous: h.previous,
    }
}

/// The packed transactions of a block's receipts.
pub fn packed_transactions(block: &SignedBlock) -> Vec<PackedTransaction> {
    block
        .transactions
        .iter()
        .filter_map(|r| match &r.trx {
            TransactionVariant::Packed(p) => Some(PackedTransaction {
                signatures: p.signatures.clone(),
                compression: p.compression,
                packed_context_free_data: p.packed_context_free_data.0.clone(),
                packed_trx: p.packed_trx.0.clone(),
            }),
            TransactionVariant::Id(_) => None,
        })
        .collect()
}
