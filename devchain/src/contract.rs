//! The interface simulated contracts implement: [`Contract::apply`] receives one action (or
//! notification) through an [`ApplyContext`] that offers what the Antelope contract API offers:
//! auth checks, notifications, inline actions, and journaled table access. All writes of a
//! transaction are rolled back together when any handler fails.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use chain::abi::Abi;
use chain::bytes::Bytes;
use chain::ship::Authority;
use chain::time::{BlockTimestamp, TimePoint};
use chain::transaction::{Action, PermissionLevel};
use chain::{Checksum256, Name};
use serde_json::Value;

use crate::error::ChainError;
use crate::state::{
    AccountState, ChainState, Journal, PermissionState, RowKey, RowValue, SecondaryKey, TableKey,
};

/// A simulated contract bound to one account.
pub trait Contract: Send + Sync + fmt::Debug {
    /// Runs for actions sent to the bound account and for notifications it receives
    /// (`ctx.receiver() != ctx.first_receiver()`). Returning an error aborts the transaction.
    fn apply(&self, ctx: &mut ApplyContext<'_>) -> Result<(), ChainError>;
}

/// Contracts by account. `eosio` is always the built-in system contract.
#[derive(Debug, Clone, Default)]
pub struct ContractSet {
    contracts: BTreeMap<Name, Arc<dyn Contract>>,
}

impl ContractSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Binds `contract` to `account` (replacing an earlier binding).
    pub fn with(mut self, account: Name, contract: Arc<dyn Contract>) -> Self {
        self.contracts.insert(account, contract);
        self
    }

    pub fn get(&self, account: Name) -> Option<&Arc<dyn Contract>> {
        self.contracts.get(&account)
    }
}

/// Something a handler asked for, in call order (decides action ordinals like Leap).
#[derive(Debug, Clone)]
pub(crate) enum Scheduled {
    Notify(Name),
    Inline(Action),
}

/// What a contract handler sees and can do.
pub struct ApplyContext<'a> {
    pub(crate) receiver: Name,
    pub(crate) act: &'a Action,
    pub(crate) data: &'a Value,
    pub(crate) state: &'a mut ChainState,
    pub(crate) journal: &'a mut Journal,
    pub(crate) block_time: BlockTimestamp,
    pub(crate) block_num: u32,
    pub(crate) trx_id: Checksum256,
    pub(crate) scheduled: Vec<Scheduled>,
    pub(crate) console: String,
}

impl fmt::Debug for ApplyContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApplyContext")
            .field("receiver", &self.receiver)
            .field("act", &self.act)
            .finish_non_exhaustive()
    }
}

impl<'a> ApplyContext<'a> {
    // ---- the action ---------------------------------------------------------------------------

    /// The account whose handler runs now.
    pub fn receiver(&self) -> Name {
        self.receiver
    }

    /// The action's account (`code`); differs from `receiver` for notifications.
    pub fn first_receiver(&self) -> Name {
        self.act.account
    }

    pub fn is_notification(&self) -> bool {
        self.receiver != self.act.account
    }

    pub fn action_name(&self) -> Name {
        self.act.name
    }

    pub fn action(&self) -> &Action {
        self.act
    }

    pub fn authorization(&self) -> &[PermissionLevel] {
        &self.act.authorization
    }

    /// The raw action data.
    pub fn data_bytes(&self) -> &[u8] {
        &self.act.data.0
    }

    /// The action data decoded with the action account's ABI.
    pub fn data(&self) -> &Value {
        self.data
    }

    /// The action data deserialized into a Rust type.
    pub fn data_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, ChainError> {
        serde_json::from_value(self.data.clone()).map_err(|e| {
            ChainError::InvalidActionArgs(format!("{}::{}: {e}", self.act.account, self.act.name))
        })
    }

    pub fn block_time(&self) -> BlockTimestamp {
        self.block_time
    }

    /// `current_time_point()`: the pending block's time.
    pub fn now(&self) -> TimePoint {
        self.block_time.to_time_point()
    }

    pub fn block_num(&self) -> u32 {
        self.block_num
    }

    pub fn trx_id(&self) -> Checksum256 {
        self.trx_id
    }

    // ---- checks -------------------------------------------------------------------------------

    /// `check(cond, msg)`: fails the transaction with `eosio_assert_message_exception`.
    pub fn check(&self, condition: bool, message: impl Into<String>) -> Result<(), ChainError> {
        if condition {
            Ok(())
        } else {
            Err(ChainError::Assert(message.into()))
        }
    }

    pub fn has_auth(&self, account: Name) -> bool {
        self.act.authorization.iter().any(|l| l.actor == account)
    }

    /// `require_auth(account)`: the action must carry some permission of `account`.
    pub fn require_auth(&self, account: Name) -> Result<(), ChainError> {
        if self.has_auth(account) {
            Ok(())
        } else {
            Err(ChainError::MissingAuth(account))
        }
    }

    /// `require_auth2(account, permission)`.
    pub fn require_auth2(&self, account: Name, permission: Name) -> Result<(), ChainError> {
        let found = self
            .act
            .authorization
            .iter()
            .any(|l| l.actor == account && l.permission == permission);
        if found {
            Ok(())
        } else {
            Err(ChainError::MissingAuth(account))
        }
    }

    pub fn is_account(&self, account: Name) -> bool {
        self.state.account(account).is_some()
    }

    /// `true` when `key` is in `account@permission` (or a parent of it), like COOPOS'
    /// `assert_recover_key_account` needs.
    pub fn key_belongs_to(
        &self,
        key: &chain::keys::PublicKey,
        account: Name,
        permission: Name,
    ) -> bool {
        crate::auth::key_satisfies(self.state, account, permission, key)
    }

    // ---- notifications, inline actions, console -----------------------------------------------

    /// `require_recipient(account)`: `account` runs this action as a notification afterwards.
    pub fn require_recipient(&mut self, account: Name) -> Result<(), ChainError> {
        if !self.is_account(account) {
            return Err(ChainError::UnknownAccount(account));
        }
        self.scheduled.push(Scheduled::Notify(account));
        Ok(())
    }

    /// Sends an inline action (runs after this action and its notifications). Its authorization
    /// must be the sending contract's own or one the transaction declared.
    pub fn send_inline(&mut self, action: Action) {
        self.scheduled.push(Scheduled::Inline(action));
    }

    /// Encodes `data` with the target account's ABI and sends it inline.
    pub fn send_inline_json(
        &mut self,
        account: Name,
        name: Name,
        authorization: Vec<PermissionLevel>,
        data: &Value,
    ) -> Result<(), ChainError> {
        let abi = self.abi(account).ok_or(ChainError::AbiNotFound(account))?;
        let bytes = abi
            .encode_action(name, data)
            .map_err(|e| ChainError::InvalidActionArgs(format!("{account}::{name}: {e}")))?;
        self.send_inline(Action {
            account,
            name,
            authorization,
            data: Bytes(bytes),
        });
        Ok(())
    }

    /// `print()`: appended to the action trace's console.
    pub fn print(&mut self, text: &str) {
        self.console.push_str(text);
    }

    pub fn abi(&self, account: Name) -> Option<Arc<Abi>> {
        self.state.abi(account)
    }

    // ---- tables -------------------------------------------------------------------------------

    fn table(&self, code: Name, scope: Name, table: Name) -> TableKey {
        TableKey { code, scope, table }
    }

    /// Any contract's row.
    pub fn get_row(&self, code: Name, scope: Name, table: Name, pk: u64) -> Option<&RowValue> {
        self.state.row(&RowKey {
            table: self.table(code, scope, table),
            primary_key: pk,
        })
    }

    /// Any contract's rows with primary keys in `lower..=upper`, ascending.
    pub fn rows(
        &self,
        code: Name,
        scope: Name,
        table: Name,
        lower: u64,
        upper: u64,
    ) -> Vec<(u64, RowValue)> {
        self.state
            .rows(self.table(code, scope, table), lower, upper)
            .map(|(pk, v)| (pk, v.clone()))
            .collect()
    }

    /// The highest primary key of any contract's table, if it has rows (`end()` − 1).
    pub fn last_primary_key(&self, code: Name, scope: Name, table: Name) -> Option<u64> {
        self.state
            .rows(self.table(code, scope, table), 0, u64::MAX)
            .next_back()
            .map(|(pk, _)| pk)
    }

    /// Primary keys whose secondary key number `index` (0 = first) equals `key`.
    pub fn find_secondary(
        &self,
        code: Name,
        scope: Name,
        table: Name,
        index: u8,
        key: SecondaryKey,
    ) -> Vec<u64> {
        self.state
            .secondary_range(self.table(code, scope, table), index, key, key)
            .map(|(_, pk)| pk)
            .collect()
    }

    /// `emplace`: a new row in one of the receiver's tables; fails if it exists.
    pub fn emplace(
        &mut self,
        scope: Name,
        table: Name,
        payer: Name,
        pk: u64,
        value: Vec<u8>,
        secondary: Vec<SecondaryKey>,
    ) -> Result<(), ChainError> {
        let key = RowKey {
            table: self.table(self.receiver, scope, table),
            primary_key: pk,
        };
        if self.state.row(&key).is_some() {
            return Err(ChainError::Assert(format!(
                "{table}: a row with primary key {pk} already exists"
            )));
        }
        self.put_row(key, payer, value, secondary)
    }

    /// `modify`: replaces an existing row of the receiver's tables; fails if it is missing.
    pub fn modify(
        &mut self,
        scope: Name,
        table: Name,
        payer: Name,
        pk: u64,
        value: Vec<u8>,
        secondary: Vec<SecondaryKey>,
    ) -> Result<(), ChainError> {
        let key = RowKey {
            table: self.table(self.receiver, scope, table),
            primary_key: pk,
        };
        if self.state.row(&key).is_none() {
            return Err(ChainError::Assert(format!(
                "{table}: no row with primary key {pk} to modify"
            )));
        }
        self.put_row(key, payer, value, secondary)
    }

    /// `erase`: removes a row of the receiver's tables; fails if it is missing.
    pub fn erase(&mut self, scope: Name, table: Name, pk: u64) -> Result<(), ChainError> {
        let key = RowKey {
            table: self.table(self.receiver, scope, table),
            primary_key: pk,
        };
        if self.state.row(&key).is_none() {
            return Err(ChainError::Assert(format!(
                "{table}: no row with primary key {pk} to erase"
            )));
        }
        self.state.write_row(self.journal, key, None);
        Ok(())
    }

    fn put_row(
        &mut self,
        key: RowKey,
        payer: Name,
        value: Vec<u8>,
        secondary: Vec<SecondaryKey>,
    ) -> Result<(), ChainError> {
        if !self.is_account(payer) {
            return Err(ChainError::UnknownAccount(payer));
        }
        let row = RowValue {
            payer,
            value: Bytes(value),
            secondary,
        };
        self.state.write_row(self.journal, key, Some(row));
        Ok(())
    }

    /// Decodes any contract's row with that contract's ABI row type.
    pub fn get_row_json(
        &self,
        code: Name,
        scope: Name,
        table: Name,
        pk: u64,
    ) -> Result<Option<Value>, ChainError> {
        let Some(row) = self.get_row(code, scope, table, pk) else {
            return Ok(None);
        };
        let abi = self.abi(code).ok_or(ChainError::AbiNotFound(code))?;
        abi.decode_table_row(table, &row.value.0)
            .map(Some)
            .map_err(|e| ChainError::Unpack(format!("{code}::{table} row {pk}: {e}")))
    }

    /// Encodes a row of one of the receiver's tables with its ABI row type.
    pub fn encode_row(&self, table: Name, value: &Value) -> Result<Vec<u8>, ChainError> {
        let abi = self
            .abi(self.receiver)
            .ok_or(ChainError::AbiNotFound(self.receiver))?;
        let type_name = abi
            .table_type(table)
            .ok_or_else(|| ChainError::Unpack(format!("no table {table} in the ABI")))?;
        abi.encode(type_name, value)
            .map_err(|e| ChainError::InvalidActionArgs(format!("{table} row: {e}")))
    }

    // ---- accounts (privileged helpers for simulated system-level contracts) -------------------

    /// Creates an account with `owner` and `active` authorities (what `eosio::newaccount` does).
    pub fn create_account(
        &mut self,
        name: Name,
        owner: Authority,
        active: Authority,
    ) -> Result<(), ChainError> {
        if name.is_empty() {
            return Err(ChainError::InvalidActionArgs("empty account name".into()));
        }
        if self.is_account(name) {
            return Err(ChainError::AccountExists(name));
        }
        let account = new_account(name, self.block_time, owner, active);
        self.state.write_account(self.journal, account);
        Ok(())
    }

    /// Replaces an account (e.g. to change a permission); the account must exist.
    pub fn update_account(&mut self, account: AccountState) -> Result<(), ChainError> {
        if !self.is_account(account.name) {
            return Err(ChainError::UnknownAccount(account.name));
        }
        self.state.write_account(self.journal, account);
        Ok(())
    }

    pub fn account(&self, name: Name) -> Option<&AccountState> {
        self.state.account(name)
    }
}

/// A fresh account with `owner` (no parent) and `active` (parent `owner`).
pub fn new_account(
    name: Name,
    created: BlockTimestamp,
    owner: Authority,
    active: Authority,
) -> AccountState {
    let now = created.to_time_point();
    AccountState {
        name,
        creation_date: created,
        privileged: false,
        permissions: vec![
            PermissionState {
                name: chain::name!("owner"),
                parent: Name::default(),
                auth: owner,
                last_updated: now,
            },
            PermissionState {
                name: chain::name!("active"),
                parent: chain::name!("owner"),
                auth: active,
                last_updated: now,
            },
        ],
        abi: Bytes::default(),
        abi_sequence: 0,
        code_hash: Checksum256::default(),
        code_sequence: 0,
        last_code_update: TimePoint::default(),
        recv_sequence: 0,
        auth_sequence: 0,
    }
}

/// A threshold-1 authority of one key with weight 1.
pub fn key_authority(key: chain::keys::PublicKey) -> Authority {
    Authority {
        threshold: 1,
        keys: vec![chain::ship::KeyWeight { key, weight: 1 }],
        accounts: Vec::new(),
        waits: Vec::new(),
    }
}
