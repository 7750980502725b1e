//! Test support for the control plane: a development chain, the built `tenant-node` binary, an
//! in-process control plane on the test cluster, an API client, and `node_answers`, the one
//! place that decides whether a node serves its API.

#![allow(dead_code, unreachable_pub)]

pub mod lifecycle;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use control_plane::model::{CreateDefaults, RuntimeKind};
use control_plane::runtime::docker::DockerConfig;
use control_plane::runtime::process::ProcessConfig;
use control_plane::secrets::{random_hex, MasterKey};
use control_plane::service::{GatewayTarget, Service, ServiceConfig};
use devchain::{Devchain, DevchainConfig, DevchainHandle, Genesis};
use serde_json::Value;

/// Whether the node at `addr` serves its API. Today the node's readiness (`GET /readyz`);
/// switch to `POST /graphql {"query":"{__typename}"}` when the node serves GraphQL.
pub async fn node_answers(addr: &str) -> bool {
    let http = reqwest::Client::new();
    let answer = http
        .post(format!("http://{addr}/graphql"))
        .json(&serde_json::json!({ "query": "{ __typename }" }))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    match answer {
        Ok(r) if r.status().is_success() => r
            .json::<serde_json::Value>()
            .await
            .is_ok_and(|body| body["data"]["__typename"] == "Query"),
        _ => false,
    }
}

/// The `tenant-node` binary of this workspace (built by `cargo test --workspace`, or by
/// `cargo build -p tenant-node`).
pub fn tenant_node_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target directory");
    let bin = dir.join("tenant-node");
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build -p tenant-node` (cargo test --workspace builds it)",
        bin.display()
    );
    bin
}

/// A running development chain with its id.
#[derive(Debug)]
pub struct Chain {
    pub handle: DevchainHandle,
    pub chain_id: String,
    _dir: tempfile::TempDir,
}

impl Chain {
    pub async fn start() -> Chain {
        let dir = tempfile::tempdir().expect("tempdir");
        let abi_dir = dir.path().join("abi");
        std::fs::create_dir_all(&abi_dir).unwrap();
        for (account, text) in devchain::contracts::CONTRACT_ABIS {
            std::fs::write(abi_dir.join(format!("{account}.abi")), text).unwrap();
        }
        let (mut file, _keys) = devchain::cli::demo_genesis(Some(&abi_dir)).expect("genesis");
        file.data_dir = dir.path().join("data");
        file.http_addr = "127.0.0.1:0".into();
        file.ship_addr = "127.0.0.1:0".into();
        file.block_interval_ms = 200;
        let chain_id = file.chain_id.clone();
        let genesis = Genesis::validate(file, dir.path()).expect("valid genesis");
        let handle = Devchain::start(DevchainConfig {
            genesis,
            contracts: devchain::contracts::coopos_contracts(),
        })
        .await
        .expect("start devchain");
        Chain {
            handle,
            chain_id,
            _dir: dir,
        }
    }
}

/// The service configuration for tests: short intervals and deadlines.
pub fn service_config(
    admin_url: String,
    cluster: Option<managed_pg::Cluster>,
    state_dir: &Path,
    chain: &Chain,
) -> ServiceConfig {
    ServiceConfig {
        admin_url,
        cluster,
        state_dir: state_dir.to_path_buf(),
        listen: "127.0.0.1:0".parse().unwrap(),
        operator_token: random_hex(16).unwrap(),
        wake_token: Some(random_hex(16).unwrap()),
        master_key: MasterKey::from_hex(&random_hex(32).unwrap()).unwrap(),
        node: ProcessConfig {
            binary: tenant_node_bin(),
            stop_grace: Duration::from_secs(5),
            log_max_bytes: 1024 * 1024,
            log_keep: 2,
        },
        docker: DockerConfig::default(),
        ports: 21000..=29999,
        defaults: CreateDefaults {
            chain_url: Some(chain.handle.http_url()),
            ship_url: Some(chain.handle.ship_url()),
            chain_id: Some(chain.chain_id.clone()),
            memory_mb: 1024,
            connection_limit: 6,
            runtime: RuntimeKind::Process,
        },
        reconcile_interval: Duration::from_millis(200),
        start_deadline: Duration::from_secs(60),
        step_deadline: Duration::from_secs(30),
        backoff_cap: Duration::from_secs(2),
        gateway: None::<GatewayTarget>,
    }
}

/// The API with a token.
#[derive(Debug, Clone)]
pub struct Api {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(addr: SocketAddr, token: &str) -> Api {
        Api {
            base: format!("http://{addr}"),
            token: token.to_owned(),
            http: reqwest::Client::new(),
        }
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("control plane answers");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn create(&self, coop: &str) -> Value {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/v1/cooperatives",
                Some(serde_json::json!({"coopname": coop})),
            )
            .await;
        assert_eq!(status, 201, "create {coop}: {body}");
        body
    }

    pub async fn show(&self, coop: &str) -> Option<Value> {
        let (status, body) = self
            .call(
                reqwest::Method::GET,
                &format!("/v1/cooperatives/{coop}"),
                None,
            )
            .await;
        match status {
            200 => Some(body),
            404 => None,
            other => panic!("show {coop}: {other} {body}"),
        }
    }

    /// Waits until `coop` is observed ready and its node answers; returns its row.
    pub async fn wait_ready(&self, coop: &str) -> Value {
        wait_for(120, &format!("{coop} ready"), || async {
            let row = self.show(coop).await?;
            if row["observed_state"] != "ready" {
                return None;
            }
            let addr = format!("127.0.0.1:{}", row["port"]);
            node_answers(&addr).await.then_some(row)
        })
        .await
    }

    pub async fn wait_gone(&self, coop: &str) {
        wait_for(120, &format!("{coop} deleted"), || async {
            self.show(coop).await.is_none().then_some(())
        })
        .await;
    }
}

/// Polls `f` every 100 ms until it returns `Some` (panics after `secs` seconds).
pub async fn wait_for<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Pids of processes whose working directory is `dir` (or below it).
pub fn processes_in(dir: &Path) -> Vec<i32> {
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let cwd = std::fs::read_link(e.path().join("cwd")).ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            let zombie = stat
                .rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'));
            (cwd.starts_with(&dir) && !zombie).then_some(pid)
        })
        .collect()
}

/// Connects with `url`; `Err` carries the server's message.
pub async fn try_connect(url: &str) -> Result<tokio_postgres::Client, String> {
    match tokio_postgres::connect(url, tokio_postgres::NoTls).await {
        Ok((client, conn)) => {
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok(client)
        }
        Err(e) => Err(format!("{e:?}")),
    }
}

/// The Docker engine for tests, or `None` (with a message) when none is reachable; under
/// `CI=true` a missing engine fails the test instead.
pub async fn docker_or_skip(test: &str) -> Option<bollard::Docker> {
    let host = control_plane::runtime::docker::default_host();
    match control_plane::runtime::docker::connect(&host).await {
        Ok(docker) => Some(docker),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true and no Docker engine is reachable at {host}: {e:#} (scripts/deps.sh starts dockerd)")
        }
        Err(e) => {
            eprintln!(
                "SKIPPED {test}: no Docker engine reachable at {host} ({e:#}); \
                 run scripts/deps.sh as root to install and start dockerd"
            );
            None
        }
    }
}

/// Starts an in-process control plane; returns it with an API client.
pub async fn start_service(config: ServiceConfig) -> (Service, Api) {
    let token = config.operator_token.clone();
    let service = Service::start(config)
        .await
        .expect("start the control plane");
    let api = Api::new(service.addr(), &token);
    (service, api)
}
