//! The lifecycle scenario every runtime must pass, written once: three cooperatives ready,
//! credential isolation, a killed node healed, logs captured, delete leaving nothing behind
//! (node, role, database, files) with the others untouched, suspend/resume, restart, metrics.
//! A runtime plugs in through [`Nodes`] (how to see and kill its nodes).

use std::future::Future;
use std::path::{Path, PathBuf};

use bollard::query_parameters::ListContainersOptionsBuilder;
use control_plane::service::{Service, ServiceConfig};
use reqwest::Method;

use super::*;

/// How a test sees one runtime's nodes.
pub trait Nodes {
    /// Ids of the running node instances of `coop` (process ids, container ids).
    fn running(&self, coop: &str) -> impl Future<Output = Vec<String>> + Send;
    /// Everything left of `coop`'s node, whatever its state (processes, containers).
    fn leftovers(&self, coop: &str) -> impl Future<Output = Vec<String>> + Send;
    /// Kills `coop`'s node with SIGKILL, as a crash would.
    fn kill(&self, coop: &str) -> impl Future<Output = ()> + Send;
}

/// Node processes, found by their working directory.
#[derive(Debug)]
pub struct ProcessNodes {
    pub coops_dir: PathBuf,
}

impl Nodes for ProcessNodes {
    async fn running(&self, coop: &str) -> Vec<String> {
        processes_in(&self.coops_dir.join(coop))
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    async fn leftovers(&self, coop: &str) -> Vec<String> {
        self.running(coop).await
    }

    async fn kill(&self, coop: &str) {
        let pid = one(self, coop).await;
        sigkill(pid.parse().unwrap());
    }
}

/// Node containers of one control plane, found by their labels.
#[derive(Debug)]
pub struct DockerNodes {
    pub docker: bollard::Docker,
    /// The control plane's instance label (`runtime::docker::instance_id`).
    pub instance: String,
}

impl DockerNodes {
    async fn list(&self, coop: &str, all: bool) -> Vec<bollard::models::ContainerSummary> {
        let filters = std::collections::HashMap::from([(
            "label",
            vec![
                format!("mono.instance={}", self.instance),
                format!("mono.coop={coop}"),
            ],
        )]);
        let options = ListContainersOptionsBuilder::new()
            .all(all)
            .filters(&filters)
            .build();
        self.docker.list_containers(Some(options)).await.unwrap()
    }
}

impl Nodes for DockerNodes {
    async fn running(&self, coop: &str) -> Vec<String> {
        self.list(coop, false)
            .await
            .into_iter()
            .filter_map(|c| c.id)
            .collect()
    }

    async fn leftovers(&self, coop: &str) -> Vec<String> {
        self.list(coop, true)
            .await
            .into_iter()
            .filter_map(|c| c.id)
            .collect()
    }

    /// SIGKILL to the node process of the container, from the host.
    async fn kill(&self, coop: &str) {
        let id = one(self, coop).await;
        let inspect = self.docker.inspect_container(&id, None).await.unwrap();
        let pid = inspect.state.and_then(|s| s.pid).unwrap();
        assert!(pid > 0, "the container runs a process");
        sigkill(i32::try_from(pid).unwrap());
    }
}

fn sigkill(pid: i32) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
}

/// The one running instance of `coop`'s node.
pub async fn one(nodes: &impl Nodes, coop: &str) -> String {
    let running = nodes.running(coop).await;
    assert_eq!(running.len(), 1, "exactly one node of {coop}: {running:?}");
    running[0].clone()
}

/// A control plane left running by [`run`], with what the caller needs to finish.
#[derive(Debug)]
pub struct Running {
    pub service: Service,
    pub api: Api,
    pub admin_url: String,
}

/// Runs the scenario with `config` (whose default runtime is the one under test); returns the
/// control plane with `coopb` and `coopc` ready, `coopa` deleted.
pub async fn run(config: ServiceConfig, state: &Path, nodes: &impl Nodes) -> Running {
    let admin_url = config.admin_url.clone();
    let managed_hba = config.cluster.is_some();
    let (service, api) = start_service(config).await;

    // Authentication is required, and bad input is refused with a reason.
    let anonymous = Api {
        token: "wrong".into(),
        ..api.clone()
    };
    assert_eq!(
        anonymous
            .call(Method::GET, "/v1/cooperatives", None)
            .await
            .0,
        401
    );
    let (status, body) = api
        .call(
            Method::POST,
            "/v1/cooperatives",
            Some(serde_json::json!({"coopname": "Bad_Name"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("invalid cooperative name"));

    let coops = ["coopa", "coopb", "coopc"];
    for coop in coops {
        let row = api.create(coop).await;
        assert_eq!(row["desired_state"], "running");
        assert!(
            row.get("secrets").is_none(),
            "secrets never in API rows: {row}"
        );
    }
    let (status, _) = api
        .call(
            Method::POST,
            "/v1/cooperatives",
            Some(serde_json::json!({"coopname": "coopa"})),
        )
        .await;
    assert_eq!(status, 409, "duplicate create");
    for coop in coops {
        api.wait_ready(coop).await;
        one(nodes, coop).await;
    }

    // Each role reaches its own database and not another's, with the generated credentials.
    let (status, body) = api
        .call(Method::GET, "/v1/cooperatives/coopa/secrets", None)
        .await;
    assert_eq!(status, 200, "{body}");
    let a_url = body["database_url"].as_str().unwrap().to_owned();
    let a = try_connect(&a_url)
        .await
        .expect("coopa's role connects to coopa's database");
    let super_row = a
        .query_one("SELECT rolsuper OR rolcreatedb OR rolcreaterole FROM pg_roles WHERE rolname = current_user", &[])
        .await
        .unwrap();
    assert!(
        !super_row.get::<_, bool>(0),
        "a cooperative role has no superuser, createdb, createrole"
    );
    let Err(cross) = try_connect(&managed_pg::url_with_database(&a_url, "coop_coopb")).await else {
        panic!("coopa's role must not reach coopb's database");
    };
    if managed_hba {
        assert!(cross.contains("pg_hba.conf"), "{cross}");
    } else {
        assert!(cross.contains("CONNECT"), "{cross}");
    }
    assert!(
        try_connect(&managed_pg::url_with_database(&a_url, "postgres"))
            .await
            .is_err()
    );

    // A killed node: the control plane replaces it.
    let b_before = one(nodes, "coopb").await;
    nodes.kill("coopb").await;
    let healed = wait_for(120, "coopb restarted", || async {
        let row = api.show("coopb").await?;
        let running = nodes.running("coopb").await;
        (row["restarts"].as_u64() >= Some(1)
            && row["observed_state"] == "ready"
            && running.len() == 1
            && running[0] != b_before)
            .then_some(row)
    })
    .await;
    assert!(node_answers(&format!("127.0.0.1:{}", healed["port"])).await);

    // Logs are captured.
    let (status, logs) = api
        .call(Method::GET, "/v1/cooperatives/coopc/logs?lines=50", None)
        .await;
    assert_eq!(status, 200);
    assert!(
        !logs.as_str().unwrap_or_default().is_empty(),
        "node output captured"
    );

    // Delete A: node, database, role, files gone; B and C untouched.
    let a_dir = state.join("coops/coopa");
    let c_before = one(nodes, "coopc").await;
    drop(a);
    let (status, _) = api
        .call(Method::DELETE, "/v1/cooperatives/coopa", None)
        .await;
    assert_eq!(status, 202);
    api.wait_gone("coopa").await;
    assert!(
        nodes.leftovers("coopa").await.is_empty(),
        "coopa's node removed"
    );
    assert!(!a_dir.exists(), "coopa's files removed");
    let admin = managed_pg::testing::connect(&admin_url).await;
    let count = |sql: &'static str| {
        let admin = &admin;
        async move { admin.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
    };
    assert_eq!(
        count("SELECT count(*) FROM pg_roles WHERE rolname = 'coop_coopa'").await,
        0
    );
    assert_eq!(
        count("SELECT count(*) FROM pg_database WHERE datname = 'coop_coopa'").await,
        0
    );
    assert_eq!(
        count("SELECT count(*) FROM pg_roles WHERE rolname IN ('coop_coopb', 'coop_coopc')").await,
        2
    );
    assert_eq!(
        one(nodes, "coopc").await,
        c_before,
        "coopc's node untouched"
    );
    if let Some(cluster) = managed_pg::testing::cluster().await {
        let rules: Vec<String> = cluster
            .hba_rules()
            .unwrap()
            .iter()
            .map(|r| r.role().to_owned())
            .collect();
        assert_eq!(rules, ["coop_coopb", "coop_coopc"]);
    }
    assert!(try_connect(&a_url).await.is_err());

    // Suspend stops the node and keeps the data; resume runs it again; restart replaces it.
    let (status, _) = api
        .call(Method::POST, "/v1/cooperatives/coopc/suspend", None)
        .await;
    assert_eq!(status, 202);
    wait_for(60, "coopc suspended", || async {
        let row = api.show("coopc").await?;
        (row["observed_state"] == "suspended" && nodes.leftovers("coopc").await.is_empty())
            .then_some(())
    })
    .await;
    api.call(Method::POST, "/v1/cooperatives/coopc/resume", None)
        .await;
    api.wait_ready("coopc").await;
    let before = one(nodes, "coopc").await;
    let (status, row) = api
        .call(Method::POST, "/v1/cooperatives/coopc/restart", None)
        .await;
    assert_eq!(status, 202, "{row}");
    wait_for(60, "coopc restarted", || async {
        let row = api.show("coopc").await?;
        let running = nodes.running("coopc").await;
        (row["observed_state"] == "ready" && running.len() == 1 && running[0] != before)
            .then_some(())
    })
    .await;

    // Metrics count states and restarts.
    let metrics = api
        .http
        .get(format!("{}/metrics", api.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("control_plane_cooperatives{state=\"ready\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("control_plane_node_restarts_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("control_plane_node_up{coop=\"coopb\"} 1"),
        "{metrics}"
    );
    Running {
        service,
        api,
        admin_url,
    }
}
