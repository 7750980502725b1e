//! System state and key custody: the SQL of `initSystem`, `installSystem` and `setWif`.

use super::{Db, DbError};
use crate::custody::Sealed;

/// The system's status (no row: `maintenance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
#[graphql(rename_items = "snake_case")]
pub enum SystemStatus {
    Install,
    Active,
    Maintenance,
}

impl SystemStatus {
    fn parse(s: &str) -> Result<SystemStatus, DbError> {
        match s {
            "install" => Ok(SystemStatus::Install),
            "active" => Ok(SystemStatus::Active),
            "maintenance" => Ok(SystemStatus::Maintenance),
            other => Err(DbError::Corrupt(format!("system status {other:?}"))),
        }
    }
}

/// A stored (sealed) key.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub public_key: String,
    pub sealed: Sealed,
}

impl Db {
    /// The status and the `initSystem` payload (JSON text), if initialised.
    pub async fn system_state(&self) -> Result<Option<(SystemStatus, String)>, DbError> {
        let client = self.client().await?;
        client
            .query_opt("SELECT status, init::text FROM system_state", &[])
            .await?
            .map(|row| Ok((SystemStatus::parse(row.get(0))?, row.get(1))))
            .transpose()
    }

    /// Stores the init payload with status `install`; false if the system was initialised.
    pub async fn init_system(&self, init_json: &str) -> Result<bool, DbError> {
        let client = self.client().await?;
        let n = client
            .execute(
                "INSERT INTO system_state (status, init) VALUES ('install', $1::text::jsonb)
                 ON CONFLICT (singleton) DO NOTHING",
                &[&init_json],
            )
            .await?;
        Ok(n == 1)
    }

    /// `install` → `active`; false if the status was not `install`.
    pub async fn activate_system(&self) -> Result<bool, DbError> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE system_state SET status = 'active', updated_at = now()
                 WHERE status = 'install'",
                &[],
            )
            .await?;
        Ok(n == 1)
    }

    /// Stores (replaces) the sealed key of `permission`.
    pub async fn store_key(
        &self,
        permission: &str,
        public_key: &str,
        sealed: &Sealed,
    ) -> Result<(), DbError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO custody_keys (permission, public_key, nonce, ciphertext)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (permission) DO UPDATE SET public_key = EXCLUDED.public_key,
                     nonce = EXCLUDED.nonce, ciphertext = EXCLUDED.ciphertext, updated_at = now()",
                &[&permission, &public_key, &sealed.nonce, &sealed.ciphertext],
            )
            .await?;
        Ok(())
    }

    pub async fn stored_key(&self, permission: &str) -> Result<Option<StoredKey>, DbError> {
        let client = self.client().await?;
        Ok(client
            .query_opt(
                "SELECT public_key, nonce, ciphertext FROM custody_keys WHERE permission = $1",
                &[&permission],
            )
            .await?
            .map(|row| StoredKey {
                public_key: row.get(0),
                sealed: Sealed {
                    nonce: row.get(1),
                    ciphertext: row.get(2),
                },
            }))
    }
}
