//! Forks: blocks the node stored and the chain then replaced (the devchain's fork control) are
//! undone, live and across a restart, so the node ends equal to one that never saw the orphaned
//! blocks; in irreversible mode the node never sees them at all.

mod support;

use support::chain::{n, TestChain, VOSKHOD};
use support::Node;
use tenant_node::config::SyncMode;

const ORPHAN: &str = "orphan111111";

/// Activity in the newest blocks, including a registration that expires before the fork can
/// apply it again (so it exists only on the orphaned branch). Returns the head.
fn reversible_activity(chain: &TestChain) -> u32 {
    let acts = chain.registration_actions(&VOSKHOD, ORPHAN, 60);
    chain
        .push_expiring(acts, &[&VOSKHOD.key()], 2)
        .expect("orphan registration");
    chain.produce(2);
    let d = chain.register(&VOSKHOD, "survivor1111", 61);
    chain.produce(1);
    chain.vote_all_for(&VOSKHOD, d);
    chain.produce(2)
}

async fn orphan_is_known(node: &Node) -> bool {
    let cards = node
        .db
        .table_rows(n("registrator"), n("registrator"), n("accounts"), None)
        .await
        .unwrap();
    cards
        .iter()
        .any(|c| c.value.as_ref().unwrap()["username"] == ORPHAN)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_fork_is_undone() {
    let chain = TestChain::start_with(60_000, 12).await;
    chain.busy_history(3, 3);
    chain.produce(20);
    let node = Node::new(&chain).await;
    let live = node.spawn_live();
    node.wait_synced(chain.head()).await;

    let head = reversible_activity(&chain);
    node.wait_synced(head).await;
    assert!(
        orphan_is_known(&node).await,
        "the node stored the reversible blocks"
    );

    let new_head = chain.fork(6).await;
    assert_eq!(new_head, head);
    let head = chain.produce(3);
    node.wait_synced(head).await;
    live.stop().await;
    assert!(node.metrics.snapshot().forks_total >= 1);
    assert!(
        !orphan_is_known(&node).await,
        "the orphaned registration is gone"
    );

    let reference = Node::new(&chain).await;
    reference.sync_to(head).await;
    assert_eq!(
        node.db.counts().await.unwrap(),
        reference.db.counts().await.unwrap()
    );
    assert_eq!(node.digest().await, reference.digest().await);
    chain.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fork_while_the_node_was_stopped_is_undone_on_restart() {
    let chain = TestChain::start_with(60_000, 12).await;
    chain.busy_history(2, 3);
    let head = reversible_activity(&chain);
    let node = Node::new(&chain).await;
    node.sync_to(head).await;
    assert!(orphan_is_known(&node).await);

    chain.fork(8).await;
    let head = chain.produce(2);
    node.sync_to(head).await;
    assert!(!orphan_is_known(&node).await);
    assert_eq!(node.metrics.snapshot().forks_total, 1);

    let reference = Node::new(&chain).await;
    reference.sync_to(head).await;
    assert_eq!(node.digest().await, reference.digest().await);
    chain.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn irreversible_mode_never_sees_the_orphaned_blocks() {
    let chain = TestChain::start_with(60_000, 12).await;
    chain.busy_history(2, 3);
    let node = Node::with(&chain, "voskhod", SyncMode::Irreversible).await;
    let live = node.spawn_live();
    reversible_activity(&chain);
    chain.fork(6).await;
    chain.produce(20);
    let lib = chain.lib();
    node.wait_synced(lib).await;
    live.stop().await;
    assert_eq!(node.metrics.snapshot().forks_total, 0);
    assert!(!orphan_is_known(&node).await);

    let reference = Node::new(&chain).await;
    reference.sync_to(lib).await;
    assert_eq!(node.digest().await, reference.digest().await);
    chain.shutdown().await;
}
