//! Unit tests for ABI loading, validation errors and the codec's edge cases.

use serde_json::json;

use super::*;

fn abi(structs: Value, extra: Value) -> Result<Abi, AbiError> {
    let mut j = json!({"version": "eosio::abi/1.2", "structs": structs});
    if let (Some(o), Some(e)) = (j.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    Abi::from_json(&j.to_string())
}

fn s(name: &str, base: &str, fields: &[(&str, &str)]) -> Value {
    let fields: Vec<Value> = fields
        .iter()
        .map(|(n, t)| json!({"name": n, "type": t}))
        .collect();
    json!({"name": name, "base": base, "fields": fields})
}

#[test]
fn load_time_validation() {
    let e = abi(json!([s("a", "", &[("x", "nope")])]), json!({})).unwrap_err();
    assert!(
        matches!(&e, AbiError::UnknownType { type_name, .. } if type_name == "nope"),
        "{e}"
    );
    assert!(e.to_string().contains("field \"x\" of struct \"a\""), "{e}");

    let types = json!({"types": [{"new_type_name": "t1", "type": "t2"}, {"new_type_name": "t2", "type": "t1[]"}]});
    let e = abi(json!([]), types).unwrap_err();
    assert!(matches!(e, AbiError::AliasCycle { .. }), "{e}");

    let e = abi(json!([s("a", "b", &[]), s("b", "a", &[])]), json!({})).unwrap_err();
    assert!(matches!(e, AbiError::BaseCycle { .. }), "{e}");

    let e = abi(json!([s("a", "", &[]), s("a", "", &[])]), json!({})).unwrap_err();
    assert!(matches!(e, AbiError::Duplicate { .. }), "{e}");

    let e = abi(json!([s("a", "uint8", &[])]), json!({})).unwrap_err();
    assert!(matches!(e, AbiError::BaseNotStruct { .. }), "{e}");

    let types = json!({"types": [{"new_type_name": "t", "type": "uint8$"}]});
    assert!(matches!(
        abi(json!([]), types).unwrap_err(),
        AbiError::BadTypeName { .. }
    ));

    let deep = format!("uint8{}", "[]".repeat(100));
    let e = abi(json!([s("a", "", &[("x", deep.as_str())])]), json!({})).unwrap_err();
    assert!(matches!(e, AbiError::BadTypeName { .. }), "{e}");

    let actions = json!({"actions": [{"name": "go", "type": "missing", "ricardian_contract": ""}]});
    assert!(matches!(
        abi(json!([]), actions).unwrap_err(),
        AbiError::UnknownType { .. }
    ));
}

#[test]
fn base_fields_come_first_and_aliases_resolve() {
    let types = json!({"types": [{"new_type_name": "account", "type": "name"}]});
    let a = abi(
        json!([
            s("b", "", &[("x", "uint8")]),
            s("d", "b", &[("y", "account")])
        ]),
        types,
    )
    .unwrap();
    let v = json!({"x": 1, "y": "alice"});
    let bytes = a.encode("d", &v).unwrap();
    assert_eq!(bytes[0], 1);
    assert_eq!(a.decode("d", &bytes).unwrap(), v);
    assert_eq!(a.encode("account[]", &json!(["bob"])).unwrap().len(), 9);
    assert_eq!(a.decode("d?", &[0]).unwrap(), Value::Null);
}

#[test]
fn integer_json_conventions() {
    let a = abi(json!([]), json!({})).unwrap();
    let max_safe = (1u64 << 53) - 1;
    assert_eq!(
        a.decode("uint64", &max_safe.to_le_bytes()).unwrap(),
        json!(max_safe)
    );
    assert_eq!(
        a.decode("uint64", &(max_safe + 1).to_le_bytes()).unwrap(),
        json!("9007199254740992")
    );
    assert_eq!(
        a.decode("int64", &(-(max_safe as i64)).to_le_bytes())
            .unwrap(),
        json!(-(max_safe as i64))
    );
    assert_eq!(
        a.decode("int64", &i64::MIN.to_le_bytes()).unwrap(),
        json!("-9223372036854775808")
    );
    assert_eq!(
        a.decode("uint128", &u128::MAX.to_le_bytes()).unwrap(),
        json!(u128::MAX.to_string())
    );
    assert_eq!(
        a.encode("int128", &json!(i128::MIN.to_string())).unwrap(),
        i128::MIN.to_le_bytes()
    );
    assert_eq!(a.encode("uint8", &json!("255")).unwrap(), [255]);
    for (t, bad) in [
        ("uint8", json!(256)),
        ("uint8", json!(-1)),
        ("int8", json!("-129")),
        ("uint64", json!("18446744073709551616")),
        ("uint32", json!(1.5)),
        ("uint32", json!("1e3")),
        ("uint32", json!(" 1")),
        ("uint128", json!("-1")),
        ("bool", json!(1)),
        ("name", json!("UPPER")),
        ("float32", json!(1e300)),
    ] {
        assert!(a.encode(t, &bad).is_err(), "{t} {bad}");
    }
    assert_eq!(
        a.decode("float64", &f64::NAN.to_le_bytes()).unwrap(),
        json!("NaN")
    );
    assert_eq!(
        a.encode("float64", &json!("-Infinity")).unwrap(),
        f64::NEG_INFINITY.to_le_bytes()
    );
}

#[test]
fn errors_carry_path_type_and_offset() {
    let a = abi(
        json!([
            s("sig", "", &[("k", "public_key")]),
            s("doc", "", &[("n", "name"), ("sigs", "sig[]")])
        ]),
        json!({}),
    )
    .unwrap();
    let e = a
        .encode("doc", &json!({"n": "a", "sigs": [{"k": "PUB_K1_bad"}]}))
        .unwrap_err();
    match &e {
        AbiError::Encode { path, expected, .. } => {
            assert_eq!(path, "doc.sigs[0].k");
            assert_eq!(expected, "public_key");
        }
        other => panic!("{other}"),
    }
    // name ok, one array item, key type byte then too few bytes
    let mut data = vec![0u8; 8];
    data.extend([1, 9]); // one item; key type 9 does not exist
    data.extend([0; 33]);
    match a.decode("doc", &data).unwrap_err() {
        AbiError::Decode {
            path,
            expected,
            offset,
            ..
        } => {
            assert_eq!(path, "doc.sigs[0].k");
            assert_eq!(expected, "public_key");
            assert_eq!(offset, 9);
        }
        other => panic!("{other}"),
    }
    let e = a.decode("name", &[0; 9]).unwrap_err();
    assert_eq!(
        e,
        AbiError::TrailingBytes {
            type_name: "name".into(),
            offset: 8,
            trailing: 1
        }
    );
    assert!(matches!(
        a.encode("doc", &json!({"n": "a", "sigs": [], "x": 1})),
        Err(AbiError::Encode { .. })
    ));
    assert!(matches!(
        a.encode("doc", &json!({"n": "a"})),
        Err(AbiError::Encode { .. })
    ));
    assert!(matches!(
        a.decode("nope", &[]),
        Err(AbiError::NoSuchType(_))
    ));
}

#[test]
fn binary_extensions() {
    let a = abi(
        json!([s(
            "e",
            "",
            &[("a", "uint8"), ("b", "uint8$"), ("c", "string$")]
        )]),
        json!({}),
    )
    .unwrap();
    assert_eq!(a.decode("e", &[1]).unwrap(), json!({"a": 1}));
    assert_eq!(a.decode("e", &[1, 2]).unwrap(), json!({"a": 1, "b": 2}));
    assert_eq!(a.encode("e", &json!({"a": 1})).unwrap(), [1]);
    assert_eq!(
        a.encode("e", &json!({"a": 1, "b": 2, "c": "x"})).unwrap(),
        [1, 2, 1, b'x']
    );
    let e = a.encode("e", &json!({"a": 1, "c": "x"})).unwrap_err();
    assert!(
        e.to_string()
            .contains("after the absent extension field \"b\""),
        "{e}"
    );
}

#[test]
fn variants_and_fixed_arrays() {
    let extra = json!({"variants": [{"name": "v", "types": ["uint8", "string"]}]});
    let a = abi(json!([s("f", "", &[("x", "uint8[2]")])]), extra).unwrap();
    let v = json!(["string", "hi"]);
    let bytes = a.encode("v", &v).unwrap();
    assert_eq!(bytes, [1, 2, b'h', b'i']);
    assert_eq!(a.decode("v", &bytes).unwrap(), v);
    assert!(a.decode("v", &[2, 0]).is_err());
    assert!(a.encode("v", &json!(["int8", 1])).is_err());
    assert_eq!(a.decode("f", &[2, 7, 8]).unwrap(), json!({"x": [7, 8]}));
    assert!(a.decode("f", &[1, 7]).is_err());
    assert!(a.encode("f", &json!({"x": [1]})).is_err());
}

#[test]
fn hostile_input_is_bounded() {
    // A recursive type: decoding deep data stops at the depth limit instead of the stack.
    let a = abi(json!([s("node", "", &[("next", "node?")])]), json!({})).unwrap();
    let data = vec![1u8; 10_000];
    assert!(matches!(
        a.decode("node", &data),
        Err(AbiError::TooDeep { .. })
    ));
    let mut v = json!(null);
    for _ in 0..10_000 {
        let mut m = serde_json::Map::new();
        m.insert("next".into(), v); // json!() would clone recursively
        v = Value::Object(m);
    }
    assert!(matches!(
        a.encode("node", &v),
        Err(AbiError::TooDeep { .. })
    ));
    drop_deep(v);
    // A huge length prefix with nothing behind it.
    let e = a
        .decode("string[]", &[0xff, 0xff, 0xff, 0xff, 0x0f])
        .unwrap_err();
    assert!(matches!(e, AbiError::Decode { offset: 0, .. }), "{e}");
    // A self-containing struct (infinite size) loads and fails cleanly on any data.
    let a = abi(json!([s("inf", "", &[("me", "inf")])]), json!({})).unwrap();
    assert!(a.decode("inf", &[0; 100]).is_err());
}

/// Drops a deeply nested JSON value without recursing through its destructor.
fn drop_deep(mut v: Value) {
    while let Value::Object(mut m) = v {
        v = m.remove("next").unwrap_or(Value::Null);
    }
}

#[test]
fn binary_abi_round_trip() {
    let a = abi(
        json!([s("a", "", &[("x", "uint8")])]),
        json!({"variants": [{"name": "v", "types": ["a"]}],
               "error_messages": [{"error_code": "7", "error_msg": "no"}],
               "abi_extensions": [[1, "ab"]],
               "action_results": [{"name": "act", "result_type": "a"}]}),
    )
    .unwrap();
    let bin = crate::bytes::Pack::packed(a.def());
    let back = Abi::from_binary(&bin).unwrap();
    assert_eq!(back.def(), a.def());
    assert_eq!(back.action_result_type(crate::name!("act")), Some("a"));
    // A 1.0 ABI without the trailing extension lists.
    let old = AbiDef {
        version: "eosio::abi/1.0".into(),
        ..AbiDef::default()
    };
    let mut bin = crate::bytes::Pack::packed(&old);
    bin.truncate(bin.len() - 2);
    assert_eq!(AbiDef::from_binary(&bin).unwrap(), old);
}
