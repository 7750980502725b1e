//! `resync` drops everything derived from the chain and rebuilds it: the digest is reproduced,
//! and data that is not derived from the chain stays.

mod support;

use support::chain::TestChain;
use support::Node;

#[tokio::test(flavor = "multi_thread")]
async fn resync_reproduces_the_digest_and_keeps_private_data() {
    let chain = TestChain::start().await;
    let head = chain.busy_history(4, 3);
    let node = Node::new(&chain).await;
    node.sync_to(head).await;
    let before = node.digest().await;
    let counts = node.db.counts().await.unwrap();

    // a table the chain knows nothing about (private data arrives with the next part)
    let client = node.test_db.connect().await;
    client
        .batch_execute(
            "CREATE TABLE private_notes (note text); INSERT INTO private_notes VALUES ('keep me')",
        )
        .await
        .unwrap();

    let (_tx, rx) = tokio::sync::watch::channel(false);
    let reached = tenant_node::cli::resync(&node.config, rx).await.unwrap();
    assert_eq!(reached, Some(head));
    assert_eq!(node.db.counts().await.unwrap(), counts);
    assert_eq!(node.digest().await, before);
    let kept = client
        .query_one("SELECT note FROM private_notes", &[])
        .await
        .unwrap();
    assert_eq!(kept.get::<_, String>(0), "keep me");
    chain.shutdown().await;
}
