//! Key custody and the council transaction: a private key is accepted only if its public key is
//! on the cooperative's permission on chain (`get_account`); it is stored sealed
//! ([`crate::custody`]); `installSystem` signs `soviet::createboard` (or `updateboard` when the
//! council exists) with the stored key and pushes it through the chain HTTP API.

use async_graphql::Result;
use chain::abi::Abi;
use chain::bytes::Bytes;
use chain::keys::PrivateKey;
use chain::transaction::{Action, PermissionLevel, Transaction};
use chain::{name, Name};
use serde_json::json;

use super::guard::{bad_input, internal, unavailable};
use super::types::{SovietMemberInput, SovietRole};
use super::Api;
use crate::auth::login::key_on_permission;
use crate::custody;

/// Seconds a pushed transaction stays valid.
const EXPIRATION_SECS: u32 = 120;

fn secret(api: &Api) -> Result<&[u8]> {
    api.secret_key
        .as_ref()
        .map(|s| s.expose())
        .ok_or_else(|| unavailable("the secret-at-rest key is not configured on this node"))
}

/// Checks `wif` against the cooperative's `permission` on chain and stores it sealed.
pub async fn store_checked_key(api: &Api, wif: &str, permission: Name) -> Result<()> {
    let secret = secret(api)?;
    let key = custody::parse_private_key(wif).map_err(|e| bad_input(e.to_string()))?;
    let public = key.public_key();
    let account = api
        .chain
        .get_account(api.coopname)
        .await
        .map_err(|e| internal(format!("get_account {}: {e}", api.coopname)))?;
    if !key_on_permission(&account, permission, &public) {
        return Err(bad_input(format!(
            "the key is not on the cooperative's {permission} permission"
        )));
    }
    let sealed = custody::seal(secret, api.coopname, &key).map_err(internal)?;
    api.db
        .store_key(&permission.to_string(), &public.to_string(), &sealed)
        .await
        .map_err(internal)?;
    tracing::info!(%permission, key = %public, "Stored the cooperative's key");
    Ok(())
}

/// The stored key of `permission`, opened.
pub async fn stored_key(api: &Api, permission: Name) -> Result<PrivateKey> {
    let secret = secret(api)?;
    let stored = api
        .db
        .stored_key(&permission.to_string())
        .await
        .map_err(internal)?
        .ok_or_else(|| unavailable("no key is stored for the cooperative"))?;
    custody::open(secret, api.coopname, &stored.sealed).map_err(internal)
}

/// Validates the council: distinct existing names, exactly one chairman.
pub fn council_members(soviet: &[SovietMemberInput]) -> Result<Vec<serde_json::Value>> {
    let mut seen: Vec<Name> = Vec::new();
    let mut members = Vec::new();
    for m in soviet {
        let username = super::query::parse_name("soviet.username", &m.username)?;
        if seen.contains(&username) {
            return Err(bad_input(format!("{username} is listed twice")));
        }
        seen.push(username);
        let position = match m.role {
            SovietRole::Chairman => "chairman",
            SovietRole::Member => "member",
        };
        members.push(json!({"username": username, "is_voting": m.is_voting,
            "position_title": m.position_title, "position": position}));
    }
    let chairmen = soviet
        .iter()
        .filter(|m| m.role == SovietRole::Chairman)
        .count();
    if chairmen != 1 {
        return Err(bad_input("the council needs exactly one chairman"));
    }
    Ok(members)
}

/// Blocks the node may be behind the chain head when `installSystem` reads the council.
const MAX_INSTALL_LAG: u32 = 10;

/// Whether the synced block (none before the first one) is close enough to the chain head.
fn caught_up(synced: Option<u32>, head: u32) -> bool {
    synced.is_some_and(|b| b.saturating_add(MAX_INSTALL_LAG) >= head)
}

/// Creates the council (or replaces its members when it exists), signed by the cooperative.
pub async fn push_council(
    api: &Api,
    key: &PrivateKey,
    chairman: Name,
    members: Vec<serde_json::Value>,
) -> Result<()> {
    let soviet = api.contracts.soviet;
    // createboard or updateboard is decided from the synced council: refuse while the node is
    // behind the chain, where a council created meanwhile would not be seen yet
    let synced = api
        .db
        .checkpoint()
        .await
        .map_err(internal)?
        .map(|c| c.block_num);
    let head = api
        .chain
        .get_info()
        .await
        .map_err(|e| internal(format!("get_info: {e}")))?
        .head_block_num;
    if !caught_up(synced, head) {
        return Err(super::guard::unavailable(
            "the node has not caught up with the chain yet; retry in a few seconds",
        ));
    }
    let council = api
        .registry
        .boards(None)
        .await
        .map_err(internal)?
        .into_iter()
        .find(|b| b.kind == name!("soviet"));
    let coop = api.coopname;
    let (action, data) = match council {
        None => (
            name!("createboard"),
            json!({"coopname": coop, "username": chairman, "type": "soviet",
                "members": members, "name": "Совет", "description": ""}),
        ),
        Some(b) => (
            name!("updateboard"),
            json!({"coopname": coop, "username": chairman, "board_id": b.id,
                "members": members, "name": b.name, "description": b.description}),
        ),
    };
    let raw = api
        .chain
        .get_raw_abi(soviet)
        .await
        .map_err(|e| internal(format!("get_raw_abi {soviet}: {e}")))?;
    let def = raw
        .abi
        .ok_or_else(|| internal(format!("{soviet} has no ABI")))?;
    let abi = Abi::from_def(def).map_err(internal)?;
    let encoded = abi.encode_action(action, &data).map_err(internal)?;
    let info = api.chain.get_info().await.map_err(internal)?;
    let head = info
        .head_block_time
        .to_time_point_sec()
        .ok_or_else(|| internal("chain head time out of range"))?;
    let expiration = head
        .checked_add_secs(EXPIRATION_SECS)
        .ok_or_else(|| internal("expiration out of range"))?;
    let mut trx = Transaction::with_tapos(
        expiration,
        info.last_irreversible_block_num,
        &info.last_irreversible_block_id,
    );
    trx.actions = vec![Action {
        account: soviet,
        name: action,
        authorization: vec![PermissionLevel::new(coop, name!("active"))],
        data: Bytes(encoded),
    }];
    let packed = trx.sign(&api.chain_id, &[key]).to_packed();
    let result = api.chain.push_transaction(&packed).await.map_err(|e| {
        tracing::warn!(error = %e, "The council transaction was refused");
        bad_input("the chain refused the council transaction")
    })?;
    if result.failed() {
        return Err(bad_input("the chain refused the council transaction"));
    }
    tracing::info!(%action, "Pushed the council transaction");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_waits_until_the_node_has_caught_up() {
        assert!(!caught_up(None, 0), "nothing synced yet");
        assert!(!caught_up(Some(5), 5 + MAX_INSTALL_LAG + 1));
        assert!(caught_up(Some(5), 5 + MAX_INSTALL_LAG));
        assert!(caught_up(Some(100), 90), "a head read before the last sync");
    }
}
