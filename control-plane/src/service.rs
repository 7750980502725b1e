//! The control plane service (`mono serve`): its database, the reconcile loop and the HTTP API,
//! wired together. [`Service::start`] returns a handle with the bound address; stopping it stops
//! the nodes it runs (a later start finds nothing running and starts them again).

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{watch, Notify};

use crate::db::tenant::TenantPg;
use crate::db::{self, Store};
use crate::metrics::Metrics;
use crate::model::{CoopName, CreateDefaults};
use crate::runtime::docker::DockerConfig;
use crate::runtime::process::ProcessConfig;
use crate::runtime::Runtimes;
use crate::secrets::MasterKey;

/// Where the gateway's admin API is.
#[derive(Debug, Clone)]
pub struct GatewayTarget {
    /// Base URL of the gateway admin listener (`http://127.0.0.1:9091`).
    pub admin_url: String,
    pub admin_token: String,
}

/// Everything the service needs, resolved (see `config` for where each value comes from).
#[derive(Debug)]
pub struct ServiceConfig {
    /// Superuser URL of the cluster (control-plane database and cooperative provisioning).
    pub admin_url: String,
    /// The managed cluster, whose `pg_hba.conf` the control plane manages; `None` for an
    /// external server (then only `REVOKE CONNECT` separates cooperatives; a warning is logged).
    pub cluster: Option<managed_pg::Cluster>,
    /// `<data_dir>/control-plane`: cooperatives' directories, key and token files.
    pub state_dir: PathBuf,
    pub listen: SocketAddr,
    pub operator_token: String,
    /// Token the gateway uses for wake calls (it can only wake).
    pub wake_token: Option<String>,
    pub master_key: MasterKey,
    pub node: ProcessConfig,
    /// The Docker runtime's settings (the engine is reached only for `docker` cooperatives).
    pub docker: DockerConfig,
    /// Loopback ports handed to nodes.
    pub ports: RangeInclusive<u16>,
    pub defaults: CreateDefaults,
    pub reconcile_interval: Duration,
    /// Most time a node may take from start to ready.
    pub start_deadline: Duration,
    /// Most time one reconcile step of one cooperative may take.
    pub step_deadline: Duration,
    /// Longest wait between retries.
    pub backoff_cap: Duration,
    pub gateway: Option<GatewayTarget>,
}

/// State shared by the API and the reconciler.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: ServiceConfig,
    pub(crate) store: Store,
    pub(crate) tenant: TenantPg,
    pub(crate) runtime: Runtimes,
    pub(crate) metrics: Metrics,
    /// Wakes the reconciler early (after a change through the API).
    pub(crate) kick: Notify,
    pub(crate) provisioned: std::sync::Mutex<std::collections::HashSet<CoopName>>,
    pub(crate) http: reqwest::Client,
}

impl Shared {
    pub(crate) fn workdir(&self, coop: &CoopName) -> PathBuf {
        self.config.state_dir.join("coops").join(coop.as_str())
    }

    fn provisioned_set(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<CoopName>> {
        self.provisioned.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether this process already provisioned `coop` (provisioning is idempotent; this only
    /// saves the repeated work).
    pub(crate) fn is_provisioned(&self, coop: &CoopName) -> bool {
        self.provisioned_set().contains(coop)
    }

    pub(crate) fn mark_provisioned(&self, coop: &CoopName) {
        self.provisioned_set().insert(coop.clone());
    }

    pub(crate) fn forget(&self, coop: &CoopName) {
        self.provisioned_set().remove(coop);
    }
}

/// A running control plane.
#[derive(Debug)]
pub struct Service {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    shared: Arc<Shared>,
}

impl Service {
    /// Migrates the database, binds the API and starts reconciling.
    pub async fn start(config: ServiceConfig) -> anyhow::Result<Service> {
        crate::platform::prepare(&config.admin_url).await?;
        if config.cluster.is_none() {
            tracing::warn!(
                "External PostgreSQL: pg_hba.conf is not managed; cooperatives are separated by \
                 REVOKE CONNECT only. Restrict pg_hba.conf to `sameuser` yourself."
            );
        }
        std::fs::create_dir_all(config.state_dir.join("coops"))
            .with_context(|| format!("create {}", config.state_dir.display()))?;
        let cp_url = managed_pg::url_with_database(&config.admin_url, crate::platform::CP_DATABASE);
        let store = Store::new(db::pool(&cp_url, 8)?);
        let tenant = TenantPg::new(db::pool(&config.admin_url, 4)?);
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("bind the control plane API on {}", config.listen))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            runtime: Runtimes::new(
                config.node.clone(),
                config.docker.clone(),
                &config.state_dir,
            ),
            config,
            store,
            tenant,
            metrics: Metrics::default(),
            kick: Notify::new(),
            provisioned: std::sync::Mutex::default(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()?,
        });
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        let api = crate::api::router(shared.clone());
        let mut api_stop = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            let served = axum::serve(listener, api)
                .with_graceful_shutdown(async move {
                    let _ = api_stop.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "Control plane API stopped");
            }
        }));
        tasks.push(tokio::spawn(crate::reconcile::run(shared.clone(), stop_rx)));
        tracing::info!(%addr, "Control plane listening");
        Ok(Service {
            addr,
            stop,
            tasks,
            shared,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the API and the reconciler and leaves the nodes running, as a crash of the control
    /// plane would: the next start adopts or replaces them.
    pub async fn detach(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }

    /// Stops the API and the reconciler, then every node this control plane runs.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        let rows = self.shared.store.list().await.unwrap_or_default();
        for row in rows {
            let dir = self.shared.workdir(&row.coopname);
            if let Err(e) =
                crate::runtime::NodeRuntime::stop(&self.shared.runtime, &row.coopname, &dir).await
            {
                tracing::warn!(coop = %row.coopname, error = %e, "Cannot stop node");
            }
        }
        Ok(())
    }
}

/// Environment variable with the master key (64 hex digits) instead of the key file.
pub const MASTER_KEY_ENV: &str = "MONO_MASTER_KEY";
/// Environment variable with the operator token instead of the token file.
pub const OPERATOR_TOKEN_ENV: &str = "MONO_OPERATOR_TOKEN";
/// Environment variable with the gateway's admin token.
pub const GATEWAY_ADMIN_TOKEN_ENV: &str = "MONO_GATEWAY_ADMIN_TOKEN";

fn env_secret(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.trim().is_empty())
}

/// The operator token: `MONO_OPERATOR_TOKEN`, else `<state dir>/operator.token` (created
/// 0600 on first use).
pub fn operator_token(state_dir: &std::path::Path) -> anyhow::Result<String> {
    match env_secret(OPERATOR_TOKEN_ENV) {
        Some(t) => Ok(t.trim().to_owned()),
        None => crate::secrets::load_or_create_token(&state_dir.join("operator.token")),
    }
}

impl ServiceConfig {
    /// The service configuration from the platform configuration, for the cluster reached with
    /// `admin_url` (`cluster` when it is the managed one). Creates the key and token files on
    /// first use.
    pub fn from_platform(
        config: &crate::config::PlatformConfig,
        admin_url: String,
        cluster: Option<managed_pg::Cluster>,
    ) -> anyhow::Result<ServiceConfig> {
        let cp = &config.control_plane;
        let state_dir = config.state_dir();
        std::fs::create_dir_all(&state_dir)
            .with_context(|| format!("create {}", state_dir.display()))?;
        let master_key = match env_secret(MASTER_KEY_ENV) {
            Some(hex_key) => MasterKey::from_hex(&hex_key).context(MASTER_KEY_ENV)?,
            None => MasterKey::load_or_create(&state_dir.join("master.key"))?,
        };
        let gateway = match &cp.gateway_admin_url {
            Some(url) => Some(GatewayTarget {
                admin_url: url.clone(),
                admin_token: env_secret(GATEWAY_ADMIN_TOKEN_ENV)
                    .map(Ok)
                    .unwrap_or_else(|| {
                        crate::secrets::load_or_create_token(&state_dir.join("gateway-admin.token"))
                    })?,
            }),
            None => None,
        };
        Ok(ServiceConfig {
            admin_url,
            cluster,
            operator_token: operator_token(&state_dir)?,
            wake_token: Some(crate::secrets::load_or_create_token(
                &state_dir.join("wake.token"),
            )?),
            state_dir,
            listen: cp.listen,
            master_key,
            node: ProcessConfig {
                binary: cp.node_binary.clone(),
                stop_grace: cp.stop_grace,
                log_max_bytes: cp.log_max_bytes,
                log_keep: cp.log_keep,
            },
            docker: cp.docker.clone(),
            ports: cp.ports.clone(),
            defaults: CreateDefaults {
                chain_url: cp.chain_url.clone(),
                ship_url: cp.ship_url.clone(),
                chain_id: cp.chain_id.clone(),
                memory_mb: cp.memory_mb,
                connection_limit: cp.connection_limit,
                runtime: cp.runtime,
            },
            reconcile_interval: cp.reconcile_interval,
            start_deadline: cp.start_deadline,
            step_deadline: cp.step_deadline,
            backoff_cap: cp.backoff_cap,
            gateway,
        })
    }
}
