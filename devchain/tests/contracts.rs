//! The rest of the simulated contracts over real HTTP: manual import (`adduser`), branches and
//! `braname` rules (`createbranch` … `deltrusted`, `enabranches`/`disbranches`, `selectbranch`),
//! boards, a free decision through votes and `exec`, `changekey`, a declined income
//! (`indecline` → `declinepay`), and drafts with translations.

mod support;

use chain::api::ChainClient;
use chain::keys::PrivateKey;
use devchain::contracts::coopos_contracts;
use serde_json::{json, Value};
use support::coop::*;
use support::*;

async fn coop_push(
    client: &ChainClient,
    contract: &str,
    name: &str,
    data: Value,
) -> Result<(), String> {
    let act = action(client, contract, name, COOP, data).await;
    push(client, vec![act], &[&coop_key()]).await.map(|_| ())
}

async fn import(client: &ChainClient, username: &str, k: &PrivateKey) {
    coop_push(
        client,
        "registrator",
        "newaccount",
        json!({"coopname": COOP, "referer": "",
        "username": username, "public_key": k.public_key(), "meta": ""}),
    )
    .await
    .expect("newaccount");
    coop_push(
        client,
        "registrator",
        "adduser",
        json!({"coopname": COOP, "referer": "",
        "username": username, "type": "individual", "created_at": "2024-01-01T00:00:00",
        "initial": "100.0000 AXON", "minimum": "300.0000 AXON", "spread_initial": true, "meta": "",
        "registration_hash": registration_hash(username)}),
    )
    .await
    .expect("adduser");
}

fn reguser(username: &str, braname: &str, k: &PrivateKey) -> Value {
    json!({"coopname": COOP, "braname": braname, "username": username, "type": "individual",
        "statement": signed_document(100, username, username, k),
        "registration_hash": registration_hash(username)})
}

#[tokio::test(flavor = "multi_thread")]
async fn branches_boards_free_decisions_keys_and_drafts() {
    let dir = tempfile::tempdir().unwrap();
    let (handle, client) = start(coop_genesis(dir.path(), false), coopos_contracts()).await;
    produce(&handle, 3).await;

    // manual import
    import(&client, "dave11111111", &key(40)).await;
    import(&client, "erin11111111", &key(41)).await;
    let participants = table(&client, "soviet", COOP, "participants").await;
    assert_eq!(participants.len(), 2);
    assert_eq!(participants[0]["status"], "accepted");
    let accounts = table(&client, "registrator", "registrator", "accounts").await;
    assert!(accounts.iter().all(|a| a["status"] == "active"));

    // branches
    let err = coop_push(
        &client,
        "registrator",
        "enabranches",
        json!({"coopname": COOP}),
    )
    .await
    .unwrap_err();
    assert!(err.contains("create a branch"), "{err}");
    coop_push(
        &client,
        "branch",
        "createbranch",
        json!({"coopname": COOP, "braname": "branch1",
        "trustee": "dave11111111"}),
    )
    .await
    .expect("createbranch");
    let err = coop_push(
        &client,
        "branch",
        "createbranch",
        json!({"coopname": COOP, "braname": "branch2",
        "trustee": "chairman"}),
    )
    .await
    .unwrap_err();
    assert!(err.contains("not a participant"), "{err}");
    coop_push(
        &client,
        "branch",
        "addtrusted",
        json!({"coopname": COOP, "braname": "branch1",
        "trusted": "erin11111111"}),
    )
    .await
    .expect("addtrusted");
    let branches = table(&client, "branch", COOP, "branches").await;
    assert_eq!(
        branches,
        vec![json!({"braname": "branch1", "trustee": "dave11111111", "trusted": ["erin11111111"]})]
    );
    coop_push(
        &client,
        "branch",
        "deltrusted",
        json!({"coopname": COOP, "braname": "branch1",
        "trusted": "erin11111111"}),
    )
    .await
    .expect("deltrusted");
    coop_push(
        &client,
        "branch",
        "editbranch",
        json!({"coopname": COOP, "braname": "branch1",
        "trustee": "erin11111111"}),
    )
    .await
    .expect("editbranch");
    let branches = table(&client, "branch", COOP, "branches").await;
    assert_eq!(branches[0]["trustee"], "erin11111111");
    assert_eq!(branches[0]["trusted"], json!([]));
    coop_push(
        &client,
        "registrator",
        "enabranches",
        json!({"coopname": COOP}),
    )
    .await
    .expect("enabranches");
    let orgs = table(&client, "registrator", "registrator", "orgs").await;
    assert_eq!(orgs[0]["is_branched"], true);
    assert_eq!(
        orgs[0]["org_initial"], "1000.0000 AXON",
        "other fields are kept"
    );

    // braname rules of a branched cooperative
    coop_push(
        &client,
        "registrator",
        "newaccount",
        json!({"coopname": COOP, "referer": "",
        "username": "fred11111111", "public_key": key(42).public_key(), "meta": ""}),
    )
    .await
    .unwrap();
    for (braname, why) in [
        ("", "braname is required"),
        ("nobranch", "branch nobranch is not found"),
    ] {
        let err = coop_push(
            &client,
            "registrator",
            "reguser",
            reguser("fred11111111", braname, &key(42)),
        )
        .await
        .unwrap_err();
        assert!(err.contains(why), "{err}");
    }
    coop_push(
        &client,
        "registrator",
        "reguser",
        reguser("fred11111111", "branch1", &key(42)),
    )
    .await
    .expect("reguser");
    let candidates = table(&client, "registrator", COOP, "candidates2").await;
    assert_eq!(candidates[0]["braname"], "branch1");
    assert_eq!(candidates[0]["status"], "created");
    let incomes = table(&client, "gateway", COOP, "incomes").await;
    assert_eq!(incomes[0]["quantity"], "400.0000 AXON");
    assert_eq!(incomes[0]["type"], "registration");

    // a declined income: declinepay erases the candidate and clears the card
    let err = coop_push(
        &client,
        "gateway",
        "indecline",
        json!({"coopname": COOP,
        "income_hash": registration_hash("fred11111111"), "reason": ""}),
    )
    .await
    .unwrap_err();
    assert!(err.contains("reason"), "{err}");
    coop_push(
        &client,
        "gateway",
        "indecline",
        json!({"coopname": COOP,
        "income_hash": registration_hash("fred11111111"), "reason": "no payment"}),
    )
    .await
    .expect("indecline");
    assert!(table(&client, "registrator", COOP, "candidates2")
        .await
        .is_empty());
    assert!(table(&client, "gateway", COOP, "incomes").await.is_empty());

    // selectbranch
    let doc = signed_document(600, "dave", "dave11111111", &key(40));
    coop_push(
        &client,
        "soviet",
        "selectbranch",
        json!({"coopname": COOP, "username": "dave11111111",
        "braname": "branch1", "document": doc}),
    )
    .await
    .expect("selectbranch");
    let participants = table(&client, "soviet", COOP, "participants").await;
    assert_eq!(participants[0]["braname"], "branch1");
    let err = coop_push(
        &client,
        "branch",
        "deletebranch",
        json!({"coopname": COOP, "braname": "branch1"}),
    )
    .await
    .unwrap_err();
    assert!(err.contains("last branch"), "{err}");
    coop_push(
        &client,
        "registrator",
        "disbranches",
        json!({"coopname": COOP}),
    )
    .await
    .expect("disbranches");
    coop_push(
        &client,
        "branch",
        "deletebranch",
        json!({"coopname": COOP, "braname": "branch1"}),
    )
    .await
    .expect("deletebranch");
    assert!(table(&client, "branch", COOP, "branches").await.is_empty());

    // boards
    let members = json!([{"username": "dave11111111", "is_voting": true, "position_title": "Director", "position": "director"}]);
    coop_push(
        &client,
        "soviet",
        "createboard",
        json!({"coopname": COOP, "username": COOP, "type": "executive",
        "members": members, "name": "Executive", "description": ""}),
    )
    .await
    .expect("createboard");
    let err = coop_push(
        &client,
        "soviet",
        "createboard",
        json!({"coopname": COOP, "username": COOP, "type": "soviet",
        "members": members, "name": "Second council", "description": ""}),
    )
    .await
    .unwrap_err();
    assert!(err.contains("already exists"), "{err}");
    coop_push(
        &client,
        "soviet",
        "updateboard",
        json!({"coopname": COOP, "username": COOP, "board_id": 2,
        "members": members, "name": "Executive board", "description": "updated"}),
    )
    .await
    .expect("updateboard");
    let boards = table(&client, "soviet", COOP, "boards").await;
    assert_eq!(boards.len(), 2);
    assert_eq!(boards[1]["name"], "Executive board");

    // a free decision: no callback, newresolved/newdecision on exec
    let doc = signed_document(700, "free", "dave11111111", &key(40));
    coop_push(
        &client,
        "soviet",
        "freedecision",
        json!({"coopname": COOP, "username": "dave11111111",
        "document": doc, "meta": "{}"}),
    )
    .await
    .expect("freedecision");
    let decisions = table(&client, "soviet", COOP, "decisions").await;
    assert_eq!(decisions[0]["type"], "freedecision");
    let id = decisions[0]["id"].as_u64().unwrap();
    let digest = vote_digest("votefor", id, vote_signed_at());
    for (member, k) in [("chairman", chairman_key()), ("member1", member_key(1))] {
        let act = vote_action(&client, "votefor", member, &k, id, digest).await;
        push(&client, vec![act], &[&k]).await.expect("vote");
    }
    let auth = signed_document(501, "free", "chairman", &chairman_key());
    let acts = vec![
        action(
            &client,
            "soviet",
            "authorize",
            COOP,
            json!({"coopname": COOP, "chairman": "chairman",
            "decision_id": id, "document": auth}),
        )
        .await,
        action(
            &client,
            "soviet",
            "exec",
            COOP,
            json!({"executer": "chairman", "coopname": COOP, "decision_id": id}),
        )
        .await,
    ];
    let res = push(&client, acts, &[&coop_key()])
        .await
        .expect("authorize (shared layout) + exec");
    assert!(res
        .processed
        .action_traces
        .iter()
        .any(|t| t["act"]["name"] == "newdecision"));
    assert!(table(&client, "soviet", COOP, "decisions").await.is_empty());

    // changekey
    coop_push(
        &client,
        "registrator",
        "changekey",
        json!({"coopname": COOP, "changer": "chairman",
        "username": "dave11111111", "public_key": key(43).public_key()}),
    )
    .await
    .expect("changekey");
    let dave = client.get_account(n("dave11111111")).await.unwrap();
    assert_eq!(
        dave.permission(n("active")).unwrap().required_auth.keys[0].key,
        key(43).public_key()
    );

    // drafts and translations
    coop_push(&client, "draft", "createdraft", json!({"scope": COOP, "username": COOP, "registry_id": 100,
        "lang": "ru", "title": "Заявление", "description": "", "context": "<p>{{ a }}</p>", "model": "{}",
        "translation_data": "{\"a\": \"б\"}"})).await.expect("createdraft");
    coop_push(
        &client,
        "draft",
        "createtrans",
        json!({"scope": COOP, "username": COOP, "registry_id": 100,
        "lang": "en", "data": "{}"}),
    )
    .await
    .expect("createtrans");
    coop_push(
        &client,
        "draft",
        "edittrans",
        json!({"scope": COOP, "username": COOP, "translate_id": 2,
        "data": "{\"a\": \"b\"}"}),
    )
    .await
    .expect("edittrans");
    coop_push(
        &client,
        "draft",
        "upversion",
        json!({"scope": COOP, "username": COOP, "registry_id": 100}),
    )
    .await
    .expect("upversion");
    let drafts = table(&client, "draft", COOP, "drafts").await;
    assert_eq!(drafts[0]["version"], 2);
    assert_eq!(drafts[0]["default_translation_id"], 1);
    let translations = table(&client, "draft", COOP, "translations").await;
    assert_eq!(
        translations[1],
        json!({"id": 2, "draft_id": 100, "lang": "en", "data": "{\"a\": \"b\"}"})
    );
    let err = coop_push(
        &client,
        "draft",
        "deltrans",
        json!({"scope": COOP, "username": COOP, "translate_id": 1}),
    )
    .await
    .unwrap_err();
    assert!(err.contains("default translation"), "{err}");
    coop_push(
        &client,
        "draft",
        "deldraft",
        json!({"scope": COOP, "username": COOP, "registry_id": 100}),
    )
    .await
    .expect("deldraft");
    assert!(table(&client, "draft", COOP, "translations")
        .await
        .is_empty());
    handle.shutdown().await.unwrap();
}
