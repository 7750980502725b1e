//! The outbox's [`KeySource`] over key custody: the cooperative's `active` key as stored sealed
//! by `installSystem`/`setWif`, opened with the secret-at-rest key for each signature (a key
//! replaced through `setWif` is used from the next transaction on; nothing is cached).

use std::fmt;

use chain::keys::Signature;
use chain::{Checksum256, Name};

use super::sender::{BoxFuture, KeySource};
use crate::config::Secret;
use crate::custody;
use crate::db::Db;

/// Signs with the sealed `active` key of the node's database.
pub struct CustodyKey {
    db: Db,
    secret: Secret,
}

impl CustodyKey {
    pub fn new(db: Db, secret: Secret) -> CustodyKey {
        CustodyKey { db, secret }
    }
}

impl fmt::Debug for CustodyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CustodyKey(<sealed>)")
    }
}

impl KeySource for CustodyKey {
    fn sign<'a>(
        &'a self,
        coopname: Name,
        digest: &'a Checksum256,
    ) -> BoxFuture<'a, anyhow::Result<Signature>> {
        Box::pin(async move {
            let stored = self
                .db
                .stored_key("active")
                .await?
                .ok_or_else(|| anyhow::anyhow!("no key is stored for {coopname}@active yet"))?;
            let key = custody::open(self.secret.expose(), coopname, &stored.sealed)?;
            Ok(key.sign_digest(digest))
        })
    }
}
