//! Our contract ABIs (`devchain/abi/*.abi`) against the shared COOPOS ABIs
//! (`../shared/coopos/abi/*.abi`): every action and table type we define encodes a generated
//! sample to identical bytes with both; the fields the shared ABIs lag behind on are trailing
//! binary extensions (absent = the shared bytes).

mod support;

use std::collections::HashMap;

use chain::abi::{Abi, AbiDef, StructDef};
use serde_json::{json, Value};
use support::*;

const CONTRACTS: &[&str] = &["registrator", "gateway", "soviet", "branch", "draft"];

/// Actions the shared ABIs do not have yet (chain.md §4).
const NEWER_ACTIONS: &[(&str, &str)] = &[
    ("registrator", "refundpay"),
    ("registrator", "declinerfnd"),
    ("soviet", "declinedec"),
];

/// Generates sample values for the types of one ABI definition.
struct Sampler<'a> {
    structs: HashMap<&'a str, &'a StructDef>,
    counter: u64,
}

impl<'a> Sampler<'a> {
    fn new(def: &'a AbiDef) -> Self {
        assert!(def.types.is_empty() && def.variants.is_empty());
        Sampler {
            structs: def.structs.iter().map(|s| (s.name.as_str(), s)).collect(),
            counter: 0,
        }
    }

    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    fn value(&mut self, ty: &str) -> Value {
        let ty = ty.strip_suffix('$').unwrap_or(ty);
        if let Some(inner) = ty.strip_suffix('?') {
            return self.value(inner);
        }
        if let Some(inner) = ty.strip_suffix("[]") {
            return json!([self.value(inner), self.value(inner)]);
        }
        let i = self.next();
        match ty {
            "name" => json!(format!("user{}", i % 5 + 1)),
            "bool" => json!(i % 2 == 0),
            "uint8" | "uint16" | "uint32" | "int8" | "int16" | "int32" => json!(i % 100),
            "uint64" | "int64" => json!(i * 1_000_003),
            "string" => json!(format!("text {i} — тест")),
            "checksum256" => json!(chain::Checksum256::sha256(i.to_le_bytes()).to_hex()),
            "public_key" => json!(key(i as u8 % 200 + 2).public_key().to_string()),
            "signature" => {
                let digest = chain::Checksum256::sha256(i.to_le_bytes());
                json!(key(7).sign_digest(&digest).to_string())
            }
            "asset" => json!(format!("{}.{:04} AXON", i * 7, i % 10_000)),
            "time_point_sec" => {
                json!(chain::time::TimePointSec::from_unix(1_700_000_000 + i as u32).to_string())
            }
            other => {
                let s = *self
                    .structs
                    .get(other)
                    .unwrap_or_else(|| panic!("no sample rule for type {other}"));
                let mut obj = match s.base.as_str() {
                    "" => serde_json::Map::new(),
                    base => match self.value(base) {
                        Value::Object(m) => m,
                        _ => unreachable!("a base is a struct"),
                    },
                };
                for f in &s.fields {
                    let v = self.value(&f.type_);
                    obj.insert(f.name.clone(), v);
                }
                Value::Object(obj)
            }
        }
    }
}

fn load(path: &std::path::Path) -> (AbiDef, Abi) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let def = AbiDef::from_json(&text).unwrap();
    (def.clone(), Abi::from_def(def).unwrap())
}

#[test]
fn our_abis_have_no_ricardian_text() {
    for c in CONTRACTS {
        let (def, _) = load(&own_abi_path(c));
        assert!(def.ricardian_clauses.is_empty(), "{c}");
        assert!(
            def.actions.iter().all(|a| a.ricardian_contract.is_empty()),
            "{c}"
        );
    }
}

#[test]
fn our_abis_encode_like_the_shared_abis() {
    let Some(shared) = shared_dir() else { return };
    let mut compared = 0;
    for c in CONTRACTS {
        let (ours_def, ours) = load(&own_abi_path(c));
        let (theirs_def, theirs) = load(&shared.join(format!("coopos/abi/{c}.abi")));
        let mut types: Vec<(String, String)> = Vec::new();
        for a in &ours_def.actions {
            let name = a.name.to_string();
            match theirs.action_type(a.name) {
                Some(t) => {
                    assert_eq!(t, a.type_, "{c}::{name}: action type name");
                    types.push((format!("action {name}"), a.type_.clone()));
                }
                None => assert!(
                    NEWER_ACTIONS.contains(&(*c, name.as_str())),
                    "{c}::{name} is not in the shared ABI nor a known newer action"
                ),
            }
        }
        for t in &ours_def.tables {
            let theirs_type = theirs
                .table_type(t.name)
                .unwrap_or_else(|| panic!("{c}: table {} not in the shared ABI", t.name));
            assert_eq!(theirs_type, t.type_, "{c}: table {} row type", t.name);
            types.push((format!("table {}", t.name), t.type_.clone()));
        }
        for (what, ty) in types {
            for round in 0..3 {
                let mut sampler = Sampler::new(&theirs_def);
                sampler.counter = round * 17;
                let sample = sampler.value(&ty);
                let a = ours
                    .encode(&ty, &sample)
                    .unwrap_or_else(|e| panic!("{c} {what} (ours): {e}"));
                let b = theirs
                    .encode(&ty, &sample)
                    .unwrap_or_else(|e| panic!("{c} {what} (shared): {e}"));
                assert_eq!(hex::encode(&a), hex::encode(&b), "{c} {what}: bytes differ");
                assert_eq!(
                    ours.decode(&ty, &a).unwrap(),
                    sample,
                    "{c} {what}: round trip"
                );
                // the sample without the trailing binary extensions: still identical
                let Value::Object(mut obj) = sample else {
                    continue;
                };
                let exts = ours_def.structs.iter().find(|s| s.name == ty).map(|s| {
                    s.fields
                        .iter()
                        .filter(|f| f.type_.ends_with('$'))
                        .map(|f| f.name.clone())
                        .collect::<Vec<_>>()
                });
                for f in exts.unwrap_or_default() {
                    obj.remove(&f);
                }
                let trimmed = Value::Object(obj);
                assert_eq!(
                    ours.encode(&ty, &trimmed).unwrap(),
                    theirs.encode(&ty, &trimmed).unwrap(),
                    "{c} {what}: without extensions"
                );
                compared += 1;
            }
        }
    }
    assert!(compared > 100, "compared {compared} samples");
}

#[test]
fn newer_trailing_fields_are_binary_extensions() {
    let Some(shared) = shared_dir() else { return };
    let (_, ours) = load(&own_abi_path("soviet"));
    let (theirs_def, theirs) = load(&shared.join("coopos/abi/soviet.abi"));
    for ty in ["votefor", "voteagainst", "authorize"] {
        let sample = Sampler::new(&theirs_def).value(ty);
        let base = theirs.encode(ty, &sample).unwrap();
        let mut with = sample.clone();
        with["permission"] = json!("active");
        let ext = ours.encode(ty, &with).unwrap();
        let mut expected = base.clone();
        expected.extend_from_slice(&n("active").as_u64().to_le_bytes());
        assert_eq!(ext, expected, "{ty}: permission appended as a name");
        // shared-ABI bytes decode with ours (no permission), newest bytes decode with ours
        assert_eq!(ours.decode(ty, &base).unwrap(), sample);
        assert_eq!(ours.decode(ty, &ext).unwrap(), with);
    }
}
