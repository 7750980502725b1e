//! The process runtime end to end with real PostgreSQL, real `tenant-node` processes and a
//! development chain: the shared lifecycle scenario (`support::lifecycle`: three cooperatives,
//! credential isolation, `kill -9` of a node healed, delete leaving nothing behind and the
//! others untouched, suspend/resume, restart, logs), then stopping the control plane stops
//! every node.

mod support;

use support::lifecycle::{self, Nodes, ProcessNodes};
use support::*;

#[tokio::test(flavor = "multi_thread")]
async fn three_cooperatives_isolated_healed_and_deleted_cleanly() {
    let chain = Chain::start().await;
    let admin_url = managed_pg::testing::admin_url().await;
    let cluster = managed_pg::testing::cluster().await;
    let state = managed_pg::testing::scratch_dir("mono-cp-lifecycle");
    let config = service_config(admin_url, cluster, state.path(), &chain);
    let nodes = ProcessNodes {
        coops_dir: state.path().join("coops"),
    };
    let running = lifecycle::run(config, state.path(), &nodes).await;

    // Stopping the control plane stops its nodes.
    running.service.shutdown().await.unwrap();
    for coop in ["coopb", "coopc"] {
        assert!(nodes.leftovers(coop).await.is_empty(), "{coop} stopped");
    }
    assert!(
        processes_in(&state.path().join("coops")).is_empty(),
        "no node left running"
    );
}
