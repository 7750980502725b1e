//! Sync from block 1 through a real devchain (SHiP over loopback) into a real database: only
//! the cooperative's receipts and rows are kept, each once, decoded with the contract ABIs, with
//! the checkpoint at the synced head.

mod support;

use support::chain::{n, TestChain, VOSKHOD, ZARYA};
use support::Node;
use tenant_node::db::read::ActionQuery;

const ALICE: &str = "alice1111111";
const ZED: &str = "zed111111111";

#[tokio::test(flavor = "multi_thread")]
async fn sync_from_block_1_keeps_only_the_cooperatives_data() {
    let chain = TestChain::start().await;
    chain.produce(2);
    let d = chain.register(&VOSKHOD, ALICE, 30);
    let z = chain.register(&ZARYA, ZED, 31);
    chain.produce(1);
    chain.vote_all_for(&VOSKHOD, d);
    chain.vote_all_for(&ZARYA, z);
    chain.produce(1);
    chain.accept(&VOSKHOD, d, ALICE);
    chain.accept(&ZARYA, z, ZED);
    let head = chain.produce(2);

    let node = Node::new(&chain).await;
    node.sync_to(head).await;

    let soviet = n("soviet");
    let votes = node
        .db
        .actions(ActionQuery {
            account: soviet,
            names: &[n("votefor")],
            receiver: None,
            as_of: None,
        })
        .await
        .unwrap();
    assert_eq!(votes.len(), 3, "only voskhod's votes, once each");
    for v in &votes {
        assert_eq!(v.receiver, soviet);
        assert_eq!(v.value.as_ref().unwrap()["coopname"], "voskhod");
    }
    // notifications are their own receipts, received by the cooperative
    let resolved = node
        .db
        .actions(ActionQuery {
            account: soviet,
            names: &[n("newresolved")],
            receiver: None,
            as_of: None,
        })
        .await
        .unwrap();
    let receivers: Vec<String> = resolved.iter().map(|a| a.receiver.to_string()).collect();
    assert_eq!(receivers, ["soviet", "voskhod"]);
    assert_ne!(resolved[0].global_sequence, resolved[1].global_sequence);

    let participants = node
        .db
        .table_rows(soviet, n("voskhod"), n("participants"), None)
        .await
        .unwrap();
    assert_eq!(participants.len(), 1);
    let p = participants[0].value.as_ref().unwrap();
    assert_eq!(p["username"], ALICE);
    assert_eq!(p["status"], "accepted");
    assert!(node
        .db
        .table_rows(soviet, n("zarya"), n("participants"), None)
        .await
        .unwrap()
        .is_empty());
    let orgs = node
        .db
        .table_rows(n("registrator"), n("registrator"), n("orgs"), None)
        .await
        .unwrap();
    assert_eq!(orgs.len(), 2, "orgs is shared by every cooperative");
    let cards = node
        .db
        .table_rows(n("registrator"), n("registrator"), n("accounts"), None)
        .await
        .unwrap();
    let users: Vec<String> = cards
        .iter()
        .map(|c| {
            c.value.as_ref().unwrap()["username"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(users, [ALICE], "only the cards this cooperative registered");
    // the decision was created and erased: only history knows it
    let versions = node
        .db
        .row_versions(soviet, n("voskhod"), n("decisions"), d)
        .await
        .unwrap();
    assert!(versions.len() >= 2, "{versions:?}");
    assert!(!versions.last().unwrap().present);
    let counts = node.db.counts().await.unwrap();
    assert!(counts.abis >= 5, "{counts:?}");
    chain.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_of_another_cooperative_is_refused() {
    let chain = TestChain::start().await;
    let node = Node::new(&chain).await;
    let other = support::config(
        &node.test_db.url,
        &chain,
        "zarya",
        tenant_node::config::SyncMode::Head,
    );
    let err = tenant_node::cli::open_database(&other).await.unwrap_err();
    assert!(format!("{err:#}").contains("belongs to voskhod"), "{err:#}");
    chain.shutdown().await;
}
