//! Property tests: parsing and unpacking hostile input never panics; signing round-trips.

use chain::bytes::Unpack;
use chain::document::{Document, Document2};
use chain::keys::{PrivateKey, PublicKey, Signature};
use chain::transaction::Transaction;
use chain::Checksum256;
use proptest::prelude::*;

const PREFIXES: [&str; 11] = [
    "", "EOS", "5", "PUB_K1_", "PUB_R1_", "PUB_WA_", "PVT_K1_", "PVT_R1_", "SIG_K1_", "SIG_R1_",
    "SIG_WA_",
];

/// `base58(data ‖ rmd(data ‖ suffix)[..4])`: passes the checksum so parsing reaches the
/// length and data checks.
fn checksummed(data: &[u8], suffix: &str) -> String {
    use ripemd::Digest;
    let mut h = ripemd::Ripemd160::new();
    h.update(data);
    h.update(suffix.as_bytes());
    let check = h.finalize();
    let mut buf = data.to_vec();
    buf.extend_from_slice(&check[..4]);
    bs58::encode(buf).into_string()
}

fn parse_all(s: &str) {
    let _ = s.parse::<PublicKey>();
    let _ = s.parse::<PrivateKey>();
    let _ = s.parse::<Signature>();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics(s in any::<String>()) {
        parse_all(&s);
    }

    #[test]
    fn base58_looking_text_never_panics(
        prefix in prop::sample::select(PREFIXES.to_vec()),
        body in "[1-9A-HJ-NP-Za-km-z]{0,120}",
    ) {
        parse_all(&format!("{prefix}{body}"));
    }

    #[test]
    fn checksum_valid_text_with_any_payload_never_panics(
        kind in prop::sample::select(vec!["PUB", "SIG", "PVT"]),
        suffix in prop::sample::select(vec!["K1", "R1", "WA"]),
        data in prop::collection::vec(any::<u8>(), 0..120),
    ) {
        let text = format!("{kind}_{suffix}_{}", checksummed(&data, suffix));
        parse_all(&text);
        // a well-formed payload parses and prints back unchanged
        if kind == "PUB" && suffix == "K1" && data.len() == 33 {
            prop_assert_eq!(text.parse::<PublicKey>().unwrap().to_string(), text.clone());
        }
        if kind == "SIG" && suffix != "WA" && data.len() == 65 {
            prop_assert_eq!(text.parse::<Signature>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_when_unpacked(
        variant in 0u8..4,
        data in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut tagged = vec![variant];
        tagged.extend_from_slice(&data);
        for bytes in [&data, &tagged] {
            let _ = PublicKey::unpacked(bytes);
            let _ = Signature::unpacked(bytes);
            let _ = Transaction::unpacked(bytes);
            let _ = Document2::unpacked(bytes);
            let _ = Document::unpacked(bytes);
        }
    }

    #[test]
    fn arbitrary_k1_signatures_never_panic(
        raw in prop::collection::vec(any::<u8>(), 65),
        key in prop::collection::vec(any::<u8>(), 33),
        digest in any::<[u8; 32]>(),
    ) {
        let sig = Signature::K1(raw.try_into().unwrap());
        let key = PublicKey::K1(key.try_into().unwrap());
        let digest = Checksum256(digest);
        let _ = sig.recover(&digest);
        prop_assert!(!sig.verify(&digest, &key) || sig.recover(&digest).is_ok());
    }
}

proptest! {
    // k256 in debug builds is slow: a few cases are enough for a round trip.
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn sign_recover_round_trip(secret in any::<[u8; 32]>(), digest in any::<[u8; 32]>()) {
        let Ok(key) = PrivateKey::from_bytes(&secret) else {
            return Ok(()); // zero or ≥ n: astronomically rare
        };
        let digest = Checksum256(digest);
        let sig = key.sign_digest(&digest);
        prop_assert!(sig.is_canonical());
        prop_assert_eq!(&sig, &key.sign_digest(&digest)); // deterministic
        let public = key.public_key();
        prop_assert_eq!(sig.recover(&digest).unwrap(), public.clone());
        prop_assert!(sig.verify(&digest, &public));
        prop_assert_eq!(sig.to_string().parse::<Signature>().unwrap(), sig);
        prop_assert_eq!(key.to_wif().parse::<PrivateKey>().unwrap(), key.clone());
        prop_assert_eq!(key.to_pvt_k1().parse::<PrivateKey>().unwrap(), key);
        prop_assert_eq!(public.to_legacy_string().unwrap().parse::<PublicKey>().unwrap(), public);
    }
}
