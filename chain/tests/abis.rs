//! Loads every shared contract ABI and round-trips generated values of every action and table row
//! type (JSON -> bytes -> JSON and bytes -> JSON -> bytes), plus the binary ABI form.

mod support;

use chain::abi::{Abi, AbiDef};
use chain::bytes::{Pack, Unpack};
use serde_json::{json, Map, Value};

const PUBLIC_KEY: &str = "PUB_K1_7pv3wGoZMp1bSTVTKjausAe9csioBmyiifnyu3zLARSJmKWrLn";
const SIGNATURE: &str = "SIG_K1_Kkf7Ka49S9E2TyebxXti87qCfNooLWdWCwTCucDKcNy8T8p9vkYzv6RL5hAxniNUzta9urU7CCFXxnWCcsKNgAo1dL5Keu";

/// How a sample is shaped.
#[derive(Clone, Copy, Debug)]
struct Mode {
    /// Optionals present, arrays of 2, first variant alternative, large integers (strings).
    full: bool,
    /// Binary extension fields present.
    extensions: bool,
}

const MODES: [Mode; 3] = [
    Mode {
        full: true,
        extensions: true,
    },
    Mode {
        full: false,
        extensions: true,
    },
    Mode {
        full: true,
        extensions: false,
    },
];

/// Generates sample JSON for any type of an ABI definition (independently of the codec).
struct Gen<'a> {
    def: &'a AbiDef,
    mode: Mode,
}

impl Gen<'_> {
    fn value(&self, ty: &str, depth: usize) -> Value {
        assert!(depth < 32, "generator recursion too deep at {ty}");
        let deep = depth > 6;
        if let Some(inner) = ty.strip_suffix('?') {
            return if self.mode.full && !deep {
                self.value(inner, depth + 1)
            } else {
                Value::Null
            };
        }
        if let Some(inner) = ty.strip_suffix("[]") {
            let n = if self.mode.full && !deep { 2 } else { 0 };
            return Value::Array((0..n).map(|_| self.value(inner, depth + 1)).collect());
        }
        if let Some(t) = self.def.types.iter().find(|t| t.new_type_name == ty) {
            return self.value(&t.type_, depth + 1);
        }
        if let Some(v) = self.def.variants.iter().find(|v| v.name == ty) {
            let alt = if self.mode.full {
                &v.types[0]
            } else {
                &v.types[v.types.len() - 1]
            };
            return json!([alt, self.value(alt, depth + 1)]);
        }
        if self.def.structs.iter().any(|s| s.name == ty) {
            let mut m = Map::new();
            self.fields(ty, &mut m, depth);
            return Value::Object(m);
        }
        self.builtin(ty)
    }

    fn fields(&self, ty: &str, m: &mut Map<String, Value>, depth: usize) {
        let s = self
            .def
            .structs
            .iter()
            .find(|s| s.name == ty)
            .expect("struct");
        if !s.base.is_empty() {
            self.fields(&s.base, m, depth + 1);
        }
        for f in &s.fields {
            let (ty, ext) = match f.type_.strip_suffix('$') {
                Some(t) => (t, true),
                None => (f.type_.as_str(), false),
            };
            if ext && !self.mode.extensions {
                continue;
            }
            m.insert(f.name.clone(), self.value(ty, depth + 1));
        }
    }

    fn builtin(&self, ty: &str) -> Value {
        let full = self.mode.full;
        match ty {
            "bool" => json!(full),
            "int8" => json!(if full { -128 } else { 7 }),
            "uint8" => json!(if full { 255 } else { 0 }),
            "int16" => json!(if full { -32768 } else { 300 }),
            "uint16" => json!(if full { 65535 } else { 1 }),
            "int32" => json!(if full { i32::MIN } else { 5 }),
            "uint32" => json!(if full { u32::MAX } else { 77 }),
            "varint32" => json!(if full { -1000 } else { 0 }),
            "varuint32" => json!(if full { 300_000 } else { 1 }),
            "int64" => {
                if full {
                    json!("-9223372036854775808")
                } else {
                    json!(-9_007_199_254_740_991i64)
                }
            }
            "uint64" => {
                if full {
                    json!("18446744073709551615")
                } else {
                    json!(81_000_243)
                }
            }
            "int128" => {
                if full {
                    json!("-170141183460469231731687303715884105728")
                } else {
                    json!(-1)
                }
            }
            "uint128" => {
                if full {
                    json!(u128::MAX.to_string())
                } else {
                    json!(12)
                }
            }
            "float32" => json!(if full { 0.25 } else { -1.5 }),
            "float64" => json!(if full { 0.1 } else { 1e300 }),
            "float128" => json!("000102030405060708090a0b0c0d0e0f"),
            "time_point" => json!(if full {
                "2024-12-28T06:58:52.500"
            } else {
                "1970-01-01T00:00:00.000"
            }),
            "time_point_sec" => json!("2026-11-21T12:00:25"),
            "block_timestamp_type" => json!("2026-11-21T12:00:00.500"),
            "name" => json!(if full { "participant1" } else { "" }),
            "bytes" => json!(if full { "00ff10" } else { "" }),
            "string" => json!(if full { "текст \"q\"" } else { "" }),
            "checksum160" => json!("0123456789abcdef0123456789abcdef01234567"),
            "checksum256" => {
                json!("4ca94dc1eefdb1c5356cf64d526be95ec86963c110d53b739ea6543d61ae13cb")
            }
            "checksum512" => json!("ab".repeat(64)),
            "public_key" => json!(PUBLIC_KEY),
            "signature" => json!(SIGNATURE),
            "symbol" => json!(if full { "4,AXON" } else { "0,XYZ" }),
            "symbol_code" => json!("RUB"),
            "asset" => json!(if full { "-1.2345 RUB" } else { "300.0000 AXON" }),
            "extended_asset" => json!({"quantity": "1.0000 RUB", "contract": "eosio.token"}),
            other => panic!("generator: unknown type {other:?}"),
        }
    }
}

fn load_all() -> Option<Vec<(String, Abi)>> {
    let abis = support::shared_abis()?;
    assert_eq!(abis.len(), 8, "expected the 8 shared contract ABIs");
    Some(
        abis.into_iter()
            .map(|(stem, text)| {
                let abi = Abi::from_json(&text).unwrap_or_else(|e| panic!("{stem}.abi: {e}"));
                (stem, abi)
            })
            .collect(),
    )
}

#[test]
fn all_shared_abis_load() {
    let Some(abis) = load_all() else { return };
    for (stem, abi) in &abis {
        assert_eq!(abi.def().version, "eosio::abi/1.2", "{stem}");
        assert!(!abi.def().actions.is_empty(), "{stem}");
        for a in &abi.def().actions {
            assert!(abi.has_type(&a.type_), "{stem}::{}", a.name);
        }
    }
}

fn round_trip(abi: &Abi, what: &str, ty: &str) -> usize {
    let mut checked = 0;
    for mode in MODES {
        let sample = Gen {
            def: abi.def(),
            mode,
        }
        .value(ty, 0);
        let bytes = abi
            .encode(ty, &sample)
            .unwrap_or_else(|e| panic!("{what} {mode:?}: {e}"));
        let back = abi
            .decode(ty, &bytes)
            .unwrap_or_else(|e| panic!("{what} {mode:?}: {e}"));
        assert_eq!(
            serde_json::to_string(&back).unwrap(),
            serde_json::to_string(&sample).unwrap(),
            "{what} {mode:?}: JSON -> bytes -> JSON"
        );
        let again = abi.encode(ty, &back).unwrap();
        assert_eq!(again, bytes, "{what} {mode:?}: bytes -> JSON -> bytes");
        checked += 1;
    }
    checked
}

#[test]
fn every_action_and_table_type_round_trips() {
    let Some(abis) = load_all() else { return };
    let mut checked = 0;
    for (stem, abi) in &abis {
        for a in &abi.def().actions {
            checked += round_trip(abi, &format!("{stem}::{} action", a.name), &a.type_);
        }
        for t in &abi.def().tables {
            assert_eq!(abi.table_type(t.name), Some(t.type_.as_str()));
            checked += round_trip(abi, &format!("{stem}::{} table", t.name), &t.type_);
        }
        for ty in abi.type_names() {
            checked += round_trip(abi, &format!("{stem} type {ty}"), ty);
        }
    }
    assert!(checked > 500, "only {checked} samples");
}

#[test]
fn variants_optionals_and_extensions_are_exercised() {
    let Some(abis) = load_all() else { return };
    let system = &abis
        .iter()
        .find(|(s, _)| s == "eosio.system")
        .expect("eosio.system")
        .1;
    let sample = Gen {
        def: system.def(),
        mode: MODES[0],
    }
    .value("block_signing_authority", 0);
    assert_eq!(sample[0], "block_signing_authority_v0");
    let bytes = system.encode("block_signing_authority", &sample).unwrap();
    assert_eq!(bytes[0], 0, "variant index");
    // Binary extensions: a struct encoded without its `$` fields is shorter and decodes without them.
    let (stem, abi, ty) = abis
        .iter()
        .flat_map(|(stem, abi)| abi.def().structs.iter().map(move |s| (stem, abi, s)))
        .find(|(_, _, s)| s.fields.iter().any(|f| f.type_.ends_with('$')))
        .map(|(stem, abi, s)| (stem, abi, s.name.clone()))
        .expect("some struct has binary extensions");
    let with = abi
        .encode(
            &ty,
            &Gen {
                def: abi.def(),
                mode: MODES[0],
            }
            .value(&ty, 0),
        )
        .unwrap();
    let without = abi
        .encode(
            &ty,
            &Gen {
                def: abi.def(),
                mode: MODES[2],
            }
            .value(&ty, 0),
        )
        .unwrap();
    assert!(without.len() < with.len(), "{stem} {ty}");
}

#[test]
fn binary_abi_form_round_trips() {
    let Some(abis) = load_all() else { return };
    for (stem, abi) in &abis {
        let bin = abi.def().packed();
        let def = AbiDef::unpacked(&bin).unwrap_or_else(|e| panic!("{stem}: {e}"));
        assert_eq!(&def, abi.def(), "{stem}");
        let again = Abi::from_binary(&bin).unwrap();
        assert_eq!(again.def(), abi.def());
        // JSON form of the definition survives too.
        let json = serde_json::to_string(abi.def()).unwrap();
        assert_eq!(&AbiDef::from_json(&json).unwrap(), abi.def(), "{stem}");
        // Truncated binary ABIs fail cleanly.
        for cut in [1, bin.len() / 2, bin.len() - 3] {
            assert!(
                AbiDef::unpacked(&bin[..cut]).is_err(),
                "{stem} cut at {cut}"
            );
        }
    }
}
