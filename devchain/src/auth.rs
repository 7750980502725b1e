//! Authorization like Leap: signatures are recovered from the signing digest, and each declared
//! `actor@permission` must be satisfied by those keys through that permission or one of its
//! parents (`owner` satisfies `active`). Only key authorities are evaluated (account and wait
//! weights are ignored), which is all the devchain's accounts use.

use chain::keys::PublicKey;
use chain::ship::Authority;
use chain::transaction::Transaction;
use chain::Name;

use crate::error::ChainError;
use crate::state::{AccountState, ChainState};

/// Longest parent chain followed (guards against malformed permission trees).
const MAX_PARENT_DEPTH: usize = 16;

/// True when `key` alone satisfies `account@permission` (directly or through a parent).
pub fn key_satisfies(state: &ChainState, account: Name, permission: Name, key: &PublicKey) -> bool {
    let Some(acc) = state.account(account) else {
        return false;
    };
    satisfied_by(acc, permission, std::slice::from_ref(key)).is_some()
}

/// Which keys satisfy `permission` of `acc` (through itself or a parent); `None` if not satisfied.
fn satisfied_by(
    acc: &AccountState,
    permission: Name,
    keys: &[PublicKey],
) -> Option<Vec<PublicKey>> {
    let mut current = acc.permission(permission)?;
    for _ in 0..MAX_PARENT_DEPTH {
        if let Some(used) = keys_meeting(&current.auth, keys) {
            return Some(used);
        }
        if current.parent.is_empty() {
            return None;
        }
        current = acc.permission(current.parent)?;
    }
    None
}

/// The authority's keys among `keys` if their weights reach the threshold.
fn keys_meeting(auth: &Authority, keys: &[PublicKey]) -> Option<Vec<PublicKey>> {
    let mut weight: u64 = 0;
    let mut used = Vec::new();
    for kw in &auth.keys {
        if keys.contains(&kw.key) {
            weight += u64::from(kw.weight);
            used.push(kw.key.clone());
        }
    }
    (auth.threshold > 0 && weight >= u64::from(auth.threshold)).then_some(used)
}

/// Checks every declared authorization of the transaction against the recovered keys; every
/// signature must be needed by some authorization (Leap rejects irrelevant signatures).
pub fn check_transaction_auth(
    state: &ChainState,
    trx: &Transaction,
    keys: &[PublicKey],
) -> Result<(), ChainError> {
    let mut used: Vec<PublicKey> = Vec::new();
    for act in trx.context_free_actions.iter().chain(&trx.actions) {
        for level in &act.authorization {
            let acc = state.account(level.actor).ok_or_else(|| {
                ChainError::UnsatisfiedAuthorization(format!(
                    "{}@{}: no such account",
                    level.actor, level.permission
                ))
            })?;
            if acc.permission(level.permission).is_none() {
                return Err(ChainError::UnsatisfiedAuthorization(format!(
                    "{}@{}: no such permission",
                    level.actor, level.permission
                )));
            }
            let Some(keys_used) = satisfied_by(acc, level.permission, keys) else {
                return Err(ChainError::UnsatisfiedAuthorization(format!(
                    "transaction declares authority {{\"actor\":\"{}\",\"permission\":\"{}\"}}, but does not have signatures for it",
                    level.actor, level.permission
                )));
            };
            for k in keys_used {
                if !used.contains(&k) {
                    used.push(k);
                }
            }
        }
    }
    if let Some(extra) = keys.iter().find(|k| !used.contains(k)) {
        return Err(ChainError::IrrelevantSignature(format!(
            "transaction includes a signature by {extra} that no authorization needs"
        )));
    }
    Ok(())
}
