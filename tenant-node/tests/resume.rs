//! Resuming without loss or duplicates: a sync stopped and restarted at arbitrary blocks, and a
//! sync whose SHiP connections are cut mid-stream, end with the same digest as an uninterrupted
//! sync of the same chain.

mod support;

use std::sync::Arc;

use managed_pg::testing::TestDb;
use support::chain::TestChain;
use support::proxy::Proxy;
use support::{config_for_urls, wait_for, Node};
use tenant_node::config::SyncMode;

#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_sync_resumes_after_the_checkpoint() {
    let chain = TestChain::start().await;
    let head = chain.busy_history(6, 4);
    let reference = Node::new(&chain).await;
    reference.sync_to(head).await;

    let node = Node::new(&chain).await;
    for stop in [head / 5, head / 3, head / 3 + 1, head - 1, head] {
        node.sync_to(stop).await;
    }
    assert_eq!(
        node.db.counts().await.unwrap(),
        reference.db.counts().await.unwrap()
    );
    assert_eq!(node.digest().await, reference.digest().await);
    chain.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ship_disconnect_mid_sync_loses_and_duplicates_nothing() {
    let chain = TestChain::start().await;
    chain.busy_history(10, 5);
    let head = chain.produce(4000);
    let reference = Node::new(&chain).await;
    reference.sync_to(head).await;

    let proxy = Proxy::start(chain.handle.ship_addr).await;
    let test_db = TestDb::new().await;
    let mut config = config_for_urls(
        &test_db.url,
        &chain.http_url(),
        &proxy.ws_url(),
        "voskhod",
        SyncMode::Head,
    );
    config.batch_blocks = 5;
    config.ship_window = 8;
    let node = Arc::new(Node::open(config, test_db).await);
    let syncing = {
        let node = node.clone();
        tokio::spawn(async move { node.sync_to(head).await })
    };
    for fraction in [4, 2] {
        let at = wait_for(60, "the sync to progress", || async {
            node.checkpoint().await.filter(|c| *c >= head / fraction)
        })
        .await;
        assert!(at < head, "the cut must happen mid-sync ({at} of {head})");
        assert!(proxy.cut() > 0, "a SHiP connection was open");
    }
    syncing.await.unwrap();
    let snapshot = node.metrics.snapshot();
    assert!(snapshot.reconnects_total >= 2, "{snapshot:?}");
    assert_eq!(
        node.db.counts().await.unwrap(),
        reference.db.counts().await.unwrap()
    );
    assert_eq!(node.digest().await, reference.digest().await);
    chain.shutdown().await;
}
