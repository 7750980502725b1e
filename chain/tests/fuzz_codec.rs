//! Property tests: the ABI codec and the text parsers never panic on arbitrary input, and
//! `encode(decode(x)) == x` whenever decoding succeeds.

mod support;

use std::sync::OnceLock;

use chain::abi::Abi;
use chain::asset::{Asset, ExtendedAsset, Symbol, SymbolCode};
use chain::time::{BlockTimestamp, TimePoint, TimePointSec};
use chain::Name;
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::Value;

/// Every built-in type, plus a few composite forms of them.
fn builtins() -> Vec<String> {
    let composites = ["name[]", "uint64?", "asset[]?"];
    chain::abi::BUILTIN_TYPE_NAMES
        .iter()
        .chain(composites.iter())
        .map(|s| (*s).to_owned())
        .collect()
}

struct Fixture {
    /// (ABI, every type name worth decoding: actions, tables, defined types).
    abis: Vec<(Abi, Vec<String>)>,
    /// Valid encodings from the vectors: (ABI index, type, bytes).
    seeds: Vec<(usize, String, Vec<u8>)>,
}

fn fixture() -> Option<&'static Fixture> {
    static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            let shared = support::shared_abis()?;
            let mut abis = Vec::new();
            let mut stems = Vec::new();
            for (stem, text) in shared {
                let abi = Abi::from_json(&text).expect("shared ABI loads");
                let mut types: Vec<String> = abi.type_names().map(str::to_owned).collect();
                types.extend(abi.def().actions.iter().map(|a| a.type_.clone()));
                types.extend(abi.def().tables.iter().map(|t| t.type_.clone()));
                types.extend(builtins());
                types.sort();
                types.dedup();
                abis.push((abi, types));
                stems.push(stem);
            }
            let vectors = support::vectors();
            let mut seeds = Vec::new();
            for a in vectors["actions"].as_array().expect("actions") {
                let contract = a["contract"].as_str().expect("contract");
                let i = stems
                    .iter()
                    .position(|s| s == contract)
                    .expect("ABI for vector");
                let bytes = hex::decode(a["hex"].as_str().expect("hex")).expect("hex");
                seeds.push((i, a["type"].as_str().expect("type").to_owned(), bytes));
            }
            Some(Fixture { abis, seeds })
        })
        .as_ref()
}

/// The byte-exact round trip, except for two documented normalisations: non-canonical varuint32
/// encodings re-encode shorter, and NaN payloads re-encode as the canonical NaN.
fn check_round_trip(abi: &Abi, ty: &str, bytes: &[u8]) -> Result<(), TestCaseError> {
    let Ok(json) = abi.decode(ty, bytes) else {
        return Ok(());
    };
    let again = abi.encode(ty, &json);
    prop_assert!(
        again.is_ok(),
        "{ty}: decoded {json} but cannot re-encode: {:?}",
        again.err()
    );
    let again = again.unwrap_or_default();
    if again != bytes {
        let normalised = again.len() < bytes.len() || json.to_string().contains("\"NaN\"");
        prop_assert!(
            normalised,
            "{ty}: {} re-encoded as {}",
            hex::encode(bytes),
            hex::encode(&again)
        );
        prop_assert_eq!(abi.decode(ty, &again).ok(), Some(json));
    }
    Ok(())
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn decoding_random_bytes_never_panics(data in proptest::collection::vec(any::<u8>(), 0..160)) {
        let Some(f) = fixture() else { return Ok(()) };
        for (abi, types) in &f.abis {
            for ty in types {
                check_round_trip(abi, ty, &data)?;
            }
        }
    }

    #[test]
    fn decoding_mutated_vectors_never_panics(
        seed in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
    ) {
        let Some(f) = fixture() else { return Ok(()) };
        let (i, ty, bytes) = &f.seeds[seed.index(f.seeds.len())];
        let mut data = bytes.clone();
        for (at, byte, op) in edits {
            let pos = at.index(data.len() + 1);
            match op {
                0 if pos < data.len() => data[pos] = byte,
                1 => data.insert(pos, byte),
                _ if pos < data.len() => { data.remove(pos); }
                _ => data.push(byte),
            }
        }
        check_round_trip(&f.abis[*i].0, ty, &data)?;
    }

    #[test]
    fn decoding_small_builtins_round_trips(data in proptest::collection::vec(any::<u8>(), 0..80)) {
        let Some(f) = fixture() else { return Ok(()) };
        let abi = &f.abis[0].0;
        for ty in &builtins() {
            // Every prefix, so fixed-size types see exactly their size too.
            for end in 0..=data.len().min(70) {
                check_round_trip(abi, ty, &data[..end])?;
            }
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn parsing_arbitrary_strings_never_panics(s in any::<String>()) {
        parse_all(&s)?;
    }

    #[test]
    fn parsing_near_miss_strings_never_panics(
        s in prop_oneof![
            "-?[0-9]{0,21}(\\.[0-9]{0,20})? [A-Z]{0,8}(@[a-z1-5.]{0,13})?",
            "[0-9]{0,4},[A-Z]{0,8}",
            "[+-]?[0-9]{4,10}-[0-9]{1,2}-[0-9]{1,2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,7})?Z?",
            "[a-z1-5.]{0,14}",
        ]
    ) {
        parse_all(&s)?;
    }
}

/// Parses `s` as every text type; whatever parses must print and re-parse to the same value.
fn parse_all(s: &str) -> Result<(), TestCaseError> {
    fn again<T>(s: &str) -> Result<(), TestCaseError>
    where
        T: std::str::FromStr + std::fmt::Display + PartialEq + std::fmt::Debug,
    {
        if let Ok(v) = s.parse::<T>() {
            let printed = v.to_string();
            prop_assert_eq!(
                printed.parse::<T>().ok(),
                Some(v),
                "{:?} -> {:?}",
                s,
                printed
            );
        }
        Ok(())
    }
    again::<Name>(s)?;
    again::<Asset>(s)?;
    again::<ExtendedAsset>(s)?;
    again::<Symbol>(s)?;
    again::<SymbolCode>(s)?;
    again::<TimePoint>(s)?;
    again::<TimePointSec>(s)?;
    again::<BlockTimestamp>(s)?;
    Ok(())
}

#[test]
fn fixture_is_complete() {
    let Some(f) = fixture() else { return };
    assert_eq!(f.abis.len(), 8);
    assert_eq!(f.seeds.len(), 11);
    for (i, ty, bytes) in &f.seeds {
        assert!(f.abis[*i].0.decode(ty, bytes).is_ok(), "{ty}");
    }
}

#[test]
fn json_input_of_the_wrong_shape_is_an_error_not_a_panic() {
    let Some(f) = fixture() else { return };
    let shapes = [
        Value::Null,
        Value::Bool(true),
        serde_json::json!(-1),
        serde_json::json!(1.5),
        serde_json::json!("x"),
        serde_json::json!([]),
        serde_json::json!(["x", 1]),
        serde_json::json!({}),
    ];
    for (abi, types) in &f.abis {
        for ty in types {
            for v in &shapes {
                let _ = abi.encode(ty, v);
            }
        }
    }
}
