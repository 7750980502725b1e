//! The participant lifecycle through the simulated contracts, driven only by the chain library
//! over real HTTP: registration (one coop-signed transaction), council votes with the members'
//! own keys, chairman-authorized `exec`; the decline path with a refund through the gateway; and
//! rejections (foreign statement key, bad vote digest, non-chairman authorization) that change
//! nothing.

mod support;

use chain::time::TimePointSec;
use devchain::contracts::coopos_contracts;
use serde_json::{json, Value};
use support::coop::*;
use support::*;

const ALICE: &str = "alice1111111";
const BOB: &str = "bob111111111";

fn row_for<'a>(rows: &'a [Value], field: &str, value: &str) -> Option<&'a Value> {
    rows.iter().find(|r| r[field] == value)
}

/// Registers `username` (key seed `seed`); returns the decision id put on the agenda.
async fn register(client: &chain::api::ChainClient, username: &str, seed: u8) -> u64 {
    let user_key = key(seed);
    let acts = registration_actions(client, username, &user_key, &user_key).await;
    let res = push(client, acts, &[&coop_key()])
        .await
        .expect("registration transaction");
    let traces = &res.processed.action_traces;
    assert!(
        traces.iter().any(|t| t["act"]["name"] == "createagenda"),
        "{traces:#?}"
    );
    let candidates = table(client, "registrator", COOP, "candidates2").await;
    let c = row_for(&candidates, "username", username).expect("candidate");
    assert_eq!(c["status"], "payed");
    assert_eq!(c["initial"], "100.0000 AXON");
    assert_eq!(c["minimum"], "300.0000 AXON");
    assert_eq!(c["registration_hash"], registration_hash(username).to_hex());
    let decisions = table(client, "soviet", COOP, "decisions").await;
    let d = row_for(&decisions, "username", username).expect("decision on the agenda");
    assert_eq!(d["type"], "joincoop");
    assert_eq!(d["callback_contract"], "registrator");
    assert_eq!(d["confirm_callback"], "confirmreg");
    assert_eq!(d["decline_callback"], "declinereg");
    assert_eq!(d["hash"], registration_hash(username).to_hex());
    d["id"].as_u64().expect("decision id")
}

async fn vote_all_for(client: &chain::api::ChainClient, decision_id: u64) {
    let digest = vote_digest("votefor", decision_id, vote_signed_at());
    for (member, k) in [
        ("chairman", chairman_key()),
        ("member1", member_key(1)),
        ("member2", member_key(2)),
    ] {
        let act = vote_action(client, "votefor", member, &k, decision_id, digest).await;
        push(client, vec![act], &[&k]).await.expect("vote");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn participant_is_registered_and_accepted_by_the_council() {
    let dir = tempfile::tempdir().unwrap();
    let (handle, client) = start(coop_genesis(dir.path(), false), coopos_contracts()).await;
    produce(&handle, 3).await;

    let decision_id = register(&client, ALICE, 30).await;
    let agreements = table(&client, "soviet", COOP, "agreements3").await;
    assert_eq!(agreements.len(), 4);
    assert!(agreements.iter().all(|a| a["username"] == ALICE));
    assert!(
        table(&client, "gateway", COOP, "incomes").await.is_empty(),
        "income settled"
    );
    let accounts = table(&client, "registrator", "registrator", "accounts").await;
    let card = row_for(&accounts, "username", ALICE).unwrap();
    assert_eq!(card["type"], "individual");
    assert_eq!(card["registrator"], COOP);
    let alice = client.get_account(n(ALICE)).await.unwrap();
    assert_eq!(
        alice.permission(n("active")).unwrap().required_auth.keys[0].key,
        key(30).public_key()
    );
    produce(&handle, 1).await;

    vote_all_for(&client, decision_id).await;
    let decisions = table(&client, "soviet", COOP, "decisions").await;
    let d = row_for(&decisions, "username", ALICE).unwrap();
    assert_eq!(d["votes_for"], json!(["chairman", "member1", "member2"]));
    assert_eq!(d["approved"], true);

    let authorization = signed_document(501, ALICE, "chairman", &chairman_key());
    let acts = vec![
        action(
            &client,
            "soviet",
            "authorize",
            COOP,
            json!({"coopname": COOP, "chairman": "chairman",
            "decision_id": decision_id, "document": authorization, "permission": "active"}),
        )
        .await,
        action(
            &client,
            "soviet",
            "exec",
            COOP,
            json!({"executer": "chairman", "coopname": COOP,
            "decision_id": decision_id}),
        )
        .await,
    ];
    let res = push(&client, acts, &[&coop_key()])
        .await
        .expect("authorize + exec");
    let names: Vec<String> = res
        .processed
        .action_traces
        .iter()
        .map(|t| {
            format!(
                "{}@{}",
                t["act"]["name"].as_str().unwrap(),
                t["receiver"].as_str().unwrap()
            )
        })
        .collect();
    for expected in [
        "confirmreg@registrator",
        "addpartcpnt@soviet",
        "newresolved@soviet",
        "newresolved@voskhod",
        "newdecision@soviet",
        "newdecision@voskhod",
    ] {
        assert!(
            names.iter().any(|x| x == expected),
            "{expected} missing from {names:?}"
        );
    }

    let participants = table(&client, "soviet", COOP, "participants").await;
    let p = row_for(&participants, "username", ALICE).expect("participant");
    assert_eq!(p["status"], "accepted");
    assert_eq!(p["type"], "individual");
    assert_eq!(p["initial_amount"], "100.0000 AXON");
    assert_eq!(p["minimum_amount"], "300.0000 AXON");
    assert!(
        table(&client, "registrator", COOP, "candidates2")
            .await
            .is_empty(),
        "candidate erased"
    );
    assert!(
        table(&client, "soviet", COOP, "decisions").await.is_empty(),
        "decision erased"
    );
    let accounts = table(&client, "registrator", "registrator", "accounts").await;
    assert_eq!(
        row_for(&accounts, "username", ALICE).unwrap()["status"],
        "active"
    );
    handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn declined_registration_is_refunded_through_the_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let (handle, client) = start(coop_genesis(dir.path(), false), coopos_contracts()).await;
    produce(&handle, 3).await;
    let decision_id = register(&client, BOB, 31).await;

    // a majority against does not erase the decision; the chairman declines explicitly
    let digest = vote_digest("voteagainst", decision_id, vote_signed_at());
    for (member, k) in [("member1", member_key(1)), ("member2", member_key(2))] {
        let act = vote_action(&client, "voteagainst", member, &k, decision_id, digest).await;
        push(&client, vec![act], &[&k]).await.expect("vote against");
    }
    assert_eq!(table(&client, "soviet", COOP, "decisions").await.len(), 1);

    let decline = action(
        &client,
        "soviet",
        "declinedec",
        COOP,
        json!({"coopname": COOP, "decision_id": decision_id}),
    )
    .await;
    let res = push(&client, vec![decline], &[&coop_key()])
        .await
        .expect("declinedec");
    let names: Vec<&str> = res
        .processed
        .action_traces
        .iter()
        .map(|t| t["act"]["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"declinereg") && names.contains(&"createoutpay"),
        "{names:?}"
    );
    assert!(table(&client, "soviet", COOP, "decisions").await.is_empty());
    let candidates = table(&client, "registrator", COOP, "candidates2").await;
    assert_eq!(candidates[0]["status"], "refunding");
    let outcomes = table(&client, "gateway", COOP, "outcomes").await;
    assert_eq!(
        outcomes.len(),
        1,
        "the refund outcome is in the gateway table"
    );
    let o = &outcomes[0];
    assert_eq!(o["username"], BOB);
    assert_eq!(o["type"], "refund");
    assert_eq!(o["quantity"], "400.0000 AXON");
    assert_eq!(o["status"], "pending");
    assert_eq!(o["outcome_hash"], registration_hash(BOB).to_hex());
    assert_eq!(o["confirm_callback"], "refundpay");

    let complete = action(
        &client,
        "gateway",
        "outcomplete",
        COOP,
        json!({"coopname": COOP, "outcome_hash": registration_hash(BOB)}),
    )
    .await;
    let res = push(&client, vec![complete], &[&coop_key()])
        .await
        .expect("outcomplete");
    assert_eq!(res.processed.action_traces[1]["act"]["name"], "refundpay");
    assert!(table(&client, "registrator", COOP, "candidates2")
        .await
        .is_empty());
    assert!(table(&client, "gateway", COOP, "outcomes").await.is_empty());
    let accounts = table(&client, "registrator", "registrator", "accounts").await;
    let card = row_for(&accounts, "username", BOB).unwrap();
    assert_eq!(
        card["type"], "",
        "the card is cleared: the user may apply again"
    );
    assert!(table(&client, "soviet", COOP, "participants")
        .await
        .is_empty());
    handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn foreign_keys_and_bad_digests_are_rejected_without_state_change() {
    let dir = tempfile::tempdir().unwrap();
    let (handle, client) = start(coop_genesis(dir.path(), false), coopos_contracts()).await;
    produce(&handle, 3).await;

    // reguser: the statement is signed by a key that is not on username@active
    let acts = registration_actions(&client, "carol1111111", &key(32), &key(33)).await;
    let err = push(&client, acts, &[&coop_key()]).await.unwrap_err();
    assert!(err.starts_with("eosio_assert_message_exception"), "{err}");
    assert!(
        err.contains("does not belong to carol1111111@active"),
        "{err}"
    );
    assert!(
        client.get_account(n("carol1111111")).await.is_err(),
        "newaccount rolled back"
    );
    assert!(table(&client, "registrator", COOP, "candidates2")
        .await
        .is_empty());
    assert!(table(&client, "gateway", COOP, "incomes").await.is_empty());

    let decision_id = register(&client, ALICE, 30).await;
    // votes: digest of another action, another decision, another time; a non-member
    let signed_at = vote_signed_at();
    let bad = [
        vote_digest("voteagainst", decision_id, signed_at),
        vote_digest("votefor", decision_id + 1, signed_at),
        vote_digest(
            "votefor",
            decision_id,
            TimePointSec::from_unix(signed_at.as_unix() + 1),
        ),
    ];
    for digest in bad {
        let act = vote_action(
            &client,
            "votefor",
            "member1",
            &member_key(1),
            decision_id,
            digest,
        )
        .await;
        let err = push(&client, vec![act], &[&member_key(1)])
            .await
            .unwrap_err();
        assert!(err.starts_with("eosio_assert_message_exception"), "{err}");
        assert!(err.contains("vote digest"), "{err}");
    }
    let good = vote_digest("votefor", decision_id, signed_at);
    let outsider = vote_action(&client, "votefor", ALICE, &key(30), decision_id, good).await;
    let err = push(&client, vec![outsider], &[&key(30)])
        .await
        .unwrap_err();
    assert!(err.contains("not a voting member"), "{err}");
    let d = &table(&client, "soviet", COOP, "decisions").await[0];
    assert_eq!(d["votes_for"], json!([]), "no vote was counted");

    vote_all_for(&client, decision_id).await;
    // authorize: by a non-chairman, and the chairman's name with a member's key
    let by_member = signed_document(501, ALICE, "member1", &member_key(1));
    let forged = signed_document(501, ALICE, "chairman", &member_key(1));
    for (chairman, doc, why) in [
        ("member1", by_member, "is not the chairman"),
        ("chairman", forged, "does not belong to chairman@active"),
    ] {
        let act = action(&client, "soviet", "authorize", COOP, json!({"coopname": COOP,
            "chairman": chairman, "decision_id": decision_id, "document": doc, "permission": "active"})).await;
        let err = push(&client, vec![act], &[&coop_key()]).await.unwrap_err();
        assert!(err.starts_with("eosio_assert_message_exception"), "{err}");
        assert!(err.contains(why), "{err}");
    }
    let d = &table(&client, "soviet", COOP, "decisions").await[0];
    assert_eq!(d["authorized"], false);
    assert_eq!(d["authorized_by"], "");
    handle.shutdown().await.unwrap();
}
