//! SHiP message, block, trace and delta types matching the Leap 5 state history ABI
//! (`eosio::abi/1.1`, the text frame a node sends first). Checked against that ABI by
//! `tests/ship_abi.rs`.

use crate::bytes::{BinaryExtension, Bytes, VarUint32};
use crate::checksum::Checksum256;
use crate::keys::{PublicKey, Signature};
use crate::name::Name;
use crate::ship::schema::{SchemaDef, ShipSchema};
use crate::time::{BlockTimestamp, TimePoint, TimePointSec};

// ---- requests and results -------------------------------------------------------------------

ship_struct!(
    /// Asks for the node's head, LIB and available history.
    "get_status_request_v0" => GetStatusRequestV0 {}
);

ship_struct!(
    /// A block number with its id.
    #[derive(Eq, Copy, Hash, Default)]
    "block_position" => BlockPosition { block_num: u32, block_id: Checksum256 }
);

ship_struct!(
    "get_status_result_v0" => GetStatusResultV0 {
        head: BlockPosition,
        last_irreversible: BlockPosition,
        trace_begin_block: u32,
        trace_end_block: u32,
        chain_state_begin_block: u32,
        chain_state_end_block: u32,
        chain_id: BinaryExtension<Checksum256>,
    }
);

ship_struct!(
    /// Starts a block stream; `end_block_num` is exclusive (`u32::MAX` for "forever").
    "get_blocks_request_v0" => GetBlocksRequestV0 {
        start_block_num: u32,
        end_block_num: u32,
        max_messages_in_flight: u32,
        have_positions: Vec<BlockPosition>,
        irreversible_only: bool,
        fetch_block: bool,
        fetch_traces: bool,
        fetch_deltas: bool,
    }
);

ship_struct!(
    /// Returns `num_messages` window slots to the node.
    #[derive(Eq, Copy)]
    "get_blocks_ack_request_v0" => GetBlocksAckRequestV0 { num_messages: u32 }
);

ship_struct!(
    /// One block; `block`, `traces` and `deltas` are packed `signed_block`,
    /// `transaction_trace[]` and `table_delta[]`.
    "get_blocks_result_v0" => GetBlocksResultV0 {
        head: BlockPosition,
        last_irreversible: BlockPosition,
        this_block: Option<BlockPosition>,
        prev_block: Option<BlockPosition>,
        block: Option<Bytes>,
        traces: Option<Bytes>,
        deltas: Option<Bytes>,
    }
);

ship_variant!(
    /// Client → node messages.
    "request" => Request {
        0 => GetStatus(GetStatusRequestV0),
        1 => GetBlocks(GetBlocksRequestV0),
        2 => GetBlocksAck(GetBlocksAckRequestV0),
    }
);

ship_variant!(
    /// Node → client messages (ABI variant `result`).
    "result" => ShipResult {
        0 => Status(GetStatusResultV0),
        1 => Blocks(GetBlocksResultV0),
    }
);

// ---- actions and traces ---------------------------------------------------------------------

ship_struct!(
    #[derive(Eq, Copy, Hash)]
    "permission_level" => PermissionLevel { actor: Name, permission: Name }
);

ship_struct!(
    "action" => Action {
        account: Name,
        name: Name,
        authorization: Vec<PermissionLevel>,
        data: Bytes,
    }
);

ship_struct!(
    #[derive(Eq, Copy)]
    "account_auth_sequence" => AccountAuthSequence { account: Name, sequence: u64 }
);

ship_struct!(
    "action_receipt_v0" => ActionReceiptV0 {
        receiver: Name,
        act_digest: Checksum256,
        global_sequence: u64,
        recv_sequence: u64,
        auth_sequence: Vec<AccountAuthSequence>,
        code_sequence: VarUint32,
        abi_sequence: VarUint32,
    }
);

ship_variant!("action_receipt" => ActionReceipt { 0 => V0(ActionReceiptV0) });

ship_struct!(
    #[derive(Eq, Copy)]
    "account_delta" => AccountDelta { account: Name, delta: i64 }
);

ship_struct!(
    "action_trace_v0" => ActionTraceV0 {
        action_ordinal: VarUint32,
        creator_action_ordinal: VarUint32,
        receipt: Option<ActionReceipt>,
        receiver: Name,
        act: Action,
        context_free: bool,
        elapsed: i64,
        console: String,
        account_ram_deltas: Vec<AccountDelta>,
        except: Option<String>,
        error_code: Option<u64>,
    }
);

ship_struct!(
    "action_trace_v1" => ActionTraceV1 {
        action_ordinal: VarUint32,
        creator_action_ordinal: VarUint32,
        receipt: Option<ActionReceipt>,
        receiver: Name,
        act: Action,
        context_free: bool,
        elapsed: i64,
        console: String,
        account_ram_deltas: Vec<AccountDelta>,
        except: Option<String>,
        error_code: Option<u64>,
        return_value: Bytes,
    }
);

ship_variant!(
    "action_trace" => ActionTrace {
        0 => V0(ActionTraceV0),
        1 => V1(ActionTraceV1),
    }
);

ship_struct!(
    "extension" => Extension { r#type: u16, data: Bytes }
);

ship_struct!(
    "partial_transaction_v0" => PartialTransactionV0 {
        expiration: TimePointSec,
        ref_block_num: u16,
        ref_block_prefix: u32,
        max_net_usage_words: VarUint32,
        max_cpu_usage_ms: u8,
        delay_sec: VarUint32,
        transaction_extensions: Vec<Extension>,
        signatures: Vec<Signature>,
        context_free_data: Vec<Bytes>,
    }
);

ship_variant!("partial_transaction" => PartialTransaction { 0 => V0(PartialTransactionV0) });

ship_struct!(
    /// `status` 0 = executed; anything else failed or was deferred (see [`TransactionTrace::executed`]).
    "transaction_trace_v0" => TransactionTraceV0 {
        id: Checksum256,
        status: u8,
        cpu_usage_us: u32,
        net_usage_words: VarUint32,
        elapsed: i64,
        net_usage: u64,
        scheduled: bool,
        action_traces: Vec<ActionTrace>,
        account_ram_delta: Option<AccountDelta>,
        except: Option<String>,
        error_code: Option<u64>,
        failed_dtrx_trace: Option<Box<TransactionTrace>>,
        partial: Option<PartialTransaction>,
    }
);

ship_variant!("transaction_trace" => TransactionTrace { 0 => V0(TransactionTraceV0) });

// ---- blocks ---------------------------------------------------------------------------------

ship_struct!(
    "producer_key" => ProducerKey { producer_name: Name, block_signing_key: PublicKey }
);

ship_struct!(
    "producer_schedule" => ProducerSchedule { version: u32, producers: Vec<ProducerKey> }
);

ship_struct!(
    "block_header" => BlockHeader {
        timestamp: BlockTimestamp,
        producer: Name,
        confirmed: u16,
        previous: Checksum256,
        transaction_mroot: Checksum256,
        action_mroot: Checksum256,
        schedule_version: u32,
        new_producers: Option<ProducerSchedule>,
        header_extensions: Vec<Extension>,
    }
);

ship_struct!(
    "signed_block_header" => SignedBlockHeader [base header: BlockHeader] {
        producer_signature: Signature,
    }
);

ship_struct!(
    /// The SHiP `packed_transaction` (signatures, compression flag, packed data).
    "packed_transaction" => ShipPackedTransaction {
        signatures: Vec<Signature>,
        compression: u8,
        packed_context_free_data: Bytes,
        packed_trx: Bytes,
    }
);

ship_variant!(
    /// ABI members `transaction_id` (an alias of `checksum256`) and `packed_transaction`.
    "transaction_variant" => TransactionVariant {
        0 => Id(Checksum256),
        1 => Packed(ShipPackedTransaction),
    }
);

ship_struct!(
    #[derive(Eq, Copy)]
    "transaction_receipt_header" => TransactionReceiptHeader {
        status: u8,
        cpu_usage_us: u32,
        net_usage_words: VarUint32,
    }
);

ship_struct!(
    "transaction_receipt" => TransactionReceipt [base header: TransactionReceiptHeader] {
        trx: TransactionVariant,
    }
);

ship_struct!(
    "signed_block" => SignedBlock [base header: SignedBlockHeader] {
        transactions: Vec<TransactionReceipt>,
        block_extensions: Vec<Extension>,
    }
);

// ---- table deltas and rows ------------------------------------------------------------------

ship_struct!(
    /// One row of a delta: `present == false` means the row was removed.
    "row" => Row { present: bool, data: Bytes }
);

ship_struct!(
    /// Changes to one SHiP table (`name` is a SHiP table such as `contract_row` or `account`).
    "table_delta_v0" => TableDeltaV0 { name: String, rows: Vec<Row> }
);

ship_variant!("table_delta" => TableDelta { 0 => V0(TableDeltaV0) });

ship_struct!(
    "account_v0" => AccountV0 { name: Name, creation_date: BlockTimestamp, abi: Bytes }
);

ship_variant!("account" => AccountRow { 0 => V0(AccountV0) });

ship_struct!(
    #[derive(Eq)]
    "code_id" => CodeId { vm_type: u8, vm_version: u8, code_hash: Checksum256 }
);

ship_struct!(
    "account_metadata_v0" => AccountMetadataV0 {
        name: Name,
        privileged: bool,
        last_code_update: TimePoint,
        code: Option<CodeId>,
    }
);

ship_variant!("account_metadata" => AccountMetadataRow { 0 => V0(AccountMetadataV0) });

ship_struct!(
    #[derive(Eq)]
    "contract_table_v0" => ContractTableV0 { code: Name, scope: Name, table: Name, payer: Name }
);

ship_variant!("contract_table" => ContractTableRow { 0 => V0(ContractTableV0) });

ship_struct!(
    /// A contract table row; decode `value` with the contract ABI valid at that block, using the
    /// row type `abi.tables[].type` of `table`.
    "contract_row_v0" => ContractRowV0 {
        code: Name,
        scope: Name,
        table: Name,
        primary_key: u64,
        payer: Name,
        value: Bytes,
    }
);

ship_variant!("contract_row" => ContractRow { 0 => V0(ContractRowV0) });

ship_struct!(
    "key_weight" => KeyWeight { key: PublicKey, weight: u16 }
);

ship_struct!(
    #[derive(Eq, Copy)]
    "permission_level_weight" => PermissionLevelWeight { permission: PermissionLevel, weight: u16 }
);

ship_struct!(
    #[derive(Eq, Copy)]
    "wait_weight" => WaitWeight { wait_sec: u32, weight: u16 }
);

ship_struct!(
    "authority" => Authority {
        threshold: u32,
        keys: Vec<KeyWeight>,
        accounts: Vec<PermissionLevelWeight>,
        waits: Vec<WaitWeight>,
    }
);

ship_struct!(
    "permission_v0" => PermissionV0 {
        owner: Name,
        name: Name,
        parent: Name,
        last_updated: TimePoint,
        auth: Authority,
    }
);

ship_variant!("permission" => PermissionRow { 0 => V0(PermissionV0) });

ship_struct!(
    #[derive(Eq, Copy)]
    "permission_link_v0" => PermissionLinkV0 {
        account: Name,
        code: Name,
        message_type: Name,
        required_permission: Name,
    }
);

ship_variant!("permission_link" => PermissionLinkRow { 0 => V0(PermissionLinkV0) });

/// Schema descriptions of every SHiP struct and variant implemented here.
pub fn ship_schema() -> Vec<SchemaDef> {
    vec![
        GetStatusRequestV0::schema(),
        BlockPosition::schema(),
        GetStatusResultV0::schema(),
        GetBlocksRequestV0::schema(),
        GetBlocksAckRequestV0::schema(),
        GetBlocksResultV0::schema(),
        Request::schema(),
        ShipResult::schema(),
        PermissionLevel::schema(),
        Action::schema(),
        AccountAuthSequence::schema(),
        ActionReceiptV0::schema(),
        ActionReceipt::schema(),
        AccountDelta::schema(),
        ActionTraceV0::schema(),
        ActionTraceV1::schema(),
        ActionTrace::schema(),
        Extension::schema(),
        PartialTransactionV0::schema(),
        PartialTransaction::schema(),
        TransactionTraceV0::schema(),
        TransactionTrace::schema(),
        ProducerKey::schema(),
        ProducerSchedule::schema(),
        BlockHeader::schema(),
        SignedBlockHeader::schema(),
        ShipPackedTransaction::schema(),
        TransactionVariant::schema(),
        TransactionReceiptHeader::schema(),
        TransactionReceipt::schema(),
        SignedBlock::schema(),
        Row::schema(),
        TableDeltaV0::schema(),
        TableDelta::schema(),
        AccountV0::schema(),
        AccountRow::schema(),
        CodeId::schema(),
        AccountMetadataV0::schema(),
        AccountMetadataRow::schema(),
        ContractTableV0::schema(),
        ContractTableRow::schema(),
        ContractRowV0::schema(),
        ContractRow::schema(),
        KeyWeight::schema(),
        PermissionLevelWeight::schema(),
        WaitWeight::schema(),
        Authority::schema(),
        PermissionV0::schema(),
        PermissionRow::schema(),
        PermissionLinkV0::schema(),
        PermissionLinkRow::schema(),
    ]
}

// ---- conveniences ---------------------------------------------------------------------------

impl TransactionTrace {
    pub fn v0(&self) -> &TransactionTraceV0 {
        match self {
            TransactionTrace::V0(t) => t,
        }
    }

    /// True when the transaction executed (`status == 0`); other traces must be skipped.
    pub fn executed(&self) -> bool {
        self.v0().status == 0
    }
}

/// The fields shared by `action_trace_v0` and `action_trace_v1`.
#[derive(Debug, Clone, Copy)]
pub struct ActionTraceRef<'a> {
    pub action_ordinal: u32,
    pub creator_action_ordinal: u32,
    pub receipt: Option<&'a ActionReceiptV0>,
    pub receiver: Name,
    pub act: &'a Action,
    pub context_free: bool,
    pub except: Option<&'a str>,
    pub error_code: Option<u64>,
    /// Empty for v0 traces.
    pub return_value: &'a [u8],
}

impl ActionTrace {
    /// A version-independent view.
    pub fn view(&self) -> ActionTraceRef<'_> {
        match self {
            ActionTrace::V0(t) => ActionTraceRef {
                action_ordinal: t.action_ordinal.0,
                creator_action_ordinal: t.creator_action_ordinal.0,
                receipt: t.receipt.as_ref().map(|ActionReceipt::V0(v)| v),
                receiver: t.receiver,
                act: &t.act,
                context_free: t.context_free,
                except: t.except.as_deref(),
                error_code: t.error_code,
                return_value: &[],
            },
            ActionTrace::V1(t) => ActionTraceRef {
                action_ordinal: t.action_ordinal.0,
                creator_action_ordinal: t.creator_action_ordinal.0,
                receipt: t.receipt.as_ref().map(|ActionReceipt::V0(v)| v),
                receiver: t.receiver,
                act: &t.act,
                context_free: t.context_free,
                except: t.except.as_deref(),
                error_code: t.error_code,
                return_value: &t.return_value.0,
            },
        }
    }

    /// The action's receipt, if it executed.
    pub fn receipt(&self) -> Option<&ActionReceiptV0> {
        self.view().receipt
    }

    pub fn act(&self) -> &Action {
        self.view().act
    }

    /// True when this trace is a notification (`receipt.receiver != act.account`).
    pub fn is_notification(&self) -> bool {
        let v = self.view();
        v.receipt.is_some_and(|r| r.receiver != v.act.account)
    }
}

impl TableDelta {
    pub fn v0(&self) -> &TableDeltaV0 {
        match self {
            TableDelta::V0(d) => d,
        }
    }

    pub fn name(&self) -> &str {
        &self.v0().name
    }
}

impl SignedBlock {
    pub fn block_header(&self) -> &BlockHeader {
        &self.header.header
    }
}
