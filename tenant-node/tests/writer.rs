//! The block writer's connection: a catch-up-sized batch marks it grown, renewing it closes the
//! old PostgreSQL connection (so its statement buffers are freed) and the new one stores on.

mod support;

use chain::Checksum256;
use support::chain::{n, TestChain};
use support::{wait_for, Node};
use tenant_node::batch::Batch;
use tenant_node::extract::{ActionRecord, BlockData};

fn block(num: u32, actions: usize) -> BlockData {
    let id = {
        let mut id = [0u8; 32];
        id[..4].copy_from_slice(&num.to_be_bytes());
        Checksum256(id)
    };
    BlockData {
        block_num: num,
        block_id: id,
        timestamp_us: 1_700_000_000_000_000 + i64::from(num) * 500_000,
        head: num,
        last_irreversible: num,
        actions: (0..actions)
            .map(|i| ActionRecord {
                global_sequence: u64::from(num) * 10_000 + i as u64,
                trx_id: id,
                action_ordinal: 1,
                creator_action_ordinal: 0,
                receiver: n("voskhod"),
                account: n("soviet"),
                name: n("votefor"),
                authorization: vec![(n("voskhod"), n("active"))],
                data: vec![7; 64],
                json: Some(r#"{"coopname":"voskhod"}"#.into()),
            })
            .collect(),
        rows: Vec::new(),
        abis: Vec::new(),
    }
}

fn batch(blocks: impl IntoIterator<Item = BlockData>) -> Batch {
    let mut b = Batch::default();
    for block in blocks {
        b.push(block);
    }
    b
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grown_writer_is_renewed_on_a_fresh_connection() {
    let chain = TestChain::start().await;
    let node = Node::new(&chain).await;

    let mut writer = node.db.writer().await.unwrap();
    writer.commit(&batch([block(1, 3)])).await.unwrap();
    assert!(
        !writer.grown(),
        "a live-sized batch leaves the connection as it is"
    );
    writer.commit(&batch([block(2, 700)])).await.unwrap();
    assert!(
        writer.grown(),
        "a catch-up-sized batch grows the connection's buffers"
    );

    let old = writer.backend_pid().await.unwrap();
    let mut writer = node.db.renew_writer(writer).await.unwrap();
    assert!(!writer.grown());
    assert_ne!(writer.backend_pid().await.unwrap(), old);
    let admin = node.test_db.connect().await;
    wait_for(10, "the old connection to close", || {
        let admin = &admin;
        async move {
            let n: i64 = admin
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
                    &[&old],
                )
                .await
                .unwrap()
                .get(0);
            (n == 0).then_some(())
        }
    })
    .await;

    writer.commit(&batch([block(3, 1)])).await.unwrap();
    assert_eq!(node.checkpoint().await, Some(3));
    let stored: i64 = admin
        .query_one("SELECT count(*) FROM chain_actions", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        stored, 704,
        "everything both connections stored is there, once"
    );
    chain.shutdown().await;
}
