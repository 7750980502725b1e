//! Reproduces the wharfkit vectors (`antelope.json`): names, assets, symbols, varuint32, times and
//! the 11 contract actions encoded and decoded with the real contract ABIs.

mod support;

use std::collections::HashMap;

use chain::abi::Abi;
use chain::asset::{Asset, Symbol};
use chain::bytes::{pack_varuint32, Pack, Reader, Unpack};
use chain::time::{BlockTimestamp, TimePoint, TimePointSec};
use chain::Name;
use serde_json::Value;

fn list<'a>(v: &'a Value, key: &str) -> &'a Vec<Value> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("vectors.{key} is not a list"))
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

fn unhex(v: &Value) -> Vec<u8> {
    hex::decode(text(v, "hex")).expect("vector hex")
}

/// Text -> bytes and bytes -> text for one Antelope type.
fn check<T>(value: &str, bytes: &[u8])
where
    T: std::str::FromStr + std::fmt::Display + Pack + Unpack + PartialEq + std::fmt::Debug,
    T::Err: std::fmt::Debug,
{
    let parsed: T = value
        .parse()
        .unwrap_or_else(|e| panic!("parse {value:?}: {e:?}"));
    assert_eq!(parsed.packed(), bytes, "pack {value}");
    let back = T::unpacked(bytes).unwrap_or_else(|e| panic!("unpack {value}: {e}"));
    assert_eq!(back, parsed);
    assert_eq!(back.to_string(), value);
}

#[test]
fn names() {
    let v = support::vectors();
    for n in list(&v, "names") {
        let name = text(n, "name");
        check::<Name>(name, &unhex(n));
        let u: u64 = text(n, "u64").parse().unwrap();
        assert_eq!(Name::parse(name).unwrap().as_u64(), u, "{name}");
        assert_eq!(Name::from_u64(u).to_string(), name);
    }
}

#[test]
fn assets_and_symbols() {
    let v = support::vectors();
    for a in list(&v, "assets") {
        check::<Asset>(text(a, "asset"), &unhex(a));
    }
    for s in list(&v, "symbols") {
        check::<Symbol>(text(s, "symbol"), &unhex(s));
    }
}

#[test]
fn varuint32() {
    let v = support::vectors();
    for x in list(&v, "varuint32") {
        let value = u32::try_from(x["value"].as_u64().unwrap()).unwrap();
        let mut out = Vec::new();
        pack_varuint32(value, &mut out);
        assert_eq!(out, unhex(x), "{value}");
        let bytes = unhex(x);
        let mut r = Reader::new(&bytes);
        assert_eq!(r.varuint32().unwrap(), value);
        assert!(r.is_empty());
    }
}

#[test]
fn times() {
    let v = support::vectors();
    let times = &v["times"];
    for t in list(times, "time_point_sec") {
        check::<TimePointSec>(text(t, "value"), &unhex(t));
    }
    for t in list(times, "time_point") {
        check::<TimePoint>(text(t, "value"), &unhex(t));
    }
    for t in list(times, "block_timestamp_type") {
        check::<BlockTimestamp>(text(t, "value"), &unhex(t));
    }
}

/// The real contract ABIs by file stem (None without ../shared).
fn abis() -> Option<HashMap<String, Abi>> {
    let abis = support::shared_abis()?;
    Some(
        abis.into_iter()
            .map(|(stem, json)| {
                let abi = Abi::from_json(&json).unwrap_or_else(|e| panic!("{stem}.abi: {e}"));
                (stem, abi)
            })
            .collect(),
    )
}

#[test]
fn actions_encode_and_decode_exactly() {
    let v = support::vectors();
    let Some(abis) = abis() else { return };
    let actions = list(&v, "actions");
    assert_eq!(actions.len(), 11);
    for a in actions {
        let contract = text(a, "contract");
        let action = Name::parse(text(a, "action")).unwrap();
        let abi = &abis[contract];
        let type_name = abi
            .action_type(action)
            .unwrap_or_else(|| panic!("{contract}::{action}"));
        assert_eq!(type_name, text(a, "type"));
        let bytes = unhex(a);

        let encoded = abi
            .encode(type_name, &a["data"])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            hex::encode(&encoded),
            text(a, "hex"),
            "encode {contract}::{action}"
        );

        let decoded = abi
            .decode(type_name, &bytes)
            .unwrap_or_else(|e| panic!("{e}"));
        // Exact: same keys in the same order, same JSON types (numbers stay numbers).
        assert_eq!(
            serde_json::to_string(&decoded).unwrap(),
            serde_json::to_string(&a["data"]).unwrap(),
            "decode {contract}::{action}"
        );
        assert_eq!(decoded, a["decoded"]);
        assert_eq!(abi.decode_action(action, &bytes).unwrap(), decoded);

        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(
            abi.decode(type_name, &trailing).is_err(),
            "{contract}::{action} trailing byte"
        );
        if !bytes.is_empty() {
            assert!(abi.decode(type_name, &bytes[..bytes.len() - 1]).is_err());
        }
    }
}

#[test]
fn transaction_action_data_matches_the_actions() {
    // The transaction vector carries the same action data hex as the actions list.
    let v = support::vectors();
    let Some(abis) = abis() else { return };
    for act in list(&v["transaction"], "actions") {
        let account = text(act, "account");
        let Some(abi) = abis.get(account) else {
            continue;
        };
        let name = Name::parse(text(act, "name")).unwrap();
        let data = hex::decode(text(act, "data_hex")).unwrap();
        let json = abi
            .decode_action(name, &data)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(abi.encode_action(name, &json).unwrap(), data);
    }
}
