//! Key sources for signed-document verification: the signer's `active` keys from the chain
//! (`get_account`), falling back to the key stored for an account that is not on chain yet
//! (a [`StoredKeys`] implementation the caller plugs in; [`NoStoredKeys`] knows none).

use std::future::Future;

use chain::api::{ChainApiError, ChainClient};
use chain::keys::PublicKey;
use chain::{name, Name};

use super::signed::SignerKeys;

/// Looks up the keys a signer may sign with.
pub trait KeySource: Sync {
    fn signer_keys(&self, signer: Name) -> impl Future<Output = Result<SignerKeys, String>> + Send;
}

/// Public keys the node stored for accounts not yet on chain (registered users' `public_key`).
pub trait StoredKeys: Sync {
    fn stored_key(
        &self,
        username: Name,
    ) -> impl Future<Output = Result<Option<PublicKey>, String>> + Send;
}

/// No stored keys: only on-chain accounts can sign.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoStoredKeys;

impl StoredKeys for NoStoredKeys {
    async fn stored_key(&self, _username: Name) -> Result<Option<PublicKey>, String> {
        Ok(None)
    }
}

/// The chain's `active` keys of an account, else the stored key.
#[derive(Debug, Clone)]
pub struct ChainKeys<S = NoStoredKeys> {
    client: ChainClient,
    stored: S,
}

impl ChainKeys<NoStoredKeys> {
    pub fn new(client: ChainClient) -> ChainKeys<NoStoredKeys> {
        ChainKeys {
            client,
            stored: NoStoredKeys,
        }
    }
}

impl<S: StoredKeys> ChainKeys<S> {
    pub fn with_stored(client: ChainClient, stored: S) -> ChainKeys<S> {
        ChainKeys { client, stored }
    }
}

impl<S: StoredKeys> KeySource for ChainKeys<S> {
    async fn signer_keys(&self, signer: Name) -> Result<SignerKeys, String> {
        match self.client.get_account(signer).await {
            Ok(account) => Ok(SignerKeys::OnChain(
                account
                    .permission(name!("active"))
                    .map(|p| p.required_auth.keys.iter().map(|k| k.key.clone()).collect())
                    .unwrap_or_default(),
            )),
            // nodeos (and the devchain) answer an unknown account with this exception
            Err(ChainApiError::Leap { name, .. }) if name == "account_query_exception" => {
                match self.stored.stored_key(signer).await? {
                    Some(key) => Ok(SignerKeys::Stored(vec![key])),
                    None => Ok(SignerKeys::Unknown),
                }
            }
            Err(e) => Err(e.to_string()),
        }
    }
}
