//! `docs/openapi/control-plane.json` against the code: every route the router serves is
//! documented and every documented route is served; every `$ref` resolves; `/v1` operations
//! name their auth scheme; the row, request and state schemas match what the API serializes.

use std::collections::BTreeSet;

use control_plane::db::CoopRow;
use control_plane::model::{CoopName, CreateRequest, Desired, Observed, RuntimeKind};
use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn document() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/openapi/control-plane.json"
    );
    let text = std::fs::read_to_string(path).expect("read the OpenAPI document");
    serde_json::from_str(&text).expect("the OpenAPI document is JSON")
}

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            assert!(METHODS.contains(&method.as_str()), "{method} {path}");
            ops.push((method.to_uppercase(), path.clone(), op.clone()));
        }
    }
    ops
}

#[test]
fn every_served_route_is_documented_and_every_documented_route_is_served() {
    let doc = document();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    let served: BTreeSet<(String, String)> = control_plane::api::routes()
        .into_iter()
        .map(|(m, p)| (m.to_owned(), p.to_owned()))
        .collect();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "served, not documented: {undocumented:?}"
    );
    assert!(unserved.is_empty(), "documented, not served: {unserved:?}");
}

fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r);
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn operations_are_complete_and_references_resolve() {
    let doc = document();
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let pointer = r.strip_prefix('#').expect("local reference");
        assert!(doc.pointer(pointer).is_some(), "unresolved {r}");
    }
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    let mut ids = BTreeSet::new();
    for (method, path, op) in operations(&doc) {
        let what = format!("{method} {path}");
        assert!(
            ids.insert(op["operationId"].as_str().expect(&what).to_owned()),
            "{what}: duplicate operationId"
        );
        let responses = op["responses"].as_object().expect(&what);
        assert!(
            responses.keys().any(|c| c.starts_with('2')),
            "{what}: no success response"
        );
        let security = op["security"].as_array().expect(&what);
        if path.starts_with("/v1/") {
            assert!(!security.is_empty(), "{what}: no auth scheme");
            assert!(responses.contains_key("401"), "{what}: no 401");
            for requirement in security {
                for scheme in requirement.as_object().unwrap().keys() {
                    assert!(
                        schemes.contains_key(scheme),
                        "{what}: unknown scheme {scheme}"
                    );
                }
            }
        } else {
            assert!(security.is_empty(), "{what}: health routes are open");
        }
        if path.contains("{coop}") {
            let params = op["parameters"].as_array().expect(&what);
            assert!(
                params
                    .iter()
                    .any(|p| p["$ref"] == "#/components/parameters/coop"),
                "{what}: the coop path parameter"
            );
            assert!(responses.contains_key("404"), "{what}: no 404");
        }
    }
}

fn property_names(schema: &Value) -> BTreeSet<String> {
    schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

#[test]
fn schemas_match_what_the_api_serializes() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    let row = CoopRow {
        coopname: CoopName::parse("voskhod").unwrap(),
        desired_state: Desired::Running,
        observed_state: Observed::Ready,
        status_reason: None,
        runtime: RuntimeKind::Process,
        chain_url: "http://127.0.0.1:8888".into(),
        ship_url: "ws://127.0.0.1:8889".into(),
        chain_id: "0".repeat(64),
        domain: None,
        memory_mb: 512,
        connection_limit: 6,
        port: Some(20000),
        generation: 1,
        attempts: 0,
        restarts: 0,
        retry_in_secs: 0.0,
        state_age_secs: 1.5,
        secrets: Some(vec![1, 2, 3]),
    };
    let serialized = serde_json::to_value(&row).unwrap();
    let keys: BTreeSet<String> = serialized.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, property_names(&schemas["Cooperative"]));
    let required: BTreeSet<String> = schemas["Cooperative"]["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys, required, "every row field is always present");

    let request = CreateRequest {
        coopname: "voskhod".into(),
        chain_url: Some(String::new()),
        ship_url: Some(String::new()),
        chain_id: Some(String::new()),
        domain: Some(String::new()),
        memory_mb: Some(1),
        connection_limit: Some(1),
        runtime: Some(RuntimeKind::Process),
    };
    let serialized = serde_json::to_value(&request).unwrap();
    let keys: BTreeSet<String> = serialized.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, property_names(&schemas["CreateRequest"]));

    let enum_of = |name: &str| -> BTreeSet<String> {
        schemas[name]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    let names = |values: Vec<Value>| -> BTreeSet<String> {
        values
            .into_iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        enum_of("DesiredState"),
        names(
            [Desired::Running, Desired::Suspended, Desired::Deleted]
                .iter()
                .map(|d| serde_json::to_value(d).unwrap())
                .collect()
        )
    );
    let observed = [
        "pending",
        "provisioning",
        "starting",
        "ready",
        "failed",
        "stopping",
        "suspended",
        "deleting",
    ];
    for state in &observed {
        assert!(Observed::parse(state).is_some(), "{state} is a state");
    }
    assert_eq!(
        enum_of("ObservedState"),
        observed.iter().map(|s| (*s).to_owned()).collect()
    );
    assert_eq!(
        enum_of("Runtime"),
        names(
            [RuntimeKind::Process, RuntimeKind::Docker]
                .iter()
                .map(|r| serde_json::to_value(r).unwrap())
                .collect()
        )
    );
}
