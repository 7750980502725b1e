//! The node's database: the only module with SQL or `tokio_postgres`/`deadpool_postgres`
//! imports. Everything else calls the typed functions here.
//!
//! - this file: the pool, migrations, identity, sync state, ABI history, resync wipe;
//! - [`write`]: storing a batch of blocks (and undoing forks) in one transaction with the
//!   checkpoint;
//! - [`read`]: table rows (current or as of a block), row versions, action receipts;
//! - [`registry`]: the typed registries, current or as of a block;
//! - [`digest`]: the canonical digest of everything derived from the chain;
//! - [`private`]: private data, append-only and versioned by block;
//! - [`documents`]: generated documents by `(doc_hash, username)`;
//! - [`payments`]: payments, payment methods, registration packages;
//! - [`outbox`]: chain intents and their transactions;
//! - [`mail`]: the email outbox.
//! - [`auth`]: users and refresh tokens; [`system`]: system state and sealed keys.

pub mod auth;
pub mod digest;
pub mod documents;
pub mod invitations;
pub mod mail;
pub mod outbox;
pub mod payments;
pub mod private;
pub mod read;
pub mod registration;
pub mod registry;
pub mod system;
pub mod write;

use std::str::FromStr;

use chain::{Checksum256, Name};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use thiserror::Error;
use tokio_postgres::NoTls;

use crate::config::DatabaseUrl;

/// Why a database call failed.
#[derive(Debug, Error)]
pub enum DbError {
    #[error("database: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("database connection pool: {0}")]
    Pool(String),
    #[error(transparent)]
    Migration(#[from] migrations::MigrationError),
    #[error("this database belongs to {found}, not to {expected}")]
    Identity { expected: String, found: String },
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("value out of range for the database: {0}")]
    Range(String),
}

impl From<deadpool_postgres::PoolError> for DbError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        DbError::Pool(e.to_string())
    }
}

/// Checks that `url` is a PostgreSQL connection string (URL or key=value form).
pub fn validate_url(url: &str) -> Result<(), String> {
    tokio_postgres::Config::from_str(url)
        .map(drop)
        .map_err(|e| format!("not a PostgreSQL connection string: {e}"))
}

/// Where the sync stands: the checkpoint and the stored positions LIB..checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncState {
    pub checkpoint: Option<Checkpoint>,
    /// Ascending; always contains the checkpoint when there is one.
    pub positions: Vec<(u32, Checksum256)>,
}

/// The last block whose data is fully stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    pub block_num: u32,
    pub block_id: Checksum256,
    pub last_irreversible: u32,
}

/// A stored ABI version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAbi {
    pub account: Name,
    /// 0 for the `get_raw_abi` bootstrap.
    pub block_num: u32,
    pub abi: Vec<u8>,
}

/// A pool of connections to the cooperative's database.
#[derive(Debug, Clone)]
pub struct Db {
    pool: Pool,
}

impl Db {
    /// Builds the pool; connections are opened on first use.
    pub fn connect(url: &DatabaseUrl, pool_size: usize) -> Result<Db, DbError> {
        let pg = tokio_postgres::Config::from_str(url.expose())?;
        let manager = Manager::from_config(
            pg,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size)
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| DbError::Pool(e.to_string()))?;
        Ok(Db { pool })
    }

    /// Connections: `(open, idle, max)`.
    pub fn pool_status(&self) -> (usize, usize, usize) {
        let s = self.pool.status();
        (s.size, s.available, s.max_size)
    }

    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object, DbError> {
        Ok(self.pool.get().await?)
    }

    /// Applies pending tenant migrations.
    pub async fn migrate(&self) -> Result<(), DbError> {
        let mut client = self.client().await?;
        let report = migrations::apply(&mut client, &migrations::TENANT).await?;
        tracing::info!(applied = ?report.applied, current = ?report.current, "Schema is current");
        Ok(())
    }

    /// `SELECT 1`.
    pub async fn ping(&self) -> Result<(), DbError> {
        let client = self.client().await?;
        client.query_one("SELECT 1", &[]).await?;
        Ok(())
    }

    /// Records the chain and cooperative on first use; refuses a database of another one.
    pub async fn check_identity(&self, chain_id: &Checksum256, coop: Name) -> Result<(), DbError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO sync_identity (chain_id, coopname) VALUES ($1, $2)
                 ON CONFLICT (singleton) DO NOTHING",
                &[&chain_id.as_bytes().as_slice(), &coop.to_string()],
            )
            .await?;
        let row = client
            .query_one("SELECT chain_id, coopname FROM sync_identity", &[])
            .await?;
        let (id, name): (Vec<u8>, String) = (row.get(0), row.get(1));
        if id != chain_id.as_bytes() || name != coop.to_string() {
            return Err(DbError::Identity {
                expected: format!("{coop} on chain {}", chain_id.to_hex()),
                found: format!("{name} on chain {}", hex::encode(&id)),
            });
        }
        Ok(())
    }

    /// The checkpoint alone (no stored positions): the synced block and the synced LIB.
    pub async fn checkpoint(&self) -> Result<Option<Checkpoint>, DbError> {
        let client = self.client().await?;
        read_checkpoint(&client).await
    }

    /// The checkpoint and the stored positions.
    pub async fn sync_state(&self) -> Result<SyncState, DbError> {
        let client = self.client().await?;
        let checkpoint = read_checkpoint(&client).await?;
        let positions = client
            .query(
                "SELECT block_num, block_id FROM sync_positions ORDER BY block_num",
                &[],
            )
            .await?
            .iter()
            .map(|row| Ok((block_num(row.get(0))?, checksum(row.get(1))?)))
            .collect::<Result<Vec<_>, DbError>>()?;
        Ok(SyncState {
            checkpoint,
            positions,
        })
    }

    /// Every stored ABI version, ascending by account and block.
    pub async fn abis(&self) -> Result<Vec<StoredAbi>, DbError> {
        let client = self.client().await?;
        client
            .query(
                "SELECT account, block_num, abi FROM chain_abis ORDER BY account, block_num",
                &[],
            )
            .await?
            .iter()
            .map(|row| {
                Ok(StoredAbi {
                    account: name(row.get(0))?,
                    block_num: block_num(row.get(1))?,
                    abi: row.get(2),
                })
            })
            .collect()
    }

    /// Stores a `get_raw_abi` result as the account's ABI before any synced block.
    pub async fn store_bootstrap_abi(&self, account: Name, abi: &[u8]) -> Result<(), DbError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO chain_abis (account, block_num, abi) VALUES ($1, 0, $2)
                 ON CONFLICT (account, block_num) DO UPDATE SET abi = EXCLUDED.abi",
                &[&account.to_string(), &abi],
            )
            .await?;
        Ok(())
    }

    /// Removes everything derived from the chain (the sync starts over); private data stays.
    pub async fn wipe_chain_data(&self) -> Result<(), DbError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.batch_execute(
            "TRUNCATE chain_actions, chain_row_history, chain_rows, chain_abis, sync_positions,
                      sync_checkpoint",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A dedicated connection for storing blocks.
    pub async fn writer(&self) -> Result<write::Writer, DbError> {
        Ok(write::Writer::new(self.client().await?))
    }

    /// Closes `old` and gives a writer on another connection: after a catch-up, so an idle
    /// node does not keep the catch-up's statement buffers.
    pub async fn renew_writer(&self, old: write::Writer) -> Result<write::Writer, DbError> {
        old.close();
        self.writer().await
    }
}

async fn read_checkpoint(client: &tokio_postgres::Client) -> Result<Option<Checkpoint>, DbError> {
    client
        .query_opt(
            "SELECT block_num, block_id, last_irreversible FROM sync_checkpoint",
            &[],
        )
        .await?
        .map(|row| {
            Ok(Checkpoint {
                block_num: block_num(row.get(0))?,
                block_id: checksum(row.get(1))?,
                last_irreversible: block_num(row.get(2))?,
            })
        })
        .transpose()
}

pub(crate) fn block_num(v: i64) -> Result<u32, DbError> {
    u32::try_from(v).map_err(|_| DbError::Corrupt(format!("block number {v}")))
}

pub(crate) fn checksum(v: Vec<u8>) -> Result<Checksum256, DbError> {
    <[u8; 32]>::try_from(v.as_slice())
        .map(Checksum256)
        .map_err(|_| DbError::Corrupt(format!("checksum of {} bytes", v.len())))
}

pub(crate) fn name(v: String) -> Result<Name, DbError> {
    Name::parse(&v).map_err(|_| DbError::Corrupt(format!("name {v:?}")))
}
