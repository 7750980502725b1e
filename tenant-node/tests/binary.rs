//! The real `tenant-node` binary: `serve` killed with SIGKILL mid-sync and started again ends
//! with the same digest as an uninterrupted sync, and `digest` prints it.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use managed_pg::testing::{free_port, TestDb};
use support::chain::{TestChain, CHAIN_ID};
use support::{wait_for, Node};
use tenant_node::config::DatabaseUrl;

fn write_config(dir: &Path, db_url: &str, chain: &TestChain, listen: &str, extra: &str) -> PathBuf {
    let path = dir.join("tenant-node.toml");
    let text = format!(
        "coopname = \"voskhod\"\ndatabase_url = \"{db_url}\"\nchain_url = \"{}\"\n\
         ship_url = \"{}\"\nchain_id = \"{CHAIN_ID}\"\nlisten = \"{listen}\"\n{extra}",
        chain.http_url(),
        chain.ship_url(),
    );
    std::fs::write(&path, text).expect("write config");
    path
}

fn tenant_node(config: &Path, command: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tenant-node"));
    cmd.arg("--config")
        .arg(config)
        .arg(command)
        .env("TENANT_NODE_LOG", "warn")
        .stdin(Stdio::null());
    cmd
}

fn serve(config: &Path) -> Child {
    tenant_node(config, "serve")
        .spawn()
        .expect("spawn tenant-node serve")
}

/// The checkpoint as the binary stored it (`None` before it migrated the database).
async fn checkpoint(db: &tenant_node::db::Db) -> Option<u32> {
    db.sync_state().await.ok()?.checkpoint.map(|c| c.block_num)
}

fn url(db: &TestDb) -> DatabaseUrl {
    support::config_for_urls(
        &db.url,
        "http://x",
        "ws://x",
        "voskhod",
        tenant_node::config::SyncMode::Head,
    )
    .database_url
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_killed_mid_sync_resumes_without_loss_or_duplicates() {
    let chain = TestChain::start().await;
    chain.busy_history(10, 5);
    let head = chain.produce(6000);
    let reference = Node::new(&chain).await;
    reference.sync_to(head).await;

    let dir = tempfile::tempdir().unwrap();
    let test_db = TestDb::new().await;
    let listen = format!("127.0.0.1:{}", free_port());
    let config = write_config(
        dir.path(),
        &test_db.url,
        &chain,
        &listen,
        "batch_blocks = 3\nship_window = 4\n",
    );
    let db = tenant_node::db::Db::connect(&url(&test_db), 2).unwrap();

    let mut kills = Vec::new();
    for fraction in [5, 2] {
        let mut child = serve(&config);
        let at = wait_for(120, "the binary to sync part of the chain", || async {
            checkpoint(&db).await.filter(|c| *c >= head / fraction)
        })
        .await;
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        let after = checkpoint(&db).await.unwrap();
        assert!(after < head, "killed mid-sync ({after} of {head})");
        kills.push((at, after));
    }
    let mut child = serve(&config);
    wait_for(120, "the binary to reach the head", || async {
        checkpoint(&db).await.filter(|c| *c == head)
    })
    .await;
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");

    let out = tenant_node(&config, "digest")
        .stdout(Stdio::piped())
        .output()
        .expect("run digest");
    assert!(out.status.success(), "{out:?}");
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        printed.trim(),
        reference.digest().await,
        "after kills at {kills:?}"
    );
    assert_eq!(
        db.counts().await.unwrap(),
        reference.db.counts().await.unwrap()
    );

    // `resync` rebuilds the same data
    let status = tenant_node(&config, "resync").status().expect("run resync");
    assert!(status.success());
    let out = tenant_node(&config, "digest")
        .stdout(Stdio::piped())
        .output()
        .expect("run digest");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        printed.trim()
    );
    chain.shutdown().await;
}
