//! Keys, signatures and transactions against the @wharfkit/antelope 1.2.0 vectors and the
//! documents.md §11 reference strings.

mod support;

use chain::bytes::{Bytes, Pack, Unpack};
use chain::keys::{KeyError, PrivateKey, PublicKey, Signature};
use chain::time::TimePointSec;
use chain::transaction::{Action, PackedTransaction, PermissionLevel, Transaction};
use chain::Checksum256;
use serde_json::Value;

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("vector field {key} missing in {v}"))
}

#[test]
fn every_key_converts_in_all_directions() {
    let vectors = support::vectors();
    let keys = vectors["keys"].as_array().unwrap();
    assert!(!keys.is_empty());
    for k in keys {
        let private_hex = s(k, "private_hex");
        let raw: [u8; 32] = hex::decode(private_hex).unwrap().try_into().unwrap();
        let from_raw = PrivateKey::from_bytes(&raw).unwrap();
        let from_wif: PrivateKey = s(k, "wif").parse().unwrap();
        let from_pvt: PrivateKey = s(k, "pvt_k1").parse().unwrap();
        assert_eq!(from_raw, from_wif);
        assert_eq!(from_raw, from_pvt);
        assert_eq!(hex::encode(from_wif.to_bytes()), private_hex);
        assert_eq!(from_pvt.to_wif(), s(k, "wif"));
        assert_eq!(from_wif.to_pvt_k1(), s(k, "pvt_k1"));
        assert_eq!(from_wif.to_string(), s(k, "pvt_k1"));

        let public = from_raw.public_key();
        let from_pub: PublicKey = s(k, "pub_k1").parse().unwrap();
        let from_legacy: PublicKey = s(k, "legacy").parse().unwrap();
        let compressed = hex::decode(s(k, "compressed_hex")).unwrap();
        assert_eq!(public, from_pub);
        assert_eq!(public, from_legacy);
        assert_eq!(public.k1_bytes().unwrap().as_slice(), compressed.as_slice());
        assert_eq!(from_legacy.to_string(), s(k, "pub_k1"));
        assert_eq!(from_pub.to_legacy_string().unwrap(), s(k, "legacy"));
        // wire form: variant 0 then the 33 bytes
        let mut wire = vec![0u8];
        wire.extend_from_slice(&compressed);
        assert_eq!(public.packed(), wire);
        assert_eq!(PublicKey::unpacked(&wire).unwrap(), public);
        // serde as string
        let json = serde_json::to_string(&public).unwrap();
        assert_eq!(json, format!("\"{}\"", s(k, "pub_k1")));
        assert_eq!(serde_json::from_str::<PublicKey>(&json).unwrap(), public);
    }
}

#[test]
fn every_signature_is_byte_identical_and_recovers() {
    let vectors = support::vectors();
    let sigs = vectors["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 18);
    for v in sigs {
        let key: PrivateKey = s(v, "wif").parse().unwrap();
        let digest = Checksum256::from_hex(s(v, "digest")).unwrap();
        assert_eq!(digest, Checksum256::sha256(s(v, "digest_of_utf8")));
        let sig = key.sign_digest(&digest);
        assert_eq!(
            sig.to_string(),
            s(v, "signature"),
            "signing {}",
            s(v, "digest_of_utf8")
        );
        let parsed: Signature = s(v, "signature").parse().unwrap();
        assert_eq!(parsed, sig);
        assert!(parsed.is_canonical());
        let expected: PublicKey = s(v, "recovers_to").parse().unwrap();
        assert_eq!(parsed.recover(&digest).unwrap(), expected);
        assert!(parsed.verify(&digest, &expected));
        assert_eq!(Signature::unpacked(&parsed.packed()).unwrap(), parsed);
        assert_eq!(parsed.packed().len(), 66);
        // a different digest neither verifies nor recovers to the signer
        let other = Checksum256::sha256(digest.0);
        assert!(!parsed.verify(&other, &expected));
        assert_ne!(parsed.recover(&other).ok(), Some(expected));
    }
}

const REF_WIF: &str = "5KQwrPbwdL6PhXujxW37FSSQZ1JiwsST4cqQzDeyXtP79zkvFD3";

#[test]
fn documents_md_reference_keys() {
    let k: PrivateKey = REF_WIF.parse().unwrap();
    assert_eq!(
        k.to_pvt_k1(),
        "PVT_K1_2bfGi9rYsXQSXXTvJbDAPhHLQUojjaNLomdm3cEJ1XTzMqUt3V"
    );
    let p = k.public_key();
    assert_eq!(
        p.to_string(),
        "PUB_K1_6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5BoDq63"
    );
    assert_eq!(
        p.to_legacy_string().unwrap(),
        "EOS6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CV"
    );
    let k2: PrivateKey = "5JA8KCpXbCfWA9fS4zHKgcBPbnNaRha8iKHhZLV7ks9Gs3LenpU"
        .parse()
        .unwrap();
    let legacy: PublicKey = "EOS6FJnarqm25tRS8EoW5dLgW47C42tKa32BKCu98u2xhsbzwR1c8"
        .parse()
        .unwrap();
    assert_eq!(k2.public_key(), legacy);
    assert_eq!(
        legacy.to_string(),
        "PUB_K1_6FJnarqm25tRS8EoW5dLgW47C42tKa32BKCu98u2xhsbzkQaWU"
    );
}

#[test]
fn documents_md_valid_triple_recovers() {
    let digest =
        Checksum256::from_hex("33CBC662E606F23F332B442BAB84F2D05BD498B66EF61BC918740606B05BD565")
            .unwrap();
    let key: PublicKey = "PUB_K1_8YWRWjCdUQubPoHzT5ndvfhGKDf1ZL7v7Ge9iHoLtNp7wnVfG1"
        .parse()
        .unwrap();
    let legacy: PublicKey = "EOS8YWRWjCdUQubPoHzT5ndvfhGKDf1ZL7v7Ge9iHoLtNp7wy84qm"
        .parse()
        .unwrap();
    assert_eq!(key, legacy);
    let sig: Signature = "SIG_K1_KWeGQ48n78ybpkuVDf1M7nuGnT8pkPXFbYYMUXtFTFv2dEReMEmwW89r19dKmAVSFZwHTdxdqkB3ZQJeAS9CcQwb92E398".parse().unwrap();
    assert_eq!(sig.recover(&digest).unwrap(), key);
    assert!(sig.verify(&digest, &key));
}

#[test]
fn documents_md_deterministic_signatures() {
    let k: PrivateKey = REF_WIF.parse().unwrap();
    let cases = [
        (
            "33CBC662E606F23F332B442BAB84F2D05BD498B66EF61BC918740606B05BD565",
            "SIG_K1_KjPNWTAkFVLm25Z5E9bYkoxRhqVc9FRQvb5Mobd4ZxUo33DSnPTsPfHT8zPCPwojLpi4x9xCDPTutS3ArE9kWDKcvPtN5g",
        ),
        (
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "SIG_K1_KafzgvTPj1Cc6i3VLbt3piQVL4xGPPYzReLJXkxD1PJ4p5sdcLj7cgN17Tsj5KPL3Hp5G5sjZuWjnwThvPvLjFoNgnSkvo",
        ),
        (
            &Checksum256::sha256("2024-01-01T00:00:00.000").to_hex(),
            "SIG_K1_KjFpco2455XxjDBHxYYoeyQhSpEdYhMasHBLKgQt8yFMBcZj9jdJggshGEjxP5Uth5URSxFZtpNRDqqYebuh5UQvGkiAaj",
        ),
    ];
    for (digest_hex, expected) in cases {
        let digest = Checksum256::from_hex(digest_hex).unwrap();
        let lower = Checksum256::from_hex(&digest_hex.to_lowercase()).unwrap();
        assert_eq!(k.sign_digest(&digest).to_string(), expected);
        assert_eq!(k.sign_digest(&lower).to_string(), expected);
    }
}

#[test]
fn bad_text_is_rejected_with_the_right_error() {
    let good = "PUB_K1_6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5BoDq63";
    let flipped = good.replace("BoDq63", "BoDq64");
    assert_eq!(flipped.parse::<PublicKey>(), Err(KeyError::BadChecksum));
    let legacy = "EOS6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CW";
    assert_eq!(legacy.parse::<PublicKey>(), Err(KeyError::BadChecksum));
    assert_eq!("PUB_K1_0OIl".parse::<PublicKey>(), Err(KeyError::Base58));
    assert!(matches!(
        "XYZ123".parse::<PublicKey>(),
        Err(KeyError::UnknownFormat(_))
    ));
    let wif_bad = "5KQwrPbwdL6PhXujxW37FSSQZ1JiwsST4cqQzDeyXtP79zkvFD4";
    assert_eq!(wif_bad.parse::<PrivateKey>(), Err(KeyError::BadChecksum));
    // out-of-range scalars: zero and n
    assert_eq!(
        PrivateKey::from_bytes(&[0; 32]),
        Err(KeyError::ScalarOutOfRange)
    );
    let n =
        hex::decode("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141").unwrap();
    assert_eq!(
        PrivateKey::from_bytes(&n.clone().try_into().unwrap()),
        Err(KeyError::ScalarOutOfRange)
    );
    // PVT_K1_ of the scalar n, checksum valid
    let mut body = n.clone();
    let check = {
        use ripemd::Digest;
        let mut h = ripemd::Ripemd160::new();
        h.update(&n);
        h.update(b"K1");
        h.finalize()
    };
    body.extend_from_slice(&check[..4]);
    let pvt = format!("PVT_K1_{}", bs58::encode(body).into_string());
    assert_eq!(pvt.parse::<PrivateKey>(), Err(KeyError::ScalarOutOfRange));
    // a K1 signature with a wrong suffix checksum
    let sig = "SIG_K1_KWeGQ48n78ybpkuVDf1M7nuGnT8pkPXFbYYMUXtFTFv2dEReMEmwW89r19dKmAVSFZwHTdxdqkB3ZQJeAS9CcQwb92E399";
    assert!(sig.parse::<Signature>().is_err());
}

#[test]
fn private_key_debug_hides_the_secret() {
    let k: PrivateKey = REF_WIF.parse().unwrap();
    let dbg = format!("{k:?}");
    assert!(!dbg.contains(REF_WIF));
    assert!(!dbg.contains(&k.to_pvt_k1()));
    assert!(!dbg.contains(&hex::encode(k.to_bytes())));
}

fn vector_transaction(t: &Value) -> Transaction {
    let header = &t["header"];
    let actions = t["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| Action {
            account: s(a, "account").parse().unwrap(),
            name: s(a, "name").parse().unwrap(),
            authorization: a["authorization"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| PermissionLevel {
                    actor: s(p, "actor").parse().unwrap(),
                    permission: s(p, "permission").parse().unwrap(),
                })
                .collect(),
            data: Bytes(hex::decode(s(a, "data_hex")).unwrap()),
        })
        .collect();
    let expiration: TimePointSec = s(header, "expiration").parse().unwrap();
    let mut trx = Transaction::new(expiration, 0, 0);
    trx.ref_block_num = u16::try_from(header["ref_block_num"].as_u64().unwrap()).unwrap();
    trx.ref_block_prefix = u32::try_from(header["ref_block_prefix"].as_u64().unwrap()).unwrap();
    trx.actions = actions;
    trx
}

#[test]
fn transaction_vector_packs_hashes_and_signs_identically() {
    let vectors = support::vectors();
    let t = &vectors["transaction"];
    let trx = vector_transaction(t);
    let chain_id = Checksum256::from_hex(s(t, "chain_id")).unwrap();
    assert_eq!(hex::encode(trx.packed()), s(t, "packed_trx"));
    assert_eq!(trx.id().to_hex(), s(t, "id"));
    assert_eq!(
        trx.signing_digest(&chain_id).to_hex(),
        s(t, "signing_digest")
    );

    let key: PrivateKey = s(t, "signer_wif").parse().unwrap();
    let signed = trx.sign(&chain_id, &[&key]);
    assert_eq!(signed.signatures.len(), 1);
    assert_eq!(signed.signatures[0].to_string(), s(t, "signature"));

    let packed = PackedTransaction::from(&signed);
    assert_eq!(hex::encode(&packed.packed_trx), s(t, "packed_trx"));
    assert_eq!(packed.id().to_hex(), s(t, "id"));
    assert_eq!(packed.transaction().unwrap(), trx);
    let json = serde_json::to_value(&packed).unwrap();
    assert_eq!(json["signatures"][0], s(t, "signature"));
    assert_eq!(json["compression"], 0);
    assert_eq!(json["packed_context_free_data"], "");
    assert_eq!(json["packed_trx"], s(t, "packed_trx"));
    let back: PackedTransaction = serde_json::from_value(json).unwrap();
    assert_eq!(back, packed);

    // Leap JSON form round-trips; the optional header fields default to 0.
    let json = serde_json::to_value(&trx).unwrap();
    assert_eq!(json["expiration"], s(&t["header"], "expiration"));
    assert_eq!(json["actions"][0]["data"], s(&t["actions"][0], "data_hex"));
    assert_eq!(
        serde_json::from_value::<Transaction>(json.clone()).unwrap(),
        trx
    );
    let mut minimal = json;
    let obj = minimal.as_object_mut().unwrap();
    for field in [
        "max_net_usage_words",
        "max_cpu_usage_ms",
        "delay_sec",
        "context_free_actions",
        "transaction_extensions",
    ] {
        obj.remove(field);
    }
    assert_eq!(serde_json::from_value::<Transaction>(minimal).unwrap(), trx);
}

#[test]
fn tapos_from_block_id() {
    let expiration = TimePointSec::from_unix(1_800_000_000);
    let block_id =
        Checksum256::from_hex("00001092aabbccdd4de640bb0011223344556677889900112233445566778899")
            .unwrap();
    let trx = Transaction::with_tapos(expiration, 4242, &block_id);
    assert_eq!(trx.ref_block_num, 4242);
    assert_eq!(trx.ref_block_prefix, 3_141_592_653);
    let trx = Transaction::with_tapos(expiration, 0x1_0001, &block_id);
    assert_eq!(trx.ref_block_num, 1);
    assert!(trx.actions.is_empty() && trx.context_free_actions.is_empty());
    assert_eq!(trx.header().expiration, expiration);
}
