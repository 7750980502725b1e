//! Bringing the local platform up and down.
//!
//! `up` starts the managed PostgreSQL (initialising it on first use) or checks the external one
//! and applies the control plane's migrations, then the services of `crate::up` (development
//! chain, gateway, control plane, demo cooperative); `down` stops what `up` started, in reverse
//! order. `serve` is the control plane in the foreground.

use anyhow::Context;
use serde::Serialize;
use tokio_postgres::NoTls;

use crate::config::{PlatformConfig, PostgresSource};

/// Where the platform's PostgreSQL runs, as printed by `mono up`.
#[derive(Debug, Clone, Serialize)]
pub struct PostgresReport {
    /// "managed" or "external".
    pub kind: &'static str,
    /// What `up` did: "initialized", "started", "already-running" or "external".
    pub action: &'static str,
    /// Superuser connection string (contains the generated password).
    pub url: String,
    pub server_version: String,
    pub data_dir: Option<String>,
    pub socket: Option<String>,
    pub log_file: Option<String>,
    pub password_file: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UpReport {
    pub data_dir: String,
    pub postgres: PostgresReport,
    #[serde(flatten)]
    pub services: crate::up::ServicesReport,
}

#[derive(Debug, Clone, Serialize)]
pub struct DownReport {
    #[serde(flatten)]
    pub services: crate::up::ServicesDown,
    /// "stopped", "not-running" or "external" (an external server is never stopped).
    pub postgres: &'static str,
}

/// Starts (or finds running) everything the local platform needs. `args` are the command
/// line's configuration values, handed on to the control plane it starts.
pub async fn up(
    config: &PlatformConfig,
    args: &crate::config::ConfigArgs,
) -> anyhow::Result<UpReport> {
    let postgres = up_postgres(config).await?;
    let services = crate::up::up(config, args).await?;
    Ok(UpReport {
        data_dir: config.data_dir.display().to_string(),
        postgres,
        services,
    })
}

async fn up_postgres(config: &PlatformConfig) -> anyhow::Result<PostgresReport> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("create data directory {}", config.data_dir.display()))?;
    let postgres = match &config.postgres {
        PostgresSource::External { admin_url } => PostgresReport {
            kind: "external",
            action: "external",
            url: admin_url.clone(),
            server_version: prepare(admin_url).await?,
            data_dir: None,
            socket: None,
            log_file: None,
            password_file: None,
        },
        PostgresSource::Managed { .. } => {
            let cluster_config = config
                .cluster_config()
                .context("managed PostgreSQL settings")?;
            let cluster = managed_pg::Cluster::new(cluster_config)?;
            let blocking = cluster.clone();
            let outcome = tokio::task::spawn_blocking(move || blocking.start())
                .await
                .context("join the PostgreSQL start-up task")??;
            let url = cluster.admin_url()?;
            let server_version = prepare(&url).await?;
            let socket = cluster
                .socket_dir()
                .join(format!(".s.PGSQL.{}", cluster.port()));
            PostgresReport {
                kind: "managed",
                action: match outcome {
                    managed_pg::StartOutcome::Initialized => "initialized",
                    managed_pg::StartOutcome::Started => "started",
                    managed_pg::StartOutcome::AlreadyRunning => "already-running",
                },
                url,
                server_version,
                data_dir: Some(cluster.data_dir().display().to_string()),
                socket: Some(socket.display().to_string()),
                log_file: Some(cluster.log_file().display().to_string()),
                password_file: Some(cluster.password_file().display().to_string()),
            }
        }
    };
    Ok(postgres)
}

/// The control plane's own database.
pub(crate) const CP_DATABASE: &str = "mono_control_plane";

/// Connects as superuser, creates the control plane's database if needed and migrates it.
/// Returns the server version.
pub(crate) async fn prepare(admin_url: &str) -> anyhow::Result<String> {
    let admin = connect(admin_url)
        .await
        .context("connect to PostgreSQL as superuser")?;
    let version: String = admin.query_one("SHOW server_version", &[]).await?.get(0);
    let exists = admin
        .query_opt(
            "SELECT 1 FROM pg_database WHERE datname = 'mono_control_plane'",
            &[],
        )
        .await?
        .is_some();
    if !exists {
        admin
            .batch_execute("CREATE DATABASE mono_control_plane")
            .await
            .context("create the control plane database")?;
    }
    let mut cp = connect(&managed_pg::url_with_database(
        admin_url,
        "mono_control_plane",
    ))
    .await
    .context("connect to the control plane database")?;
    migrations::apply(&mut cp, &migrations::CONTROL_PLANE).await?;
    Ok(version)
}

async fn connect(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "PostgreSQL connection closed");
        }
    });
    Ok(client)
}

/// Stops what `up` started; an external server is left alone.
pub async fn down(config: &PlatformConfig) -> anyhow::Result<DownReport> {
    let services = crate::up::down(config).await?;
    let Some(cluster_config) = config.cluster_config() else {
        return Ok(DownReport {
            services,
            postgres: "external",
        });
    };
    let cluster = managed_pg::Cluster::new(cluster_config)?;
    let outcome = tokio::task::spawn_blocking(move || cluster.stop())
        .await
        .context("join the PostgreSQL stop task")??;
    Ok(DownReport {
        services,
        postgres: match outcome {
            managed_pg::StopOutcome::Stopped => "stopped",
            managed_pg::StopOutcome::NotRunning => "not-running",
        },
    })
}

/// `mono serve`: runs the control plane in the foreground until SIGTERM or Ctrl-C, then stops
/// its nodes. With the managed cluster, starts it first if it is not running.
pub async fn serve(config: &PlatformConfig) -> anyhow::Result<()> {
    let (admin_url, cluster) = match &config.postgres {
        PostgresSource::External { admin_url } => (admin_url.clone(), None),
        PostgresSource::Managed { .. } => {
            let cluster =
                managed_pg::Cluster::new(config.cluster_config().context("managed PostgreSQL")?)?;
            let blocking = cluster.clone();
            tokio::task::spawn_blocking(move || blocking.start())
                .await
                .context("join the PostgreSQL start-up task")??;
            (cluster.admin_url()?, Some(cluster))
        }
    };
    let service_config = crate::service::ServiceConfig::from_platform(config, admin_url, cluster)?;
    let service = crate::service::Service::start(service_config).await?;
    eprintln!("control plane listening on http://{}", service.addr());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("install the SIGTERM handler")?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!("Stopping the control plane");
    service.shutdown().await
}
