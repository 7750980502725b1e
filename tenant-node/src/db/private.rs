//! Private data storage: append-only versions tagged with the synced head block (the
//! `sync_checkpoint` block at the write) and a sequence number, read as of a block and an
//! optional snapshot sequence (`paperwork::private` has the rules).
//!
//! Writes and snapshots serialise on one advisory lock, so a snapshot's sequence number never
//! skips a version that commits later: every version with `seq <= snapshot` was committed
//! before the snapshot was taken.

use deadpool_postgres::GenericClient;

use crate::db::{block_num, Db, DbError};
use crate::paperwork::private::{AsOf, PrivateKind, StoredVersion, Written};

/// Advisory lock key (with `hashtext('private_data')`) of private-data writes and snapshots.
pub(crate) const LOCK: &str = "SELECT pg_advisory_xact_lock(hashtext('private_data'), 1)";

/// The node's synced head block: the checkpoint, 0 before the first block is stored.
pub(crate) async fn head_block<C: GenericClient>(client: &C) -> Result<u32, DbError> {
    let row = client
        .query_opt("SELECT block_num FROM sync_checkpoint", &[])
        .await?;
    row.map_or(Ok(0), |r| block_num(r.get(0)))
}

/// Stored JSON text back to a value.
pub(crate) fn json(text: Option<String>) -> Result<Option<serde_json::Value>, DbError> {
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| DbError::Corrupt(format!("stored JSON: {e}")))
    })
    .transpose()
}

fn version(row: &tokio_postgres::Row) -> Result<StoredVersion, DbError> {
    let kind: String = row.get(1);
    Ok(StoredVersion {
        seq: row.get(0),
        kind: PrivateKind::parse(&kind)
            .ok_or_else(|| DbError::Corrupt(format!("private data kind {kind:?}")))?,
        subject: row.get(2),
        block_num: block_num(row.get(3))?,
        data: json(row.get(4))?,
        image: row.get(5),
    })
}

/// A consistent point to generate a document at: the synced head block and the newest
/// private-data version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    pub block_num: u32,
    pub seq: i64,
}

impl Db {
    /// The node's synced head block (0 before the first block is stored).
    pub async fn head_block(&self) -> Result<u32, DbError> {
        let client = self.client().await?;
        head_block(&client).await
    }

    /// Appends a version (already validated) tagged with the synced head block.
    pub async fn write_private(
        &self,
        kind: PrivateKind,
        subject: &str,
        data: Option<&serde_json::Value>,
        image: Option<&[u8]>,
    ) -> Result<Written, DbError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(LOCK, &[]).await?;
        let block = head_block(&tx).await?;
        let row = tx
            .query_one(
                "INSERT INTO private_data (kind, subject, block_num, data, image)
                 VALUES ($1, $2, $3, $4::text::jsonb, $5) RETURNING seq",
                &[
                    &kind.as_str(),
                    &subject,
                    &i64::from(block),
                    &data.map(serde_json::Value::to_string),
                    &image,
                ],
            )
            .await?;
        tx.commit().await?;
        Ok(Written {
            seq: row.get(0),
            block_num: block,
        })
    }

    /// The synced head block and the newest committed private-data version.
    pub async fn private_snapshot(&self) -> Result<Snapshot, DbError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(LOCK, &[]).await?;
        let block = head_block(&tx).await?;
        let row = tx
            .query_one("SELECT COALESCE(MAX(seq), 0) FROM private_data", &[])
            .await?;
        tx.commit().await?;
        Ok(Snapshot {
            block_num: block,
            seq: row.get(0),
        })
    }

    /// The newest version of `subject` among `kinds` as of `as_of`.
    pub async fn private_at(
        &self,
        kinds: &[PrivateKind],
        subject: &str,
        as_of: AsOf,
    ) -> Result<Option<StoredVersion>, DbError> {
        let client = self.client().await?;
        let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        let row = client
            .query_opt(
                "SELECT seq, kind, subject, block_num, data::text, image FROM private_data
                 WHERE subject = $1 AND kind = ANY($2) AND block_num <= $3
                   AND ($4::bigint IS NULL OR seq <= $4)
                 ORDER BY block_num DESC, seq DESC LIMIT 1",
                &[&subject, &kinds, &i64::from(as_of.block), &as_of.seq],
            )
            .await?;
        row.as_ref().map(version).transpose()
    }

    /// Every version of `subject` of `kind`, oldest first.
    pub async fn private_versions(
        &self,
        kind: PrivateKind,
        subject: &str,
    ) -> Result<Vec<StoredVersion>, DbError> {
        let client = self.client().await?;
        client
            .query(
                "SELECT seq, kind, subject, block_num, data::text, image FROM private_data
                 WHERE subject = $1 AND kind = $2 ORDER BY block_num, seq",
                &[&subject, &kind.as_str()],
            )
            .await?
            .iter()
            .map(version)
            .collect()
    }
}
