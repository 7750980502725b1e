//! Council decisions over real HTTP against `cli::serve`, the devchain and PostgreSQL: a
//! registered candidate is admitted (own-key votes, the chairman's signed decision 501,
//! `authorizeDecision` sent once through the outbox and followed with `getDecisionIntent`) or declined and refunded; role checks and
//! refused documents change nothing.

mod support;

use support::weasyprint;

use serde_json::json;
use support::api::{config, error_code, Served, JWT_KEY};
use support::chain::{key, n, registration_hash, TestChain, VOSKHOD};
use support::council::{admit, sign, Council, AUTHORIZE, DECLINE};
use tenant_node::db::outbox::IntentStatus;
use tenant_node::db::registry::Registry;
use tenant_node::registry::{Direction, Resolution};

const ANNA: &str = "anna11111111";
const BORIS: &str = "boris1111111";

fn registry(served: &Served, chain: &TestChain) -> Registry {
    let contracts = config("postgres://unused/unused", chain, VOSKHOD.name, JWT_KEY).contracts;
    Registry::new(served.db.clone(), n(VOSKHOD.name), contracts)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_council_admits_a_registered_candidate_exactly_once() {
    if !weasyprint("the_council_admits_a_registered_candidate_exactly_once") {
        return;
    }
    let chain = TestChain::start().await;
    chain.produce(2);
    let decision_id = chain.register(&VOSKHOD, ANNA, 40);
    let head = chain.produce(2);
    let served = Served::start(&chain).await;
    served.synced(head).await;
    let council = Council::start(&served, &chain, &VOSKHOD, &[ANNA]).await;

    // a member and the candidate are refused the chairman's operations; nothing is committed
    let (member, _) = (VOSKHOD.members[0].0, VOSKHOD.members[0].1);
    served.add_user(member, Some(&key(12)), "active").await;
    let (member_token, _) = served.login(&chain, member, &key(12)).await;
    served.add_user(ANNA, Some(&key(40)), "registered").await;
    let (anna_token, _) = served.login(&chain, ANNA, &key(40)).await;
    let decline = json!({"data": {"decision_id": decision_id}});
    for token in [&member_token, &anna_token] {
        let r = served.gql(DECLINE, decline.clone(), Some(token)).await;
        assert_eq!(error_code(&r), "FORBIDDEN", "{r}");
        let r = served
            .gql(
                AUTHORIZE,
                json!({"data": {"decision_id": decision_id, "document": {}}}),
                Some(token),
            )
            .await;
        assert_eq!(error_code(&r), "FORBIDDEN", "{r}");
    }
    assert!(served
        .db
        .decision_intent(decision_id)
        .await
        .unwrap()
        .is_none());

    // before the vote: no majority, refused
    served
        .add_user(VOSKHOD.chairman.0, Some(&key(VOSKHOD.chairman.1)), "active")
        .await;
    let (chair_token, _) = served
        .login(&chain, VOSKHOD.chairman.0, &key(VOSKHOD.chairman.1))
        .await;
    let (document, _) = council.signed_decision(&VOSKHOD, decision_id).await;
    let early = json!({"data": {"decision_id": decision_id, "document": document}});
    let r = served.gql(AUTHORIZE, early, Some(&chair_token)).await;
    assert_eq!(error_code(&r), "CONFLICT", "{r}");

    // a decision document signed with someone else's key is refused
    let (good, doc_hash) = council.signed_decision(&VOSKHOD, decision_id).await;
    let stored = served.db.documents_by_hash(&doc_hash).await.unwrap();
    let forged = sign(&doc_hash, &stored[0].meta, VOSKHOD.chairman.0, &key(12));
    assert_ne!(forged, good);
    chain.vote_all_for(&VOSKHOD, decision_id);
    let h = chain.produce(1);
    served.synced(h).await;
    let r = served
        .gql(
            AUTHORIZE,
            json!({"data": {"decision_id": decision_id, "document": forged}}),
            Some(&chair_token),
        )
        .await;
    assert_eq!(error_code(&r), "BAD_USER_INPUT", "{r}");
    assert!(r["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("not on chairman@active"));
    assert!(served
        .db
        .decision_intent(decision_id)
        .await
        .unwrap()
        .is_none());

    // the council half of the flow (votes already in: voting again would be refused, so the
    // reusable flow runs on a second candidate below)
    let r = served
        .gql(
            AUTHORIZE,
            json!({"data": {"decision_id": decision_id, "document": good}}),
            Some(&chair_token),
        )
        .await;
    assert_eq!(
        r["data"]["authorizeDecision"]["created"],
        json!(true),
        "{r}"
    );
    assert_eq!(
        council.settle(&served, &chain, decision_id).await,
        IntentStatus::Confirmed
    );
    // the council follows the intent; a user may not
    const INTENT: &str = "query($id: Int!) { getDecisionIntent(data: {decision_id: $id}) { \
        decision_id action status created trx_id confirmed_block error } }";
    let r = served
        .gql(INTENT, json!({"id": decision_id}), Some(&member_token))
        .await;
    let intent = &r["data"]["getDecisionIntent"];
    assert_eq!(
        (
            &intent["action"],
            &intent["status"],
            &intent["created"],
            &intent["error"]
        ),
        (
            &json!("authorize"),
            &json!("confirmed"),
            &json!(false),
            &json!(null)
        ),
        "{r}"
    );
    assert_eq!(intent["trx_id"].as_str().map(str::len), Some(64), "{r}");
    assert!(intent["confirmed_block"].as_u64().is_some(), "{r}");
    let r = served
        .gql(INTENT, json!({"id": decision_id}), Some(&anna_token))
        .await;
    assert_eq!(error_code(&r), "FORBIDDEN", "{r}");
    let r = served
        .gql(INTENT, json!({"id": 999_999}), Some(&chair_token))
        .await;
    assert!(r["data"]["getDecisionIntent"].is_null(), "{r}");

    let second = chain.register(&VOSKHOD, BORIS, 41);
    let h = chain.produce(1);
    served.synced(h).await;
    council
        .paperwork
        .write(
            BORIS,
            &tenant_node::paperwork::private::PrivateRecord::User(documents::sample::user(
                documents::model::AccountType::Individual,
            )),
        )
        .await
        .unwrap();
    let boris_doc = admit(&served, &chain, &council, &VOSKHOD, second).await;

    // both are active participants, no longer candidates, each with one authorize on chain
    let reg = registry(&served, &chain);
    for (who, id) in [(ANNA, decision_id), (BORIS, second)] {
        let p = reg.participant(n(who), None).await.unwrap().expect(who);
        assert_eq!(p.status, n("accepted"));
        assert!(reg
            .candidates(None)
            .await
            .unwrap()
            .iter()
            .all(|c| c.username != n(who)));
        let d = reg.decision(id, None).await.unwrap().unwrap();
        assert!(matches!(d.resolution, Some(Resolution::Executed { .. })));
        let package = reg
            .document_package(registration_hash(who), None)
            .await
            .unwrap()
            .expect("the package");
        assert!(package.decision_hash.is_some() && package.statement_hash.is_some());
        assert_eq!(package.agreements.len(), 4);
    }
    let authorizations = chain.actions_on_chain("soviet", "authorize");
    assert_eq!(authorizations.len(), 2, "{authorizations:?}");
    // the decision document regenerates to the same hash
    let regenerated = council
        .paperwork
        .regenerate(&boris_doc, Some(VOSKHOD.chairman.0))
        .await
        .unwrap();
    assert_eq!(regenerated.len(), 1);
    assert!(
        regenerated[0].verdict.is_match(),
        "{:?}",
        regenerated[0].verdict
    );
    // the executed decision cannot be declined
    let r = served
        .gql(
            DECLINE,
            json!({"data": {"decision_id": second}}),
            Some(&chair_token),
        )
        .await;
    assert_eq!(error_code(&r), "CONFLICT", "{r}");
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declined_candidate_is_refunded() {
    if !weasyprint("a_declined_candidate_is_refunded") {
        return;
    }
    let chain = TestChain::start().await;
    chain.produce(2);
    let decision_id = chain.register(&VOSKHOD, ANNA, 40);
    let head = chain.produce(2);
    let served = Served::start(&chain).await;
    served.synced(head).await;
    let council = Council::start(&served, &chain, &VOSKHOD, &[ANNA]).await;
    served
        .add_user(VOSKHOD.chairman.0, Some(&key(VOSKHOD.chairman.1)), "active")
        .await;
    let (token, _) = served
        .login(&chain, VOSKHOD.chairman.0, &key(VOSKHOD.chairman.1))
        .await;
    let data = json!({"data": {"decision_id": decision_id}});
    let r = served.gql(DECLINE, data.clone(), Some(&token)).await;
    assert_eq!(
        r["data"]["declineDecision"],
        json!({"decision_id": decision_id, "action": "decline", "status": "pending",
            "created": true}),
        "{r}"
    );
    // an authorization of the same decision is now a conflict; a repeated decline is not new
    let (document, _) = council.signed_decision(&VOSKHOD, decision_id).await;
    let r = served
        .gql(
            AUTHORIZE,
            json!({"data": {"decision_id": decision_id, "document": document}}),
            Some(&token),
        )
        .await;
    assert_eq!(error_code(&r), "CONFLICT", "{r}");
    let r = served.gql(DECLINE, data, Some(&token)).await;
    assert_eq!(r["data"]["declineDecision"]["created"], json!(false), "{r}");
    assert_eq!(
        council.settle(&served, &chain, decision_id).await,
        IntentStatus::Confirmed
    );
    let reg = registry(&served, &chain);
    let d = reg.decision(decision_id, None).await.unwrap().unwrap();
    assert!(matches!(d.resolution, Some(Resolution::Declined { .. })));
    let c = reg.candidates(None).await.unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].status, n("refunding"));
    assert!(reg.participant(n(ANNA), None).await.unwrap().is_none());
    // the cashier completes the refund: the candidate is gone, the outgoing payment completed
    chain.complete_refund(&VOSKHOD, ANNA);
    let h = chain.produce(1);
    served.synced(h).await;
    assert!(reg.candidates(None).await.unwrap().is_empty());
    let refund = reg
        .payments(None)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.direction == Direction::Outgoing)
        .expect("the refund");
    assert_eq!(refund.username, n(ANNA));
    assert_eq!(
        refund.status,
        tenant_node::registry::PaymentStatus::Completed
    );
    assert_eq!(chain.actions_on_chain("soviet", "declinedec").len(), 1);
    served.stop().await;
}
