//! The `regenerate` command's report (pure): human text or JSON, and the exit code
//! (0: every record matches, 1: a mismatch, 2: the check could not be made).

use documents::verify::Verdict;
use serde_json::json;

use super::Regeneration;

/// The report text and the exit code of a `regenerate` outcome.
pub fn render(hash: &str, outcome: &anyhow::Result<Vec<Regeneration>>, json: bool) -> (String, u8) {
    let records = match outcome {
        Ok(records) if !records.is_empty() => records,
        Ok(_) => return error(hash, "no stored record", json),
        Err(e) => return error(hash, &format!("{e:#}"), json),
    };
    let all_match = records.iter().all(|r| r.verdict.is_match());
    let code = if all_match { 0 } else { 1 };
    if json {
        let items: Vec<_> = records
            .iter()
            .map(|r| {
                json!({
                    "doc_hash": r.doc_hash,
                    "username": r.username,
                    "registry_id": r.registry_id,
                    "block_num": r.block_num,
                    "match": r.verdict.is_match(),
                    "reason": reason(&r.verdict),
                })
            })
            .collect();
        let text = json!({"doc_hash": hash, "match": all_match, "records": items}).to_string();
        return (text, code);
    }
    let lines: Vec<String> = records
        .iter()
        .map(|r| {
            let head = format!(
                "{} for {} (registry {}, block {})",
                r.doc_hash, r.username, r.registry_id, r.block_num
            );
            match reason(&r.verdict) {
                None => format!("MATCH {head}: the regenerated PDF has the same hash"),
                Some(why) => format!("MISMATCH {head}: {why}"),
            }
        })
        .collect();
    (lines.join("\n"), code)
}

fn reason(verdict: &Verdict) -> Option<String> {
    match verdict {
        Verdict::Match { .. } => None,
        Verdict::Mismatch(m) => Some(m.to_string()),
    }
}

fn error(hash: &str, message: &str, json: bool) -> (String, u8) {
    let text = if json {
        json!({"doc_hash": hash, "error": message}).to_string()
    } else {
        format!("ERROR {hash}: {message}")
    };
    (text, 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use documents::verify::Mismatch;

    fn record(verdict: Verdict) -> Regeneration {
        Regeneration {
            doc_hash: "AA".into(),
            username: "ant1".into(),
            registry_id: 1,
            block_num: 7,
            verdict,
        }
    }

    #[test]
    fn exit_codes_and_reasons() {
        let ok = Ok(vec![record(Verdict::Match {
            doc_hash: "AA".into(),
        })]);
        assert_eq!(render("AA", &ok, false).1, 0);
        let bad = Ok(vec![
            record(Verdict::Match {
                doc_hash: "AA".into(),
            }),
            record(Verdict::Mismatch(Mismatch::Data("changed".into()))),
        ]);
        let (text, code) = render("AA", &bad, true);
        assert_eq!(code, 1);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["match"], false);
        assert!(v["records"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("changed"));
        let (text, code) = render("AA", &Err(anyhow::anyhow!("database down")), false);
        assert_eq!(code, 2);
        assert!(text.contains("database down"));
    }
}
