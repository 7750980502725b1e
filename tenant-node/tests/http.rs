//! The real `tenant-node serve` against a devchain producing 2 blocks/s: `/healthz`, `/readyz`
//! and `/metrics` answer, the node keeps within a block or two of the head, and `/readyz` turns
//! 503 when the database is gone.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use managed_pg::testing::{free_port, TestDb};
use support::chain::{TestChain, CHAIN_ID};
use support::wait_for;

fn metric(text: &str, name: &str) -> Option<f64> {
    let prefix = format!("{name}{{coop=\"voskhod\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_answers_health_readiness_and_metrics_while_following_the_head() {
    let chain = TestChain::start_with(500, 3).await;
    chain.busy_history(2, 2);
    let test_db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = dir.path().join("node.toml");
    std::fs::write(
        &config,
        format!(
            "coopname = \"voskhod\"\ndatabase_url = \"{}\"\nchain_url = \"{}\"\n\
             ship_url = \"{}\"\nchain_id = \"{CHAIN_ID}\"\nlisten = \"127.0.0.1:{port}\"\n\
             readiness_lag = 4\n",
            test_db.url,
            chain.http_url(),
            chain.ship_url()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tenant-node"))
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .env("TENANT_NODE_LOG", "warn")
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn tenant-node");
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let get = |path: &str| {
        let req = http.get(format!("{base}{path}"));
        async move {
            let resp = req.send().await.ok()?;
            let status = resp.status().as_u16();
            Some((status, resp.text().await.ok()?))
        }
    };

    let (status, body) = wait_for(30, "/healthz", || get("/healthz")).await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    wait_for(60, "/readyz 200", || async {
        get("/readyz").await.filter(|(s, _)| *s == 200)
    })
    .await;

    // live: the checkpoint stays within a block or two (≤ 1 s) of the head at 2 blocks/s
    let mut max_lag = 0;
    for _ in 0..40 {
        let chain_head = chain.head();
        let (_, text) = get("/metrics").await.expect("metrics");
        let head = metric(&text, "tenant_node_head_block").expect("head");
        let synced = metric(&text, "tenant_node_synced_block").expect("synced");
        let lag = metric(&text, "tenant_node_sync_lag_blocks").expect("lag");
        assert_eq!(lag, (head - synced).max(0.0), "{text}");
        let behind = (f64::from(chain_head) - synced).max(0.0);
        max_lag = max_lag.max(behind as u32);
        tokio::time::sleep(Duration::from_millis(125)).await;
    }
    assert!(
        max_lag <= 2,
        "lag behind the chain head reached {max_lag} blocks"
    );
    let (status, text) = get("/metrics").await.unwrap();
    assert_eq!(status, 200);
    for name in [
        "tenant_node_blocks_per_second",
        "tenant_node_actions_per_second",
        "tenant_node_forks_total",
    ] {
        assert!(metric(&text, name).is_some(), "{name} missing:\n{text}");
    }
    assert!(metric(&text, "tenant_node_blocks_per_second").unwrap() > 0.5);

    // without its database the node is alive but not ready
    test_db.drop_database().await;
    let (status, body) = wait_for(30, "/readyz 503", || async {
        get("/readyz").await.filter(|(s, _)| *s == 503)
    })
    .await;
    assert_eq!(status, 503);
    assert!(body.contains("database unreachable"), "{body}");
    assert_eq!(get("/healthz").await.unwrap().0, 200);

    child.kill().unwrap();
    child.wait().unwrap();
    chain.shutdown().await;
}
