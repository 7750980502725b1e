//! Chain state: accounts (permissions, ABI, code hash, sequences), contract table rows with
//! secondary keys, and global counters. Every change goes through [`StateKey`]/[`StateValue`] so
//! it can be journaled (undo), recorded per block (redo, SHiP deltas) and replayed on restart.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chain::abi::Abi;
use chain::bytes::{Bytes, DecodeError, Pack, Reader, Unpack};
use chain::ship::Authority;
use chain::time::{BlockTimestamp, TimePoint};
use chain::{pack_struct, Checksum256, Name};

/// `(code, scope, table)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableKey {
    pub code: Name,
    pub scope: Name,
    pub table: Name,
}
pack_struct!(TableKey { code, scope, table });

/// One row's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RowKey {
    pub table: TableKey,
    pub primary_key: u64,
}
pack_struct!(RowKey { table, primary_key });

/// A secondary index key (index position `n + 2` is `secondary[n]` of a row, as in
/// `get_table_rows` `index_position`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SecondaryKey {
    U64(u64),
    Checksum256(Checksum256),
}

impl Pack for SecondaryKey {
    fn pack(&self, out: &mut Vec<u8>) {
        match self {
            SecondaryKey::U64(v) => {
                out.push(0);
                v.pack(out);
            }
            SecondaryKey::Checksum256(v) => {
                out.push(1);
                v.pack(out);
            }
        }
    }
}

impl Unpack for SecondaryKey {
    const MIN_SIZE: usize = 9;

    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let offset = r.offset();
        match r.u8()? {
            0 => Ok(SecondaryKey::U64(u64::unpack(r)?)),
            1 => Ok(SecondaryKey::Checksum256(Checksum256::unpack(r)?)),
            t => Err(DecodeError::Invalid {
                offset,
                reason: format!("unknown secondary key tag {t}"),
            }),
        }
    }
}

/// A row's payer, value bytes (the ABI row type) and secondary keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowValue {
    pub payer: Name,
    pub value: Bytes,
    pub secondary: Vec<SecondaryKey>,
}
pack_struct!(RowValue {
    payer,
    value,
    secondary
});

/// A named permission of an account.
#[derive(Debug, Clone, PartialEq)]
pub struct PermissionState {
    pub name: Name,
    /// Empty for `owner`.
    pub parent: Name,
    pub auth: Authority,
    pub last_updated: TimePoint,
}
pack_struct!(PermissionState {
    name,
    parent,
    auth,
    last_updated
});

/// An account.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountState {
    pub name: Name,
    pub creation_date: BlockTimestamp,
    pub privileged: bool,
    pub permissions: Vec<PermissionState>,
    /// Binary ABI (empty when none).
    pub abi: Bytes,
    pub abi_sequence: u32,
    /// sha256 of the code set by `setcode` (zero when none).
    pub code_hash: Checksum256,
    pub code_sequence: u32,
    pub last_code_update: TimePoint,
    pub recv_sequence: u64,
    pub auth_sequence: u64,
}
pack_struct!(AccountState {
    name,
    creation_date,
    privileged,
    permissions,
    abi,
    abi_sequence,
    code_hash,
    code_sequence,
    last_code_update,
    recv_sequence,
    auth_sequence
});

impl AccountState {
    pub fn permission(&self, name: Name) -> Option<&PermissionState> {
        self.permissions.iter().find(|p| p.name == name)
    }
}

/// Chain-wide counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GlobalState {
    pub global_sequence: u64,
}
pack_struct!(GlobalState { global_sequence });

/// The address of one piece of state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StateKey {
    Global,
    Account(Name),
    Row(RowKey),
}

/// The value stored under a [`StateKey`] (the variant matches the key's).
#[derive(Debug, Clone, PartialEq)]
pub enum StateValue {
    Global(GlobalState),
    Account(Box<AccountState>),
    Row(RowValue),
}

impl Pack for StateKey {
    fn pack(&self, out: &mut Vec<u8>) {
        match self {
            StateKey::Global => out.push(0),
            StateKey::Account(n) => {
                out.push(1);
                n.pack(out);
            }
            StateKey::Row(k) => {
                out.push(2);
                k.pack(out);
            }
        }
    }
}

impl Unpack for StateKey {
    const MIN_SIZE: usize = 1;

    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let offset = r.offset();
        match r.u8()? {
            0 => Ok(StateKey::Global),
            1 => Ok(StateKey::Account(Name::unpack(r)?)),
            2 => Ok(StateKey::Row(RowKey::unpack(r)?)),
            t => Err(DecodeError::Invalid {
                offset,
                reason: format!("unknown state key tag {t}"),
            }),
        }
    }
}

impl Pack for StateValue {
    fn pack(&self, out: &mut Vec<u8>) {
        match self {
            StateValue::Global(g) => {
                out.push(0);
                g.pack(out);
            }
            StateValue::Account(a) => {
                out.push(1);
                a.pack(out);
            }
            StateValue::Row(v) => {
                out.push(2);
                v.pack(out);
            }
        }
    }
}

impl Unpack for StateValue {
    const MIN_SIZE: usize = 1;

    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let offset = r.offset();
        match r.u8()? {
            0 => Ok(StateValue::Global(GlobalState::unpack(r)?)),
            1 => Ok(StateValue::Account(Box::new(AccountState::unpack(r)?))),
            2 => Ok(StateValue::Row(RowValue::unpack(r)?)),
            t => Err(DecodeError::Invalid {
                offset,
                reason: format!("unknown state value tag {t}"),
            }),
        }
    }
}

/// One key's value before and after a block.
#[derive(Debug, Clone, PartialEq)]
pub struct StateChange {
    pub key: StateKey,
    pub before: Option<StateValue>,
    pub after: Option<StateValue>,
}
pack_struct!(StateChange { key, before, after });

/// Old values in write order; rolling back restores them in reverse.
#[derive(Debug, Default)]
pub struct Journal {
    entries: Vec<(StateKey, Option<StateValue>)>,
}

impl Journal {
    pub fn entries(&self) -> &[(StateKey, Option<StateValue>)] {
        &self.entries
    }
}

/// Everything the chain knows now (including the pending block's changes).
#[derive(Debug, Default)]
pub struct ChainState {
    global: GlobalState,
    accounts: BTreeMap<Name, AccountState>,
    rows: BTreeMap<RowKey, RowValue>,
    /// `(table, index number, key, primary key)`.
    secondary: BTreeSet<(TableKey, u8, SecondaryKey, u64)>,
    abis: HashMap<Name, Arc<Abi>>,
}

impl ChainState {
    pub fn global(&self) -> GlobalState {
        self.global
    }

    pub fn account(&self, name: Name) -> Option<&AccountState> {
        self.accounts.get(&name)
    }

    pub fn accounts(&self) -> impl Iterator<Item = &AccountState> {
        self.accounts.values()
    }

    /// The account's resolved ABI, if it has a valid one.
    pub fn abi(&self, name: Name) -> Option<Arc<Abi>> {
        self.abis.get(&name).cloned()
    }

    pub fn row(&self, key: &RowKey) -> Option<&RowValue> {
        self.rows.get(key)
    }

    /// Rows of one table with primary keys in `lower..=upper`, ascending.
    pub fn rows(
        &self,
        table: TableKey,
        lower: u64,
        upper: u64,
    ) -> impl DoubleEndedIterator<Item = (u64, &RowValue)> {
        let lo = RowKey {
            table,
            primary_key: lower,
        };
        let hi = RowKey {
            table,
            primary_key: upper.max(lower),
        };
        self.rows.range(lo..=hi).map(|(k, v)| (k.primary_key, v))
    }

    /// Primary keys of rows whose secondary key `index` lies in `lower..=upper`, in key order.
    pub fn secondary_range(
        &self,
        table: TableKey,
        index: u8,
        lower: SecondaryKey,
        upper: SecondaryKey,
    ) -> impl DoubleEndedIterator<Item = (SecondaryKey, u64)> + '_ {
        let lo = (table, index, lower, 0u64);
        let hi = (table, index, upper, u64::MAX);
        let valid = lo <= hi;
        self.secondary
            .range(lo..=hi.max(lo))
            .filter(move |_| valid)
            .map(|(_, _, k, pk)| (*k, *pk))
    }

    pub fn get(&self, key: &StateKey) -> Option<StateValue> {
        match key {
            StateKey::Global => Some(StateValue::Global(self.global)),
            StateKey::Account(n) => self
                .accounts
                .get(n)
                .map(|a| StateValue::Account(Box::new(a.clone()))),
            StateKey::Row(k) => self.rows.get(k).cloned().map(StateValue::Row),
        }
    }

    /// Writes (or removes) a value without journaling; returns the old one. A value of the wrong
    /// variant for the key is ignored (it cannot be built through the public API).
    pub fn put(&mut self, key: StateKey, value: Option<StateValue>) -> Option<StateValue> {
        let old = self.get(&key);
        match (key, value) {
            (StateKey::Global, Some(StateValue::Global(g))) => self.global = g,
            (StateKey::Global, _) => self.global = GlobalState::default(),
            (StateKey::Account(n), Some(StateValue::Account(a))) => {
                self.set_abi_cache(n, &a.abi);
                self.accounts.insert(n, *a);
            }
            (StateKey::Account(n), _) => {
                self.abis.remove(&n);
                self.accounts.remove(&n);
            }
            (StateKey::Row(k), v) => {
                if let Some(prev) = self.rows.remove(&k) {
                    for (i, s) in prev.secondary.iter().enumerate() {
                        self.secondary
                            .remove(&(k.table, index_no(i), *s, k.primary_key));
                    }
                }
                if let Some(StateValue::Row(row)) = v {
                    for (i, s) in row.secondary.iter().enumerate() {
                        self.secondary
                            .insert((k.table, index_no(i), *s, k.primary_key));
                    }
                    self.rows.insert(k, row);
                }
            }
        }
        old
    }

    fn set_abi_cache(&mut self, name: Name, abi: &Bytes) {
        let unchanged = self
            .accounts
            .get(&name)
            .is_some_and(|a| a.abi == *abi && self.abis.contains_key(&name));
        if unchanged {
            return;
        }
        match (abi.0.is_empty(), Abi::from_binary(&abi.0)) {
            (false, Ok(parsed)) => {
                self.abis.insert(name, Arc::new(parsed));
            }
            _ => {
                self.abis.remove(&name);
            }
        }
    }

    /// Writes a value and records the old one in `journal`.
    pub fn write(&mut self, journal: &mut Journal, key: StateKey, value: Option<StateValue>) {
        let old = self.put(key, value);
        journal.entries.push((key, old));
    }

    /// Undoes every write of `journal`, newest first.
    pub fn rollback(&mut self, journal: Journal) {
        for (key, old) in journal.entries.into_iter().rev() {
            self.put(key, old);
        }
    }

    /// Journaled account update.
    pub fn write_account(&mut self, journal: &mut Journal, account: AccountState) {
        self.write(
            journal,
            StateKey::Account(account.name),
            Some(StateValue::Account(Box::new(account))),
        );
    }

    /// Journaled row write (`None` erases).
    pub fn write_row(&mut self, journal: &mut Journal, key: RowKey, value: Option<RowValue>) {
        self.write(journal, StateKey::Row(key), value.map(StateValue::Row));
    }

    /// Journaled global counters update.
    pub fn write_global(&mut self, journal: &mut Journal, global: GlobalState) {
        self.write(journal, StateKey::Global, Some(StateValue::Global(global)));
    }
}

/// Secondary index numbers start at 0 for the first secondary key.
fn index_no(i: usize) -> u8 {
    u8::try_from(i).unwrap_or(u8::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    #[test]
    fn rollback_restores_rows_and_secondary_index() {
        let mut state = ChainState::default();
        let table = TableKey {
            code: n("soviet"),
            scope: n("coop"),
            table: n("decisions"),
        };
        let key = RowKey {
            table,
            primary_key: 7,
        };
        let row = RowValue {
            payer: n("coop"),
            value: Bytes(vec![1, 2]),
            secondary: vec![SecondaryKey::U64(42)],
        };
        let mut setup = Journal::default();
        state.write_row(&mut setup, key, Some(row.clone()));
        let mut journal = Journal::default();
        state.write_row(&mut journal, key, None);
        assert!(state.row(&key).is_none());
        assert_eq!(
            state
                .secondary_range(table, 0, SecondaryKey::U64(0), SecondaryKey::U64(100))
                .count(),
            0
        );
        state.rollback(journal);
        assert_eq!(state.row(&key), Some(&row));
        let hits: Vec<_> = state
            .secondary_range(table, 0, SecondaryKey::U64(0), SecondaryKey::U64(100))
            .collect();
        assert_eq!(hits, vec![(SecondaryKey::U64(42), 7)]);
        let change = StateChange {
            key: StateKey::Row(key),
            before: None,
            after: Some(StateValue::Row(row)),
        };
        assert_eq!(StateChange::unpacked(&change.packed()).unwrap(), change);
    }
}
