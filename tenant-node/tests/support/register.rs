//! The participant lifecycle over the node's real GraphQL API, as clients drive it: the
//! cooperative's setup (its private data, its key in custody, staff sessions, its bank account),
//! then a new person's registration, documents signed client-side with the chain library,
//! registerParticipant, the qrpay order and PAID by a member, until the outbox has registered
//! the person on chain (`register_and_pay`). The council half chains after it.

use base64::Engine as _;
use chain::document::Document2;
use chain::keys::PrivateKey;
use chain::time::TimePointSec;
use documents::model::{AccountType, User};
use documents::sample;
use serde_json::{json, Value};
use tenant_node::config::SyncMode;
use tenant_node::db::registry::Registry;
use tenant_node::paperwork::private::PrivateRecord;

use super::api::{email, Served, ADMIN_SECRET};
use super::chain::{key, n, TestChain, VOSKHOD};
use super::wait_for;

/// Sessions of the cooperative's staff.
#[derive(Debug, Clone)]
pub struct Staff {
    pub chairman: String,
    pub member: String,
}

/// A person who went through registration and payment.
#[derive(Debug)]
pub struct Person {
    pub username: String,
    pub key: PrivateKey,
    pub access: String,
    pub payment_id: String,
    /// The signed application and the four agreements (wallet, signature, privacy, user).
    pub statement: Document2,
    pub agreements: Vec<Document2>,
}

/// The signed documents of a registration, before registerParticipant.
#[derive(Debug, Clone)]
pub struct Signed {
    pub statement: Document2,
    /// wallet, signature, privacy, user.
    pub agreements: Vec<Document2>,
}

pub const REGISTER_ACCOUNT: &str = "mutation($data: RegisterAccountInput!) {
    registerAccount(data: $data) { account { username role provider_account { status email } }
    tokens { access { token } refresh { token } } } }";

pub const REGISTER_PARTICIPANT: &str = "mutation($data: RegisterParticipantInput!) {
    registerParticipant(data: $data) { username provider_account { status } } }";

pub const CREATE_INITIAL: &str = "mutation($data: CreateInitialPaymentInput!) {
    createInitialPayment(data: $data) { id order_num username kind status quantity
    details { data qr_png amount_plus_fee } } }";

pub const SET_STATUS: &str = "mutation($data: SetPaymentStatusInput!) {
    setPaymentStatus(data: $data) { id status } }";

pub const ORDERS: &str = "query($data: GetPaymentOrdersInput) {
    getPaymentOrders(data: $data) { items { id status username message } } }";

/// The registry handle of the served `voskhod` node.
pub fn registry(served: &Served, chain: &TestChain) -> Registry {
    let config = super::config_for_urls(
        "postgres://unused@127.0.0.1/unused",
        &chain.http_url(),
        &chain.ship_url(),
        "voskhod",
        SyncMode::Head,
    );
    Registry::new(served.db.clone(), config.coopname, config.contracts)
}

fn person_data(last: &str) -> Value {
    let User::Individual(mut p) = sample::user(AccountType::Individual) else {
        unreachable!()
    };
    p.last_name = last.into();
    serde_json::to_value(p).expect("individual JSON")
}

/// Prepares the served node of `voskhod`: the cooperative's organization data, document
/// variables and council names; its `active` key in custody (setWif); the chairman and a member
/// logged in; the cooperative's default bank account (created by the chairman).
pub async fn prepare(served: &Served, chain: &TestChain) -> Staff {
    let reg = registry(served, chain);
    wait_for(60, "the cooperative synced", || async {
        reg.cooperative(None).await.ok().flatten()
    })
    .await;
    let write = |subject: &'static str, record: PrivateRecord| async move {
        let (data, _) = record.to_stored();
        served
            .db
            .write_private(record.kind(), subject, data.as_ref(), None)
            .await
            .expect("write private data");
    };
    write(
        "voskhod",
        PrivateRecord::User(sample::user(AccountType::Organization)),
    )
    .await;
    write("voskhod", PrivateRecord::Vars(sample::vars())).await;
    for (name, last) in [
        ("chairman", "Соколова"),
        ("member1", "Петров"),
        ("member2", "Орлова"),
    ] {
        let User::Individual(mut p) = sample::user(AccountType::Individual) else {
            unreachable!()
        };
        p.last_name = last.into();
        write(name, PrivateRecord::User(User::Individual(p))).await;
    }
    let r = served
        .admin(
            "mutation($data: SetWifInput!) { setWif(data: $data) }",
            json!({"data": {"username": "voskhod", "wif": VOSKHOD.key().to_wif()}}),
            ADMIN_SECRET,
        )
        .await;
    assert_eq!(r["data"]["setWif"], json!(true), "{r}");
    let (chairman_name, chairman_seed) = VOSKHOD.chairman;
    let (member_name, member_seed) = VOSKHOD.members[0];
    served
        .add_user(chairman_name, Some(&key(chairman_seed)), "active")
        .await;
    served
        .add_user(member_name, Some(&key(member_seed)), "active")
        .await;
    let (chairman, _) = served
        .login(chain, chairman_name, &key(chairman_seed))
        .await;
    let (member, _) = served.login(chain, member_name, &key(member_seed)).await;
    let r = served
        .gql(
            "mutation($data: CreateBankAccountInput!) { createBankAccount(data: $data) {
                method_id is_default } }",
            json!({"data": {"username": "voskhod", "is_default": true,
                "data": bank_account()}}),
            Some(&chairman),
        )
        .await;
    assert_eq!(
        r["data"]["createBankAccount"]["is_default"],
        json!(true),
        "{r}"
    );
    Staff { chairman, member }
}

/// Valid bank details (check digits of the sample).
pub fn bank_account() -> Value {
    let User::Organization(o) = sample::user(AccountType::Organization) else {
        unreachable!()
    };
    serde_json::to_value(o.bank_account).expect("bank account JSON")
}

/// `registerAccount` of an individual named `username` with `key`; the answer.
pub async fn register_account(served: &Served, username: &str, key: &PrivateKey) -> Value {
    served
        .gql(
            REGISTER_ACCOUNT,
            json!({"data": {"email": email(username), "username": username,
                "public_key": key.public_key().to_string(), "type": "individual",
                "individual_data": person_data("Новикова")}}),
            None,
        )
        .await
}

/// Generates one document over GraphQL; returns `(hash, meta)`.
pub async fn generate(
    served: &Served,
    token: &str,
    op: &str,
    username: &str,
    extra: Value,
) -> (String, Value) {
    let input = if op == "generateParticipantApplication" {
        "ParticipantApplicationGenerateInput"
    } else {
        "GenerateDocumentInput"
    };
    let mut data = json!({"coopname": "voskhod", "username": username});
    if let (Some(d), Some(e)) = (data.as_object_mut(), extra.as_object()) {
        d.extend(e.clone());
    }
    let q = format!(
        "mutation($data: {input}!) {{ {op}(data: $data) {{ full_title hash meta binary html }} }}"
    );
    let r = served.gql(&q, json!({"data": data}), Some(token)).await;
    let doc = &r["data"][op];
    let hash = doc["hash"]
        .as_str()
        .unwrap_or_else(|| panic!("{op}: {r}"))
        .to_owned();
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(doc["binary"].as_str().expect("binary"))
        .expect("base64 PDF");
    assert!(pdf.starts_with(b"%PDF-"), "{op}: binary is a PDF");
    assert!(!doc["full_title"].as_str().unwrap_or("").is_empty());
    (hash, doc["meta"].clone())
}

/// A client's signature over a generated document.
pub fn sign(hash: &str, meta: &Value, signer: &str, key: &PrivateKey) -> Document2 {
    let mut doc = Document2::new(hash, meta).expect("document2");
    doc.sign(n(signer), key, TimePointSec::now(), 1);
    doc
}

/// A handwritten signature image (PNG, base64).
pub fn signature_image() -> String {
    base64::engine::general_purpose::STANDARD.encode(sample::signature_png(200, 60))
}

/// Logs in with the stored key, generates the four agreements and the application (linking
/// the agreements) and signs them all with `key`.
pub async fn documents(served: &Served, token: &str, username: &str, key: &PrivateKey) -> Signed {
    let mut agreements = Vec::new();
    let mut links = Vec::new();
    for op in [
        "generateWalletAgreement",
        "generateSignatureAgreement",
        "generatePrivacyAgreement",
        "generateUserAgreement",
    ] {
        let (hash, meta) = generate(served, token, op, username, json!({})).await;
        agreements.push(sign(&hash, &meta, username, key));
        links.push(hash);
    }
    let (hash, meta) = generate(
        served,
        token,
        "generateParticipantApplication",
        username,
        json!({"links": links, "signature": signature_image(), "skip_save": false}),
    )
    .await;
    assert_eq!(
        meta["links"],
        json!(links),
        "the application links the agreements"
    );
    Signed {
        statement: sign(&hash, &meta, username, key),
        agreements,
    }
}

/// The `registerParticipant` variables for `signed`.
pub fn participant_input(username: &str, signed: &Signed) -> Value {
    let j = |d: &Document2| serde_json::to_value(d).expect("document2 JSON");
    json!({"data": {"username": username, "statement": j(&signed.statement),
        "wallet_agreement": j(&signed.agreements[0]),
        "signature_agreement": j(&signed.agreements[1]),
        "privacy_agreement": j(&signed.agreements[2]),
        "user_agreement": j(&signed.agreements[3])}})
}

/// A new person up to a stored registration package: key, registerAccount, login with the
/// stored key, documents, registerParticipant. Returns (access token, signed documents).
pub async fn register(
    served: &Served,
    chain: &TestChain,
    username: &str,
    key: &PrivateKey,
) -> (String, Signed) {
    let r = register_account(served, username, key).await;
    let account = &r["data"]["registerAccount"]["account"];
    assert_eq!(account["username"], json!(username), "{r}");
    assert_eq!(account["provider_account"]["status"], json!("created"));
    let (access, _) = served.login(chain, username, key).await;
    let signed = documents(served, &access, username, key).await;
    let r = served
        .gql(
            REGISTER_PARTICIPANT,
            participant_input(username, &signed),
            Some(&access),
        )
        .await;
    assert_eq!(
        r["data"]["registerParticipant"]["username"],
        json!(username),
        "{r}"
    );
    assert_eq!(
        r["data"]["registerParticipant"]["provider_account"]["status"],
        json!("joined")
    );
    (access, signed)
}

/// The whole part A: registration, the qrpay order, PAID by a member, and the outbox's
/// registration on chain, visible in the synced registries (`registrator` candidate) and as the
/// order COMPLETED.
pub async fn register_and_pay(
    served: &Served,
    chain: &TestChain,
    staff: &Staff,
    username: &str,
) -> Person {
    let key = PrivateKey::generate();
    let (access, signed) = register(served, chain, username, &key).await;
    let r = served
        .gql(
            CREATE_INITIAL,
            json!({"data": {"username": username}}),
            Some(&access),
        )
        .await;
    let order = &r["data"]["createInitialPayment"];
    assert_eq!(order["status"], json!("PENDING"), "{r}");
    assert_eq!(
        order["quantity"],
        json!("400.0000 AXON"),
        "initial + minimum"
    );
    let st = order["details"]["data"].as_str().expect("qrpay string");
    assert!(st.starts_with("ST00012|Name="), "{st}");
    assert!(st.contains("|Sum=40000|"), "{st}");
    let png = base64::engine::general_purpose::STANDARD
        .decode(order["details"]["qr_png"].as_str().expect("QR"))
        .expect("base64 PNG");
    assert!(png.starts_with(b"\x89PNG"));
    let payment_id = order["id"].as_str().expect("id").to_owned();
    let r = served
        .gql(
            SET_STATUS,
            json!({"data": {"id": payment_id, "status": "PAID"}}),
            Some(&staff.member),
        )
        .await;
    assert_eq!(
        r["data"]["setPaymentStatus"]["status"],
        json!("PAID"),
        "{r}"
    );
    wait_completed(served, &staff.member, &payment_id).await;
    let reg = registry(served, chain);
    let candidate = wait_for(60, "the candidate in the synced registries", || async {
        reg.candidates(None)
            .await
            .ok()?
            .into_iter()
            .find(|c| c.username == n(username))
    })
    .await;
    assert_eq!(
        candidate.registration_hash,
        super::chain::registration_hash(username)
    );
    let user = served.db.user(n(username)).await.unwrap().expect("user");
    assert_eq!(user.status, "registered");
    // on chain now: the person logs in with their account's key
    let (access, _) = served.login(chain, username, &key).await;
    Person {
        username: username.to_owned(),
        key,
        access,
        payment_id,
        statement: signed.statement,
        agreements: signed.agreements,
    }
}

/// Waits until the order is COMPLETED (the outbox confirmed the registration).
pub async fn wait_completed(served: &Served, token: &str, payment_id: &str) {
    wait_for(120, "the order COMPLETED", || async {
        let r = served
            .gql(ORDERS, json!({"data": {"id": payment_id}}), Some(token))
            .await;
        let status = r["data"]["getPaymentOrders"]["items"][0]["status"].clone();
        assert_ne!(status, json!("FAILED"), "{r}");
        (status == json!("COMPLETED")).then_some(())
    })
    .await;
}
