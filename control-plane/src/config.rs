//! The platform configuration: an optional TOML file, overridden by `MONO_*` environment
//! variables, overridden by command-line flags; validated once into [`PlatformConfig`].
//!
//! Every key is documented in `docs/configuration.md`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Deserialize;

use crate::model::RuntimeKind;
use crate::runtime::docker::DockerConfig;

/// The file form; every field optional, unknown keys rejected.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub data_dir: Option<PathBuf>,
    #[serde(default)]
    pub postgres: PostgresFile,
    #[serde(default)]
    pub control_plane: ControlPlaneFile,
    #[serde(default)]
    pub gateway: GatewayFile,
    #[serde(default)]
    pub devchain: DevchainFile,
}

/// `[control_plane]`: the service and the defaults of new cooperatives.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlPlaneFile {
    pub listen: Option<SocketAddr>,
    pub url: Option<String>,
    pub node_binary: Option<PathBuf>,
    pub port_range: Option<String>,
    pub chain_url: Option<String>,
    pub ship_url: Option<String>,
    pub chain_id: Option<String>,
    pub memory_mb: Option<u32>,
    pub connection_limit: Option<u32>,
    pub reconcile_interval_ms: Option<u64>,
    pub start_deadline_s: Option<u64>,
    pub step_deadline_s: Option<u64>,
    pub stop_grace_s: Option<u64>,
    pub backoff_cap_s: Option<u64>,
    pub log_max_bytes: Option<u64>,
    pub log_keep: Option<usize>,
    pub runtime: Option<RuntimeKind>,
    pub docker_host: Option<String>,
    pub docker_cpus: Option<f64>,
    pub docker_pids_limit: Option<i64>,
}

/// `[gateway]`: where routes are published, and the gateway `mono up` runs.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayFile {
    pub admin_url: Option<String>,
    pub binary: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub admin_listen: Option<SocketAddr>,
    pub base_domain: Option<String>,
}

/// `[devchain]`: the development chain `mono up` runs when no chain URL is configured.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevchainFile {
    pub binary: Option<PathBuf>,
    pub http_addr: Option<SocketAddr>,
    pub ship_addr: Option<SocketAddr>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresFile {
    pub port: Option<u16>,
    pub bindir: Option<PathBuf>,
    pub admin_url: Option<String>,
    pub max_connections: Option<u32>,
    pub service_user: Option<String>,
}

/// Values from flags and environment (clap merges the two); `None` means "not given".
#[derive(Debug, Default, Clone, clap::Args)]
pub struct ConfigArgs {
    /// Configuration file (TOML).
    #[arg(long, env = "MONO_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Where the platform keeps its state (default: /var/lib/mono as root, else ~/.local/share/mono).
    #[arg(long, env = "MONO_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Loopback port of the managed PostgreSQL.
    #[arg(long, env = "MONO_PG_PORT", global = true)]
    pub pg_port: Option<u16>,
    /// Directory with the PostgreSQL server binaries (initdb, pg_ctl, postgres).
    #[arg(long, env = "MONO_PG_BINDIR", global = true)]
    pub pg_bindir: Option<PathBuf>,
    /// Superuser URL of an external PostgreSQL; when set, no managed cluster is run.
    #[arg(long, env = "MONO_PG_ADMIN_URL", global = true, hide_env_values = true)]
    pub pg_admin_url: Option<String>,
    /// Base URL of the control plane API (for `mono coop`).
    #[arg(long, env = "MONO_CONTROL_PLANE_URL", global = true)]
    pub control_plane_url: Option<String>,
    /// Listen address of the control plane API (`mono serve`).
    #[arg(long, env = "MONO_CONTROL_PLANE_LISTEN", global = true)]
    pub control_plane_listen: Option<SocketAddr>,
    /// The tenant-node binary the control plane runs.
    #[arg(long, env = "MONO_TENANT_NODE_BIN", global = true)]
    pub tenant_node_bin: Option<PathBuf>,
    /// Default chain HTTP API URL of new cooperatives.
    #[arg(long, env = "MONO_CHAIN_URL", global = true)]
    pub chain_url: Option<String>,
    /// Default SHiP URL of new cooperatives.
    #[arg(long, env = "MONO_SHIP_URL", global = true)]
    pub ship_url: Option<String>,
    /// Default chain id of new cooperatives.
    #[arg(long, env = "MONO_CHAIN_ID", global = true)]
    pub chain_id: Option<String>,
    /// Gateway admin URL to publish routes to.
    #[arg(long, env = "MONO_GATEWAY_ADMIN_URL", global = true)]
    pub gateway_admin_url: Option<String>,
    /// The `gateway` binary `mono up` runs.
    #[arg(long, env = "MONO_GATEWAY_BIN", global = true)]
    pub gateway_bin: Option<PathBuf>,
    /// The `devchain` binary `mono up` runs.
    #[arg(long, env = "MONO_DEVCHAIN_BIN", global = true)]
    pub devchain_bin: Option<PathBuf>,
}

impl ConfigArgs {
    /// The given values as `MONO_*` environment variables (paths made absolute), so a child
    /// `mono` (`mono up` starting `mono serve`) resolves the same configuration.
    pub fn to_env(&self) -> anyhow::Result<Vec<(&'static str, std::ffi::OsString)>> {
        let mut env = Vec::new();
        let mut path = |key: &'static str, p: &Option<PathBuf>| -> anyhow::Result<()> {
            if let Some(p) = p {
                env.push((key, absolute(p)?.into_os_string()));
            }
            Ok(())
        };
        path("MONO_CONFIG", &self.config)?;
        path("MONO_DATA_DIR", &self.data_dir)?;
        path("MONO_PG_BINDIR", &self.pg_bindir)?;
        path("MONO_TENANT_NODE_BIN", &self.tenant_node_bin)?;
        path("MONO_GATEWAY_BIN", &self.gateway_bin)?;
        path("MONO_DEVCHAIN_BIN", &self.devchain_bin)?;
        let text = [
            ("MONO_PG_PORT", self.pg_port.map(|p| p.to_string())),
            ("MONO_PG_ADMIN_URL", self.pg_admin_url.clone()),
            ("MONO_CONTROL_PLANE_URL", self.control_plane_url.clone()),
            (
                "MONO_CONTROL_PLANE_LISTEN",
                self.control_plane_listen.map(|a| a.to_string()),
            ),
            ("MONO_CHAIN_URL", self.chain_url.clone()),
            ("MONO_SHIP_URL", self.ship_url.clone()),
            ("MONO_CHAIN_ID", self.chain_id.clone()),
            ("MONO_GATEWAY_ADMIN_URL", self.gateway_admin_url.clone()),
        ];
        for (key, value) in text {
            if let Some(v) = value {
                env.push((key, v.into()));
            }
        }
        Ok(env)
    }
}

/// What `mono up` runs besides PostgreSQL and the control plane.
#[derive(Debug, Clone)]
pub struct UpSettings {
    pub gateway_binary: PathBuf,
    pub gateway_listen: SocketAddr,
    pub gateway_admin_listen: SocketAddr,
    pub base_domain: String,
    pub devchain_binary: PathBuf,
    pub devchain_http: SocketAddr,
    pub devchain_ship: SocketAddr,
}

impl UpSettings {
    fn resolve(
        gateway: &GatewayFile,
        devchain: DevchainFile,
        args: &ConfigArgs,
    ) -> anyhow::Result<Self> {
        let binary = |given: Option<PathBuf>, name: &str| -> anyhow::Result<PathBuf> {
            match given {
                Some(p) => absolute(&p),
                None => Ok(sibling_binary(name)),
            }
        };
        let base_domain = gateway
            .base_domain
            .clone()
            .unwrap_or_else(|| "localhost".to_owned());
        let valid_domain = !base_domain.is_empty()
            && base_domain.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            });
        if !valid_domain {
            bail!("gateway.base_domain must be a lowercase host name");
        }
        let loopback = |addr: SocketAddr, key: &str| -> anyhow::Result<SocketAddr> {
            if !addr.ip().is_loopback() {
                bail!("{key} must be a loopback address");
            }
            Ok(addr)
        };
        Ok(UpSettings {
            gateway_binary: binary(
                args.gateway_bin.clone().or(gateway.binary.clone()),
                "gateway",
            )?,
            gateway_listen: gateway
                .listen
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            gateway_admin_listen: loopback(
                gateway
                    .admin_listen
                    .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8081))),
                "gateway.admin_listen",
            )?,
            base_domain,
            devchain_binary: binary(args.devchain_bin.clone().or(devchain.binary), "devchain")?,
            devchain_http: devchain
                .http_addr
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8888))),
            devchain_ship: devchain
                .ship_addr
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8889))),
        })
    }
}

/// The control plane's validated settings.
#[derive(Debug, Clone)]
pub struct ControlPlaneSettings {
    pub listen: SocketAddr,
    pub url: String,
    pub node_binary: PathBuf,
    pub ports: std::ops::RangeInclusive<u16>,
    pub chain_url: Option<String>,
    pub ship_url: Option<String>,
    pub chain_id: Option<String>,
    pub memory_mb: u32,
    pub connection_limit: u32,
    pub reconcile_interval: Duration,
    pub start_deadline: Duration,
    pub step_deadline: Duration,
    pub stop_grace: Duration,
    pub backoff_cap: Duration,
    pub log_max_bytes: u64,
    pub log_keep: usize,
    pub gateway_admin_url: Option<String>,
    /// Runtime of cooperatives created without one.
    pub runtime: RuntimeKind,
    pub docker: DockerConfig,
}

impl ControlPlaneSettings {
    fn resolve(
        file: ControlPlaneFile,
        gateway: GatewayFile,
        args: &ConfigArgs,
    ) -> anyhow::Result<Self> {
        let docker = docker_settings(&file)?;
        let listen = args
            .control_plane_listen
            .or(file.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 7000)));
        let url = args
            .control_plane_url
            .clone()
            .or(file.url)
            .unwrap_or_else(|| format!("http://{listen}"));
        if !url.starts_with("http://") && !url.starts_with("https://") {
            bail!("control_plane.url must be an http(s):// URL");
        }
        let node_binary = match args.tenant_node_bin.clone().or(file.node_binary) {
            Some(p) => absolute(&p)?,
            None => default_node_binary(),
        };
        let ports = parse_port_range(file.port_range.as_deref().unwrap_or("20000-29999"))?;
        let secs = |v: Option<u64>, default: u64, key: &str| -> anyhow::Result<Duration> {
            let v = v.unwrap_or(default);
            if !(1..=3600).contains(&v) {
                bail!("control_plane.{key} must be between 1 and 3600");
            }
            Ok(Duration::from_secs(v))
        };
        let reconcile_ms = file.reconcile_interval_ms.unwrap_or(1000);
        if !(50..=60_000).contains(&reconcile_ms) {
            bail!("control_plane.reconcile_interval_ms must be between 50 and 60000");
        }
        Ok(ControlPlaneSettings {
            listen,
            url,
            node_binary,
            ports,
            chain_url: args.chain_url.clone().or(file.chain_url),
            ship_url: args.ship_url.clone().or(file.ship_url),
            chain_id: args.chain_id.clone().or(file.chain_id),
            memory_mb: file.memory_mb.unwrap_or(512),
            connection_limit: file.connection_limit.unwrap_or(6),
            reconcile_interval: Duration::from_millis(reconcile_ms),
            start_deadline: secs(file.start_deadline_s, 120, "start_deadline_s")?,
            step_deadline: secs(file.step_deadline_s, 60, "step_deadline_s")?,
            stop_grace: secs(file.stop_grace_s, 10, "stop_grace_s")?,
            backoff_cap: secs(file.backoff_cap_s, 30, "backoff_cap_s")?,
            log_max_bytes: file.log_max_bytes.unwrap_or(10 * 1024 * 1024).max(4096),
            log_keep: file.log_keep.unwrap_or(3).min(100),
            gateway_admin_url: args.gateway_admin_url.clone().or(gateway.admin_url),
            runtime: file.runtime.unwrap_or(RuntimeKind::Process),
            docker,
        })
    }
}

/// `docker_host` (a unix socket), `docker_cpus`, `docker_pids_limit`.
fn docker_settings(file: &ControlPlaneFile) -> anyhow::Result<DockerConfig> {
    let defaults = DockerConfig::default();
    let host = match &file.docker_host {
        Some(h) if h.starts_with("unix:///") || h.starts_with('/') => h.clone(),
        Some(_) => bail!("control_plane.docker_host must be a unix socket (unix:///path or /path)"),
        None => defaults.host,
    };
    let cpus = file.docker_cpus.unwrap_or(defaults.cpus);
    if !(0.01..=1024.0).contains(&cpus) {
        bail!("control_plane.docker_cpus must be between 0.01 and 1024");
    }
    let pids_limit = file.docker_pids_limit.unwrap_or(defaults.pids_limit);
    if !(16..=1_000_000).contains(&pids_limit) {
        bail!("control_plane.docker_pids_limit must be between 16 and 1000000");
    }
    Ok(DockerConfig {
        host,
        cpus,
        pids_limit,
    })
}

/// `tenant-node` next to the running executable, else from `PATH`.
fn default_node_binary() -> PathBuf {
    sibling_binary("tenant-node")
}

/// `name` next to the running executable (the same target directory), else from `PATH`.
fn sibling_binary(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join(name)))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

fn parse_port_range(s: &str) -> anyhow::Result<std::ops::RangeInclusive<u16>> {
    let parsed = s
        .split_once('-')
        .and_then(|(a, b)| Some((a.trim().parse::<u16>().ok()?, b.trim().parse::<u16>().ok()?)));
    match parsed {
        Some((a, b)) if a >= 1024 && a <= b => Ok(a..=b),
        _ => bail!("control_plane.port_range must be `FROM-TO` with 1024 <= FROM <= TO <= 65535"),
    }
}

/// Where the platform's PostgreSQL comes from.
#[derive(Debug, Clone)]
pub enum PostgresSource {
    /// The embedded default: a cluster under `<data_dir>/postgres` run by the platform.
    Managed {
        port: u16,
        bindir: Option<PathBuf>,
        max_connections: u32,
        service_user: String,
    },
    /// An operator-provided server, reached with a superuser URL.
    External { admin_url: String },
}

/// The validated configuration of the `mono` binary.
#[derive(Debug, Clone)]
pub struct PlatformConfig {
    pub data_dir: PathBuf,
    pub postgres: PostgresSource,
    pub control_plane: ControlPlaneSettings,
    pub up: UpSettings,
}

impl PlatformConfig {
    /// Loads the file (if any), applies flags/env, validates.
    pub fn load(args: &ConfigArgs) -> anyhow::Result<PlatformConfig> {
        let file = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("read config file {}", path.display()))?;
                toml::from_str::<ConfigFile>(&text)
                    .with_context(|| format!("parse config file {}", path.display()))?
            }
            None => ConfigFile::default(),
        };
        Self::resolve(file, args)
    }

    fn resolve(file: ConfigFile, args: &ConfigArgs) -> anyhow::Result<PlatformConfig> {
        let data_dir = match args.data_dir.clone().or(file.data_dir) {
            Some(dir) => absolute(&dir)?,
            None => default_data_dir()?,
        };
        let admin_url = args.pg_admin_url.clone().or(file.postgres.admin_url);
        let postgres = match admin_url {
            Some(url) => {
                if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                    bail!("postgres.admin_url must be a postgres:// URL");
                }
                PostgresSource::External { admin_url: url }
            }
            None => {
                let port = args
                    .pg_port
                    .or(file.postgres.port)
                    .unwrap_or(managed_pg::DEFAULT_PORT);
                if port == 0 {
                    bail!("postgres.port must be between 1 and 65535");
                }
                let max_connections = file.postgres.max_connections.unwrap_or(300);
                if !(10..=10_000).contains(&max_connections) {
                    bail!("postgres.max_connections must be between 10 and 10000");
                }
                let bindir = args.pg_bindir.clone().or(file.postgres.bindir);
                let service_user = file
                    .postgres
                    .service_user
                    .unwrap_or_else(|| "postgres".to_owned());
                PostgresSource::Managed {
                    port,
                    bindir,
                    max_connections,
                    service_user,
                }
            }
        };
        let up = UpSettings::resolve(&file.gateway, file.devchain, args)?;
        let control_plane = ControlPlaneSettings::resolve(file.control_plane, file.gateway, args)?;
        Ok(PlatformConfig {
            data_dir,
            postgres,
            control_plane,
            up,
        })
    }

    /// `<data_dir>/control-plane`: the control plane's key, tokens and cooperatives' files.
    pub fn state_dir(&self) -> PathBuf {
        self.data_dir.join("control-plane")
    }

    /// The managed cluster's configuration, or `None` for an external server.
    pub fn cluster_config(&self) -> Option<managed_pg::ClusterConfig> {
        match &self.postgres {
            PostgresSource::Managed {
                port,
                bindir,
                max_connections,
                service_user,
            } => {
                let mut config =
                    managed_pg::ClusterConfig::new(self.data_dir.join("postgres"), *port);
                config.bindir.clone_from(bindir);
                config.max_connections = *max_connections;
                config.service_user.clone_from(service_user);
                Some(config)
            }
            PostgresSource::External { .. } => None,
        }
    }
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    if path.is_absolute() {
        Ok(path.to_path_buf())
    } else {
        Ok(std::env::current_dir()
            .context("read the current directory")?
            .join(path))
    }
}

fn default_data_dir() -> anyhow::Result<PathBuf> {
    if nix::unistd::Uid::effective().is_root() {
        return Ok(PathBuf::from("/var/lib/mono"));
    }
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(xdg).join("mono"));
    }
    let home = std::env::var_os("HOME").context("HOME is not set; pass --data-dir")?;
    Ok(PathBuf::from(home).join(".local/share/mono"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> anyhow::Result<ConfigFile> {
        Ok(toml::from_str(toml_text)?)
    }

    #[test]
    fn flags_override_file() {
        let file =
            parse("data_dir = \"/srv/mono\"\n[postgres]\nport = 6000\nmax_connections = 50\n")
                .unwrap();
        let args = ConfigArgs {
            pg_port: Some(7000),
            ..ConfigArgs::default()
        };
        let config = PlatformConfig::resolve(file, &args).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/srv/mono"));
        let cluster = config.cluster_config().unwrap();
        assert_eq!(cluster.port, 7000);
        assert_eq!(cluster.max_connections, 50);
        assert_eq!(cluster.root, PathBuf::from("/srv/mono/postgres"));
    }

    #[test]
    fn rejects_bad_values() {
        assert!(
            parse("[postgres]\nport = 70000\n").is_err(),
            "port beyond u16"
        );
        assert!(
            parse("unknown_key = 1\n").is_err(),
            "unknown keys are errors"
        );
        let zero = ConfigArgs {
            pg_port: Some(0),
            data_dir: Some("/x".into()),
            ..ConfigArgs::default()
        };
        assert!(PlatformConfig::resolve(ConfigFile::default(), &zero).is_err());
        let bad_url = ConfigArgs {
            pg_admin_url: Some("mysql://x".into()),
            data_dir: Some("/x".into()),
            ..ConfigArgs::default()
        };
        assert!(PlatformConfig::resolve(ConfigFile::default(), &bad_url).is_err());
    }

    #[test]
    fn runtime_and_docker_keys() {
        let args = ConfigArgs {
            data_dir: Some("/x".into()),
            ..ConfigArgs::default()
        };
        let defaults = PlatformConfig::resolve(ConfigFile::default(), &args).unwrap();
        assert_eq!(defaults.control_plane.runtime, RuntimeKind::Process);
        let file = parse(
            "[control_plane]\nruntime = \"docker\"\ndocker_host = \"unix:///run/d.sock\"\n\
             docker_cpus = 0.5\ndocker_pids_limit = 256\n",
        )
        .unwrap();
        let config = PlatformConfig::resolve(file, &args).unwrap();
        assert_eq!(config.control_plane.runtime, RuntimeKind::Docker);
        assert_eq!(
            config.control_plane.docker,
            DockerConfig {
                host: "unix:///run/d.sock".into(),
                cpus: 0.5,
                pids_limit: 256,
            }
        );
        for bad in [
            "[control_plane]\nruntime = \"vm\"\n",
            "[control_plane]\ndocker_host = \"tcp://10.0.0.1:2375\"\n",
            "[control_plane]\ndocker_cpus = 0.0\n",
        ] {
            let rejected = parse(bad).and_then(|f| PlatformConfig::resolve(f, &args));
            assert!(rejected.is_err(), "{bad}");
        }
    }

    #[test]
    fn external_url_disables_the_managed_cluster() {
        let args = ConfigArgs {
            pg_admin_url: Some("postgres://postgres:pw@db:5432/postgres".into()),
            data_dir: Some("/x".into()),
            ..ConfigArgs::default()
        };
        let config = PlatformConfig::resolve(ConfigFile::default(), &args).unwrap();
        assert!(config.cluster_config().is_none());
    }
}
