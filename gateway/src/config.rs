//! The gateway's one typed configuration: a TOML file, overridden by flags and environment
//! variables (clap), validated once into `Config`. Every key is documented in docs/gateway.md.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use serde::Deserialize;

use crate::ratelimit::{RateWindow, DEFAULT_WINDOWS};
use crate::routes::is_host_name;

/// Command-line flags; each overrides the same key of the config file.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "gateway",
    about = "Routes cooperatives' GraphQL traffic to their tenant nodes"
)]
pub struct Args {
    /// TOML config file.
    #[arg(long, env = "GATEWAY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Main listener (`listen`).
    #[arg(long, env = "GATEWAY_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Admin listener for /metrics, /healthz and PUT /routes (`admin_listen`).
    #[arg(long, env = "GATEWAY_ADMIN_LISTEN")]
    pub admin_listen: Option<SocketAddr>,
    /// Base domain: `<coop>.<base domain>` and `<base domain>/coops/<coop>/` (`base_domain`).
    #[arg(long, env = "GATEWAY_BASE_DOMAIN")]
    pub base_domain: Option<String>,
    /// Route file, JSON or TOML, polled for changes (`route_file`).
    #[arg(long, env = "GATEWAY_ROUTE_FILE")]
    pub route_file: Option<PathBuf>,
    /// Operator bearer token for `PUT /routes` on the admin listener.
    #[arg(long, env = "GATEWAY_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Bearer token for the control plane's wake endpoint.
    #[arg(long, env = "GATEWAY_WAKE_TOKEN", hide_env_values = true)]
    pub wake_token: Option<String>,
}

/// The config file as written (all keys optional except `base_domain`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub admin_listen: Option<SocketAddr>,
    pub base_domain: Option<String>,
    pub route_file: Option<PathBuf>,
    pub route_poll_ms: Option<u64>,
    pub workers: Option<usize>,
    #[serde(default)]
    pub limits: FileLimits,
    #[serde(default)]
    pub timeouts: FileTimeouts,
    #[serde(default)]
    pub upstream: FileUpstream,
    pub wake: Option<FileWake>,
    pub tls: Option<FileTls>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLimits {
    pub max_body_bytes: Option<u64>,
    pub max_held_per_coop: Option<usize>,
    pub rate: Option<Vec<FileRate>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRate {
    pub per_second: f64,
    pub window_secs: u64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTimeouts {
    pub header_read_ms: Option<u64>,
    pub idle_ms: Option<u64>,
    pub upstream_connect_ms: Option<u64>,
    pub upstream_response_ms: Option<u64>,
    pub hold_ms: Option<u64>,
    pub shutdown_grace_ms: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileUpstream {
    pub pool_idle_ms: Option<u64>,
    pub pool_max_idle_per_coop: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileWake {
    pub control_plane_url: String,
    pub retry_ms: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTls {
    pub listen: SocketAddr,
    pub certs: Vec<FileCert>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileCert {
    /// Exact names or `*.suffix` wildcards; the first entry of the file is the default cert.
    pub domains: Vec<String>,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The validated configuration.
#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub admin_listen: Option<SocketAddr>,
    pub base_domain: String,
    pub route_file: Option<PathBuf>,
    pub route_poll: Duration,
    /// Threads serving the main listener, each with its own runtime and SO_REUSEPORT socket.
    pub workers: usize,
    pub max_body_bytes: u64,
    /// Requests one cooperative may have waiting for its node at once; more get 503 at once.
    pub max_held_per_coop: usize,
    pub rate_windows: Vec<RateWindow>,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub upstream_connect_timeout: Duration,
    pub upstream_response_timeout: Duration,
    pub hold_timeout: Duration,
    pub shutdown_grace: Duration,
    pub pool_idle_timeout: Duration,
    pub pool_max_idle_per_coop: usize,
    pub wake: Option<WakeConfig>,
    pub tls: Option<TlsConfig>,
    pub admin_token: Option<String>,
}

/// Where and how to wake a suspended cooperative.
#[derive(Clone)]
pub struct WakeConfig {
    pub control_plane_url: String,
    pub token: Option<String>,
    pub retry: Duration,
}

/// TLS listener and certificate files.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    pub listen: SocketAddr,
    pub certs: Vec<FileCert>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("admin_listen", &self.admin_listen)
            .field("base_domain", &self.base_domain)
            .field("route_file", &self.route_file)
            .field("rate_windows", &self.rate_windows)
            .field("wake", &self.wake)
            .field("tls", &self.tls)
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for WakeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WakeConfig")
            .field("control_plane_url", &self.control_plane_url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("retry", &self.retry)
            .finish()
    }
}

impl Config {
    /// Loads the file named by `--config` (if any) and applies flags and environment.
    pub fn load(args: Args) -> anyhow::Result<Config> {
        let file = match &args.config {
            Some(path) => read_file_config(path)?,
            None => FileConfig::default(),
        };
        Config::from_parts(file, args)
    }

    /// Parses a TOML config text without flags (tests, embedding).
    pub fn from_toml(text: &str) -> anyhow::Result<Config> {
        let file: FileConfig = toml::from_str(text).context("failed to parse config")?;
        Config::from_parts(file, Args::parse_from(["gateway"]))
    }

    fn from_parts(file: FileConfig, args: Args) -> anyhow::Result<Config> {
        let ms = |v: Option<u64>, default: u64| Duration::from_millis(v.unwrap_or(default));
        let Some(base_domain) = args.base_domain.or(file.base_domain) else {
            bail!("base_domain is required");
        };
        let base_domain = base_domain.trim_end_matches('.').to_owned();
        if !is_host_name(&base_domain) {
            bail!("base_domain {base_domain:?} is not a lowercase host name");
        }
        let rate_windows = match file.limits.rate {
            None => DEFAULT_WINDOWS.to_vec(),
            Some(list) => list
                .iter()
                .map(|r| {
                    if !r.per_second.is_finite() || r.per_second <= 0.0 || r.window_secs == 0 {
                        bail!("limits.rate entries need per_second > 0 and window_secs > 0");
                    }
                    Ok(RateWindow {
                        per_second: r.per_second,
                        window: Duration::from_secs(r.window_secs),
                    })
                })
                .collect::<anyhow::Result<_>>()?,
        };
        let wake = match file.wake {
            None => None,
            Some(w) => {
                let url = w.control_plane_url.trim_end_matches('/').to_owned();
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    bail!("wake.control_plane_url must be an http(s) URL");
                }
                Some(WakeConfig {
                    control_plane_url: url,
                    token: args.wake_token,
                    retry: ms(w.retry_ms, 5_000),
                })
            }
        };
        let tls = match file.tls {
            None => None,
            Some(t) if t.certs.is_empty() => bail!("tls.certs must list at least one cert"),
            Some(t) => Some(TlsConfig {
                listen: t.listen,
                certs: t.certs,
            }),
        };
        let t = &file.timeouts;
        let config = Config {
            listen: args
                .listen
                .or(file.listen)
                .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 8080))),
            admin_listen: args.admin_listen.or(file.admin_listen),
            base_domain,
            route_file: args.route_file.or(file.route_file),
            route_poll: ms(file.route_poll_ms, 1_000),
            workers: match file.workers {
                Some(0) => bail!("workers must be at least 1"),
                Some(n) => n,
                None => std::thread::available_parallelism().map_or(1, |n| n.get()),
            },
            max_body_bytes: file.limits.max_body_bytes.unwrap_or(1024 * 1024),
            max_held_per_coop: file.limits.max_held_per_coop.unwrap_or(1024),
            rate_windows,
            header_read_timeout: ms(t.header_read_ms, 10_000),
            idle_timeout: ms(t.idle_ms, 60_000),
            upstream_connect_timeout: ms(t.upstream_connect_ms, 2_000),
            upstream_response_timeout: ms(t.upstream_response_ms, 30_000),
            hold_timeout: ms(t.hold_ms, 20_000),
            shutdown_grace: ms(t.shutdown_grace_ms, 10_000),
            pool_idle_timeout: ms(file.upstream.pool_idle_ms, 90_000),
            pool_max_idle_per_coop: file.upstream.pool_max_idle_per_coop.unwrap_or(64),
            wake,
            tls,
            admin_token: args.admin_token.filter(|t| !t.is_empty()),
        };
        for (name, d) in [
            ("timeouts.header_read_ms", config.header_read_timeout),
            ("timeouts.idle_ms", config.idle_timeout),
            (
                "timeouts.upstream_connect_ms",
                config.upstream_connect_timeout,
            ),
            (
                "timeouts.upstream_response_ms",
                config.upstream_response_timeout,
            ),
            ("timeouts.hold_ms", config.hold_timeout),
            ("route_poll_ms", config.route_poll),
        ] {
            if d.is_zero() {
                bail!("{name} must be greater than 0");
            }
        }
        if config.max_held_per_coop == 0 {
            bail!("limits.max_held_per_coop must be at least 1");
        }
        Ok(config)
    }
}

fn read_file_config(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read config {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("failed to parse config {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_config_gets_defaults() {
        let c = Config::from_toml("base_domain = \"coops.test\"").unwrap();
        assert_eq!(c.rate_windows, DEFAULT_WINDOWS.to_vec());
        assert_eq!(c.max_body_bytes, 1024 * 1024);
        assert_eq!(c.listen.port(), 8080);
    }

    #[test]
    fn rejects_unknown_and_invalid_keys() {
        assert!(Config::from_toml("base_domain = \"coops.test\"\nlisten_port = 1").is_err());
        assert!(Config::from_toml("listen = \"127.0.0.1:1\"").is_err());
        assert!(Config::from_toml("base_domain = \"Coops.Test\"").is_err());
        assert!(
            Config::from_toml("base_domain = \"coops.test\"\n[timeouts]\nhold_ms = 0").is_err()
        );
        assert!(Config::from_toml(
            "base_domain = \"coops.test\"\n[[limits.rate]]\nper_second = 0\nwindow_secs = 1"
        )
        .is_err());
    }

    #[test]
    fn full_config_parses() {
        let c = Config::from_toml(
            r#"
            listen = "127.0.0.1:0"
            admin_listen = "127.0.0.1:0"
            base_domain = "coops.test"
            route_file = "/tmp/routes.json"
            route_poll_ms = 200
            [limits]
            max_body_bytes = 10
            rate = [{ per_second = 5, window_secs = 1 }]
            [timeouts]
            upstream_response_ms = 100
            [wake]
            control_plane_url = "http://127.0.0.1:7000/"
            "#,
        )
        .unwrap();
        assert_eq!(c.rate_windows.len(), 1);
        assert_eq!(
            c.wake.map(|w| w.control_plane_url),
            Some("http://127.0.0.1:7000".to_owned())
        );
    }
}
