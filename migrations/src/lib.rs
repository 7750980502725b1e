//! Embedded SQL migrations for the control-plane and tenant databases, and the runner that
//! applies them.
//!
//! The SQL lives as plain files in `migrations/control-plane/` and `migrations/tenant/`
//! (`V<version>__<name>.sql`); `build.rs` embeds them. [`apply`] brings a database to the newest
//! version: all pending migrations run in ONE transaction under an advisory lock, so a failing
//! migration leaves the schema exactly as it was, concurrent starters wait for each other, and
//! applying again is a no-op. Applied migrations are recorded with a SHA-256 of their SQL; an
//! edited or unknown applied migration is refused instead of silently diverging.

use sha2::{Digest, Sha256};
use thiserror::Error;
use tokio_postgres::Client;

/// One migration file.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

impl Migration {
    /// Hex SHA-256 of the SQL text, recorded when the migration is applied.
    pub fn checksum(&self) -> String {
        hex::encode(Sha256::digest(self.sql.as_bytes()))
    }
}

/// A named, ordered list of migrations for one kind of database.
#[derive(Debug, Clone, Copy)]
pub struct MigrationSet {
    /// Used in error messages and as the advisory-lock key.
    pub name: &'static str,
    pub migrations: &'static [Migration],
}

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// The control plane's own database.
pub const CONTROL_PLANE: MigrationSet = MigrationSet {
    name: "control-plane",
    migrations: CONTROL_PLANE_MIGRATIONS,
};

/// Each cooperative's tenant-node database.
pub const TENANT: MigrationSet = MigrationSet {
    name: "tenant",
    migrations: TENANT_MIGRATIONS,
};

/// Why the schema could not be brought up to date. Nothing was changed in any of these cases.
#[derive(Debug, Error)]
pub enum MigrationError {
    #[error("migration {set} V{version} ({name}) failed; the schema was left unchanged: {source}")]
    Failed {
        set: &'static str,
        version: u32,
        name: &'static str,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error(
        "migration {set} V{version} ({name}) was edited after it was applied \
         (recorded checksum {recorded}, embedded {embedded}); add a new migration instead"
    )]
    ChecksumMismatch {
        set: &'static str,
        version: u32,
        name: String,
        recorded: String,
        embedded: String,
    },
    #[error(
        "the database has {set} migration V{version} ({name}) that this binary does not know; \
         it was upgraded by a newer version"
    )]
    UnknownApplied {
        set: &'static str,
        version: u32,
        name: String,
    },
    #[error("migration bookkeeping failed: {0}")]
    Database(#[from] tokio_postgres::Error),
}

/// What [`apply`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Versions applied by this call, in order (empty when the schema was already current).
    pub applied: Vec<u32>,
    /// Newest version now in the database.
    pub current: Option<u32>,
}

const HISTORY_DDL: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    set_name   text        NOT NULL,
    version    integer     NOT NULL,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (set_name, version)
)";

/// Applies every pending migration of `set` in one transaction.
pub async fn apply(client: &mut Client, set: &MigrationSet) -> Result<Report, MigrationError> {
    let tx = client.transaction().await?;
    // Serialise concurrent appliers of the same set on this database.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('schema_migrations'), hashtext($1))",
        &[&set.name],
    )
    .await?;
    tx.batch_execute(HISTORY_DDL).await?;
    let rows = tx
        .query(
            "SELECT version, name, checksum FROM schema_migrations WHERE set_name = $1 ORDER BY version",
            &[&set.name],
        )
        .await?;

    let mut applied_versions = Vec::with_capacity(rows.len());
    for row in &rows {
        let version: i32 = row.get(0);
        let name: String = row.get(1);
        let recorded: String = row.get(2);
        let version = u32::try_from(version).unwrap_or(u32::MAX);
        let Some(known) = set.migrations.iter().find(|m| m.version == version) else {
            return Err(MigrationError::UnknownApplied {
                set: set.name,
                version,
                name,
            });
        };
        let embedded = known.checksum();
        if embedded != recorded {
            return Err(MigrationError::ChecksumMismatch {
                set: set.name,
                version,
                name,
                recorded,
                embedded,
            });
        }
        applied_versions.push(version);
    }

    let mut report = Report {
        applied: Vec::new(),
        current: applied_versions.last().copied(),
    };
    for migration in set
        .migrations
        .iter()
        .filter(|m| !applied_versions.contains(&m.version))
    {
        let failed = |source| MigrationError::Failed {
            set: set.name,
            version: migration.version,
            name: migration.name,
            source,
        };
        tx.batch_execute(migration.sql).await.map_err(failed)?;
        let version = i32::try_from(migration.version).unwrap_or(i32::MAX);
        tx.execute(
            "INSERT INTO schema_migrations (set_name, version, name, checksum) VALUES ($1, $2, $3, $4)",
            &[&set.name, &version, &migration.name, &migration.checksum()],
        )
        .await
        .map_err(failed)?;
        tracing::info!(
            set = set.name,
            version = migration.version,
            name = migration.name,
            "Applied migration"
        );
        report.applied.push(migration.version);
        report.current = Some(migration.version);
    }
    tx.commit().await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_are_ordered_and_non_empty() {
        for set in [CONTROL_PLANE, TENANT] {
            assert!(!set.migrations.is_empty(), "{} has no migrations", set.name);
            let versions: Vec<u32> = set.migrations.iter().map(|m| m.version).collect();
            let mut sorted = versions.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(
                versions, sorted,
                "{} versions must be unique and ascending",
                set.name
            );
        }
    }
}
