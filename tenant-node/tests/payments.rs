//! Payments on a real database with the cooperative's fees synced from the devchain: initial
//! and deposit payments, the status transition rules and who may apply them, 50 concurrent PAID
//! signals creating exactly one chain intent, expiry, and payment methods with ownership checks.

mod support;

use std::time::Duration;

use chain::keys::PrivateKey;
use serde_json::json;
use support::chain::{n, TestChain};
use support::pay::{caller, chairman, member, package};
use support::Node;
use tenant_node::db::payments::{PaymentFilter, PaymentsError};
use tenant_node::db::registry::Registry;
use tenant_node::payments::method::MethodData;
use tenant_node::payments::{AccountType, PaymentError, PaymentKind, PaymentStatus, Role};
use tenant_node::registry::Cooperative;

const DAY: Duration = Duration::from_secs(86_400);

async fn setup() -> (TestChain, Node, Cooperative) {
    let chain = TestChain::start().await;
    let head = chain.produce(2);
    let node = Node::new(&chain).await;
    node.sync_to(head).await;
    let coop = Registry::new(
        node.db.clone(),
        node.config.coopname,
        node.config.contracts.clone(),
    )
    .cooperative(None)
    .await
    .unwrap()
    .expect("orgs row");
    (chain, node, coop)
}

fn refused(r: Result<impl std::fmt::Debug, PaymentsError>) -> PaymentError {
    match r {
        Err(PaymentsError::Refused(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn initial_payment_uses_the_fees_on_chain_and_is_reused() {
    let (chain, node, coop) = setup().await;
    let db = &node.db;
    let alice = caller("alice1111111", Role::User);

    // no registration package yet: refused, nothing written
    let e = refused(
        db.create_initial_payment(&alice, &coop, n("alice1111111"), DAY)
            .await,
    );
    assert_eq!(e, PaymentError::NoPackage);

    let key = PrivateKey::generate();
    db.save_registration_package(&package("alice1111111", &key, AccountType::Individual))
        .await
        .unwrap();
    let p = db
        .create_initial_payment(&alice, &coop, n("alice1111111"), DAY)
        .await
        .unwrap();
    // initial 100 + minimum 300 on chain
    assert_eq!(p.amount.to_string(), "400.0000 AXON");
    assert_eq!(p.status, PaymentStatus::Pending);
    assert_eq!(p.kind, PaymentKind::Registration);
    assert_eq!(p.provider, "qrpay");
    assert!(p.order_num > 0);
    let again = db
        .create_initial_payment(&alice, &coop, n("alice1111111"), DAY)
        .await
        .unwrap();
    assert_eq!(again.id, p.id, "the live registration payment is reused");

    // organizations pay the organization fees (1000 + 3000)
    db.save_registration_package(&package("orgco1111111", &key, AccountType::Organization))
        .await
        .unwrap();
    let org = db
        .create_initial_payment(&member(), &coop, n("orgco1111111"), DAY)
        .await
        .unwrap();
    assert_eq!(org.amount.to_string(), "4000.0000 AXON");
    assert!(org.order_num > p.order_num);

    // somebody else's payment: refused for a plain user
    let e = refused(
        db.create_initial_payment(&alice, &coop, n("orgco1111111"), DAY)
            .await,
    );
    assert_eq!(e, PaymentError::Forbidden);
    chain.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn deposits_take_the_cooperative_currency_only() {
    let (chain, node, coop) = setup().await;
    let db = &node.db;
    let bob = caller("bob111111111", Role::User);
    let p = db
        .create_deposit_payment(&bob, &coop, n("bob111111111"), "150.5000 AXON", DAY)
        .await
        .unwrap();
    assert_eq!(p.amount.to_string(), "150.5000 AXON");
    assert_eq!(p.kind, PaymentKind::Deposit);
    for bad in ["150.50 AXON", "150.5000 RUB", "-1.0000 AXON", "lots"] {
        let e = refused(
            db.create_deposit_payment(&bob, &coop, n("bob111111111"), bad, DAY)
                .await,
        );
        assert!(matches!(e, PaymentError::BadAmount { .. }), "{bad}: {e:?}");
    }
    // the user sees only their own payments; staff see everyone's
    let mine = db.payments(&bob, &PaymentFilter::default()).await.unwrap();
    assert_eq!(mine.len(), 1);
    let e = refused(
        db.payments(
            &bob,
            &PaymentFilter {
                username: Some(n("alice1111111")),
                ..PaymentFilter::default()
            },
        )
        .await,
    );
    assert_eq!(e, PaymentError::Forbidden);
    let other = caller("carol1111111", Role::User);
    let e = refused(db.payment(&other, &p.id).await);
    assert_eq!(
        e,
        PaymentError::NotFound,
        "no probing of other people's ids"
    );
    assert_eq!(db.payment(&member(), &p.id).await.unwrap().id, p.id);
    chain.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn status_changes_follow_the_table_and_fifty_paid_signals_make_one_intent() {
    let (chain, node, coop) = setup().await;
    let db = node.db.clone();
    let key = PrivateKey::generate();
    let user = "dave11111111";
    db.save_registration_package(&package(user, &key, AccountType::Individual))
        .await
        .unwrap();
    let dave = caller(user, Role::User);
    let p = db
        .create_initial_payment(&dave, &coop, n(user), DAY)
        .await
        .unwrap();

    // the payer cannot mark their own payment, a plain user cannot mark anything,
    // and nothing changes
    let e = refused(
        db.set_payment_status(&dave, &p.id, PaymentStatus::Paid, "")
            .await,
    );
    assert_eq!(e, PaymentError::Forbidden);
    let e = refused(
        db.set_payment_status(
            &caller("erin11111111", Role::User),
            &p.id,
            PaymentStatus::Paid,
            "",
        )
        .await,
    );
    assert_eq!(e, PaymentError::Forbidden);
    let own = caller(user, Role::Member);
    let e = refused(
        db.set_payment_status(&own, &p.id, PaymentStatus::Paid, "")
            .await,
    );
    assert_eq!(e, PaymentError::OwnPayment);
    // a person cannot complete a payment (only the confirmed chain effect does)
    let e = refused(
        db.set_payment_status(&member(), &p.id, PaymentStatus::Completed, "")
            .await,
    );
    assert_eq!(
        e,
        PaymentError::IllegalTransition {
            from: PaymentStatus::Pending,
            to: PaymentStatus::Completed
        }
    );
    assert_eq!(
        db.payment(&member(), &p.id).await.unwrap().status,
        PaymentStatus::Pending
    );
    assert!(db.intents().await.unwrap().is_empty());

    // 50 concurrent PAID signals: one change, one intent
    let mut tasks = Vec::new();
    for i in 0..50 {
        let db = db.clone();
        let id = p.id.clone();
        let who = if i % 2 == 0 { member() } else { chairman() };
        tasks.push(tokio::spawn(async move {
            db.set_payment_status(&who, &id, PaymentStatus::Paid, "")
                .await
                .unwrap()
        }));
    }
    let mut changed = 0;
    let mut created = 0;
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.payment.status, PaymentStatus::Paid);
        changed += u32::from(r.changed);
        created += u32::from(r.intent_created);
    }
    assert_eq!((changed, created), (1, 1));
    let intents = db.intents().await.unwrap();
    assert_eq!(intents.len(), 1);
    assert_eq!(intents[0].payment_id.as_ref(), Some(&p.id));
    match &intents[0].payload {
        tenant_node::outbox::IntentPayload::Registration(package) => {
            assert_eq!(package.username, n(user))
        }
        other => panic!("not a registration intent: {other:?}"),
    }
    assert_eq!(
        db.registration_status(n(user)).await.unwrap().as_deref(),
        Some("paid")
    );
    // a repeated PAID is a no-op with a clear answer
    let again = db
        .set_payment_status(&member(), &p.id, PaymentStatus::Paid, "")
        .await
        .unwrap();
    assert!(!again.changed && !again.intent_created);
    assert_eq!(db.intents().await.unwrap().len(), 1);
    // the paid package can no longer be replaced
    let e = refused(
        db.save_registration_package(&package(user, &key, AccountType::Individual))
            .await,
    );
    assert!(matches!(e, PaymentError::Invalid(_)));
    // PAID -> REFUNDED directly is refused
    let e = refused(
        db.set_payment_status(&chairman(), &p.id, PaymentStatus::Refunded, "")
            .await,
    );
    assert!(matches!(e, PaymentError::IllegalTransition { .. }));
    let events = db.payment_events(&p.id).await.unwrap();
    assert_eq!(
        events,
        vec![("PENDING".into(), "PAID".into(), events[0].2.clone())]
    );
    assert!(["member1", "chairman"].contains(&events[0].2.as_str()));
    chain.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sweep_expires_overdue_pending_payments_only() {
    let (chain, node, coop) = setup().await;
    let db = &node.db;
    let frank = caller("frank1111111", Role::User);
    let overdue = db
        .create_deposit_payment(
            &frank,
            &coop,
            n("frank1111111"),
            "1.0000 AXON",
            Duration::ZERO,
        )
        .await
        .unwrap();
    let live = db
        .create_deposit_payment(&frank, &coop, n("frank1111111"), "2.0000 AXON", DAY)
        .await
        .unwrap();
    assert_eq!(db.expire_due_payments().await.unwrap(), 1);
    assert_eq!(db.expire_due_payments().await.unwrap(), 0);
    assert_eq!(
        db.payment(&frank, &overdue.id).await.unwrap().status,
        PaymentStatus::Expired
    );
    assert_eq!(
        db.payment(&frank, &live.id).await.unwrap().status,
        PaymentStatus::Pending
    );
    // an expired payment is final
    let e = refused(
        db.set_payment_status(&member(), &overdue.id, PaymentStatus::Paid, "")
            .await,
    );
    assert!(matches!(e, PaymentError::IllegalTransition { .. }));
    chain.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn payment_methods_belong_to_their_owner() {
    let (chain, node, _coop) = setup().await;
    let db = &node.db;
    let coopname = n("voskhod");
    let gina = caller("gina11111111", Role::User);
    let bank = MethodData::parse(
        "bank_transfer",
        &json!({"account_number": "40817810099910004312", "bank_name": "АО Банк",
                "currency": "RUB",
                "details": {"bik": "044525225", "corr": "30101810400000000225", "kpp": ""}}),
    )
    .unwrap();
    let sbp = MethodData::parse("sbp", &json!({"phone": "+79991234567"})).unwrap();
    let m1 = db
        .create_payment_method(&gina, n("gina11111111"), coopname, &bank, true)
        .await
        .unwrap();
    let m2 = db
        .create_payment_method(&gina, n("gina11111111"), coopname, &sbp, true)
        .await
        .unwrap();
    assert!(
        m1.is_default && m2.is_default,
        "one default per method type"
    );
    // a second default bank account takes the flag over
    let m3 = db
        .create_payment_method(&gina, n("gina11111111"), coopname, &bank, true)
        .await
        .unwrap();
    let list = db
        .payment_methods(&gina, n("gina11111111"), coopname)
        .await
        .unwrap();
    let defaults: Vec<i64> = list
        .iter()
        .filter(|m| m.is_default)
        .map(|m| m.method_id)
        .collect();
    assert_eq!(defaults, vec![m2.method_id, m3.method_id]);

    // somebody else: cannot read, create, change or delete gina's methods
    let hank = caller("hank11111111", Role::User);
    assert_eq!(
        refused(db.payment_methods(&hank, n("gina11111111"), coopname).await),
        PaymentError::Forbidden
    );
    assert_eq!(
        refused(
            db.create_payment_method(&hank, n("gina11111111"), coopname, &bank, false)
                .await
        ),
        PaymentError::Forbidden
    );
    assert_eq!(
        refused(
            db.delete_payment_method(&hank, n("gina11111111"), coopname, m1.method_id)
                .await
        ),
        PaymentError::Forbidden
    );
    // a method id of someone else under one's own name is "not found"
    assert_eq!(
        refused(
            db.delete_payment_method(&hank, n("hank11111111"), coopname, m1.method_id)
                .await
        ),
        PaymentError::MethodNotFound
    );
    assert_eq!(
        refused(
            db.update_payment_method(
                &hank,
                n("hank11111111"),
                coopname,
                m1.method_id,
                &bank,
                false
            )
            .await
        ),
        PaymentError::MethodNotFound
    );
    // the chairman reads anyone's but writes only the cooperative's own
    assert_eq!(
        db.payment_methods(&chairman(), n("gina11111111"), coopname)
            .await
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        refused(
            db.delete_payment_method(&chairman(), n("gina11111111"), coopname, m1.method_id)
                .await
        ),
        PaymentError::Forbidden
    );
    assert_eq!(
        refused(
            db.create_payment_method(&member(), coopname, coopname, &bank, true)
                .await
        ),
        PaymentError::Forbidden
    );
    db.create_payment_method(&chairman(), coopname, coopname, &bank, true)
        .await
        .unwrap();
    assert_eq!(
        db.payment_methods(&gina, coopname, coopname)
            .await
            .unwrap()
            .len(),
        1,
        "everyone may read where to pay"
    );
    // the owner updates and deletes
    let updated = db
        .update_payment_method(
            &gina,
            n("gina11111111"),
            coopname,
            m1.method_id,
            &bank,
            true,
        )
        .await
        .unwrap();
    assert!(updated.is_default);
    db.delete_payment_method(&gina, n("gina11111111"), coopname, m1.method_id)
        .await
        .unwrap();
    let list = db
        .payment_methods(&gina, n("gina11111111"), coopname)
        .await
        .unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|m| m.method_id != m1.method_id));
    chain.shutdown().await;
}
