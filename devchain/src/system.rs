//! The native part of the `eosio` system contract: `newaccount`, `setabi`, `setcode` (records
//! only a code hash) and `updateauth`, with Leap's native action layouts, plus the ABI the
//! devchain installs on `eosio` when the genesis names none.

use chain::bytes::{BinaryExtension, Bytes, Unpack};
use chain::ship::Authority;
use chain::{name, pack_struct, Checksum256, Name};

use crate::contract::{ApplyContext, Contract};
use crate::error::ChainError;
use crate::state::PermissionState;

/// The built-in `eosio` ABI: the native actions with Leap's layouts.
pub const SYSTEM_ABI_JSON: &str = r#"{
  "version": "eosio::abi/1.2",
  "types": [],
  "structs": [
    {"name": "permission_level", "base": "", "fields": [
      {"name": "actor", "type": "name"}, {"name": "permission", "type": "name"}]},
    {"name": "key_weight", "base": "", "fields": [
      {"name": "key", "type": "public_key"}, {"name": "weight", "type": "uint16"}]},
    {"name": "permission_level_weight", "base": "", "fields": [
      {"name": "permission", "type": "permission_level"}, {"name": "weight", "type": "uint16"}]},
    {"name": "wait_weight", "base": "", "fields": [
      {"name": "wait_sec", "type": "uint32"}, {"name": "weight", "type": "uint16"}]},
    {"name": "authority", "base": "", "fields": [
      {"name": "threshold", "type": "uint32"}, {"name": "keys", "type": "key_weight[]"},
      {"name": "accounts", "type": "permission_level_weight[]"}, {"name": "waits", "type": "wait_weight[]"}]},
    {"name": "newaccount", "base": "", "fields": [
      {"name": "creator", "type": "name"}, {"name": "name", "type": "name"},
      {"name": "owner", "type": "authority"}, {"name": "active", "type": "authority"}]},
    {"name": "setabi", "base": "", "fields": [
      {"name": "account", "type": "name"}, {"name": "abi", "type": "bytes"}, {"name": "memo", "type": "string$"}]},
    {"name": "setcode", "base": "", "fields": [
      {"name": "account", "type": "name"}, {"name": "vmtype", "type": "uint8"}, {"name": "vmversion", "type": "uint8"},
      {"name": "code", "type": "bytes"}, {"name": "memo", "type": "string$"}]},
    {"name": "updateauth", "base": "", "fields": [
      {"name": "account", "type": "name"}, {"name": "permission", "type": "name"}, {"name": "parent", "type": "name"},
      {"name": "auth", "type": "authority"}, {"name": "authorized_by", "type": "name$"}]}
  ],
  "actions": [
    {"name": "newaccount", "type": "newaccount", "ricardian_contract": ""},
    {"name": "setabi", "type": "setabi", "ricardian_contract": ""},
    {"name": "setcode", "type": "setcode", "ricardian_contract": ""},
    {"name": "updateauth", "type": "updateauth", "ricardian_contract": ""}
  ],
  "tables": [],
  "variants": []
}"#;

#[derive(Debug)]
struct NewAccount {
    creator: Name,
    name: Name,
    owner: Authority,
    active: Authority,
}
pack_struct!(NewAccount {
    creator,
    name,
    owner,
    active
});

#[derive(Debug)]
struct SetAbi {
    account: Name,
    abi: Bytes,
    memo: BinaryExtension<String>,
}
pack_struct!(SetAbi { account, abi, memo });

#[derive(Debug)]
struct SetCode {
    account: Name,
    vmtype: u8,
    vmversion: u8,
    code: Bytes,
    memo: BinaryExtension<String>,
}
pack_struct!(SetCode {
    account,
    vmtype,
    vmversion,
    code,
    memo
});

#[derive(Debug)]
struct UpdateAuth {
    account: Name,
    permission: Name,
    parent: Name,
    auth: Authority,
    authorized_by: BinaryExtension<Name>,
}
pack_struct!(UpdateAuth {
    account,
    permission,
    parent,
    auth,
    authorized_by
});

/// The native `eosio` handlers.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemContract;

fn args<T: Unpack>(ctx: &ApplyContext<'_>) -> Result<T, ChainError> {
    T::unpacked(ctx.data_bytes())
        .map_err(|e| ChainError::Unpack(format!("eosio::{}: {e}", ctx.action_name())))
}

impl Contract for SystemContract {
    fn apply(&self, ctx: &mut ApplyContext<'_>) -> Result<(), ChainError> {
        if ctx.is_notification() || ctx.first_receiver() != name!("eosio") {
            return Ok(());
        }
        match ctx.action_name() {
            n if n == name!("newaccount") => newaccount(ctx),
            n if n == name!("setabi") => setabi(ctx),
            n if n == name!("setcode") => setcode(ctx),
            n if n == name!("updateauth") => updateauth(ctx),
            other => Err(ChainError::InvalidActionArgs(format!(
                "eosio has no action {other}"
            ))),
        }
    }
}

fn validate_authority(auth: &Authority) -> Result<(), ChainError> {
    let total: u64 = auth.keys.iter().map(|k| u64::from(k.weight)).sum::<u64>()
        + auth
            .accounts
            .iter()
            .map(|a| u64::from(a.weight))
            .sum::<u64>();
    if auth.threshold == 0 || total < u64::from(auth.threshold) {
        return Err(ChainError::InvalidActionArgs(
            "invalid authority: the weights cannot reach the threshold".into(),
        ));
    }
    Ok(())
}

fn newaccount(ctx: &mut ApplyContext<'_>) -> Result<(), ChainError> {
    let a: NewAccount = args(ctx)?;
    ctx.require_auth(a.creator)?;
    let text = a.name.to_string();
    if text.len() > 12 || text.starts_with("eosio.") && a.creator != name!("eosio") {
        return Err(ChainError::InvalidActionArgs(format!(
            "account name {text} is reserved or longer than 12 characters"
        )));
    }
    validate_authority(&a.owner)?;
    validate_authority(&a.active)?;
    ctx.create_account(a.name, a.owner, a.active)
}

fn setabi(ctx: &mut ApplyContext<'_>) -> Result<(), ChainError> {
    let a: SetAbi = args(ctx)?;
    ctx.require_auth(a.account)?;
    if !a.abi.0.is_empty() {
        chain::abi::Abi::from_binary(&a.abi.0)
            .map_err(|e| ChainError::InvalidAbi(e.to_string()))?;
    }
    let mut account = ctx
        .account(a.account)
        .cloned()
        .ok_or(ChainError::UnknownAccount(a.account))?;
    account.abi = a.abi;
    account.abi_sequence += 1;
    ctx.update_account(account)
}

fn setcode(ctx: &mut ApplyContext<'_>) -> Result<(), ChainError> {
    let a: SetCode = args(ctx)?;
    ctx.require_auth(a.account)?;
    let mut account = ctx
        .account(a.account)
        .cloned()
        .ok_or(ChainError::UnknownAccount(a.account))?;
    account.code_hash = if a.code.0.is_empty() {
        Checksum256::default()
    } else {
        Checksum256::sha256(&a.code.0)
    };
    account.code_sequence += 1;
    account.last_code_update = ctx.now();
    ctx.update_account(account)
}

fn updateauth(ctx: &mut ApplyContext<'_>) -> Result<(), ChainError> {
    let a: UpdateAuth = args(ctx)?;
    ctx.require_auth(a.account)?;
    validate_authority(&a.auth)?;
    let owner = name!("owner");
    let mut account = ctx
        .account(a.account)
        .cloned()
        .ok_or(ChainError::UnknownAccount(a.account))?;
    if a.permission == owner {
        if !a.parent.is_empty() {
            return Err(ChainError::InvalidPermission("owner has no parent".into()));
        }
    } else if a.parent.is_empty()
        || account.permission(a.parent).is_none()
        || a.parent == a.permission
    {
        return Err(ChainError::InvalidPermission(format!(
            "parent {} of {} does not exist",
            a.parent, a.permission
        )));
    }
    let now = ctx.now();
    match account
        .permissions
        .iter_mut()
        .find(|p| p.name == a.permission)
    {
        Some(p) => {
            p.parent = a.parent;
            p.auth = a.auth;
            p.last_updated = now;
        }
        None => account.permissions.push(PermissionState {
            name: a.permission,
            parent: a.parent,
            auth: a.auth,
            last_updated: now,
        }),
    }
    ctx.update_account(account)
}
