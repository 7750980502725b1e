//! Per-cooperative PostgreSQL objects, created and dropped idempotently as the superuser: a
//! login role with a generated password and `CONNECTION LIMIT` (no superuser, createdb,
//! createrole, replication), a database owned by it with `REVOKE ALL … FROM PUBLIC`.
//!
//! Identifiers come only from [`CoopName::db_ident`] (`coop_[a-z1-5_]+`), and the password is
//! generated hex; both are still quoted.

use deadpool_postgres::Pool;

use super::StoreError;
use crate::model::CoopName;

fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The cluster, reached as superuser.
#[derive(Clone)]
pub struct TenantPg {
    pool: Pool,
}

impl std::fmt::Debug for TenantPg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TenantPg")
    }
}

impl TenantPg {
    pub fn new(pool: Pool) -> TenantPg {
        TenantPg { pool }
    }

    /// Creates or corrects the role and the database of `coop`. Idempotent: a role left by an
    /// interrupted run gets the stored password and limits again.
    pub async fn ensure(
        &self,
        coop: &CoopName,
        password: &str,
        connection_limit: u32,
    ) -> Result<(), StoreError> {
        let name = coop.db_ident();
        let client = self.pool.get().await?;
        let role_exists = client
            .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&name])
            .await?
            .is_some();
        let attrs = format!(
            "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS \
             CONNECTION LIMIT {connection_limit} PASSWORD {}",
            literal(password)
        );
        let verb = if role_exists { "ALTER" } else { "CREATE" };
        match client
            .batch_execute(&format!("{verb} ROLE {} {attrs}", ident(&name)))
            .await
        {
            Ok(()) => {}
            // A concurrent create won: correct it.
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_OBJECT) => {
                client
                    .batch_execute(&format!("ALTER ROLE {} {attrs}", ident(&name)))
                    .await?;
            }
            Err(e) => return Err(e.into()),
        }
        let db_exists = client
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
            .await?
            .is_some();
        if !db_exists {
            client
                .batch_execute(&format!(
                    "CREATE DATABASE {} OWNER {}",
                    ident(&name),
                    ident(&name)
                ))
                .await?;
        }
        // Connections of the role plus a little room for the superuser's maintenance.
        client
            .batch_execute(&format!(
                "ALTER DATABASE {db} OWNER TO {db}; REVOKE ALL ON DATABASE {db} FROM PUBLIC; \
                 ALTER DATABASE {db} CONNECTION LIMIT {limit}",
                db = ident(&name),
                limit = connection_limit + 2
            ))
            .await?;
        Ok(())
    }

    /// Drops the database (terminating its sessions) and the role. Idempotent.
    pub async fn drop(&self, coop: &CoopName) -> Result<(), StoreError> {
        let name = coop.db_ident();
        let client = self.pool.get().await?;
        client
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                ident(&name)
            ))
            .await?;
        client
            .batch_execute(&format!("DROP ROLE IF EXISTS {}", ident(&name)))
            .await?;
        Ok(())
    }

    /// Names of all cooperative roles (`coop_…`) in the cluster.
    pub async fn roles(&self) -> Result<Vec<String>, StoreError> {
        let client = self.pool.get().await?;
        Ok(client
            .query(
                "SELECT rolname FROM pg_roles WHERE rolname LIKE 'coop\\_%' ORDER BY 1",
                &[],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }
}
