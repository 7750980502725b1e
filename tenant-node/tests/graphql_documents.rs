//! `verifyDocument` over real HTTP against `cli::serve`, the devchain and PostgreSQL: a stored
//! document regenerates to its hash; after its stored meta is tampered with it does not, with
//! the reason; a user verifies only their own documents.

mod support;

use support::weasyprint;

use documents::meta::MetaInput;
use serde_json::{json, Value};
use support::api::{error_code, Served};
use support::chain::{key, TestChain, VOSKHOD};
use support::council::Council;
use support::invite::sql;

const ANNA: &str = "anna11111111";
const BORIS: &str = "boris1111111";
const VERIFY: &str = "query($data: VerifyDocumentInput!) {
    verifyDocument(data: $data) { doc_hash username registry_id matches reason } }";

fn verdicts(r: &Value) -> &Vec<Value> {
    r["data"]["verifyDocument"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn stored_documents_verify_and_tampering_is_reported() {
    if !weasyprint("stored_documents_verify_and_tampering_is_reported") {
        return;
    }
    let chain = TestChain::start().await;
    let head = chain.produce(2);
    let served = Served::start(&chain).await;
    served.synced(head).await;
    let council = Council::start(&served, &chain, &VOSKHOD, &[ANNA, BORIS]).await;
    let stored = council
        .paperwork
        .generate(
            1,
            MetaInput {
                username: ANNA.into(),
                created_at: Some("03.02.2025 18:00".into()),
                ..MetaInput::default()
            },
        )
        .await
        .expect("generate");
    let (chair, seed) = VOSKHOD.chairman;
    served.add_user(chair, Some(&key(seed)), "active").await;
    let (chair_token, _) = served.login(&chain, chair, &key(seed)).await;
    served.add_user(ANNA, Some(&key(40)), "created").await;
    let (anna, _) = served.login(&chain, ANNA, &key(40)).await;
    served.add_user(BORIS, Some(&key(41)), "created").await;
    let (boris, _) = served.login(&chain, BORIS, &key(41)).await;

    // the chairman and the owner see a match (any hash case)
    let all = json!({"data": {"doc_hash": stored.doc_hash.to_lowercase()}});
    let r = served.gql(VERIFY, all.clone(), Some(&chair_token)).await;
    let v = verdicts(&r);
    assert_eq!(v.len(), 1, "{r}");
    assert_eq!(v[0]["matches"], true, "{r}");
    assert_eq!(v[0]["username"], ANNA);
    assert_eq!(v[0]["registry_id"], 1);
    assert_eq!(v[0]["reason"], "");
    let r = served.gql(VERIFY, all.clone(), Some(&anna)).await;
    assert_eq!(verdicts(&r)[0]["matches"], true, "{r}");

    // another user: refused for Anna's record, and has none of their own
    let annas = json!({"data": {"doc_hash": stored.doc_hash, "username": ANNA}});
    let r = served.gql(VERIFY, annas, Some(&boris)).await;
    assert_eq!(error_code(&r), "FORBIDDEN", "{r}");
    let r = served.gql(VERIFY, all.clone(), Some(&boris)).await;
    assert_eq!(error_code(&r), "BAD_USER_INPUT", "{r}");
    let r = served
        .gql(
            VERIFY,
            json!({"data": {"doc_hash": "zz"}}),
            Some(&chair_token),
        )
        .await;
    assert_eq!(error_code(&r), "BAD_USER_INPUT", "{r}");

    // a tampered stored meta is a mismatch, with the reason
    sql(
        &served,
        &format!(
            "UPDATE generated_documents SET meta = jsonb_set(meta, '{{version}}', '\"0.0.1\"')
             WHERE doc_hash = '{}'",
            stored.doc_hash
        ),
    )
    .await;
    let r = served.gql(VERIFY, all, Some(&chair_token)).await;
    let v = verdicts(&r);
    assert_eq!(v[0]["matches"], false, "{r}");
    assert!(v[0]["reason"].as_str().unwrap().contains("0.0.1"), "{r}");
    served.stop().await;
    chain.shutdown().await;
}
