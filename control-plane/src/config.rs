//! The platform configuration: an optional TOML file, overridden by `MONO_*` environment
//! variables, overridden by command-line flags; validated once into [`PlatformConfig`].
//!
//! Every key is documented in `docs/configuration.md`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;

/// The file form; every field optional, unknown keys rejected.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub data_dir: Option<PathBuf>,
    #[serde(default)]
    pub postgres: PostgresFile,
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
        Ok(PlatformConfig { data_dir, postgres })
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
