//! The registration cascade as a SHiP consumer sees it: inline actions and notifications with
//! the right receivers and creators, and `contract_row` deltas that decode with the contract
//! ABI's row type (`abi.tables[].type`).

mod support;

use std::time::Duration;

use chain::abi::Abi;
use chain::ship::{ShipBlockStream, ShipEvent, ShipStreamConfig};
use devchain::contracts::coopos_contracts;
use support::coop::*;
use support::*;

const USER: &str = "alice1111111";

#[tokio::test(flavor = "multi_thread")]
async fn registration_traces_and_deltas_arrive_over_ship() {
    let dir = tempfile::tempdir().unwrap();
    let (handle, client) = start(coop_genesis(dir.path(), false), coopos_contracts()).await;
    produce(&handle, 2).await;
    let acts = registration_actions(&client, USER, &key(30), &key(30)).await;
    let res = push(&client, acts, &[&coop_key()])
        .await
        .expect("registration");
    let trx_id = res.transaction_id;
    let head = produce(&handle, 1).await;

    let mut config = ShipStreamConfig::new(handle.ship_url(), 1);
    config.end_block_num = head + 1;
    let mut stream = ShipBlockStream::connect(config, Vec::new()).await.unwrap();
    let block = loop {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("SHiP in time")
            .expect("SHiP ok")
            .expect("the stream reaches the registration block");
        let ShipEvent::Block(b) = event else {
            panic!("no forks here")
        };
        if b.executed_traces().any(|t| t.v0().id == trx_id) {
            break b;
        }
    };
    let trace = block
        .executed_traces()
        .find(|t| t.v0().id == trx_id)
        .unwrap()
        .v0()
        .clone();
    let views: Vec<_> = trace.action_traces.iter().map(|t| t.view()).collect();
    let find = |account: &str, name: &str, receiver: &str| {
        views
            .iter()
            .find(|v| {
                v.act.account == n(account) && v.act.name == n(name) && v.receiver == n(receiver)
            })
            .unwrap_or_else(|| panic!("{account}::{name} received by {receiver}"))
    };
    let ordinal_of = |account: &str, name: &str| find(account, name, account).action_ordinal;

    // root actions have no creator; inline ones name their creator
    assert_eq!(
        find("registrator", "reguser", "registrator").creator_action_ordinal,
        0
    );
    let createinpay = find("gateway", "createinpay", "gateway");
    assert_eq!(
        createinpay.creator_action_ordinal,
        ordinal_of("registrator", "reguser")
    );
    assert_eq!(createinpay.act.authorization[0].actor, n("registrator"));
    assert_eq!(
        find("registrator", "confirmpay", "registrator").creator_action_ordinal,
        ordinal_of("gateway", "incomplete")
    );
    assert_eq!(
        find("soviet", "createagenda", "soviet").creator_action_ordinal,
        ordinal_of("registrator", "confirmpay")
    );
    // newsubmitted: executed by soviet (inline from createagenda), then notified to the coop
    let submitted = find("soviet", "newsubmitted", "soviet");
    assert_eq!(
        submitted.creator_action_ordinal,
        ordinal_of("soviet", "createagenda")
    );
    assert_eq!(submitted.receipt.unwrap().receiver, n("soviet"));
    let notified = find("soviet", "newsubmitted", COOP);
    assert_eq!(notified.receipt.unwrap().receiver, n(COOP));
    assert_eq!(notified.creator_action_ordinal, submitted.action_ordinal);
    assert!(trace.action_traces.iter().any(|t| t.is_notification()));
    assert_eq!(
        views
            .iter()
            .filter(|v| v.act.name == n("sndagreement"))
            .count(),
        4
    );

    // deltas: the candidate row (final state: payed) decodes with registrator's row type
    let abi = Abi::from_def(client.get_abi(n("registrator")).await.unwrap().unwrap()).unwrap();
    let rows = block.contract_rows().unwrap();
    let candidate = rows
        .iter()
        .find(|r| r.row.code == n("registrator") && r.row.table == n("candidates2"))
        .expect("candidates2 delta");
    assert!(candidate.present);
    let value = abi
        .decode_table_row(n("candidates2"), &candidate.row.value.0)
        .unwrap();
    assert_eq!(value["status"], "payed");
    assert_eq!(value["username"], USER);
    assert!(rows
        .iter()
        .any(|r| r.row.code == n("soviet") && r.row.table == n("decisions") && r.present));
    assert!(
        rows.iter()
            .any(|r| r.row.code == n("gateway") && r.row.table == n("incomes") && !r.present)
            || !rows.iter().any(|r| r.row.table == n("incomes")),
        "the income is created and erased in one block: no row or a removal"
    );
    assert!(block
        .accounts()
        .unwrap()
        .iter()
        .any(|a| a.row.name == n(USER)));
    handle.shutdown().await.unwrap();
}
