//! The participant lifecycle end to end over real HTTP against `cli::serve`, the development
//! chain and PostgreSQL: a new person registers, signs the four agreements and the application
//! client-side, pays by qrpay, a member marks it PAID (the node registers them on chain), the
//! council votes with its own keys and the chairman authorizes with a signed decision; the person
//! is then an active participant with all five documents and the decision in the document
//! registry, and reads their own data and nobody else's.

mod support;

use serde_json::json;
use support::api::error_code;
use support::api::Served;
use support::chain::{n, user_name, TestChain, VOSKHOD};
use support::council::{admit, Council};
use support::register as flow;
use support::{wait_for, weasyprint};

const DOCUMENTS: &str = "query($u: String) { getDocuments(data: {username: $u}) { items {
    username action statement_doc_hash decision_doc_hash agreements { type doc_hash }
    documents { doc_hash username registry_id full_title pdf_base64 } } } }";
const ACCOUNT: &str = "query($u: String!) { getAccount(data: {username: $u}) {
    username role participant_account { status } provider_account { email status } } }";

#[tokio::test(flavor = "multi_thread")]
async fn a_person_registers_pays_is_admitted_and_reads_only_their_own_data() {
    if !weasyprint("lifecycle") {
        return;
    }
    let chain = TestChain::start_with(100, 3).await;
    let served = Served::start(&chain).await;
    let staff = flow::prepare(&served, &chain).await;
    let username = user_name("vera", 7);

    // registration, documents signed client-side, qrpay, PAID → registered on chain by the node
    let person = flow::register_and_pay(&served, &chain, &staff, &username).await;

    // the admission decision is on the council's agenda
    let reg = flow::registry(&served, &chain);
    let decision = wait_for(60, "the admission decision on the agenda", || async {
        reg.agenda(None)
            .await
            .ok()?
            .into_iter()
            .find(|d| d.username == n(&username))
    })
    .await;

    // the council votes with its own keys, the chairman authorizes with a signed decision 501
    let council = Council::start(&served, &chain, &VOSKHOD, &[]).await;
    let decision_doc = admit(&served, &chain, &council, &VOSKHOD, decision.id).await;
    let head = chain.produce(1);
    served.synced(head).await;

    // an active participant, no longer a candidate
    let participant = reg
        .participant(n(&username), None)
        .await
        .unwrap()
        .expect("a participant");
    assert_eq!(participant.status, n("accepted"));
    assert!(reg
        .candidates(None)
        .await
        .unwrap()
        .iter()
        .all(|c| c.username != n(&username)));

    // the person logs in with the key on their chain account and sees their package: the
    // application, the four agreements and the decision, each joined with the stored document
    let (access, _) = served.login(&chain, &username, &person.key).await;
    let r = served
        .gql(DOCUMENTS, json!({"u": username}), Some(&access))
        .await;
    let items = r["data"]["getDocuments"]["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"));
    assert_eq!(items.len(), 1, "{r}");
    let package = &items[0];
    assert_eq!(package["username"], username.as_str());
    assert_eq!(
        package["statement_doc_hash"],
        person.statement.doc_hash.to_hex_upper()
    );
    assert_eq!(package["decision_doc_hash"], decision_doc.to_uppercase());
    let mut on_chain: Vec<String> = package["agreements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["doc_hash"].as_str().unwrap().to_owned())
        .collect();
    on_chain.sort();
    let mut signed: Vec<String> = person
        .agreements
        .iter()
        .map(|d| d.doc_hash.to_hex_upper())
        .collect();
    signed.sort();
    assert_eq!(on_chain, signed);
    let documents = package["documents"].as_array().unwrap();
    let mut registry_ids: Vec<u64> = documents
        .iter()
        .map(|d| d["registry_id"].as_u64().unwrap())
        .collect();
    registry_ids.sort();
    assert_eq!(registry_ids, [1, 2, 3, 4, 100, 501], "{r}");
    for d in documents {
        let owner = if d["registry_id"] == 501 {
            VOSKHOD.chairman.0
        } else {
            username.as_str()
        };
        assert_eq!(d["username"], owner, "{d}");
        assert!(!d["full_title"].as_str().unwrap().is_empty());
        assert!(
            d["pdf_base64"].as_str().unwrap().starts_with("JVBERi0"),
            "a PDF"
        );
    }

    // their own account: a participant; nobody else's account or documents
    let r = served
        .gql(ACCOUNT, json!({"u": username}), Some(&access))
        .await;
    assert_eq!(
        r["data"]["getAccount"]["username"],
        username.as_str(),
        "{r}"
    );
    assert_eq!(r["data"]["getAccount"]["role"], "user");
    assert!(
        !r["data"]["getAccount"]["participant_account"].is_null(),
        "{r}"
    );
    let r = served
        .gql(ACCOUNT, json!({"u": VOSKHOD.members[0].0}), Some(&access))
        .await;
    assert_eq!(error_code(&r), "FORBIDDEN", "{r}");
    let r = served
        .gql(DOCUMENTS, json!({"u": VOSKHOD.members[0].0}), Some(&access))
        .await;
    assert_eq!(error_code(&r), "FORBIDDEN", "{r}");
    served.stop().await;
    chain.shutdown().await;
}
