//! document2 hashing, signing and verification against documents.md §11, and rejection of
//! tampered documents with the specific error.

mod support;

use std::collections::HashMap;

use chain::bytes::{Pack, Unpack};
use chain::document::{meta_hash, Document, Document2, DocumentError, Expectations, SignatureInfo};
use chain::keys::{PrivateKey, PublicKey, Signature};
use chain::time::TimePointSec;
use chain::{name, Checksum256, Name};
use serde_json::{json, Value};

const WIF: &str = "5KQwrPbwdL6PhXujxW37FSSQZ1JiwsST4cqQzDeyXtP79zkvFD3";
const OTHER_WIF: &str = "5JA8KCpXbCfWA9fS4zHKgcBPbnNaRha8iKHhZLV7ks9Gs3LenpU";
const DOC_HASH: &str = "DB49450A3392977E6FBF17360D65FADCABE202E5C75FA51CD05C30C1A43D6B2A";
const SIGNED_AT: u32 = 1_738_405_800;

fn meta() -> Value {
    // factory key order; JCS sorts it
    json!({
        "title": "Заявление",
        "lang": "ru",
        "registry_id": 100,
        "links": ["33CBC662E606F23F332B442BAB84F2D05BD498B66EF61BC918740606B05BD565"],
        "coopname": "voskhod",
        "username": "ant1",
        "created_at": "01.02.2025 13:30",
        "block_num": 42
    })
}

fn key() -> PrivateKey {
    WIF.parse().unwrap()
}

fn signed() -> Document2 {
    let mut doc = Document2::new(DOC_HASH, &meta()).unwrap();
    doc.sign(name!("ant1"), &key(), TimePointSec::from_unix(SIGNED_AT), 1);
    doc
}

fn allowed(signer: Name, keys: Vec<PublicKey>) -> Expectations {
    Expectations {
        allowed_keys: Some(HashMap::from([(signer, keys)])),
        ..Expectations::default()
    }
}

#[test]
fn document2_composition_vector() {
    let doc = signed();
    assert_eq!(doc.version, "1.1.0");
    assert_eq!(
        doc.meta,
        r#"{"block_num":42,"coopname":"voskhod","created_at":"01.02.2025 13:30","lang":"ru","links":["33CBC662E606F23F332B442BAB84F2D05BD498B66EF61BC918740606B05BD565"],"registry_id":100,"title":"Заявление","username":"ant1"}"#
    );
    assert_eq!(
        doc.meta_hash.to_hex(),
        "f41e81a3d08850cdd2f72fbf324ce49196497584eecf4c38fb50eaf993d18d4f"
    );
    assert_eq!(doc.doc_hash.to_hex_upper(), DOC_HASH);
    assert_eq!(
        doc.hash.to_hex(),
        "5973c104ee83b1d4f125d2d71153195cc916e77bb242a3b49295ccfa74eca0d6"
    );
    let sig = &doc.signatures[0];
    assert_eq!(sig.signed_at.to_string(), "2025-02-01T10:30:00");
    assert_eq!(
        sig.signed_hash.to_hex(),
        "c88e7bcfd5d71fc459a1c0d7a7df9d6d2e340ab51e4e5e095a9e39d782bb09f5"
    );
    assert_eq!(
        sig.signature.to_string(),
        "SIG_K1_K2tszivLtghrsoYzbZ4XhCvgsGeah1uAG4QSfc4eUygEJWBaucNdP9y9CxdpNiNMQPjmzaPhvY9ZWzH7Y7NzeWo4Hu6FNa"
    );
    assert_eq!(sig.meta, "{}");
    assert_eq!(sig.id, 1);
    assert_eq!(sig.signer, name!("ant1"));
    assert_eq!(sig.public_key, key().public_key());
}

#[test]
fn valid_documents_verify() {
    let doc = signed();
    doc.verify_integrity().unwrap();
    let mut expect = allowed(name!("ant1"), vec![key().public_key()]);
    expect.doc_hash = Some(Checksum256::from_hex(DOC_HASH).unwrap());
    expect.required_signers = vec![name!("ant1")];
    doc.verify(&expect).unwrap();

    // two signers, ids 1 and 2
    let mut two = signed();
    let other: PrivateKey = OTHER_WIF.parse().unwrap();
    two.sign(
        name!("voskhod"),
        &other,
        TimePointSec::from_unix(SIGNED_AT + 60),
        2,
    );
    two.verify_integrity().unwrap();

    // wire and JSON round trips
    let back = Document2::unpacked(&two.packed()).unwrap();
    assert_eq!(back, two);
    let json = serde_json::to_value(&two).unwrap();
    assert_eq!(json["signatures"][1]["signed_at"], "2025-02-01T10:31:00");
    assert_eq!(serde_json::from_value::<Document2>(json).unwrap(), two);

    // a lowercase doc_hash as given is hashed as given and still verifies
    let mut lower = Document2::new(&DOC_HASH.to_lowercase(), &meta()).unwrap();
    assert_eq!(lower.doc_hash, two.doc_hash);
    assert_ne!(lower.hash, two.hash);
    lower.sign(name!("ant1"), &key(), TimePointSec::from_unix(SIGNED_AT), 1);
    lower.verify_integrity().unwrap();
}

#[test]
fn version_1_0_0_hashes_meta_as_given() {
    let text = r#"{"title":"x","registry_id":1}"#;
    assert_eq!(meta_hash("1.0.0", text).unwrap(), Checksum256::sha256(text));
    assert_eq!(meta_hash("", text).unwrap(), Checksum256::sha256(text));
    let canonical = r#"{"registry_id":1,"title":"x"}"#;
    assert_eq!(
        meta_hash("1.1.0", text).unwrap(),
        Checksum256::sha256(canonical)
    );
    assert!(matches!(
        meta_hash("2.0.0", text),
        Err(DocumentError::UnsupportedVersion(_))
    ));
}

#[test]
fn rejects_tampered_meta() {
    let mut doc = signed();
    doc.meta = doc.meta.replace("\"block_num\":42", "\"block_num\":43");
    assert!(matches!(
        doc.verify_integrity(),
        Err(DocumentError::MetaHashMismatch { .. })
    ));
    // meta_hash recomputed too, hash left alone
    doc.meta_hash = meta_hash("1.1.0", &doc.meta).unwrap();
    assert!(matches!(
        doc.verify_integrity(),
        Err(DocumentError::HashMismatch { .. })
    ));
    // non-canonical but equivalent meta is fine: verifiers re-canonicalize
    let mut doc = signed();
    doc.meta = serde_json::to_string(&meta()).unwrap();
    doc.verify_integrity().unwrap();
    let mut doc = signed();
    doc.meta = "not json".into();
    assert!(matches!(
        doc.verify_integrity(),
        Err(DocumentError::BadMeta(_))
    ));
}

#[test]
fn rejects_wrong_doc_hash() {
    let doc = signed();
    let expect = Expectations {
        doc_hash: Some(Checksum256::sha256("another pdf")),
        ..Expectations::default()
    };
    assert!(matches!(
        doc.verify(&expect),
        Err(DocumentError::DocHashMismatch { .. })
    ));
    // a doc_hash swapped on the document breaks `hash`
    let mut doc = signed();
    doc.doc_hash = Checksum256::sha256("another pdf");
    assert!(matches!(
        doc.verify_integrity(),
        Err(DocumentError::HashMismatch { .. })
    ));
    assert!(matches!(
        Document2::new("XYZ", &meta()),
        Err(DocumentError::BadDocHash(_))
    ));
}

#[test]
fn rejects_wrong_signer_key() {
    let doc = signed();
    let other: PrivateKey = OTHER_WIF.parse().unwrap();
    // the signer's allowed keys do not include the signing key
    let expect = allowed(name!("ant1"), vec![other.public_key()]);
    assert!(matches!(
        doc.verify(&expect),
        Err(DocumentError::SignerKeyNotAllowed { id: 1, .. })
    ));
    // the signer is not expected at all
    let expect = allowed(name!("voskhod"), vec![key().public_key()]);
    assert!(matches!(
        doc.verify(&expect),
        Err(DocumentError::UnexpectedSigner { id: 1, .. })
    ));
    // a required signer is missing
    let expect = Expectations {
        required_signers: vec![name!("voskhod")],
        ..Expectations::default()
    };
    assert_eq!(
        doc.verify(&expect),
        Err(DocumentError::MissingSigner(name!("voskhod")))
    );
    // the claimed public key did not make the signature
    let mut doc = signed();
    doc.signatures[0].public_key = other.public_key();
    assert!(matches!(
        doc.verify_integrity(),
        Err(DocumentError::BadSignature { id: 1, .. })
    ));
    // the signature was made by another key over the right digest
    let mut doc = signed();
    doc.signatures[0].signature = other.sign_digest(&doc.signatures[0].signed_hash);
    assert!(matches!(
        doc.verify_integrity(),
        Err(DocumentError::BadSignature { id: 1, .. })
    ));
}

#[test]
fn rejects_wrong_signed_at() {
    let mut doc = signed();
    doc.signatures[0].signed_at = TimePointSec::from_unix(SIGNED_AT + 1);
    assert!(matches!(
        doc.verify_integrity(),
        Err(DocumentError::SignedHashMismatch { id: 1, .. })
    ));
    // signed_hash for a different document hash
    let mut doc = signed();
    doc.signatures[0].signed_hash = Checksum256::sha256("x");
    assert!(matches!(
        doc.verify_integrity(),
        Err(DocumentError::SignedHashMismatch { id: 1, .. })
    ));
}

#[test]
fn rejects_non_consecutive_ids_and_empty() {
    let mut doc = signed();
    doc.sign(name!("ant1"), &key(), TimePointSec::from_unix(SIGNED_AT), 3);
    assert_eq!(
        doc.verify_integrity(),
        Err(DocumentError::NonConsecutiveIds { position: 1, id: 3 })
    );
    let mut doc = Document2::new(DOC_HASH, &meta()).unwrap();
    doc.sign(name!("ant1"), &key(), TimePointSec::from_unix(SIGNED_AT), 2);
    assert_eq!(
        doc.verify_integrity(),
        Err(DocumentError::NonConsecutiveIds { position: 0, id: 2 })
    );
    let doc = Document2::new(DOC_HASH, &meta()).unwrap();
    assert_eq!(doc.verify_integrity(), Err(DocumentError::NoSignatures));
    let mut doc = signed();
    doc.version = "9.9.9".into();
    assert!(matches!(
        doc.verify_integrity(),
        Err(DocumentError::UnsupportedVersion(_))
    ));
    assert!(matches!(
        Document2::new(DOC_HASH, &json!({"title": "no registry"})),
        Err(DocumentError::BadMeta(_))
    ));
}

#[test]
fn legacy_document_verifies_the_hash_only() {
    let doc = Document {
        hash: Checksum256::from_hex(
            "33CBC662E606F23F332B442BAB84F2D05BD498B66EF61BC918740606B05BD565",
        )
        .unwrap(),
        public_key: "EOS8YWRWjCdUQubPoHzT5ndvfhGKDf1ZL7v7Ge9iHoLtNp7wy84qm".parse().unwrap(),
        signature: "SIG_K1_KWeGQ48n78ybpkuVDf1M7nuGnT8pkPXFbYYMUXtFTFv2dEReMEmwW89r19dKmAVSFZwHTdxdqkB3ZQJeAS9CcQwb92E398".parse().unwrap(),
        meta: r#"{"registry_id":1}"#.into(),
    };
    doc.verify().unwrap();
    assert_eq!(Document::unpacked(&doc.packed()).unwrap(), doc);
    let json = serde_json::to_value(&doc).unwrap();
    assert_eq!(
        json["public_key"],
        "PUB_K1_8YWRWjCdUQubPoHzT5ndvfhGKDf1ZL7v7Ge9iHoLtNp7wnVfG1"
    );
    let mut bad = doc;
    bad.hash = Checksum256::sha256("other");
    assert!(matches!(
        bad.verify(),
        Err(DocumentError::BadSignature { .. })
    ));
}

#[test]
fn decodes_the_wharfkit_reguser_statement() {
    let vectors = support::vectors();
    let action = vectors["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "reguser")
        .expect("reguser vector");
    let bytes = hex::decode(action["hex"].as_str().unwrap()).unwrap();
    // reguser{coopname, braname, username, type: name ×4, statement: document2, registration_hash}
    let statement = &bytes[32..bytes.len() - 32];
    let doc = Document2::unpacked(statement).unwrap();
    let expected: Document2 = serde_json::from_value(action["data"]["statement"].clone()).unwrap();
    assert_eq!(doc, expected);
    assert_eq!(doc.packed(), statement);
    let sig: &SignatureInfo = &doc.signatures[0];
    assert!(matches!(sig.signature, Signature::K1(_)));
}
