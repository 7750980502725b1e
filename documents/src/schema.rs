//! A small JSON Schema checker for the template data schemas. It supports the keywords those
//! schemas use: `$ref` (local `#/$defs/...`), `type`, `properties`, `required`,
//! `additionalProperties` (boolean), `items`, `enum`, `const`, `minLength`, `maxLength`,
//! `minimum`, `maximum`, `anyOf`, `oneOf`. Annotations (`title`, `description`, `pattern`,
//! `format`, `examples`) are not checked here: formats such as INN are checked by
//! [`crate::validate`] with their check digits.

use serde_json::Value;

/// One schema violation: where (a JSON pointer into the data) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaViolation {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for SchemaViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        write!(f, "{path}: {}", self.message)
    }
}

/// Checks `data` against `schema` (whose `$defs` serve `$ref`s); returns all violations.
pub fn check(schema: &Value, data: &Value) -> Vec<SchemaViolation> {
    let mut out = Vec::new();
    check_at(schema, schema, data, "", &mut out, 0);
    out
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(expected: &str, v: &Value) -> bool {
    let actual = type_name(v);
    expected == actual || (expected == "number" && actual == "integer")
}

fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    root.pointer(pointer)
}

fn check_at(
    root: &Value,
    schema: &Value,
    data: &Value,
    path: &str,
    out: &mut Vec<SchemaViolation>,
    depth: usize,
) {
    let mut fail = |message: String| {
        out.push(SchemaViolation {
            path: path.to_owned(),
            message,
        })
    };
    if depth > 64 {
        fail("schema nesting too deep".into());
        return;
    }
    let Some(s) = schema.as_object() else {
        if schema == &Value::Bool(false) {
            fail("no value is allowed here".into());
        }
        return;
    };
    if let Some(reference) = s.get("$ref").and_then(Value::as_str) {
        match resolve(root, reference) {
            Some(target) => check_at(root, target, data, path, out, depth + 1),
            None => out.push(SchemaViolation {
                path: path.to_owned(),
                message: format!("schema reference {reference} does not resolve"),
            }),
        }
        return;
    }
    if let Some(t) = s.get("type") {
        let ok = match t {
            Value::String(t) => type_matches(t, data),
            Value::Array(ts) => ts
                .iter()
                .filter_map(Value::as_str)
                .any(|t| type_matches(t, data)),
            _ => true,
        };
        if !ok {
            fail(format!("expected {t}, got {}", type_name(data)));
            return;
        }
    }
    if let Some(Value::Array(allowed)) = s.get("enum") {
        if !allowed.contains(data) {
            fail(format!("must be one of {}", Value::Array(allowed.clone())));
        }
    }
    if let Some(c) = s.get("const") {
        if c != data {
            fail(format!("must be {c}"));
        }
    }
    if let Value::String(text) = data {
        let len = text.chars().count() as u64;
        if let Some(min) = s.get("minLength").and_then(Value::as_u64) {
            if len < min {
                fail(format!("must have at least {min} characters"));
            }
        }
        if let Some(max) = s.get("maxLength").and_then(Value::as_u64) {
            if len > max {
                fail(format!("must have at most {max} characters"));
            }
        }
    }
    if let Some(n) = data.as_f64() {
        if let Some(min) = s.get("minimum").and_then(Value::as_f64) {
            if n < min {
                fail(format!("must be at least {min}"));
            }
        }
        if let Some(max) = s.get("maximum").and_then(Value::as_f64) {
            if n > max {
                fail(format!("must be at most {max}"));
            }
        }
    }
    for (keyword, exactly_one) in [("anyOf", false), ("oneOf", true)] {
        if let Some(Value::Array(options)) = s.get(keyword) {
            let mut inner = Vec::new();
            let passing = options
                .iter()
                .filter(|option| {
                    let mut errs = Vec::new();
                    check_at(root, option, data, path, &mut errs, depth + 1);
                    let ok = errs.is_empty();
                    inner.extend(errs);
                    ok
                })
                .count();
            if passing == 0 {
                // Report the closest option's problems (the one that failed least).
                let detail = inner
                    .iter()
                    .map(ToString::to_string)
                    .take(3)
                    .collect::<Vec<_>>()
                    .join("; ");
                out.push(SchemaViolation {
                    path: path.to_owned(),
                    message: format!("matches none of the {keyword} options ({detail})"),
                });
            } else if exactly_one && passing > 1 {
                out.push(SchemaViolation {
                    path: path.to_owned(),
                    message: format!("matches {passing} oneOf options, expected exactly one"),
                });
            }
        }
    }
    if let Value::Object(obj) = data {
        if let Some(Value::Array(required)) = s.get("required") {
            for key in required.iter().filter_map(Value::as_str) {
                if !obj.contains_key(key) || (obj[key].is_null() && !null_allowed(root, s, key)) {
                    out.push(SchemaViolation {
                        path: format!("{path}/{key}"),
                        message: "is required".into(),
                    });
                }
            }
        }
        let props = s.get("properties").and_then(Value::as_object);
        for (key, value) in obj {
            let child = format!("{path}/{key}");
            match props.and_then(|p| p.get(key)) {
                Some(prop) => check_at(root, prop, value, &child, out, depth + 1),
                None if s.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    out.push(SchemaViolation {
                        path: child,
                        message: "is not allowed here".into(),
                    });
                }
                None => {}
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (data, s.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check_at(
                root,
                item_schema,
                item,
                &format!("{path}/{i}"),
                out,
                depth + 1,
            );
        }
    }
}

/// Whether a required property's schema itself admits `null` (then null counts as present).
fn null_allowed(root: &Value, schema: &serde_json::Map<String, Value>, key: &str) -> bool {
    let Some(prop) = schema
        .get("properties")
        .and_then(Value::as_object)
        .and_then(|p| p.get(key))
    else {
        return false;
    };
    let mut errs = Vec::new();
    check_at(root, prop, &Value::Null, "", &mut errs, 0);
    errs.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn checks_the_supported_keywords() {
        let schema = json!({
            "$defs": {"name": {"type": "string", "minLength": 1, "maxLength": 5}},
            "type": "object",
            "required": ["a", "b"],
            "additionalProperties": false,
            "properties": {
                "a": {"$ref": "#/$defs/name"},
                "b": {"type": "array", "items": {"type": "integer", "minimum": 0}},
                "c": {"anyOf": [{"type": "null"}, {"enum": ["x", "y"]}]}
            }
        });
        assert!(check(&schema, &json!({"a": "abc", "b": [1, 2], "c": null})).is_empty());
        let errs = check(&schema, &json!({"a": "", "b": [1, -2], "c": "z", "d": 1}));
        let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert!(
            text.contains(&"/a: must have at least 1 characters".to_owned()),
            "{text:?}"
        );
        assert!(
            text.contains(&"/b/1: must be at least 0".to_owned()),
            "{text:?}"
        );
        assert!(
            text.contains(&"/d: is not allowed here".to_owned()),
            "{text:?}"
        );
        assert!(
            text.iter().any(|t| t.starts_with("/c: matches none")),
            "{text:?}"
        );
        let errs = check(&schema, &json!({"a": "abc", "b": null}));
        assert_eq!(errs[0].to_string(), "/b: is required");
    }
}
