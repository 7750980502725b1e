//! The control plane's SQL, all of it: the registry of cooperatives in its own database
//! (`Store`) and the per-cooperative roles and databases in the cluster (`tenant`).

pub mod tenant;

use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use serde::Serialize;
use tokio_postgres::error::SqlState;
use tokio_postgres::{NoTls, Row};

use crate::model::{CoopName, Desired, NewCoop, Observed, RuntimeKind};

/// Errors callers branch on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cooperative {0} already exists")]
    Exists(String),
    #[error("domain {0} is already used by another cooperative")]
    DomainTaken(String),
    #[error("no free node port in {0}")]
    NoPort(String),
    #[error("cooperative {0} not found")]
    NotFound(String),
    #[error("database: {0}")]
    Db(String),
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        StoreError::Db(match e.as_db_error() {
            Some(db) => db.message().to_owned(),
            None => e.to_string(),
        })
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::Db(e.to_string())
    }
}

/// One cooperative as stored (secrets stay sealed).
#[derive(Debug, Clone, Serialize)]
pub struct CoopRow {
    pub coopname: CoopName,
    pub desired_state: Desired,
    pub observed_state: Observed,
    pub status_reason: Option<String>,
    pub runtime: RuntimeKind,
    pub chain_url: String,
    pub ship_url: String,
    pub chain_id: String,
    pub domain: Option<String>,
    pub memory_mb: u32,
    pub connection_limit: u32,
    pub port: Option<u16>,
    pub generation: i64,
    pub attempts: u32,
    pub restarts: u32,
    /// Seconds until the next retry (0 when due).
    pub retry_in_secs: f64,
    /// Seconds in the current observed state.
    pub state_age_secs: f64,
    #[serde(skip)]
    pub secrets: Option<Vec<u8>>,
}

const COLUMNS: &str =
    "coopname, desired_state, observed_state, status_reason, runtime, chain_url, \
    ship_url, chain_id, domain, memory_mb, connection_limit, port, generation, attempts, restarts, \
    GREATEST(0, EXTRACT(EPOCH FROM next_attempt_at - now()))::float8, \
    EXTRACT(EPOCH FROM now() - state_since)::float8, secrets";

fn row(r: &Row) -> Result<CoopRow, StoreError> {
    let bad = |what: &str| StoreError::Db(format!("unexpected {what} in the registry"));
    let name: String = r.get(0);
    Ok(CoopRow {
        coopname: CoopName::parse(&name).map_err(|_| bad("cooperative name"))?,
        desired_state: Desired::parse(r.get(1)).ok_or_else(|| bad("desired state"))?,
        observed_state: Observed::parse(r.get(2)).ok_or_else(|| bad("observed state"))?,
        status_reason: r.get(3),
        runtime: RuntimeKind::parse(r.get(4)).ok_or_else(|| bad("runtime"))?,
        chain_url: r.get(5),
        ship_url: r.get(6),
        chain_id: r.get(7),
        domain: r.get(8),
        memory_mb: u32::try_from(r.get::<_, i32>(9)).map_err(|_| bad("memory"))?,
        connection_limit: u32::try_from(r.get::<_, i32>(10)).map_err(|_| bad("limit"))?,
        port: r
            .get::<_, Option<i32>>(11)
            .map(u16::try_from)
            .transpose()
            .map_err(|_| bad("port"))?,
        generation: r.get(12),
        attempts: u32::try_from(r.get::<_, i32>(13)).unwrap_or(0),
        restarts: u32::try_from(r.get::<_, i32>(14)).unwrap_or(0),
        retry_in_secs: r.get(15),
        state_age_secs: r.get(16),
        secrets: r.get(17),
    })
}

/// The control plane's own database.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

/// A pool of `size` connections to `url`.
pub fn pool(url: &str, size: usize) -> anyhow::Result<Pool> {
    let mut pg = tokio_postgres::Config::from_str(url)?;
    pg.connect_timeout(Duration::from_secs(10));
    let manager = Manager::from_config(
        pg,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Ok(Pool::builder(manager)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .build()?)
}

impl Store {
    pub fn new(pool: Pool) -> Store {
        Store { pool }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.pool.get().await?.simple_query("SELECT 1").await?;
        Ok(())
    }

    /// Inserts a new cooperative with its sealed secrets and the lowest free port of `ports`
    /// that `port_free` accepts, in one transaction.
    pub async fn insert(
        &self,
        coop: &NewCoop,
        sealed_secrets: &[u8],
        ports: std::ops::RangeInclusive<u16>,
        port_free: impl Fn(u16) -> bool,
    ) -> Result<CoopRow, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // Serialises port allocation between concurrent creates.
        tx.batch_execute("LOCK TABLE cooperatives IN SHARE ROW EXCLUSIVE MODE")
            .await?;
        let used: std::collections::HashSet<u16> = tx
            .query("SELECT port FROM cooperatives WHERE port IS NOT NULL", &[])
            .await?
            .iter()
            .filter_map(|r| u16::try_from(r.get::<_, i32>(0)).ok())
            .collect();
        let port = ports
            .clone()
            .find(|p| !used.contains(p) && port_free(*p))
            .ok_or_else(|| StoreError::NoPort(format!("{}-{}", ports.start(), ports.end())))?;
        let result = tx
            .query_one(
                &format!(
                    "INSERT INTO cooperatives (coopname, desired_state, observed_state, runtime, \
                     chain_url, ship_url, chain_id, domain, memory_mb, connection_limit, port, secrets) \
                     VALUES ($1, 'running', 'pending', $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                     RETURNING {COLUMNS}"
                ),
                &[
                    &coop.name.as_str(),
                    &coop.runtime.as_str(),
                    &coop.chain_url,
                    &coop.ship_url,
                    &coop.chain_id,
                    &coop.domain,
                    &i32::try_from(coop.memory_mb).unwrap_or(i32::MAX),
                    &i32::try_from(coop.connection_limit).unwrap_or(i32::MAX),
                    &i32::from(port),
                    &sealed_secrets,
                ],
            )
            .await;
        let r = match result {
            Ok(r) => r,
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                let constraint = e
                    .as_db_error()
                    .and_then(|d| d.constraint())
                    .unwrap_or_default()
                    .to_owned();
                return Err(if constraint.contains("domain") {
                    StoreError::DomainTaken(coop.domain.clone().unwrap_or_default())
                } else {
                    StoreError::Exists(coop.name.to_string())
                });
            }
            Err(e) => return Err(e.into()),
        };
        let row = row(&r)?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn list(&self) -> Result<Vec<CoopRow>, StoreError> {
        let client = self.pool.get().await?;
        client
            .query(
                &format!("SELECT {COLUMNS} FROM cooperatives ORDER BY coopname"),
                &[],
            )
            .await?
            .iter()
            .map(row)
            .collect()
    }

    pub async fn get(&self, name: &CoopName) -> Result<CoopRow, StoreError> {
        let client = self.pool.get().await?;
        let r = client
            .query_opt(
                &format!("SELECT {COLUMNS} FROM cooperatives WHERE coopname = $1"),
                &[&name.as_str()],
            )
            .await?
            .ok_or_else(|| StoreError::NotFound(name.to_string()))?;
        row(&r)
    }

    /// Sets the desired state (a deleted cooperative stays deleted) and makes the reconciler
    /// act now. Returns the row.
    pub async fn set_desired(
        &self,
        name: &CoopName,
        desired: Desired,
    ) -> Result<CoopRow, StoreError> {
        self.update(
            name,
            "desired_state = CASE WHEN desired_state = 'deleted' THEN 'deleted' ELSE $2 END, \
             attempts = 0, next_attempt_at = now()",
            desired.as_str(),
        )
        .await
    }

    /// Asks for a restart: a node started for an older generation is replaced.
    pub async fn bump_generation(&self, name: &CoopName) -> Result<CoopRow, StoreError> {
        self.update(
            name,
            "generation = generation + 1, attempts = 0, next_attempt_at = now(), \
             status_reason = NULLIF($2, '')",
            "",
        )
        .await
    }

    async fn update(&self, name: &CoopName, set: &str, arg: &str) -> Result<CoopRow, StoreError> {
        let client = self.pool.get().await?;
        let r = client
            .query_opt(
                &format!(
                    "UPDATE cooperatives SET {set}, updated_at = now() WHERE coopname = $1 \
                     RETURNING {COLUMNS}"
                ),
                &[&name.as_str(), &arg],
            )
            .await?
            .ok_or_else(|| StoreError::NotFound(name.to_string()))?;
        row(&r)
    }

    /// Records an observed state (its age restarts only when it changes) and the reason.
    pub async fn observe(
        &self,
        name: &CoopName,
        observed: Observed,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE cooperatives SET \
                 state_since = CASE WHEN observed_state = $2 THEN state_since ELSE now() END, \
                 observed_state = $2, status_reason = $3, updated_at = now() \
                 WHERE coopname = $1",
                &[&name.as_str(), &observed.as_str(), &reason],
            )
            .await?;
        Ok(())
    }

    /// A failed step: state `failed`, the reason, and the next attempt after `retry_in`.
    pub async fn fail(
        &self,
        name: &CoopName,
        reason: &str,
        retry_in: Duration,
    ) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE cooperatives SET \
                 state_since = CASE WHEN observed_state = 'failed' THEN state_since ELSE now() END, \
                 observed_state = 'failed', status_reason = $2, attempts = attempts + 1, \
                 next_attempt_at = now() + make_interval(secs => $3), updated_at = now() \
                 WHERE coopname = $1",
                &[&name.as_str(), &reason, &retry_in.as_secs_f64()],
            )
            .await?;
        Ok(())
    }

    /// The node became ready: attempts start over.
    pub async fn reset_attempts(&self, name: &CoopName) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE cooperatives SET attempts = 0 WHERE coopname = $1 AND attempts <> 0",
                &[&name.as_str()],
            )
            .await?;
        Ok(())
    }

    pub async fn count_restart(&self, name: &CoopName) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE cooperatives SET restarts = restarts + 1 WHERE coopname = $1",
                &[&name.as_str()],
            )
            .await?;
        Ok(())
    }

    /// Removes a cooperative whose resources are gone.
    pub async fn remove(&self, name: &CoopName) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "DELETE FROM cooperatives WHERE coopname = $1 AND desired_state = 'deleted'",
                &[&name.as_str()],
            )
            .await?;
        Ok(())
    }
}
