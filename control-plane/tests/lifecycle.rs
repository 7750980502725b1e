//! The process runtime end to end with real PostgreSQL, real `tenant-node` processes and a
//! development chain: three cooperatives, credential isolation, `kill -9` of a node healed,
//! delete leaving nothing behind and the others untouched, suspend/resume, restart, logs.

mod support;

use reqwest::Method;
use support::*;

fn pid_of(dir: &std::path::Path) -> i32 {
    let pids = processes_in(dir);
    assert_eq!(
        pids.len(),
        1,
        "exactly one node process in {}: {pids:?}",
        dir.display()
    );
    pids[0]
}

#[tokio::test(flavor = "multi_thread")]
async fn three_cooperatives_isolated_healed_and_deleted_cleanly() {
    let chain = Chain::start().await;
    let admin_url = managed_pg::testing::admin_url().await;
    let cluster = managed_pg::testing::cluster().await;
    let managed_hba = cluster.is_some();
    let state = managed_pg::testing::scratch_dir("mono-cp-lifecycle");
    let config = service_config(admin_url.clone(), cluster, state.path(), &chain);
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
    }

    // Each role reaches its own database and not another's, with the generated credentials.
    let secrets = |coop: &'static str| {
        let api = api.clone();
        async move {
            let (status, body) = api
                .call(
                    Method::GET,
                    &format!("/v1/cooperatives/{coop}/secrets"),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{body}");
            body["database_url"].as_str().unwrap().to_owned()
        }
    };
    let a_url = secrets("coopa").await;
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

    // kill -9 of a node: the control plane restarts it.
    let b_dir = state.path().join("coops/coopb");
    let b_pid = pid_of(&b_dir);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(b_pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let healed = wait_for(120, "coopb restarted", || async {
        let row = api.show("coopb").await?;
        let pids = processes_in(&b_dir);
        (row["restarts"].as_u64() >= Some(1)
            && row["observed_state"] == "ready"
            && pids.len() == 1
            && pids[0] != b_pid)
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
    let a_dir = state.path().join("coops/coopa");
    let c_pid = pid_of(&state.path().join("coops/coopc"));
    drop(a);
    let (status, _) = api
        .call(Method::DELETE, "/v1/cooperatives/coopa", None)
        .await;
    assert_eq!(status, 202);
    api.wait_gone("coopa").await;
    assert!(processes_in(&a_dir).is_empty(), "coopa's node stopped");
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
        pid_of(&state.path().join("coops/coopc")),
        c_pid,
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
    let c_dir = state.path().join("coops/coopc");
    wait_for(60, "coopc suspended", || async {
        let row = api.show("coopc").await?;
        (row["observed_state"] == "suspended" && processes_in(&c_dir).is_empty()).then_some(())
    })
    .await;
    api.call(Method::POST, "/v1/cooperatives/coopc/resume", None)
        .await;
    api.wait_ready("coopc").await;
    let before = pid_of(&c_dir);
    let (status, row) = api
        .call(Method::POST, "/v1/cooperatives/coopc/restart", None)
        .await;
    assert_eq!(status, 202, "{row}");
    wait_for(60, "coopc restarted", || async {
        let row = api.show("coopc").await?;
        let pids = processes_in(&c_dir);
        (row["observed_state"] == "ready" && pids.len() == 1 && pids[0] != before).then_some(())
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

    // Stopping the control plane stops its nodes.
    service.shutdown().await.unwrap();
    assert!(
        processes_in(&state.path().join("coops")).is_empty(),
        "no node left running"
    );
}
