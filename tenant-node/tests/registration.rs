//! Registration and payments over real HTTP against `cli::serve`, the devchain and PostgreSQL:
//! the end-to-end part A (a new person registers, signs client-side, pays by qrpay, a member
//! marks it PAID and the node's outbox registers them on chain), 50 concurrent PAID calls and a
//! repeated one giving exactly one registration, and the refusals (wrong signer, missing link,
//! tampered meta, braname, own payment, someone else's payment method), each with no change.

mod support;

use support::weasyprint;

use chain::keys::PrivateKey;
use serde_json::{json, Value};
use support::api::{error_code, first_error, Served};
use support::chain::{n, user_name, TestChain, VOSKHOD};
use support::register::{self as flow, Signed, Staff};

/// A devchain with a block every 100 ms, a served node and the cooperative prepared.
async fn rig() -> (TestChain, Served, Staff) {
    let chain = TestChain::start_with(100, 3).await;
    let served = Served::start(&chain).await;
    let staff = flow::prepare(&served, &chain).await;
    (chain, served, staff)
}

fn registrations_on_chain(chain: &TestChain, user: &str) -> usize {
    chain
        .actions_on_chain("registrator", "reguser")
        .iter()
        .filter(|a| a["username"] == user)
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_person_registers_signs_pays_and_is_registered_on_chain() {
    if !weasyprint("e2e part A") {
        return;
    }
    let (chain, served, staff) = rig().await;
    let username = user_name("anna", 1);
    let person = flow::register_and_pay(&served, &chain, &staff, &username).await;
    assert_eq!(registrations_on_chain(&chain, &username), 1);
    let metrics = served
        .http
        .get(format!("{}/metrics", served.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("tenant_node_outbox_intents{coop=\"voskhod\",state=\"confirmed\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("tenant_node_outbox_intents{coop=\"voskhod\",state=\"pending\"} 0"));
    // the four agreements went to the chain with the registration
    let agreements = chain.actions_on_chain("soviet", "sndagreement");
    let sent: Vec<&Value> = agreements
        .iter()
        .filter(|a| a["username"] == username.as_str())
        .collect();
    assert_eq!(sent.len(), 4, "{agreements:?}");
    // the person reads their own order, not anyone else's list
    let r = served
        .gql(flow::ORDERS, json!({"data": {}}), Some(&person.access))
        .await;
    let items = r["data"]["getPaymentOrders"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{r}");
    assert_eq!(items[0]["id"], json!(person.payment_id));
    assert_eq!(items[0]["status"], json!("COMPLETED"));
    let r = served
        .gql(
            flow::ORDERS,
            json!({"data": {"username": "member1"}}),
            Some(&person.access),
        )
        .await;
    assert_eq!(error_code(&r), "FORBIDDEN", "{r}");
    // a share deposit: the cooperative's symbol and precision only
    let deposit =
        "mutation($data: CreateDepositPaymentInput!) { createDepositPayment(data: $data) {
        kind status quantity details { data } } }";
    let r = served
        .gql(
            deposit,
            json!({"data": {"username": username, "quantity": "100.5000 AXON"}}),
            Some(&person.access),
        )
        .await;
    let d = &r["data"]["createDepositPayment"];
    assert_eq!(d["kind"], json!("deposit"), "{r}");
    assert_eq!(d["status"], json!("PENDING"));
    assert!(d["details"]["data"]
        .as_str()
        .is_some_and(|s| s.contains("|Sum=10050|")));
    let r = served
        .gql(
            deposit,
            json!({"data": {"username": username, "quantity": "100.50 RUB"}}),
            Some(&person.access),
        )
        .await;
    assert_eq!(error_code(&r), "BAD_USER_INPUT", "{r}");
    served.stop().await;
    chain.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_paid_calls_and_a_repeat_register_once() {
    if !weasyprint("concurrent PAID") {
        return;
    }
    let (chain, served, staff) = rig().await;
    let username = user_name("boris", 2);
    let key = PrivateKey::generate();
    let (access, _) = flow::register(&served, &chain, &username, &key).await;
    let r = served
        .gql(
            flow::CREATE_INITIAL,
            json!({"data": {"username": username}}),
            Some(&access),
        )
        .await;
    let id = r["data"]["createInitialPayment"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned();
    let mut calls = Vec::new();
    for i in 0..50 {
        let (served, token, id) = (&served, staff.clone(), id.clone());
        let token = if i % 2 == 0 {
            token.member
        } else {
            token.chairman
        };
        calls.push(async move {
            served
                .gql(
                    flow::SET_STATUS,
                    json!({"data": {"id": id, "status": "PAID"}}),
                    Some(&token),
                )
                .await
        });
    }
    let answers = futures_util::future::join_all(calls).await;
    for r in &answers {
        // every call either set PAID or found it already PAID; a call arriving after the
        // outbox completed the payment is refused as an illegal transition
        let paid = r["data"]["setPaymentStatus"]["status"] == "PAID";
        let late = r["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("from COMPLETED to PAID"));
        assert!(paid || late, "unexpected answer {r}");
    }
    assert!(answers
        .iter()
        .any(|r| r["data"]["setPaymentStatus"]["status"] == "PAID"));
    flow::wait_completed(&served, &staff.member, &id).await;
    // a repeated PAID after completion is refused and changes nothing
    let r = served
        .gql(
            flow::SET_STATUS,
            json!({"data": {"id": id, "status": "PAID"}}),
            Some(&staff.member),
        )
        .await;
    assert_eq!(error_code(&r), "CONFLICT", "{r}");
    // more blocks pass: still exactly one registration
    let head = chain.head();
    support::wait_for(30, "ten more blocks", || async {
        (chain.head() >= head + 10).then_some(())
    })
    .await;
    assert_eq!(registrations_on_chain(&chain, &username), 1);
    let intents = served.db.intents().await.unwrap();
    assert_eq!(
        intents
            .iter()
            .filter(|i| i.username == n(&username))
            .count(),
        1
    );
    served.stop().await;
    chain.shutdown().await;
}

async fn register_participant(served: &Served, token: &str, user: &str, s: &Signed) -> Value {
    served
        .gql(
            flow::REGISTER_PARTICIPANT,
            flow::participant_input(user, s),
            Some(token),
        )
        .await
}

/// Asserts a refusal with `code` and a message containing `needle`, and that nothing was
/// stored for `user`.
async fn refused(served: &Served, r: &Value, code: &str, needle: &str, user: &str) {
    assert_eq!(error_code(r), code, "{r}");
    assert!(first_error(r).contains(needle), "{needle:?} not in {r}");
    assert_eq!(
        served.db.registration_status(n(user)).await.unwrap(),
        None,
        "a refusal stores nothing"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_are_clear_and_change_nothing() {
    if !weasyprint("refusals") {
        return;
    }
    let (chain, served, staff) = rig().await;
    let user = user_name("vera", 3);
    let key = PrivateKey::generate();
    let r = flow::register_account(&served, &user, &key).await;
    assert!(r["errors"].is_null(), "{r}");
    // the same username or e-mail again: refused
    let r = flow::register_account(&served, &user, &PrivateKey::generate()).await;
    assert_eq!(error_code(&r), "CONFLICT", "{r}");
    // a username that is not 12 characters of a-z, 1-5: refused
    let r = flow::register_account(&served, "member2", &PrivateKey::generate()).await;
    assert_eq!(error_code(&r), "BAD_USER_INPUT", "{r}");
    assert!(served.db.user(n("member2")).await.unwrap().is_none());
    let (access, _) = served.login(&chain, &user, &key).await;
    let good = flow::documents(&served, &access, &user, &key).await;

    // wrong signer: the right name, another key
    let other = PrivateKey::generate();
    let mut bad = good.clone();
    let meta: Value = serde_json::from_str(&good.agreements[1].meta).unwrap();
    bad.agreements[1] = flow::sign(
        &good.agreements[1].doc_hash.to_hex_upper(),
        &meta,
        &user,
        &other,
    );
    let r = register_participant(&served, &access, &user, &bad).await;
    refused(
        &served,
        &r,
        "BAD_USER_INPUT",
        "signature_agreement: signature 1: key",
        &user,
    )
    .await;
    // signed by someone else's account
    let mut bad = good.clone();
    let meta: Value = serde_json::from_str(&good.statement.meta).unwrap();
    bad.statement = flow::sign(
        &good.statement.doc_hash.to_hex_upper(),
        &meta,
        "member1",
        &support::chain::key(12),
    );
    let r = register_participant(&served, &access, &user, &bad).await;
    refused(
        &served,
        &r,
        "BAD_USER_INPUT",
        "signed by member1, only",
        &user,
    )
    .await;

    // tampered meta: the statement's meta changed and signed again by the right key
    let mut meta: Value = serde_json::from_str(&good.statement.meta).unwrap();
    meta["created_at"] = json!("01.01.2020 00:00");
    let mut bad = good.clone();
    bad.statement = flow::sign(&good.statement.doc_hash.to_hex_upper(), &meta, &user, &key);
    let r = register_participant(&served, &access, &user, &bad).await;
    refused(&served, &r, "BAD_USER_INPUT", "statement: meta_hash", &user).await;

    // missing agreement link: an application linking only three agreements
    let links: Vec<String> = good.agreements[..3]
        .iter()
        .map(|d| d.doc_hash.to_hex_upper())
        .collect();
    let (hash, meta) = flow::generate(
        &served,
        &access,
        "generateParticipantApplication",
        &user,
        json!({"links": links, "signature": flow::signature_image()}),
    )
    .await;
    let mut bad = good.clone();
    bad.statement = flow::sign(&hash, &meta, &user, &key);
    let r = register_participant(&served, &access, &user, &bad).await;
    refused(
        &served,
        &r,
        "BAD_USER_INPUT",
        "links does not hold the doc_hash of user_agreement",
        &user,
    )
    .await;

    // braname given while the cooperative is not branched
    let mut input = flow::participant_input(&user, &good);
    input["data"]["braname"] = json!("branch111111");
    let r = served
        .gql(flow::REGISTER_PARTICIPANT, input, Some(&access))
        .await;
    refused(&served, &r, "BAD_USER_INPUT", "not branched", &user).await;

    // another person's documents cannot be registered by this caller
    let r = register_participant(&served, &staff.member, &user, &good).await;
    refused(&served, &r, "FORBIDDEN", "", &user).await;

    // and the real thing still works
    let r = register_participant(&served, &access, &user, &good).await;
    assert_eq!(
        r["data"]["registerParticipant"]["username"],
        json!(user),
        "{r}"
    );
    assert_eq!(
        served
            .db
            .registration_status(n(&user))
            .await
            .unwrap()
            .as_deref(),
        Some("stored")
    );

    // the payer cannot mark their own payment PAID
    let r = served
        .gql(
            flow::CREATE_INITIAL,
            json!({"data": {"username": user}}),
            Some(&access),
        )
        .await;
    let id = r["data"]["createInitialPayment"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned();
    let r = served
        .gql(
            flow::SET_STATUS,
            json!({"data": {"id": id, "status": "PAID"}}),
            Some(&access),
        )
        .await;
    assert_eq!(error_code(&r), "FORBIDDEN", "{r}");
    let r = served
        .gql(flow::ORDERS, json!({"data": {"id": id}}), Some(&access))
        .await;
    assert_eq!(
        r["data"]["getPaymentOrders"]["items"][0]["status"],
        json!("PENDING"),
        "{r}"
    );
    assert!(served.db.intents().await.unwrap().is_empty());

    // payment methods: only the owner (the cooperative's: only the chairman)
    let create = "mutation($data: CreateBankAccountInput!) { createBankAccount(data: $data) {
        method_id } }";
    let r = served
        .gql(
            create,
            json!({"data": {"username": "voskhod", "is_default": true,
                "data": flow::bank_account()}}),
            Some(&access),
        )
        .await;
    assert_eq!(error_code(&r), "FORBIDDEN", "{r}");
    let r = served
        .gql(
            create,
            json!({"data": {"username": user, "is_default": true,
                "data": flow::bank_account()}}),
            Some(&access),
        )
        .await;
    let method_id = r["data"]["createBankAccount"]["method_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned();
    let mut changed = flow::bank_account();
    changed["bank_name"] = json!("Другой банк");
    let update = "mutation($data: UpdateBankAccountInput!) { updateBankAccount(data: $data) {
        bank_account { bank_name } } }";
    let r = served
        .gql(
            update,
            json!({"data": {"username": user, "method_id": method_id, "is_default": true,
                "data": changed}}),
            Some(&access),
        )
        .await;
    assert_eq!(
        r["data"]["updateBankAccount"]["bank_account"]["bank_name"],
        json!("Другой банк"),
        "{r}"
    );
    let r = served
        .gql(
            update,
            json!({"data": {"username": "voskhod", "method_id": method_id, "is_default": true,
                "data": changed}}),
            Some(&access),
        )
        .await;
    assert_eq!(error_code(&r), "FORBIDDEN", "{r}");
    let r = served
        .gql(
            "mutation($data: DeletePaymentMethodInput!) { deletePaymentMethod(data: $data) }",
            json!({"data": {"username": user, "method_id": method_id}}),
            Some(&staff.member),
        )
        .await;
    assert_eq!(error_code(&r), "FORBIDDEN", "{r}");
    let r = served
        .gql(
            "query($data: GetPaymentMethodsInput!) { getPaymentMethods(data: $data) {
                method_id bank_account { account_number } } }",
            json!({"data": {"username": user}}),
            Some(&access),
        )
        .await;
    assert_eq!(
        r["data"]["getPaymentMethods"].as_array().map(Vec::len),
        Some(1),
        "{r}"
    );
    served.stop().await;
    chain.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_branched_cooperative_requires_braname() {
    if !weasyprint("braname") {
        return;
    }
    let (chain, served, _staff) = rig().await;
    let user = user_name("gleb", 4);
    let key = PrivateKey::generate();
    let r = flow::register_account(&served, &user, &key).await;
    assert!(r["errors"].is_null(), "{r}");
    let (access, _) = served.login(&chain, &user, &key).await;
    let signed = flow::documents(&served, &access, &user, &key).await;
    // a participant becomes the trustee of a new branch and the cooperative turns branches on
    let decision = chain.register(&VOSKHOD, "trustee11111", 50);
    chain.vote_all_for(&VOSKHOD, decision);
    chain.accept(&VOSKHOD, decision, "trustee11111");
    chain.create_branch(&VOSKHOD, "branchone111", "trustee11111");
    let on = chain.act(
        "registrator",
        "enabranches",
        "voskhod",
        json!({"coopname": "voskhod"}),
    );
    chain
        .push(vec![on], &[&VOSKHOD.key()])
        .expect("enabranches");
    let reg = flow::registry(&served, &chain);
    support::wait_for(60, "the cooperative branched in the registries", || async {
        reg.cooperative(None)
            .await
            .ok()
            .flatten()
            .filter(|c| c.is_branched)
    })
    .await;
    let r = register_participant(&served, &access, &user, &signed).await;
    refused(&served, &r, "BAD_USER_INPUT", "braname is required", &user).await;
    let mut input = flow::participant_input(&user, &signed);
    input["data"]["braname"] = json!("nosuchbranch");
    let r = served
        .gql(flow::REGISTER_PARTICIPANT, input, Some(&access))
        .await;
    refused(&served, &r, "BAD_USER_INPUT", "does not exist", &user).await;
    served.stop().await;
    chain.shutdown().await;
}
