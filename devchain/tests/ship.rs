//! SHiP over a real websocket with the chain library's `ShipBlockStream`: blocks 1..head with
//! traces and deltas under a small window, live tailing, a fork from the test control, and a
//! restart that keeps history (HTTP and SHiP).

mod support;

use std::time::Duration;

use chain::ship::{ShipBlockStream, ShipEvent, ShipStreamConfig};
use serde_json::json;
use support::*;

async fn next_block(stream: &mut ShipBlockStream) -> ShipEvent {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("SHiP event in time")
        .expect("SHiP ok")
        .expect("stream not finished")
}

fn authority(seed: u8) -> serde_json::Value {
    json!({"threshold": 1, "keys": [{"key": key(seed).public_key().to_string(), "weight": 1}], "accounts": [], "waits": []})
}

#[tokio::test(flavor = "multi_thread")]
async fn ship_streams_blocks_forks_and_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (handle, client) = start(genesis(dir.path(), &[]), devchain::ContractSet::new()).await;
    produce(&handle, 3).await;
    let act = action(
        &client,
        "eosio",
        "newaccount",
        "eosio",
        json!({"creator": "eosio", "name": "alice", "owner": authority(2), "active": authority(2)}),
    )
    .await;
    let trx = transaction(&client, vec![act]).await;
    client
        .send_transaction(&sign(&trx, &[&eosio_key()]))
        .await
        .unwrap();
    let head = produce(&handle, 2).await; // tx in block 5, head 6
    assert_eq!(head, 6);

    let mut config = ShipStreamConfig::new(handle.ship_url(), 1);
    config.max_messages_in_flight = 2;
    let mut stream = ShipBlockStream::connect(config, Vec::new()).await.unwrap();
    assert!(stream
        .protocol_abi()
        .unwrap()
        .contains("get_blocks_result_v0"));
    let mut ids = Vec::new();
    for expected in 1..=head {
        let ShipEvent::Block(b) = next_block(&mut stream).await else {
            panic!("expected a block")
        };
        assert_eq!(b.this_block.block_num, expected);
        let info = client.get_block_info(expected).await.unwrap();
        assert_eq!(b.this_block.block_id, info.id);
        if expected == 1 {
            let accounts = b.accounts().unwrap();
            assert!(accounts
                .iter()
                .any(|a| a.row.name == n("eosio") && !a.row.abi.0.is_empty()));
        }
        if expected == 5 {
            let traces: Vec<_> = b.executed_traces().collect();
            assert_eq!(traces.len(), 1);
            assert_eq!(traces[0].v0().id, trx.id());
            assert!(b
                .accounts()
                .unwrap()
                .iter()
                .any(|a| a.row.name == n("alice")));
        }
        ids.push(b.this_block);
    }
    let (received, acked) = stream.session_counts();
    assert_eq!(received, u64::from(head));
    assert!(acked + 2 >= received, "acks keep up with the window");

    // live tailing
    produce(&handle, 1).await;
    let ShipEvent::Block(b) = next_block(&mut stream).await else {
        panic!("expected block 7")
    };
    assert_eq!(b.this_block.block_num, 7);

    // fork: replace blocks 6 and 7
    let v = control(&handle, "fork", json!({"blocks": 2})).await;
    assert_eq!(v["head_block_num"], 7);
    let ShipEvent::Fork { from_block_num } = next_block(&mut stream).await else {
        panic!("expected a fork")
    };
    assert_eq!(from_block_num, 6);
    let ShipEvent::Block(b6) = next_block(&mut stream).await else {
        panic!("expected block 6")
    };
    assert_eq!(b6.this_block.block_num, 6);
    assert_ne!(b6.this_block.block_id, ids[5].block_id);
    let ShipEvent::Block(b7) = next_block(&mut stream).await else {
        panic!("expected block 7")
    };
    assert_eq!(b7.prev_block.unwrap().block_id, b6.this_block.block_id);
    drop(stream);

    let old_block = client.get_block("5").await.unwrap();
    handle.shutdown().await.unwrap();

    // restart on the same data dir
    let (handle, client) = start(genesis(dir.path(), &[]), devchain::ContractSet::new()).await;
    assert_eq!(client.get_info().await.unwrap().head_block_num, 7);
    assert_eq!(client.get_block("5").await.unwrap(), old_block);
    assert_eq!(
        client.get_account(n("alice")).await.unwrap().account_name,
        n("alice")
    );
    let mut config = ShipStreamConfig::new(handle.ship_url(), 5);
    config.end_block_num = 8;
    let mut stream = ShipBlockStream::connect(config, Vec::new()).await.unwrap();
    let ShipEvent::Block(b) = next_block(&mut stream).await else {
        panic!("expected block 5")
    };
    assert_eq!(b.executed_traces().count(), 1);
    // new transactions still work after replay (TAPOS, duplicate set)
    let act = action(
        &client,
        "eosio",
        "newaccount",
        "eosio",
        json!({"creator": "eosio", "name": "bob", "owner": authority(3), "active": authority(3)}),
    )
    .await;
    let trx = transaction(&client, vec![act]).await;
    client
        .send_transaction(&sign(&trx, &[&eosio_key()]))
        .await
        .unwrap();
    handle.shutdown().await.unwrap();
}
