//! The services `mono up` runs besides PostgreSQL, in order: the development chain (only when
//! no chain URL is configured), the gateway, the control plane (`mono serve`), and the demo
//! cooperative (the devchain genesis cooperative, created in the control plane and checked
//! through the gateway). `mono down` stops them in reverse order. Each one is a [`Daemon`]:
//! found running through its pid file, or started and waited for until it answers.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use nix::sys::signal::Signal;
use serde::Serialize;
use serde_json::{json, Value};

use crate::config::{ConfigArgs, PlatformConfig};
use crate::daemon::{Daemon, Launch, LogRotation};

/// How long a service may take to answer after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the demo cooperative may take to become ready.
const DEMO_TIMEOUT: Duration = Duration::from_secs(180);

#[derive(Debug, Clone, Serialize)]
pub struct DevchainReport {
    /// "started" or "already-running".
    pub action: &'static str,
    pub pid: i32,
    pub http_url: String,
    pub ship_url: String,
    pub chain_id: String,
    pub genesis: String,
    pub log_file: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct GatewayReport {
    pub action: &'static str,
    pub pid: i32,
    /// Main listener, `http://<base_domain>:<port>`.
    pub url: String,
    pub admin_url: String,
    pub log_file: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ControlPlaneReport {
    pub action: &'static str,
    pub pid: i32,
    pub url: String,
    pub token_file: String,
    pub log_file: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    pub coop: String,
    /// "created" or "exists".
    pub action: &'static str,
    pub observed_state: String,
    /// The cooperative's GraphQL through the gateway (path route on the base domain).
    pub graphql_url: String,
    /// The same through the host route `<coop>.<base_domain>`.
    pub graphql_host_url: String,
    /// The node's readiness through the gateway.
    pub readyz_url: String,
    /// The cooperative's and its board's keys on the development chain (`null` with an
    /// external chain).
    pub keys: Option<Value>,
}

/// Everything `mono up` runs besides PostgreSQL.
#[derive(Debug, Clone, Serialize)]
pub struct ServicesReport {
    /// `None` when a chain URL is configured (then no development chain runs).
    pub devchain: Option<DevchainReport>,
    pub gateway: GatewayReport,
    pub control_plane: ControlPlaneReport,
    /// `None` with an external chain: the demo cooperative exists on the development chain only.
    pub demo: Option<DemoReport>,
}

fn action(already: bool) -> &'static str {
    if already {
        "already-running"
    } else {
        "started"
    }
}

fn http() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?)
}

async fn answers(request: reqwest::RequestBuilder) -> bool {
    request.send().await.is_ok_and(|r| r.status().is_success())
}

/// Starts (or finds running) the development chain, the gateway, the control plane and the
/// demo cooperative. `args` are the command line's configuration values, handed on to
/// `mono serve`.
pub async fn up(config: &PlatformConfig, args: &ConfigArgs) -> anyhow::Result<ServicesReport> {
    let http = http()?;
    let devchain = if config.control_plane.chain_url.is_none() {
        Some(start_devchain(config, &http).await?)
    } else {
        None
    };
    let gateway = start_gateway(config, &http).await?;
    let control_plane = start_control_plane(config, args, devchain.as_ref(), &http).await?;
    let demo = match &devchain {
        Some(chain) => Some(demo(config, chain, &http).await?),
        None => None,
    };
    Ok(ServicesReport {
        devchain,
        gateway,
        control_plane,
        demo,
    })
}

/// Service logs rotate like node logs (`control_plane.log_max_bytes`, `log_keep`), through a
/// `log-pump` of this very executable.
fn log_rotation(config: &PlatformConfig) -> anyhow::Result<LogRotation> {
    Ok(LogRotation {
        program: std::env::current_exe().context("locate the mono executable")?,
        max_bytes: config.control_plane.log_max_bytes,
        keep: config.control_plane.log_keep,
    })
}

fn devchain_dir(config: &PlatformConfig) -> PathBuf {
    config.data_dir.join("devchain")
}

/// `devchain init` once (genesis with the demo cooperative and its board; the keys kept in
/// `keys.json`, 0600), the listen addresses of the configuration written into the genesis at
/// every start, then `devchain run`.
async fn start_devchain(
    config: &PlatformConfig,
    http: &reqwest::Client,
) -> anyhow::Result<DevchainReport> {
    let dir = devchain_dir(config);
    let genesis = dir.join("genesis.toml");
    let keys_file = dir.join("keys.json");
    let binary = &config.up.devchain_binary;
    if !genesis.exists() {
        std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
        let fresh = dir.join("genesis.new.toml");
        let out = std::process::Command::new(binary)
            .arg("init")
            .arg("--out")
            .arg(&fresh)
            .output()
            .with_context(|| {
                format!(
                    "run {} init (build it with `cargo build -p devchain` or set devchain.binary)",
                    binary.display()
                )
            })?;
        if !out.status.success() {
            bail!(
                "devchain init failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let keys: Value =
            serde_json::from_slice(&out.stdout).context("devchain init printed no keys")?;
        crate::secrets::write_secret_file(&keys_file, &serde_json::to_string_pretty(&keys)?)?;
        std::fs::rename(&fresh, &genesis).context("install the genesis file")?;
    }
    let mut file: toml::Table = toml::from_str(
        &std::fs::read_to_string(&genesis)
            .with_context(|| format!("read {}", genesis.display()))?,
    )
    .context("parse the devchain genesis")?;
    let (http_addr, ship_addr) = (config.up.devchain_http, config.up.devchain_ship);
    file.insert("http_addr".into(), http_addr.to_string().into());
    file.insert("ship_addr".into(), ship_addr.to_string().into());
    std::fs::write(&genesis, toml::to_string_pretty(&file)?)
        .with_context(|| format!("write {}", genesis.display()))?;
    let chain_id = file
        .get("chain_id")
        .and_then(|v| v.as_str())
        .context("the genesis has no chain_id")?
        .to_owned();

    let daemon = Daemon::new(&config.data_dir, "devchain").with_rotation(log_rotation(config)?);
    let http_url = format!("http://{http_addr}");
    let running = daemon.running();
    let pid = match running {
        Some(pid) => pid,
        None => {
            let pid = daemon.spawn(&Launch {
                program: binary.clone(),
                args: vec!["run".into(), "--genesis".into(), genesis.clone().into()],
                cwd: dir.clone(),
                ..Launch::default()
            })?;
            let info = format!("{http_url}/v1/chain/get_info");
            daemon
                .wait_ready(pid, START_TIMEOUT, || answers(http.get(&info)))
                .await?;
            pid
        }
    };
    Ok(DevchainReport {
        action: action(running.is_some()),
        pid,
        http_url,
        ship_url: format!("ws://{ship_addr}"),
        chain_id,
        genesis: genesis.display().to_string(),
        log_file: daemon.log_file().display().to_string(),
    })
}

/// The gateway's admin token, as the control plane reads it.
fn gateway_admin_token(config: &PlatformConfig) -> anyhow::Result<String> {
    match std::env::var(crate::service::GATEWAY_ADMIN_TOKEN_ENV) {
        Ok(t) if !t.trim().is_empty() => Ok(t.trim().to_owned()),
        _ => crate::secrets::load_or_create_token(&config.state_dir().join("gateway-admin.token")),
    }
}

async fn start_gateway(
    config: &PlatformConfig,
    http: &reqwest::Client,
) -> anyhow::Result<GatewayReport> {
    let up = &config.up;
    let daemon = Daemon::new(&config.data_dir, "gateway").with_rotation(log_rotation(config)?);
    let admin_url = format!("http://{}", up.gateway_admin_listen);
    let running = daemon.running();
    let pid = match running {
        Some(pid) => pid,
        None => {
            let dir = config.data_dir.join("gateway");
            std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
            let file = dir.join("gateway.toml");
            let text = format!(
                "# Written by `mono up` at every start; changes are overwritten.\n\
                 listen = \"{}\"\nadmin_listen = \"{}\"\nbase_domain = \"{}\"\n\n\
                 [wake]\ncontrol_plane_url = \"{}\"\n",
                up.gateway_listen,
                up.gateway_admin_listen,
                up.base_domain,
                config.control_plane.url
            );
            std::fs::write(&file, text).with_context(|| format!("write {}", file.display()))?;
            let wake =
                crate::secrets::load_or_create_token(&config.state_dir().join("wake.token"))?;
            let pid = daemon.spawn(&Launch {
                program: up.gateway_binary.clone(),
                args: vec!["--config".into(), file.into()],
                env: vec![
                    (
                        "GATEWAY_ADMIN_TOKEN".into(),
                        gateway_admin_token(config)?.into(),
                    ),
                    ("GATEWAY_WAKE_TOKEN".into(), wake.into()),
                ],
                env_remove: [
                    "GATEWAY_CONFIG",
                    "GATEWAY_LISTEN",
                    "GATEWAY_ADMIN_LISTEN",
                    "GATEWAY_BASE_DOMAIN",
                    "GATEWAY_ROUTE_FILE",
                ]
                .map(String::from)
                .to_vec(),
                cwd: dir,
            })?;
            let health = format!("{admin_url}/healthz");
            daemon
                .wait_ready(pid, START_TIMEOUT, || answers(http.get(&health)))
                .await?;
            pid
        }
    };
    Ok(GatewayReport {
        action: action(running.is_some()),
        pid,
        url: format!("http://{}:{}", up.base_domain, up.gateway_listen.port()),
        admin_url,
        log_file: daemon.log_file().display().to_string(),
    })
}

/// `mono serve` (this executable) with the same configuration, the development chain as the
/// default chain and the gateway to publish routes to.
async fn start_control_plane(
    config: &PlatformConfig,
    args: &ConfigArgs,
    devchain: Option<&DevchainReport>,
    http: &reqwest::Client,
) -> anyhow::Result<ControlPlaneReport> {
    let daemon =
        Daemon::new(&config.data_dir, "control-plane").with_rotation(log_rotation(config)?);
    let url = config.control_plane.url.trim_end_matches('/').to_owned();
    // Created here so the report can name it; `mono serve` reads the same file.
    crate::service::operator_token(&config.state_dir())?;
    let running = daemon.running();
    let pid = match running {
        Some(pid) => pid,
        None => {
            let mut env: Vec<(String, std::ffi::OsString)> = args
                .to_env()?
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
            env.push(("MONO_DATA_DIR".into(), config.data_dir.clone().into()));
            env.push((
                "MONO_GATEWAY_ADMIN_URL".into(),
                format!("http://{}", config.up.gateway_admin_listen).into(),
            ));
            if let Some(chain) = devchain {
                env.push(("MONO_CHAIN_URL".into(), chain.http_url.clone().into()));
                env.push(("MONO_SHIP_URL".into(), chain.ship_url.clone().into()));
                env.push(("MONO_CHAIN_ID".into(), chain.chain_id.clone().into()));
            }
            if std::env::var_os("MONO_LOG").is_none() {
                env.push(("MONO_LOG".into(), "info".into()));
            }
            let exe = std::env::current_exe().context("find the running mono executable")?;
            let pid = daemon.spawn(&Launch {
                program: exe,
                // The data directory on the command line identifies the process in `ps`.
                args: vec![
                    "--data-dir".into(),
                    config.data_dir.clone().into(),
                    "serve".into(),
                ],
                env,
                env_remove: Vec::new(),
                cwd: config.data_dir.clone(),
            })?;
            let ready = format!("{url}/readyz");
            daemon
                .wait_ready(pid, START_TIMEOUT, || answers(http.get(&ready)))
                .await?;
            pid
        }
    };
    Ok(ControlPlaneReport {
        action: action(running.is_some()),
        pid,
        url,
        token_file: config
            .state_dir()
            .join("operator.token")
            .display()
            .to_string(),
        log_file: daemon.log_file().display().to_string(),
    })
}

/// The genesis cooperative and its board with their keys from `keys.json`.
fn demo_keys(dir: &Path) -> anyhow::Result<(String, Value)> {
    let genesis: toml::Table = toml::from_str(&std::fs::read_to_string(dir.join("genesis.toml"))?)?;
    let keys: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("keys.json")).context("read the devchain keys")?,
    )?;
    let coop = genesis
        .get("cooperatives")
        .and_then(|c| c.as_array())
        .and_then(|c| c.first())
        .context("the devchain genesis has no cooperative")?;
    let name = |v: Option<&toml::Value>| v.and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    let account = |username: &str| {
        let k = &keys["keys"][username];
        json!({"username": username, "public_key": k["public_key"], "private_key": k["private_key"]})
    };
    let coopname = name(coop.get("username"));
    let board = coop.get("board");
    let chairman = name(
        board
            .and_then(|b| b.get("chairman"))
            .and_then(|c| c.get("username")),
    );
    let members: Vec<Value> = board
        .and_then(|b| b.get("members"))
        .and_then(|m| m.as_array())
        .map(|m| {
            m.iter()
                .map(|m| account(&name(m.get("username"))))
                .collect()
        })
        .unwrap_or_default();
    let value = json!({
        "chain_id": keys["chain_id"],
        "cooperative": account(&coopname),
        "board": {"chairman": account(&chairman), "members": members},
    });
    Ok((coopname, value))
}

/// Creates the demo cooperative in the control plane (once), waits until it is ready and
/// answers through the gateway.
async fn demo(
    config: &PlatformConfig,
    chain: &DevchainReport,
    http: &reqwest::Client,
) -> anyhow::Result<DemoReport> {
    let (coop, keys) = demo_keys(&devchain_dir(config))?;
    let token = crate::service::operator_token(&config.state_dir())?;
    let client = crate::client::Client::new(&config.control_plane.url, &token)?;
    let exists = client.show(&coop).await.is_ok();
    if !exists {
        client
            .create(&crate::model::CreateRequest {
                coopname: coop.clone(),
                chain_url: Some(chain.http_url.clone()),
                ship_url: Some(chain.ship_url.clone()),
                chain_id: Some(chain.chain_id.clone()),
                ..Default::default()
            })
            .await
            .with_context(|| format!("create the demo cooperative {coop}"))?;
    }
    let deadline = tokio::time::Instant::now() + DEMO_TIMEOUT;
    let mut last = String::new();
    let row = loop {
        let row = client.show(&coop).await?;
        let state = row["observed_state"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if state == "ready" {
            break row;
        }
        if state != last {
            let reason = row["status_reason"].as_str().unwrap_or_default();
            eprintln!("demo cooperative {coop}: {state} {reason}");
            last = state;
        }
        if tokio::time::Instant::now() > deadline {
            bail!(
                "the demo cooperative {coop} is not ready within {} s ({last}); see `mono coop logs {coop}`",
                DEMO_TIMEOUT.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // The route reaches the gateway after the pass that saw the node ready.
    let up = &config.up;
    let base = format!("http://{}:{}", up.base_domain, up.gateway_listen.port());
    let readyz_url = format!("{base}/coops/{coop}/readyz");
    let probe = format!("http://{}/coops/{coop}/readyz", up.gateway_listen);
    let through_gateway = || answers(http.get(&probe).header("host", &up.base_domain));
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    while !through_gateway().await {
        if tokio::time::Instant::now() > deadline {
            bail!(
                "the demo cooperative {coop} does not answer through the gateway at {readyz_url}"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(DemoReport {
        graphql_url: format!("{base}/coops/{coop}/graphql"),
        graphql_host_url: format!(
            "http://{coop}.{}:{}/graphql",
            up.base_domain,
            up.gateway_listen.port()
        ),
        readyz_url,
        coop,
        action: if exists { "exists" } else { "created" },
        observed_state: row["observed_state"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        keys: Some(keys),
    })
}

/// What `mono down` did to each service: "stopped" or "not-running".
#[derive(Debug, Clone, Serialize)]
pub struct ServicesDown {
    pub control_plane: &'static str,
    /// Nodes left running by a control plane that was killed, stopped here.
    pub leftover_nodes: usize,
    pub gateway: &'static str,
    pub devchain: &'static str,
}

fn stopped(was_running: bool) -> &'static str {
    if was_running {
        "stopped"
    } else {
        "not-running"
    }
}

/// Stops the control plane (which stops its nodes), any node it left behind, the gateway and
/// the development chain.
pub async fn down(config: &PlatformConfig) -> anyhow::Result<ServicesDown> {
    let grace = config.control_plane.stop_grace;
    let cp = Daemon::new(&config.data_dir, "control-plane")
        .stop(Signal::SIGTERM, grace + Duration::from_secs(30))
        .await?;
    let mut leftover_nodes = 0;
    if let Ok(entries) = std::fs::read_dir(config.state_dir().join("coops")) {
        for dir in entries.filter_map(Result::ok).map(|e| e.path()) {
            if crate::runtime::process::stop_orphan(&dir, grace).await? {
                leftover_nodes += 1;
            }
        }
    }
    let gateway = Daemon::new(&config.data_dir, "gateway")
        .stop(Signal::SIGTERM, Duration::from_secs(15))
        .await?;
    let devchain = Daemon::new(&config.data_dir, "devchain")
        .stop(Signal::SIGINT, Duration::from_secs(10))
        .await?;
    Ok(ServicesDown {
        control_plane: stopped(cp),
        leftover_nodes,
        gateway: stopped(gateway),
        devchain: stopped(devchain),
    })
}
