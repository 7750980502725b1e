//! ABI history in memory (pure): every followed account's ABIs by the block they took effect
//! in, so actions and rows are decoded with the ABI in force at their block.
//!
//! Loaded from the database at start (the `chain_abis` table, including the `get_raw_abi`
//! bootstrap stored at block 0), extended by `eosio::setabi` receipts (effective for the
//! following actions of the same block) and `account` deltas (effective at the end of their
//! block), and cut back on forks.

use std::collections::HashMap;
use std::sync::Arc;

use chain::abi::Abi;
use chain::Name;

use crate::filter::ActionPlans;

/// One ABI version, resolved, with its field plans; `None` when the bytes are not a valid ABI.
#[derive(Debug)]
pub struct AbiVersion {
    pub bytes: Vec<u8>,
    pub resolved: Option<(Abi, ActionPlans)>,
}

impl AbiVersion {
    pub fn new(bytes: Vec<u8>) -> AbiVersion {
        let resolved = if bytes.is_empty() {
            None
        } else {
            match Abi::from_binary(&bytes) {
                Ok(abi) => {
                    let plans = ActionPlans::new(abi.def());
                    Some((abi, plans))
                }
                Err(e) => {
                    tracing::warn!(error = %e, "An ABI does not parse; its account's data stays undecoded");
                    None
                }
            }
        };
        AbiVersion { bytes, resolved }
    }

    pub fn abi(&self) -> Option<&Abi> {
        self.resolved.as_ref().map(|(a, _)| a)
    }

    pub fn plans(&self) -> Option<&ActionPlans> {
        self.resolved.as_ref().map(|(_, p)| p)
    }
}

/// ABIs of every followed account by effective block, ascending.
#[derive(Debug, Default)]
pub struct AbiHistory {
    by_account: HashMap<Name, Vec<(u32, Arc<AbiVersion>)>>,
}

impl AbiHistory {
    pub fn new() -> AbiHistory {
        AbiHistory::default()
    }

    /// Records `bytes` as `account`'s ABI from `block_num` on, replacing one set earlier in the
    /// same block (a `setabi` receipt and the block's `account` delta carry the same ABI).
    pub fn set(&mut self, account: Name, block_num: u32, bytes: Vec<u8>) {
        let versions = self.by_account.entry(account).or_default();
        let pos = versions.partition_point(|(b, _)| *b <= block_num);
        if pos > 0 && versions[pos - 1].0 == block_num {
            if versions[pos - 1].1.bytes != bytes {
                versions[pos - 1].1 = Arc::new(AbiVersion::new(bytes));
            }
        } else {
            versions.insert(pos, (block_num, Arc::new(AbiVersion::new(bytes))));
        }
    }

    /// The ABI in force for `account` at `block_num`.
    pub fn at(&self, account: Name, block_num: u32) -> Option<&AbiVersion> {
        let versions = self.by_account.get(&account)?;
        let pos = versions.partition_point(|(b, _)| *b <= block_num);
        versions.get(pos.checked_sub(1)?).map(|(_, v)| v.as_ref())
    }

    /// Whether any ABI is known for `account`.
    pub fn has(&self, account: Name) -> bool {
        self.by_account.get(&account).is_some_and(|v| !v.is_empty())
    }

    /// Forgets every ABI set at or after `block_num` (a fork).
    pub fn truncate_from(&mut self, block_num: u32) {
        for versions in self.by_account.values_mut() {
            versions.retain(|(b, _)| *b < block_num);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain::bytes::Pack;

    fn abi_bytes(action: &str) -> Vec<u8> {
        let text = format!(
            r#"{{"version":"eosio::abi/1.2","structs":[{{"name":"{action}","base":"","fields":[{{"name":"coopname","type":"name"}}]}}],
            "actions":[{{"name":"{action}","type":"{action}","ricardian_contract":""}}]}}"#
        );
        chain::abi::AbiDef::from_json(&text).unwrap().packed()
    }

    #[test]
    fn the_abi_in_force_follows_the_block() {
        let acc = Name::parse("soviet").unwrap();
        let mut h = AbiHistory::new();
        assert!(h.at(acc, 5).is_none());
        h.set(acc, 1, abi_bytes("one"));
        h.set(acc, 10, abi_bytes("two"));
        let name_of = |h: &AbiHistory, b| {
            h.at(acc, b)
                .and_then(|v| v.abi())
                .map(|a| a.def().actions[0].name.to_string())
        };
        assert_eq!(name_of(&h, 9).as_deref(), Some("one"));
        assert_eq!(name_of(&h, 10).as_deref(), Some("two"));
        h.set(acc, 10, abi_bytes("three"));
        assert_eq!(name_of(&h, 11).as_deref(), Some("three"));
        h.truncate_from(10);
        assert_eq!(name_of(&h, 11).as_deref(), Some("one"));
        h.set(acc, 12, b"garbage".to_vec());
        assert!(h.at(acc, 12).unwrap().abi().is_none());
    }
}
