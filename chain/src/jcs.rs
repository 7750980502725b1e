//! RFC 8785 JSON Canonicalization Scheme (JCS), as npm `canonicalize` produces it.
//!
//! - objects: members sorted by the UTF-16 code units of their names, recursively;
//! - strings: escaped exactly like ECMAScript `JSON.stringify` (`\"`, `\\`, `\b \f \n \r \t`,
//!   other control characters as lowercase `\u00xx`, everything else literal);
//! - numbers: ECMAScript `Number.prototype.toString` of the IEEE-754 double (via `ryu-js`);
//! - no whitespace.
//!
//! **Large integers.** `serde_json` keeps integers as exact `i64`/`u64`, but JCS works on
//! doubles. Integers are therefore converted as JavaScript's `JSON.parse` would: to the nearest
//! double, then formatted (`18446744073709551615` → `18446744073709552000`,
//! `9007199254740993` → `9007199254740992`). This matches what the reference SDK hashes when it
//! parses the same JSON text; it is lossy beyond 2^53 by design, never an error.

use serde_json::Value;

/// The canonical (RFC 8785) text of a JSON value.
pub fn canonicalize(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, &mut out);
    out
}

/// Canonicalizes JSON text; fails only if the text is not JSON.
///
/// Numbers are parsed correctly rounded (the workspace enables serde_json's `float_roundtrip`),
/// so long fractions such as `333333333.33333329` give JavaScript's value.
pub fn canonicalize_str(json: &str) -> Result<String, serde_json::Error> {
    let value: Value = serde_json::from_str(json)?;
    Ok(canonicalize(&value))
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(Vec<u16>, &String, &Value)> = map
                .iter()
                .map(|(k, v)| (k.encode_utf16().collect(), k, v))
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            out.push('{');
            for (i, (_, k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write_value(v, out);
            }
            out.push('}');
        }
    }
}

fn write_number(n: &serde_json::Number, out: &mut String) {
    // as_f64 is the nearest double for every i64/u64/f64 (see module docs); serde_json numbers
    // are always finite, and without arbitrary_precision as_f64 never returns None.
    let f = n.as_f64().unwrap_or(f64::NAN);
    if f.is_finite() {
        let mut buf = ryu_js::Buffer::new();
        out.push_str(buf.format_finite(f));
    } else {
        // Unreachable for serde_json values; JSON.stringify writes non-finite numbers as null.
        out.push_str("null");
    }
}

/// ECMAScript `JSON.stringify` string quoting (Rust strings cannot hold lone surrogates).
fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(text: &str) -> String {
        canonicalize_str(text).unwrap()
    }

    #[test]
    fn rfc8785_sorting_example() {
        // RFC 8785 §3.2.3: sorted by UTF-16 code units.
        let input = r#"{
            "\u20ac": "Euro Sign",
            "\r": "Carriage Return",
            "\ufb33": "Hebrew Letter Dalet With Dagesh",
            "1": "One",
            "\ud83d\ude00": "Emoji: Grinning Face",
            "\u0080": "Control",
            "\u00f6": "Latin Small Letter O With Diaeresis"
        }"#;
        let expected = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
            \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
            \"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
        assert_eq!(canon(input), expected);
    }

    #[test]
    #[allow(clippy::excessive_precision)] // the RFC's literal, on purpose
    fn rfc8785_main_example() {
        // RFC 8785 §3.2.2 (input) and §3.2.3 (output), first from Rust values, then from text.
        let string = "\u{20ac}$\u{f}\nA'B\"\\\\\"/";
        let v = json!({
            "numbers": [333333333.33333329_f64, 1e30_f64, 4.50_f64, 2e-3_f64, 1e-27_f64],
            "string": string,
            "literals": [null, true, false]
        });
        let expected = r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#;
        assert_eq!(canonicalize(&v), expected);
        // The same escapes from JSON text.
        let text = r#"{"string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/", "n": [4.50, 2e-3, 1E30]}"#;
        assert_eq!(
            canon(text),
            r#"{"n":[4.5,0.002,1e+30],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
        // The RFC's numbers from JSON text: needs a correctly rounded float parser.
        let numbers =
            r#"{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001]}"#;
        assert_eq!(
            canon(numbers),
            r#"{"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27]}"#
        );
    }

    #[test]
    fn number_formatting_like_ecmascript() {
        let cases: [(&str, &str); 14] = [
            ("0", "0"),
            ("-0", "0"),
            ("-0.0", "0"),
            ("1e21", "1e+21"),
            ("1e20", "100000000000000000000"),
            ("0.1", "0.1"),
            ("0.000001", "0.000001"),
            ("0.0000001", "1e-7"),
            ("333333333.3333333", "333333333.3333333"),
            ("-1.5", "-1.5"),
            ("9007199254740993", "9007199254740992"),
            ("18446744073709551615", "18446744073709552000"),
            ("-9223372036854775808", "-9223372036854776000"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
        ];
        for (input, expected) in cases {
            assert_eq!(canon(input), expected, "{input}");
        }
    }

    #[test]
    fn strings_escape_like_json_stringify() {
        let v = json!("a\u{0}\u{1f}\u{7f}\u{2028}\u{2029}é😀\"\\/");
        assert_eq!(
            canonicalize(&v),
            "\"a\\u0000\\u001f\u{7f}\u{2028}\u{2029}é😀\\\"\\\\/\""
        );
    }

    #[test]
    fn nested_and_compact() {
        let v = json!({"b": [1, {"d": 2, "c": 3}], "a": {}, "": []});
        assert_eq!(canonicalize(&v), r#"{"":[],"a":{},"b":[1,{"c":3,"d":2}]}"#);
    }
}
