//! Regeneration from a stored meta (plus the data as of `meta.block_num`, which the tenant
//! node reads from its versioned tables) and verification: match, tampered meta, tampered data,
//! tampered PDF; and the unsigned `document2` built with the chain crate's helpers.

mod support;

use chain::checksum::Checksum256;
use chain::document::Document2;
use documents::model::{AccountType, User};
use documents::sample;
use documents::verify::{self, Mismatch, Verdict};
use serde_json::{json, Value};
use support::harness;

fn application(h: &support::Harness) -> documents::factory::GeneratedDocument {
    let kind = AccountType::Individual;
    let mut input = sample::meta_input(100, kind);
    input.links = vec!["33CBC662E606F23F332B442BAB84F2D05BD498B66EF61BC918740606B05BD565".into()];
    h.block_on(h.pool.generate(100, input, &sample::data(kind)))
        .unwrap()
}

#[test]
fn regeneration_from_stored_meta_matches() {
    let Some(h) = harness("regeneration_from_stored_meta_matches") else {
        return;
    };
    let doc = application(h);
    let data = sample::data(AccountType::Individual);
    // Meta as the tenant node stores it (JSON object) ...
    let stored = doc.meta.to_value();
    let verdict = h
        .block_on(verify::verify(
            &h.pool,
            &stored,
            &data,
            &doc.hash,
            Some(&doc.binary),
        ))
        .unwrap();
    assert_eq!(
        verdict,
        Verdict::Match {
            doc_hash: doc.hash.clone()
        }
    );
    // ... and as document2 carries it (JCS text, keys sorted), with a lowercase hash.
    let d2 = verify::document2(&doc).unwrap();
    let verdict = h
        .block_on(verify::verify(
            &h.pool,
            &Value::String(d2.meta.clone()),
            &data,
            &d2.doc_hash.to_hex(),
            None,
        ))
        .unwrap();
    assert!(verdict.is_match(), "{verdict:?}");
    // The CLI engine regenerates the same bytes.
    let again = h
        .block_on(verify::regenerate(&h.cli, &stored, &data))
        .unwrap();
    assert_eq!(again.binary, doc.binary);
}

#[test]
fn every_template_regenerates_for_every_account_type() {
    let Some(h) = harness("every_template_regenerates_for_every_account_type") else {
        return;
    };
    for id in sample::REGISTRY_IDS {
        for kind in [AccountType::Entrepreneur, AccountType::Organization] {
            let data = sample::data(kind);
            let doc = h
                .block_on(h.pool.generate(id, sample::meta_input(id, kind), &data))
                .unwrap();
            let verdict = h
                .block_on(verify::verify(
                    &h.pool,
                    &doc.meta.to_value(),
                    &data,
                    &doc.hash,
                    None,
                ))
                .unwrap();
            assert!(verdict.is_match(), "{id} {kind:?}: {verdict:?}");
        }
    }
}

#[test]
fn tampered_meta_is_a_mismatch_with_the_reason() {
    let Some(h) = harness("tampered_meta_is_a_mismatch_with_the_reason") else {
        return;
    };
    let doc = application(h);
    let data = sample::data(AccountType::Individual);
    let check = |meta: Value| match h
        .block_on(verify::verify(&h.pool, &meta, &data, &doc.hash, None))
        .unwrap()
    {
        Verdict::Mismatch(m) => m,
        Verdict::Match { .. } => panic!("tampered meta {meta} matched"),
    };
    // A valid but different value: the regenerated PDF differs.
    let mut meta = doc.meta.to_value();
    meta["created_at"] = json!("01.02.2025 10:31");
    assert!(matches!(check(meta), Mismatch::HashDiffers { .. }));
    let mut meta = doc.meta.to_value();
    meta["links"] = json!([]);
    assert!(matches!(check(meta), Mismatch::HashDiffers { .. }));
    // An invalid value: the meta itself is rejected.
    let mut meta = doc.meta.to_value();
    meta["timezone"] = json!("Asia/Tokyo");
    let m = check(meta);
    assert!(
        m.to_string()
            .contains("time zone \"Asia/Tokyo\" is not supported"),
        "{m}"
    );
    let mut meta = doc.meta.to_value();
    meta["signature"] = json!("data:image/png;base64,AAAA");
    assert!(check(meta)
        .to_string()
        .contains("must never contain the signature"));
    let mut meta = doc.meta.to_value();
    meta["version"] = json!("0.9.0");
    assert!(matches!(check(meta), Mismatch::TemplateVersion { .. }));
    let mut meta = doc.meta.to_value();
    meta["generator"] = json!("coopjs");
    assert!(check(meta).to_string().contains("is not ours"));
    // Meta that disagrees with the data.
    let mut meta = doc.meta.to_value();
    meta["coopname"] = json!("othercoop");
    assert!(matches!(check(meta), Mismatch::Data(_)));
}

#[test]
fn tampered_data_or_pdf_is_a_mismatch() {
    let Some(h) = harness("tampered_data_or_pdf_is_a_mismatch") else {
        return;
    };
    let doc = application(h);
    let meta = doc.meta.to_value();
    // The member's address changed after the document was generated: the tenant node must
    // supply the data as of meta.block_num, not the current data.
    let mut data = sample::data(AccountType::Individual);
    if let User::Individual(i) = &mut data.user {
        i.full_address = "142100, Московская обл., г. Подольск, ул. Ленина, д. 7".into();
    }
    let verdict = h
        .block_on(verify::verify(&h.pool, &meta, &data, &doc.hash, None))
        .unwrap();
    assert!(
        matches!(&verdict, Verdict::Mismatch(Mismatch::HashDiffers { expected, .. }) if *expected == doc.hash),
        "{verdict:?}"
    );
    // Invalid data is named.
    let mut data = sample::data(AccountType::Individual);
    data.coop.details.ogrn = "1027700123451".into();
    let verdict = h
        .block_on(verify::verify(&h.pool, &meta, &data, &doc.hash, None))
        .unwrap();
    match verdict {
        Verdict::Mismatch(Mismatch::Data(reason)) => assert!(reason.contains("coop.details.ogrn")),
        other => panic!("{other:?}"),
    }
    // A stored PDF that is not the one hashed.
    let mut pdf = doc.binary.clone();
    let last = pdf.len() - 10;
    pdf[last] ^= 1;
    let data = sample::data(AccountType::Individual);
    let verdict = h
        .block_on(verify::verify(&h.pool, &meta, &data, &doc.hash, Some(&pdf)))
        .unwrap();
    assert!(matches!(
        verdict,
        Verdict::Mismatch(Mismatch::StoredBinary { .. })
    ));
    let verdict = h
        .block_on(verify::verify(&h.pool, &meta, &data, "not-a-hash", None))
        .unwrap();
    assert!(matches!(
        verdict,
        Verdict::Mismatch(Mismatch::BadExpectedHash(_))
    ));
}

#[test]
fn document2_binds_the_pdf_hash_to_the_jcs_meta() {
    let Some(h) = harness("document2_binds_the_pdf_hash_to_the_jcs_meta") else {
        return;
    };
    let doc = application(h);
    let d2 = verify::document2(&doc).unwrap();
    assert_eq!(d2.version, "1.1.0");
    assert!(d2.signatures.is_empty());
    assert_eq!(d2.doc_hash.to_hex_upper(), doc.hash);
    let jcs = chain::jcs::canonicalize(&doc.meta.to_value());
    assert_eq!(d2.meta, jcs);
    assert!(jcs.starts_with("{\"block_num\":1234567,\"coopname\":\"voskhod\""));
    assert_eq!(d2.meta_hash, Checksum256::sha256(&jcs));
    assert_eq!(
        d2.hash,
        Checksum256::sha256(format!("{}{}", d2.meta_hash.to_hex(), doc.hash))
    );
    assert_eq!(
        chain::document::meta_hash("1.1.0", &d2.meta).unwrap(),
        d2.meta_hash
    );
    // The member signs it (test key from documents.md §11); the chain crate then accepts it.
    let mut signed = d2.clone();
    let key: chain::keys::PrivateKey = "5KQwrPbwdL6PhXujxW37FSSQZ1JiwsST4cqQzDeyXtP79zkvFD3"
        .parse()
        .unwrap();
    let signer = chain::Name::parse("ivanov.ii").unwrap();
    signed.sign(
        signer,
        &key,
        chain::time::TimePointSec::from_unix(1_738_395_000),
        1,
    );
    assert_eq!(signed.verify_integrity(), Ok(()));
}

#[test]
fn document2_composition_matches_the_reference_vector() {
    // documents.md §11: the composition rules on a fixed meta and doc_hash (no PDF involved).
    let meta = json!({"block_num":42,"coopname":"voskhod","created_at":"01.02.2025 13:30","lang":"ru",
        "links":["33CBC662E606F23F332B442BAB84F2D05BD498B66EF61BC918740606B05BD565"],
        "registry_id":100,"title":"Заявление","username":"ant1"});
    let d2 = Document2::new(
        "DB49450A3392977E6FBF17360D65FADCABE202E5C75FA51CD05C30C1A43D6B2A",
        &meta,
    )
    .unwrap();
    assert_eq!(
        d2.meta_hash.to_hex(),
        "f41e81a3d08850cdd2f72fbf324ce49196497584eecf4c38fb50eaf993d18d4f"
    );
    assert_eq!(
        d2.hash.to_hex(),
        "5973c104ee83b1d4f125d2d71153195cc916e77bb242a3b49295ccfa74eca0d6"
    );
}
