//! Private data versioned by block, generated documents, regeneration (library and the
//! `regenerate` command) and signed-document verification, on a real database, real
//! WeasyPrint and the devchain (on-chain keys).

mod support;

use support::weasyprint;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use chain::api::ChainClient;
use chain::document::Document2;
use chain::keys::PrivateKey;
use chain::time::TimePointSec;
use chain::Name;
use documents::meta::MetaInput;
use documents::model::{AccountType, Individual, User};
use documents::sample;
use documents::verify::{Mismatch, Verdict};
use serde_json::{json, Value};
use support::chain::{key, n, TestChain, CHAIN_ID, VOSKHOD};
use support::Node;
use tenant_node::db::documents::StoredDocument;
use tenant_node::paperwork::keys::ChainKeys;
use tenant_node::paperwork::private::{AsOf, PrivateDataError, PrivateKind, PrivateRecord};
use tenant_node::paperwork::signed::SignedDocumentError;
use tenant_node::paperwork::{Paperwork, PaperworkError};

const ALICE: &str = "alice1111111";
const BOB: &str = "bob111111111";

fn person(last: &str, first: &str) -> User {
    let User::Individual(base) = sample::user(AccountType::Individual) else {
        unreachable!()
    };
    User::Individual(Individual {
        last_name: last.into(),
        first_name: first.into(),
        ..base
    })
}

/// A chain where alice registered with voskhod (key seed 30), a node synced to its head, and
/// the paperwork service with the cooperative's data, its council's and alice's and bob's.
async fn setup() -> (TestChain, Node, Paperwork) {
    let chain = TestChain::start().await;
    chain.produce(2);
    chain.register(&VOSKHOD, ALICE, 30);
    let head = chain.produce(2);
    let mut node = Node::new(&chain).await;
    node.sync_to(head).await;
    node.config.pdf.workers = 1;
    let factory = tenant_node::cli::start_factory(&node.config)
        .await
        .expect("factory");
    let paperwork = Paperwork::new(
        node.db.clone(),
        node.config.coopname,
        node.config.contracts.clone(),
        Arc::new(factory),
    );
    let w = |subject: &str, record: PrivateRecord| {
        let (p, subject) = (&paperwork, subject.to_owned());
        async move { p.write(&subject, &record).await.expect("write") }
    };
    w(
        "voskhod",
        PrivateRecord::User(sample::user(AccountType::Organization)),
    )
    .await;
    w("voskhod", PrivateRecord::Vars(sample::vars())).await;
    for (name, last) in [
        ("chairman", "Соколова"),
        ("member1", "Петров"),
        ("member2", "Орлова"),
    ] {
        w(name, PrivateRecord::User(person(last, "Мария"))).await;
    }
    w(ALICE, PrivateRecord::User(person("Иванова", "Алиса"))).await;
    w(BOB, PrivateRecord::User(person("Бобров", "Борис"))).await;
    (chain, node, paperwork)
}

fn input(username: &str) -> MetaInput {
    MetaInput {
        username: username.into(),
        created_at: Some("01.02.2025 10:30".into()),
        ..MetaInput::default()
    }
}

async fn sql(node: &Node, statement: &str) -> u64 {
    let (client, conn) = tokio_postgres::connect(&node.test_db.url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    client.execute(statement, &[]).await.expect("sql")
}

fn last_name(record: Option<PrivateRecord>) -> String {
    match record {
        Some(PrivateRecord::User(User::Individual(i))) => i.last_name,
        other => panic!("not an individual: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn private_data_is_versioned_by_block_and_documents_regenerate_as_of_their_block() {
    if !weasyprint("versioning") {
        return;
    }
    let (chain, node, paperwork) = setup().await;
    let n0 = node.checkpoint().await.unwrap();

    // the document for block n0 (user agreement: prints the member's name)
    let v1 = paperwork
        .read(&PrivateKind::USER, ALICE, AsOf::block(n0))
        .await
        .unwrap();
    assert_eq!(last_name(v1), "Иванова");
    let doc1 = paperwork.generate(4, input(ALICE)).await.unwrap();
    assert_eq!(doc1.block_num, n0);
    assert_eq!(doc1.meta["block_num"], json!(n0));
    assert!(doc1.html.contains("Иванова"));

    // a new version k blocks later
    let n1 = chain.produce(3);
    node.sync_to(n1).await;
    let written = paperwork
        .write(ALICE, &PrivateRecord::User(person("Петрова", "Алиса")))
        .await
        .unwrap();
    assert_eq!(written.block_num, n1, "tagged with the synced head block");
    for (block, expected) in [
        (n0, "Иванова"),
        (n0 + 1, "Иванова"),
        (n1, "Петрова"),
        (n1 + 10, "Петрова"),
    ] {
        let got = paperwork
            .read(&PrivateKind::USER, ALICE, AsOf::block(block))
            .await
            .unwrap();
        assert_eq!(last_name(got), expected, "as of block {block}");
    }
    assert!(paperwork
        .read(&PrivateKind::USER, ALICE, AsOf::block(n0 - 1))
        .await
        .unwrap()
        .is_none());

    // the document of n0 still regenerates to its hash; a new one shows the new name
    let r = paperwork
        .regenerate(&doc1.doc_hash, Some(ALICE))
        .await
        .unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(
        r[0].verdict,
        Verdict::Match {
            doc_hash: doc1.doc_hash.clone()
        }
    );
    let doc2 = paperwork.generate(4, input(ALICE)).await.unwrap();
    assert_ne!(doc2.doc_hash, doc1.doc_hash);
    assert!(doc2.html.contains("Петрова") && doc2.block_num == n1);

    // a change within the same block after generation does not change doc2 either
    paperwork
        .write(ALICE, &PrivateRecord::User(person("Сидорова", "Алиса")))
        .await
        .unwrap();
    let r = paperwork.regenerate(&doc2.doc_hash, None).await.unwrap();
    assert!(r[0].verdict.is_match(), "{:?}", r[0].verdict);

    // tampering with the stored data of block n0 is detected
    sql(
        &node,
        &format!(
            "UPDATE private_data SET data = jsonb_set(data, '{{last_name}}', '\"Подделкина\"')
             WHERE subject = '{ALICE}' AND block_num = {n0}"
        ),
    )
    .await;
    let r = paperwork
        .regenerate(&doc1.doc_hash, Some(ALICE))
        .await
        .unwrap();
    assert!(
        matches!(
            r[0].verdict,
            Verdict::Mismatch(Mismatch::HashDiffers { .. })
        ),
        "{:?}",
        r[0].verdict
    );
    assert!(matches!(
        paperwork.regenerate(&"0".repeat(64), None).await,
        Err(PaperworkError::UnknownDocument { .. })
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_data_is_refused_and_identical_documents_are_kept_per_member() {
    if !weasyprint("validation") {
        return;
    }
    let (_chain, node, paperwork) = setup().await;
    const CAROL: &str = "carol1111111";

    // bad INN, bad email, bad image: refused, nothing written
    let mut entrepreneur = sample::user(AccountType::Entrepreneur);
    if let User::Entrepreneur(e) = &mut entrepreneur {
        let last = e.details.inn.pop().and_then(|c| c.to_digit(10)).unwrap();
        e.details
            .inn
            .push(char::from_digit((last + 1) % 10, 10).unwrap());
    }
    let e = paperwork
        .write(CAROL, &PrivateRecord::User(entrepreneur))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, PaperworkError::Private(PrivateDataError::Invalid(v)) if v.has("user.entrepreneur.details.inn")),
        "{e}"
    );
    let mut bad_email = person("Карпова", "Карина");
    if let User::Individual(i) = &mut bad_email {
        i.email = "carol-at-example".into();
    }
    let e = paperwork
        .write(CAROL, &PrivateRecord::User(bad_email))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, PaperworkError::Private(PrivateDataError::Invalid(v)) if v.has("user.individual.email")),
        "{e}"
    );
    let mut fake_png = sample::signature_png(30, 10);
    fake_png.truncate(40);
    let e = paperwork
        .write_signature(CAROL, fake_png)
        .await
        .unwrap_err();
    assert!(
        matches!(e, PaperworkError::Private(PrivateDataError::Image(_))),
        "{e}"
    );
    let e = paperwork
        .write_signature(CAROL, b"GIF89a not a png".to_vec())
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        PaperworkError::Private(PrivateDataError::Image(_))
    ));
    for kind in PrivateKind::ALL {
        assert!(node
            .db
            .private_versions(kind, CAROL)
            .await
            .unwrap()
            .is_empty());
    }
    // a real signature is kept and goes into the application
    paperwork
        .write_signature(ALICE, sample::signature_png(300, 100))
        .await
        .unwrap();
    let mut app = input(ALICE);
    app.extra.insert("skip_save".into(), Value::Bool(false));
    let application = paperwork.generate(100, app).await.unwrap();
    assert!(application.html.contains("data:image/png;base64,"));

    // our templates print the member's account in the footer, so they never give two members
    // the same PDF; the storage must still keep both records of one hash (legacy documents,
    // the reference's consents without personal data): a second member's record with the same
    // doc_hash does not overwrite the first
    let a = paperwork.generate(1, input(ALICE)).await.unwrap();
    let b_record = StoredDocument {
        username: BOB.into(),
        meta: {
            let mut m = a.meta.clone();
            m["username"] = json!(BOB);
            m
        },
        ..a.clone()
    };
    assert_eq!(node.db.store_document(&b_record).await.unwrap(), b_record);
    let stored = node.db.documents_by_hash(&a.doc_hash).await.unwrap();
    let users: Vec<&str> = stored.iter().map(|d| d.username.as_str()).collect();
    assert_eq!(users, [ALICE, BOB]);
    assert_eq!(stored[0], a);
    assert_eq!(stored[1].meta["username"], json!(BOB));
    // generating again returns the record already stored
    let again = paperwork.generate(1, input(ALICE)).await.unwrap();
    assert_eq!(again, a);
}

fn sign(stored: &StoredDocument, meta: &Value, signer: &str, k: &PrivateKey) -> Document2 {
    let mut doc = Document2::new(&stored.doc_hash, meta).unwrap();
    doc.sign(n(signer), k, TimePointSec::from_unix(1_739_448_000), 1);
    doc
}

fn config_file(dir: &Path, node: &Node, chain: &TestChain) -> std::path::PathBuf {
    let path = dir.join("tenant-node.toml");
    std::fs::write(
        &path,
        format!(
            "coopname = \"voskhod\"\ndatabase_url = \"{}\"\nchain_url = \"{}\"\n\
             ship_url = \"{}\"\nchain_id = \"{CHAIN_ID}\"\n[pdf]\nworkers = 1\n",
            node.test_db.url,
            chain.http_url(),
            chain.ship_url()
        ),
    )
    .unwrap();
    path
}

fn regenerate_cli(config: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tenant-node"))
        .arg("--config")
        .arg(config)
        .arg("regenerate")
        .args(args)
        .env("TENANT_NODE_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("run tenant-node regenerate");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_documents_are_verified_and_the_regenerate_command_reports() {
    if !weasyprint("signed") {
        return;
    }
    let (chain, node, paperwork) = setup().await;
    let keys = ChainKeys::new(
        ChainClient::new(&chain.http_url(), std::time::Duration::from_secs(10)).unwrap(),
    );
    let alice = n(ALICE);
    let alice_key = key(30);
    let mine = paperwork.generate(4, input(ALICE)).await.unwrap();
    let bobs = paperwork.generate(4, input(BOB)).await.unwrap();

    // valid: alice signs her own document with her on-chain active key
    let good = sign(&mine, &mine.meta, ALICE, &alice_key);
    paperwork.verify_signed(&good, alice, &keys).await.unwrap();

    let refused = |r: Result<(), PaperworkError>| match r {
        Err(PaperworkError::Signed(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    };
    // signed by someone else (a council member, with their real key)
    let other = sign(&mine, &mine.meta, "member1", &key(12));
    assert_eq!(
        refused(paperwork.verify_signed(&other, alice, &keys).await),
        SignedDocumentError::NotSignedByMember(alice)
    );
    // alice's name, a key that is not on alice@active
    let stray = sign(&mine, &mine.meta, ALICE, &key(99));
    assert!(matches!(
        refused(paperwork.verify_signed(&stray, alice, &keys).await),
        SignedDocumentError::KeyNotActive { .. }
    ));
    // a meta other than the stored one (consistently re-hashed and signed)
    let mut meta = mine.meta.clone();
    meta["block_num"] = json!(mine.block_num + 1);
    let tampered = sign(&mine, &meta, ALICE, &alice_key);
    assert!(matches!(
        refused(paperwork.verify_signed(&tampered, alice, &keys).await),
        SignedDocumentError::MetaDiffers { .. }
    ));
    // a doc_hash never generated here
    let mut unknown_rec = mine.clone();
    unknown_rec.doc_hash = "AB".repeat(32);
    let unknown = sign(&unknown_rec, &mine.meta, ALICE, &alice_key);
    assert!(matches!(
        refused(paperwork.verify_signed(&unknown, alice, &keys).await),
        SignedDocumentError::UnknownHash(_)
    ));
    // bob's document submitted by alice
    let not_hers = sign(&bobs, &bobs.meta, ALICE, &alice_key);
    assert!(matches!(
        refused(paperwork.verify_signed(&not_hers, alice, &keys).await),
        SignedDocumentError::NotYours { .. }
    ));
    // a signer without an account on chain (no stored key source plugged in)
    let stranger: Name = n("stranger1111");
    let by_stranger = sign(&bobs, &bobs.meta, "stranger1111", &key(77));
    assert_eq!(
        refused(paperwork.verify_signed(&by_stranger, n(BOB), &keys).await),
        SignedDocumentError::NotSignedByMember(n(BOB))
    );
    let mut two = sign(&bobs, &bobs.meta, BOB, &key(31));
    two.sign(
        stranger,
        &key(77),
        TimePointSec::from_unix(1_739_448_001),
        2,
    );
    assert_eq!(
        refused(paperwork.verify_signed(&two, n(BOB), &keys).await),
        SignedDocumentError::UnknownSigner(n(BOB))
    );

    // the regenerate command: match, then mismatches with exit code 1, errors with 2
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), &node, &chain);
    let (code, out) = regenerate_cli(&config, &["--hash", &mine.doc_hash.to_lowercase()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("MATCH "), "{out}");
    sql(
        &node,
        &format!(
            "UPDATE generated_documents SET meta = jsonb_set(meta, '{{version}}', '\"0.0.1\"')
             WHERE doc_hash = '{}'",
            mine.doc_hash
        ),
    )
    .await;
    let (code, out) = regenerate_cli(
        &config,
        &["--hash", &mine.doc_hash, "--username", ALICE, "--json"],
    );
    assert_eq!(code, 1, "{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["match"], json!(false));
    let reason = report["records"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("template version 0.0.1"), "{reason}");
    let (code, out) = regenerate_cli(&config, &["--hash", &bobs.doc_hash, "--username", ALICE]);
    assert_eq!(code, 2, "{out}");
    assert!(out.starts_with("ERROR "), "{out}");
}
