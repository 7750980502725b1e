//! The reconcile loop: desired state (rows) against observed state (runtime, probes), several
//! cooperatives at a time, quick re-checks while a node starts. Every step is idempotent and bounded by a deadline; a failed step
//! records a visible reason, state `failed` and a retry time with exponential backoff, so no
//! cooperative stays in a transitional state. Restarting the control plane at any moment
//! converges: rows are written before resources are made and removed after they are gone.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::StreamExt as _;
use tokio::sync::watch;
use tracing::Instrument as _;

use crate::db::CoopRow;
use crate::metrics::FailureReason;
use crate::model::{backoff, CoopName, CoopSecrets, Desired, Observed};
use crate::runtime::{NodeRuntime, NodeSpec, NodeStatus};
use crate::service::Shared;

/// Cooperatives reconciled at once in a pass.
const CONCURRENCY: usize = 16;
/// Pause before the next pass while a cooperative is in a transitional state (a node starting):
/// such passes look at those cooperatives only, so a node is seen ready (and its route
/// published) within this much of answering instead of a whole `reconcile_interval`.
const FAST_RECHECK: Duration = Duration::from_millis(50);

/// Runs passes until `stop` turns true: a full pass every `reconcile_interval` and after every
/// API change, quick passes over the transitional cooperatives in between.
pub(crate) async fn run(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut routes = crate::routes::Publisher::default();
    let interval = shared.config.reconcile_interval;
    let mut full = true;
    let mut last_full = Instant::now();
    loop {
        let started = Instant::now();
        if full {
            last_full = started;
        }
        let busy = match pass(&shared, &mut routes, full).await {
            Ok(busy) => busy,
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "Reconcile pass failed");
                false
            }
        };
        shared.metrics.reconciled(started.elapsed());
        let wait = if busy {
            FAST_RECHECK.min(interval)
        } else {
            interval.saturating_sub(last_full.elapsed())
        };
        full = tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            _ = shared.kick.notified() => true,
            _ = tokio::time::sleep(wait) => last_full.elapsed() >= interval,
        };
    }
}

/// One pass over every cooperative (`full`) or over the transitional ones only. Returns whether
/// a cooperative is still in a transitional state.
async fn pass(
    shared: &Shared,
    routes: &mut crate::routes::Publisher,
    full: bool,
) -> anyhow::Result<bool> {
    let rows = shared.store.list().await?;
    if let Err(e) = sync_hba(shared, &rows).await {
        shared.metrics.failed(FailureReason::Hba);
        tracing::warn!(error = %format!("{e:#}"), "Cannot update pg_hba.conf");
    }
    // Cooperatives are independent: up to `CONCURRENCY` of them are reconciled at once, so one
    // slow provisioning or probe does not hold up the others.
    futures_util::stream::iter(
        rows.iter()
            .filter(|r| full || r.observed_state.is_transitional()),
    )
    .for_each_concurrent(CONCURRENCY, |row| async move {
            let span = tracing::info_span!("reconcile", coop = %row.coopname);
            if let Err(e) = reconcile_one(shared, row).instrument(span).await {
                tracing::warn!(coop = %row.coopname, error = %format!("{e:#}"), "Cannot record a failure");
            }
        })
        .await;
    let rows = shared.store.list().await?;
    let snapshot: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.observed_state,
                r.coopname.to_string(),
                r.observed_state == Observed::Ready,
            )
        })
        .collect();
    shared.metrics.snapshot(&snapshot);
    if let Some(target) = &shared.config.gateway {
        if let Err(e) = routes.publish(&shared.http, target, &rows).await {
            shared.metrics.failed(FailureReason::Routes);
            tracing::warn!(error = %format!("{e:#}"), "Cannot publish routes to the gateway");
        }
    }
    Ok(rows.iter().any(|r| r.observed_state.is_transitional()))
}

/// One cooperative's step, bounded by the step deadline; a failure is recorded on its row.
async fn reconcile_one(shared: &Shared, row: &CoopRow) -> anyhow::Result<()> {
    let step = tokio::time::timeout(shared.config.step_deadline, reconcile(shared, row)).await;
    let failure = match step {
        Ok(Ok(())) => None,
        Ok(Err((reason, e))) => Some((reason, format!("{e:#}"))),
        Err(_) => Some((
            FailureReason::Deadline,
            format!(
                "step did not finish within {} s",
                shared.config.step_deadline.as_secs()
            ),
        )),
    };
    if let Some((reason, message)) = failure {
        shared.metrics.failed(reason);
        let retry = backoff(row.attempts + 1, shared.config.backoff_cap);
        tracing::warn!(error = %message, retry_in_ms = retry.as_millis() as u64, "Reconcile step failed");
        shared.store.fail(&row.coopname, &message, retry).await?;
    }
    Ok(())
}

/// One line per cooperative that is not being deleted.
async fn sync_hba(shared: &Shared, rows: &[CoopRow]) -> anyhow::Result<()> {
    let Some(cluster) = shared.config.cluster.clone() else {
        return Ok(());
    };
    let mut want = rows
        .iter()
        .filter(|r| r.desired_state != Desired::Deleted)
        .map(|r| {
            let ident = r.coopname.db_ident();
            managed_pg::HbaRule::new(&ident, &ident)
        })
        .collect::<Result<Vec<_>, _>>()?;
    want.sort();
    tokio::task::spawn_blocking(move || {
        if cluster.hba_rules()? != want {
            cluster.set_hba_rules(&want)?;
        }
        Ok::<_, managed_pg::ClusterError>(())
    })
    .await??;
    Ok(())
}

type StepResult = Result<(), (FailureReason, anyhow::Error)>;

fn tag(reason: FailureReason) -> impl FnOnce(anyhow::Error) -> (FailureReason, anyhow::Error) {
    move |e| (reason, e)
}

async fn observe(
    shared: &Shared,
    row: &CoopRow,
    state: Observed,
    reason: Option<&str>,
) -> StepResult {
    if row.observed_state == state && row.status_reason.as_deref() == reason {
        return Ok(());
    }
    shared
        .store
        .observe(&row.coopname, state, reason)
        .await
        .map_err(|e| (FailureReason::Provision, e.into()))
}

async fn reconcile(shared: &Shared, row: &CoopRow) -> StepResult {
    let coop = &row.coopname;
    let workdir = shared.workdir(coop);
    match row.desired_state {
        Desired::Deleted => {
            observe(shared, row, Observed::Deleting, None).await?;
            shared
                .runtime
                .stop(coop, &workdir)
                .await
                .map_err(tag(FailureReason::Stop))?;
            shared
                .tenant
                .drop(coop)
                .await
                .map_err(|e| (FailureReason::Delete, e.into()))?;
            match std::fs::remove_dir_all(&workdir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err((
                        FailureReason::Delete,
                        anyhow::Error::new(e).context("remove the cooperative's directory"),
                    ))
                }
            }
            shared
                .store
                .remove(coop)
                .await
                .map_err(|e| (FailureReason::Delete, e.into()))?;
            shared.forget(coop);
            tracing::info!("Cooperative deleted");
            Ok(())
        }
        Desired::Suspended => {
            if matches!(shared.runtime.status(coop), NodeStatus::Running { .. }) {
                observe(shared, row, Observed::Stopping, None).await?;
            }
            shared
                .runtime
                .stop(coop, &workdir)
                .await
                .map_err(tag(FailureReason::Stop))?;
            observe(shared, row, Observed::Suspended, None).await
        }
        Desired::Running => run_node(shared, row, &workdir).await,
    }
}

async fn run_node(shared: &Shared, row: &CoopRow, workdir: &Path) -> StepResult {
    let coop = &row.coopname;
    if row.observed_state == Observed::Failed && row.retry_in_secs > 0.0 {
        return Ok(()); // waiting for the backoff
    }
    let port = row.port.ok_or_else(|| {
        (
            FailureReason::Provision,
            anyhow::anyhow!("no port assigned"),
        )
    })?;
    let listen = SocketAddr::from(([127, 0, 0, 1], port));
    if !shared.is_provisioned(coop) {
        observe(shared, row, Observed::Provisioning, None).await?;
        let started = Instant::now();
        provision(shared, row, workdir, listen)
            .await
            .map_err(tag(FailureReason::Provision))?;
        shared.metrics.provisioned(started.elapsed());
        shared.mark_provisioned(coop);
    }
    match shared.runtime.status(coop) {
        NodeStatus::Running { generation } if generation < row.generation => {
            observe(shared, row, Observed::Starting, Some("restarting")).await?;
            shared
                .runtime
                .stop(coop, workdir)
                .await
                .map_err(tag(FailureReason::Stop))?;
            start(shared, row, workdir, listen).await
        }
        NodeStatus::Running { .. } => match node_ready(&shared.http, listen).await {
            Ok(()) => {
                if row.observed_state != Observed::Ready || row.status_reason.is_some() {
                    shared
                        .store
                        .reset_attempts(coop)
                        .await
                        .map_err(|e| (FailureReason::Start, e.into()))?;
                    tracing::info!("Node ready");
                }
                observe(shared, row, Observed::Ready, None).await
            }
            Err(why) => {
                let waited = if row.observed_state == Observed::Starting {
                    row.state_age_secs
                } else {
                    0.0
                };
                if waited > shared.config.start_deadline.as_secs_f64() {
                    let _ = shared.runtime.stop(coop, workdir).await;
                    return Err((
                        FailureReason::Deadline,
                        anyhow::anyhow!(
                            "node not ready within {} s: {why}",
                            shared.config.start_deadline.as_secs()
                        ),
                    ));
                }
                observe(shared, row, Observed::Starting, Some(&why)).await
            }
        },
        NodeStatus::Exited { detail, .. } => {
            shared.metrics.restarted();
            let _ = shared.store.count_restart(coop).await;
            let _ = shared.runtime.stop(coop, workdir).await;
            let log = shared.runtime.logs(workdir, 3).unwrap_or_default();
            let mut reason = format!("node exited ({detail})");
            if !log.is_empty() {
                reason.push_str("; last log lines: ");
                reason.push_str(&log.replace('\n', " | "));
            }
            Err((FailureReason::Exited, anyhow::anyhow!(reason)))
        }
        NodeStatus::Absent => start(shared, row, workdir, listen).await,
    }
}

async fn start(shared: &Shared, row: &CoopRow, workdir: &Path, listen: SocketAddr) -> StepResult {
    observe(shared, row, Observed::Starting, None).await?;
    let spec = node_spec(shared, row, workdir, listen).map_err(tag(FailureReason::Start))?;
    shared
        .runtime
        .start(&spec)
        .await
        .map_err(tag(FailureReason::Start))
}

fn secrets(shared: &Shared, row: &CoopRow) -> anyhow::Result<CoopSecrets> {
    let sealed = row
        .secrets
        .as_deref()
        .context("the cooperative has no stored secrets")?;
    let plain = shared
        .config
        .master_key
        .open(row.coopname.as_str(), sealed)?;
    serde_json::from_slice(&plain).context("stored secrets are not valid JSON")
}

/// Role, database and the node's files. Idempotent.
async fn provision(
    shared: &Shared,
    row: &CoopRow,
    workdir: &Path,
    listen: SocketAddr,
) -> anyhow::Result<()> {
    let secrets = secrets(shared, row)?;
    shared
        .tenant
        .ensure(&row.coopname, &secrets.db_password, row.connection_limit)
        .await?;
    write_node_files(row, &secrets, workdir, listen)
}

fn write_node_files(
    row: &CoopRow,
    secrets: &CoopSecrets,
    workdir: &Path,
    listen: SocketAddr,
) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let secret_dir = workdir.join("secrets");
    std::fs::create_dir_all(&secret_dir)
        .with_context(|| format!("create {}", secret_dir.display()))?;
    std::fs::set_permissions(workdir, std::fs::Permissions::from_mode(0o700))?;
    std::fs::set_permissions(&secret_dir, std::fs::Permissions::from_mode(0o700))?;
    crate::secrets::write_secret_file(&secret_dir.join("jwt.key"), &secrets.jwt_key)?;
    crate::secrets::write_secret_file(&secret_dir.join("secret.key"), &secrets.secret_key)?;
    crate::secrets::write_secret_file(&secret_dir.join("admin.secret"), &secrets.admin_secret)?;
    let pool = row.connection_limit.saturating_sub(2).clamp(2, 64);
    let config = format!(
        "# Written by the control plane; changes are overwritten.\n\
         coopname = {coop:?}\nchain_url = {chain:?}\nship_url = {ship:?}\nchain_id = {id:?}\n\
         listen = \"{listen}\"\ndb_pool_size = {pool}\n\
         jwt_key_file = \"secrets/jwt.key\"\nsecret_key_file = \"secrets/secret.key\"\n",
        coop = row.coopname.as_str(),
        chain = row.chain_url,
        ship = row.ship_url,
        id = row.chain_id,
    );
    std::fs::write(workdir.join("node.toml"), config).context("write node.toml")
}

fn node_spec(
    shared: &Shared,
    row: &CoopRow,
    workdir: &Path,
    listen: SocketAddr,
) -> anyhow::Result<NodeSpec> {
    let secrets = secrets(shared, row)?;
    // Files are rewritten at every start, so a lost directory (or changed settings) heals.
    write_node_files(row, &secrets, workdir, listen)?;
    let database_url = coop_database_url(
        &shared.config.admin_url,
        &row.coopname,
        &secrets.db_password,
    )?;
    Ok(NodeSpec {
        coop: row.coopname.clone(),
        generation: row.generation,
        workdir: workdir.to_path_buf(),
        listen,
        env: vec![
            ("TENANT_NODE_DATABASE_URL".into(), database_url),
            (
                "TENANT_NODE_ADMIN_SECRET_FILE".into(),
                "secrets/admin.secret".into(),
            ),
            ("TENANT_NODE_LOG".into(), "info".into()),
            // Fewer malloc arenas keep the address space within the memory limit.
            ("MALLOC_ARENA_MAX".into(), "2".into()),
        ],
        memory_mb: row.memory_mb,
        runtime: row.runtime,
    })
}

/// `postgres://<role>:<password>@<host>:<port>/<db>` on the cluster of `admin_url`.
pub(crate) fn coop_database_url(
    admin_url: &str,
    coop: &CoopName,
    password: &str,
) -> anyhow::Result<String> {
    let config: tokio_postgres::Config = admin_url.parse().context("parse the admin URL")?;
    let host = config
        .get_hosts()
        .iter()
        .find_map(|h| match h {
            tokio_postgres::config::Host::Tcp(h) => Some(h.clone()),
            #[allow(unreachable_patterns)]
            _ => None,
        })
        .unwrap_or_else(|| "127.0.0.1".to_owned());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let ident = coop.db_ident();
    Ok(format!(
        "postgres://{ident}:{password}@{host}:{port}/{ident}"
    ))
}

/// Whether the node at `addr` answers; today `GET /readyz` must say 200. The error is the
/// reason shown to the operator.
pub(crate) async fn node_ready(http: &reqwest::Client, addr: SocketAddr) -> Result<(), String> {
    let response = http
        .get(format!("http://{addr}/readyz"))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .map_err(|e| {
            if e.is_connect() {
                "node not listening yet".to_owned()
            } else {
                format!("readiness probe: {e}")
            }
        })?;
    if response.status().is_success() {
        return Ok(());
    }
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    Err(format!(
        "readiness {status}: {}",
        body.chars().take(200).collect::<String>()
    ))
}
