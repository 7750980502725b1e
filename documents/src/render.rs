//! Pure HTML rendering: a minijinja environment (HTML autoescape, strict undefined) with every
//! embedded template, the `t(key, args…)` translation function and the formatting filters
//! (`person`, `ru_date`, `money`, `percent`). No IO.

use std::fmt::Write as _;

use minijinja::value::Rest;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, State, UndefinedBehavior, Value};
use serde::Serialize;
use thiserror::Error;

use crate::clock::Date;
use crate::meta::Meta;
use crate::model::DocumentData;
use crate::registry::{self, Registry, Template, PRINT_CSS, SHARED_TEMPLATES};

/// A template failed to compile or render (a template bug or data it cannot show).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("rendering {template}: {detail}")]
pub struct RenderError {
    pub template: String,
    pub detail: String,
}

fn render_error(template: &str, e: &Error) -> RenderError {
    let mut detail = e.to_string();
    if let Some(name) = e.name() {
        let _ = write!(detail, " ({name}");
        if let Some(line) = e.line() {
            let _ = write!(detail, ", line {line}");
        }
        detail.push(')');
    }
    RenderError {
        template: template.to_owned(),
        detail,
    }
}

/// The compiled templates.
#[derive(Debug)]
pub struct Renderer {
    env: Environment<'static>,
}

/// Values computed from meta for the layout (dates in the meta zone, PDF metadata).
#[derive(Debug, Clone, Serialize)]
struct DocView {
    registry_id: u32,
    /// `DD.MM.YYYY`.
    date: String,
    /// `«1» февраля 2025 г.`
    date_long: String,
    /// `HH:MM`.
    time: String,
    /// `DD.MM.YYYY HH:MM` (the meta `created_at`).
    datetime: String,
    /// Creation instant in UTC for the PDF dates.
    created_w3c: String,
    /// PDF Creator: `generator-version`.
    creator: String,
    /// PDF Subject.
    subject: String,
}

/// The cooperative's name in the cases Russian sentences need.
#[derive(Debug, Clone, Serialize)]
struct NamesView {
    /// `Потребительского кооператива «Восход»`
    coop_genitive: String,
    /// `Потребительскому кооперативу «Восход»`
    coop_dative: String,
}

/// Member names as documents print them.
#[derive(Debug, Clone, Serialize)]
struct MemberView {
    #[serde(rename = "type")]
    kind: &'static str,
    name: String,
    signer: String,
}

impl Renderer {
    /// Compiles the embedded templates.
    pub fn new() -> Result<Renderer, RenderError> {
        let registry = registry::registry().map_err(|e| RenderError {
            template: "registry".into(),
            detail: e.to_string(),
        })?;
        Renderer::with_registry(registry)
    }

    pub fn with_registry(registry: &'static Registry) -> Result<Renderer, RenderError> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.add_function("t", translate);
        env.add_filter("person", person);
        env.add_filter("ru_date", ru_date);
        env.add_filter("money", money);
        env.add_filter("percent", percent);
        env.add_global("css", Value::from_safe_string(PRINT_CSS.to_owned()));
        for (name, source) in SHARED_TEMPLATES {
            env.add_template(name, source)
                .map_err(|e| render_error(name, &e))?;
        }
        for t in registry.templates() {
            env.add_template(t.html_name, t.html)
                .map_err(|e| render_error(t.name, &e))?;
        }
        Ok(Renderer { env })
    }

    /// Renders the full HTML document (with head, metadata and stylesheet) that weasyprint
    /// turns into the PDF.
    pub fn render(
        &self,
        template: &Template,
        meta: &Meta,
        data: &DocumentData,
    ) -> Result<String, RenderError> {
        let fail = |detail: String| RenderError {
            template: template.name.to_owned(),
            detail,
        };
        let zone_created = meta.created().map_err(|e| fail(e.to_string()))?;
        let zone = meta.zone().map_err(|e| fail(e.to_string()))?;
        let utc = crate::clock::DateTime::from_unix(zone_created.unix_in_zone(zone));
        let doc = DocView {
            registry_id: meta.registry_id,
            date: zone_created.date.to_ru(),
            date_long: zone_created.date.to_ru_long(),
            time: zone_created.time_text(),
            datetime: zone_created.to_string(),
            created_w3c: utc.to_w3c_utc(),
            creator: format!("{}-{}", meta.generator, meta.version),
            subject: format!(
                "Документ реестра № {}: {}",
                meta.registry_id, template.title
            ),
        };
        let member = MemberView {
            kind: data.user.account_type().as_str(),
            name: data.user.display_name(),
            signer: data.user.signer_name(),
        };
        let names = NamesView {
            coop_genitive: format!("{} «{}»", data.vars.full_abbr_genitive, data.vars.name),
            coop_dative: format!("{} «{}»", data.vars.full_abbr_dative, data.vars.name),
        };
        let signature = data
            .signature
            .as_ref()
            .map(|s| Value::from_safe_string(s.to_data_url()))
            .unwrap_or(Value::from(()));
        let ctx = minijinja::context! {
            meta => Value::from_serialize(meta),
            doc => Value::from_serialize(&doc),
            member => Value::from_serialize(&member),
            names => Value::from_serialize(&names),
            coop => Value::from_serialize(&data.coop),
            vars => Value::from_serialize(&data.vars),
            user => Value::from_serialize(&data.user),
            branch => Value::from_serialize(&data.branch),
            decision => Value::from_serialize(&data.decision),
            project => Value::from_serialize(&data.project),
            signature => signature,
            tr => Value::from_serialize(&template.translations),
        };
        let compiled = self
            .env
            .get_template(template.html_name)
            .map_err(|e| render_error(template.name, &e))?;
        compiled
            .render(ctx)
            .map_err(|e| render_error(template.name, &e))
    }
}

fn invalid(msg: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg)
}

/// HTML-escapes text (`& < > " '`).
fn escape_into(out: &mut String, text: &str) {
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
}

/// `t("key", a0, a1, …)`: the translation of `key` with `{i}` replaced by argument `i` (one
/// pass, so arguments are never re-substituted). Texts and plain arguments are escaped here;
/// safe arguments (macro output) are inserted as they are; the result is marked safe.
fn translate(state: &State, key: &str, args: Rest<Value>) -> Result<Value, Error> {
    let table = state
        .lookup("tr")
        .ok_or_else(|| invalid("no translation table in the context".into()))?;
    let entry = table.get_attr(key)?;
    let text = entry
        .as_str()
        .ok_or_else(|| invalid(format!("translation key {key:?} is missing")))?;
    let mut out = String::with_capacity(text.len() + 32);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        escape_into(&mut out, &rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}');
        let index = close.and_then(|c| after[..c].parse::<usize>().ok());
        match (close, index) {
            (Some(c), Some(i)) => {
                let arg = args.get(i).ok_or_else(|| {
                    invalid(format!(
                        "translation {key:?} uses {{{i}}} but got {} arguments",
                        args.len()
                    ))
                })?;
                if arg.is_undefined() || arg.is_none() {
                    return Err(invalid(format!(
                        "argument {i} of translation {key:?} is empty"
                    )));
                }
                if arg.is_safe() {
                    let _ = write!(out, "{arg}");
                } else {
                    escape_into(&mut out, &arg.to_string());
                }
                rest = &after[c + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    escape_into(&mut out, rest);
    Ok(Value::from_safe_string(out))
}

/// An object with `last_name`, `first_name`, `middle_name` → `Last First Middle`.
fn person(v: Value) -> Result<String, Error> {
    let part = |k: &str| -> Result<String, Error> {
        let x = v.get_attr(k)?;
        x.as_str()
            .map(str::to_owned)
            .ok_or_else(|| invalid(format!("person filter: {k} is not a string")))
    };
    Ok(crate::model::full_person_name(
        &part("last_name")?,
        &part("first_name")?,
        &part("middle_name")?,
    ))
}

/// `YYYY-MM-DD` → `DD.MM.YYYY`.
fn ru_date(value: &str) -> Result<String, Error> {
    Date::parse_iso(value)
        .map(Date::to_ru)
        .map_err(|e| invalid(e.to_string()))
}

/// Groups an integer's digits by three with no-break spaces.
fn group_thousands(int: &str) -> String {
    let mut out = String::with_capacity(int.len() + int.len() / 3 * 2);
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push('\u{a0}');
        }
        out.push(ch);
    }
    out
}

/// `"1000.0000 RUB"` → `1 000,00 руб.` (kopecks always shown, extra decimals truncated).
fn money(value: &str) -> Result<String, Error> {
    crate::validate::amount(value).map_err(|e| invalid(e.to_string()))?;
    let (number, symbol) = value.split_once(' ').unwrap_or((value, ""));
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    let cents: String = frac.chars().chain("00".chars()).take(2).collect();
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let unit = if symbol == "RUB" { "руб." } else { symbol };
    Ok(format!("{},{cents}\u{a0}{unit}", group_thousands(int)))
}

/// A percentage with a decimal comma: `100`, `66,67`.
fn percent(value: f64) -> String {
    let rounded = (value * 100.0).round() / 100.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.2}")
            .trim_end_matches('0')
            .replace('.', ",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_format_russian_style() {
        assert_eq!(money("1000.0000 RUB").unwrap(), "1\u{a0}000,00\u{a0}руб.");
        assert_eq!(money("5 RUB").unwrap(), "5,00\u{a0}руб.");
        assert_eq!(
            money("1234567.5 AXON").unwrap(),
            "1\u{a0}234\u{a0}567,50\u{a0}AXON"
        );
        assert!(money("abc").is_err());
        assert_eq!(ru_date("2025-02-01").unwrap(), "01.02.2025");
        assert_eq!(percent(100.0), "100");
        assert_eq!(percent(66.666), "66,67");
        assert_eq!(percent(50.5), "50,5");
    }
}
