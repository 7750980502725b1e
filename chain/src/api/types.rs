//! Request and response bodies of the Leap 5 chain API (`/v1/chain/*`), with Leap's JSON field
//! names. Unknown fields are ignored; fields we use are required; 64-bit numbers parse from a
//! JSON number or a string (Leap prints some as strings).

use serde::{Deserialize, Serialize};

use crate::checksum::Checksum256;
use crate::keys::PublicKey;
use crate::name::Name;
use crate::time::{BlockTimestamp, TimePoint};

/// Deserializers accepting `123` or `"123"`.
pub mod flex {
    use serde::de::{Deserializer, Error, Unexpected};
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrText {
        U(u64),
        I(i64),
        F(f64),
        S(String),
    }

    fn to_i128<E: Error>(v: NumOrText) -> Result<i128, E> {
        match v {
            NumOrText::U(u) => Ok(i128::from(u)),
            NumOrText::I(i) => Ok(i128::from(i)),
            NumOrText::F(f) => Err(E::invalid_type(Unexpected::Float(f), &"an integer")),
            NumOrText::S(s) => s
                .trim()
                .parse::<i128>()
                .map_err(|_| E::invalid_value(Unexpected::Str(&s), &"an integer")),
        }
    }

    pub fn u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let v = to_i128(NumOrText::deserialize(d)?)?;
        u64::try_from(v).map_err(|_| D::Error::custom(format!("{v} is out of range for u64")))
    }

    pub fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let v = to_i128(NumOrText::deserialize(d)?)?;
        i64::try_from(v).map_err(|_| D::Error::custom(format!("{v} is out of range for i64")))
    }

    pub fn u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        let v = to_i128(NumOrText::deserialize(d)?)?;
        u32::try_from(v).map_err(|_| D::Error::custom(format!("{v} is out of range for u32")))
    }

    pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        match Option::<NumOrText>::deserialize(d)? {
            None => Ok(None),
            Some(v) => {
                let v = to_i128(v)?;
                u64::try_from(v)
                    .map(Some)
                    .map_err(|_| D::Error::custom(format!("{v} is out of range for u64")))
            }
        }
    }

    pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<NumOrText>::deserialize(d)? {
            None => Ok(None),
            Some(v) => {
                let v = to_i128(v)?;
                i64::try_from(v)
                    .map(Some)
                    .map_err(|_| D::Error::custom(format!("{v} is out of range for i64")))
            }
        }
    }
}

/// `get_info`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GetInfo {
    pub server_version: String,
    pub chain_id: Checksum256,
    #[serde(deserialize_with = "flex::u32")]
    pub head_block_num: u32,
    pub head_block_id: Checksum256,
    pub head_block_time: TimePoint,
    pub head_block_producer: Name,
    #[serde(deserialize_with = "flex::u32")]
    pub last_irreversible_block_num: u32,
    pub last_irreversible_block_id: Checksum256,
    #[serde(default)]
    pub last_irreversible_block_time: Option<TimePoint>,
    #[serde(default, deserialize_with = "flex::opt_u64")]
    pub virtual_block_cpu_limit: Option<u64>,
    #[serde(default, deserialize_with = "flex::opt_u64")]
    pub virtual_block_net_limit: Option<u64>,
    #[serde(default, deserialize_with = "flex::opt_u64")]
    pub block_cpu_limit: Option<u64>,
    #[serde(default, deserialize_with = "flex::opt_u64")]
    pub block_net_limit: Option<u64>,
    #[serde(default)]
    pub server_version_string: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_u64")]
    pub fork_db_head_block_num: Option<u64>,
    #[serde(default)]
    pub fork_db_head_block_id: Option<Checksum256>,
    #[serde(default)]
    pub server_full_version_string: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_u64")]
    pub total_cpu_weight: Option<u64>,
    #[serde(default, deserialize_with = "flex::opt_u64")]
    pub total_net_weight: Option<u64>,
    #[serde(default, deserialize_with = "flex::opt_u64")]
    pub earliest_available_block_num: Option<u64>,
}

impl GetInfo {
    /// TAPOS from the last irreversible block: `(ref_block_num, ref_block_prefix)`.
    pub fn tapos(&self) -> (u16, u32) {
        let id = self.last_irreversible_block_id.as_bytes();
        let prefix = u32::from_le_bytes([id[8], id[9], id[10], id[11]]);
        ((self.last_irreversible_block_num & 0xffff) as u16, prefix)
    }
}

/// `trx` of a block's transaction receipt: an id (deferred) or the packed transaction.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum BlockTrx {
    Id(Checksum256),
    Packed(Box<BlockPackedTrx>),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BlockPackedTrx {
    pub id: Checksum256,
    #[serde(default)]
    pub signatures: Vec<String>,
    #[serde(default)]
    pub compression: serde_json::Value,
    #[serde(default)]
    pub packed_context_free_data: String,
    pub packed_trx: String,
    /// The unpacked transaction as nodeos prints it (action data decoded when it can).
    #[serde(default)]
    pub transaction: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BlockTransaction {
    /// `executed`, `soft_fail`, `hard_fail`, `delayed` or `expired`.
    pub status: String,
    #[serde(deserialize_with = "flex::u32")]
    pub cpu_usage_us: u32,
    #[serde(deserialize_with = "flex::u32")]
    pub net_usage_words: u32,
    pub trx: BlockTrx,
}

/// `get_block`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GetBlock {
    pub timestamp: BlockTimestamp,
    pub producer: Name,
    #[serde(default)]
    pub confirmed: u16,
    pub previous: Checksum256,
    pub transaction_mroot: Checksum256,
    pub action_mroot: Checksum256,
    #[serde(default)]
    pub schedule_version: u32,
    #[serde(default)]
    pub new_producers: Option<serde_json::Value>,
    #[serde(default)]
    pub producer_signature: String,
    #[serde(default)]
    pub transactions: Vec<BlockTransaction>,
    pub id: Checksum256,
    #[serde(deserialize_with = "flex::u32")]
    pub block_num: u32,
    #[serde(deserialize_with = "flex::u32")]
    pub ref_block_prefix: u32,
}

/// `get_block_info` (header only).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GetBlockInfo {
    #[serde(deserialize_with = "flex::u32")]
    pub block_num: u32,
    pub ref_block_num: u16,
    pub id: Checksum256,
    pub timestamp: BlockTimestamp,
    pub producer: Name,
    #[serde(default)]
    pub confirmed: u16,
    pub previous: Checksum256,
    pub transaction_mroot: Checksum256,
    pub action_mroot: Checksum256,
    #[serde(default)]
    pub schedule_version: u32,
    #[serde(default)]
    pub producer_signature: String,
    #[serde(deserialize_with = "flex::u32")]
    pub ref_block_prefix: u32,
}

/// `get_raw_abi`, with the binary ABI decoded (`None` when the account has none).
#[derive(Debug, Clone, PartialEq)]
pub struct RawAbi {
    pub account_name: Name,
    pub code_hash: Checksum256,
    pub abi_hash: Checksum256,
    pub abi: Option<crate::abi::AbiDef>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RawAbiWire {
    pub(crate) account_name: Name,
    pub(crate) code_hash: Checksum256,
    pub(crate) abi_hash: Checksum256,
    #[serde(default)]
    pub(crate) abi: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct GetAbiWire {
    #[serde(default)]
    pub(crate) abi: Option<crate::abi::AbiDef>,
}

/// `get_table_rows` parameters (`json: true` is always sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableRowsParams {
    pub code: Name,
    /// A name, or a number as text for numeric scopes.
    pub scope: String,
    pub table: Name,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_position: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lower_bound: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upper_bound: Option<String>,
    pub limit: u32,
    pub reverse: bool,
    pub show_payer: bool,
    pub json: bool,
}

impl TableRowsParams {
    /// Primary index, forward, 100 rows per page, JSON rows.
    pub fn new(code: Name, scope: impl Into<String>, table: Name) -> Self {
        TableRowsParams {
            code,
            scope: scope.into(),
            table,
            index_position: None,
            key_type: None,
            lower_bound: None,
            upper_bound: None,
            limit: 100,
            reverse: false,
            show_payer: false,
            json: true,
        }
    }
}

/// One page of `get_table_rows`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TableRows {
    pub rows: Vec<serde_json::Value>,
    #[serde(default)]
    pub more: bool,
    #[serde(default)]
    pub next_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct KeyWeight {
    pub key: PublicKey,
    pub weight: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct PermissionLevel {
    pub actor: Name,
    pub permission: Name,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct PermissionLevelWeight {
    pub permission: PermissionLevel,
    pub weight: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct WaitWeight {
    pub wait_sec: u32,
    pub weight: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Authority {
    pub threshold: u32,
    #[serde(default)]
    pub keys: Vec<KeyWeight>,
    #[serde(default)]
    pub accounts: Vec<PermissionLevelWeight>,
    #[serde(default)]
    pub waits: Vec<WaitWeight>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Permission {
    pub perm_name: Name,
    pub parent: Name,
    pub required_auth: Authority,
    #[serde(default)]
    pub linked_actions: Vec<serde_json::Value>,
}

/// `net_limit` / `cpu_limit` (`-1` means unlimited).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct AccountResourceLimit {
    #[serde(deserialize_with = "flex::i64")]
    pub used: i64,
    #[serde(deserialize_with = "flex::i64")]
    pub available: i64,
    #[serde(deserialize_with = "flex::i64")]
    pub max: i64,
}

/// `get_account`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Account {
    pub account_name: Name,
    #[serde(default)]
    pub privileged: bool,
    #[serde(default)]
    pub created: Option<TimePoint>,
    #[serde(default)]
    pub core_liquid_balance: Option<String>,
    #[serde(deserialize_with = "flex::i64")]
    pub ram_quota: i64,
    #[serde(deserialize_with = "flex::i64")]
    pub ram_usage: i64,
    #[serde(default, deserialize_with = "flex::opt_i64")]
    pub net_weight: Option<i64>,
    #[serde(default, deserialize_with = "flex::opt_i64")]
    pub cpu_weight: Option<i64>,
    pub net_limit: AccountResourceLimit,
    pub cpu_limit: AccountResourceLimit,
    pub permissions: Vec<Permission>,
    #[serde(default)]
    pub total_resources: Option<serde_json::Value>,
}

impl Account {
    pub fn permission(&self, name: Name) -> Option<&Permission> {
        self.permissions.iter().find(|p| p.perm_name == name)
    }

    /// `ram_quota - ram_usage` (negative quota, i.e. unlimited, gives `i64::MAX`).
    pub fn ram_available(&self) -> i64 {
        if self.ram_quota < 0 {
            i64::MAX
        } else {
            self.ram_quota - self.ram_usage
        }
    }
}

/// `receipt` of a processed transaction.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TransactionReceiptHeader {
    pub status: String,
    #[serde(deserialize_with = "flex::u32")]
    pub cpu_usage_us: u32,
    #[serde(deserialize_with = "flex::u32")]
    pub net_usage_words: u32,
}

/// The trace nodeos returns for a sent transaction.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ProcessedTransaction {
    pub id: Checksum256,
    #[serde(deserialize_with = "flex::u32")]
    pub block_num: u32,
    #[serde(default)]
    pub block_time: Option<BlockTimestamp>,
    #[serde(default)]
    pub producer_block_id: Option<Checksum256>,
    #[serde(default)]
    pub receipt: Option<TransactionReceiptHeader>,
    #[serde(default, deserialize_with = "flex::opt_i64")]
    pub elapsed: Option<i64>,
    #[serde(default)]
    pub action_traces: Vec<serde_json::Value>,
    /// Set when the transaction failed (`send_transaction2` with `return_failure_trace`).
    #[serde(default)]
    pub except: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "flex::opt_u64")]
    pub error_code: Option<u64>,
}

/// `send_transaction`, `push_transaction`, `send_transaction2`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SendTransactionResult {
    pub transaction_id: Checksum256,
    pub processed: ProcessedTransaction,
}

impl SendTransactionResult {
    /// True when nodeos reported a failure trace instead of an error response.
    pub fn failed(&self) -> bool {
        self.processed.except.as_ref().is_some_and(|e| !e.is_null())
    }
}

/// `send_transaction2` options (`retry_trx` needs the node's transaction retry feature).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct SendTransaction2Options {
    pub return_failure_trace: bool,
    pub retry_trx: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_trx_num_blocks: Option<u16>,
}
