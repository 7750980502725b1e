//! The managed cluster's `pg_hba.conf`: the superuser everywhere, and one line per cooperative
//! role admitting it to its own database only (the control plane's managed section).
//!
//! The file is rewritten as a whole (base lines + managed section) at every start and whenever
//! the control plane changes the section, atomically (temp file + rename). The section between
//! the markers is the state; it survives restarts because it is read back from the file.

use std::fmt;

use crate::error::ClusterError;

const BEGIN: &str = "# BEGIN mono cooperatives (managed by the control plane; do not edit)";
const END: &str = "# END mono cooperatives";

/// One managed line: `host <database> <role> 127.0.0.1/32 scram-sha-256` (and `::1/128`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HbaRule {
    database: String,
    role: String,
}

impl HbaRule {
    /// A rule for `role` into `database`; both must be plain lowercase identifiers
    /// (`[a-z_][a-z0-9_]*`, at most 63 bytes) so no line can be smuggled into the file.
    pub fn new(database: &str, role: &str) -> Result<HbaRule, ClusterError> {
        for (what, value) in [("database", database), ("role", role)] {
            if !is_plain_identifier(value) {
                return Err(ClusterError::BadHbaRule {
                    detail: format!("{what} {value:?} is not a plain lowercase identifier"),
                });
            }
            if value == "all"
                || value == "sameuser"
                || value == "samerole"
                || value == "replication"
            {
                return Err(ClusterError::BadHbaRule {
                    detail: format!("{what} {value:?} is a pg_hba keyword"),
                });
            }
        }
        Ok(HbaRule {
            database: database.to_owned(),
            role: role.to_owned(),
        })
    }

    pub fn database(&self) -> &str {
        &self.database
    }

    pub fn role(&self) -> &str {
        &self.role
    }
}

impl fmt::Display for HbaRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "host    {db}  {role}  127.0.0.1/32  scram-sha-256\nhost    {db}  {role}  ::1/128  scram-sha-256",
            db = self.database,
            role = self.role
        )
    }
}

fn is_plain_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The whole file for `superuser` and the managed `rules` (sorted, deduplicated).
pub(crate) fn render(superuser: &str, rules: &[HbaRule]) -> String {
    let mut rules = rules.to_vec();
    rules.sort();
    rules.dedup();
    let mut out = format!(
        "# Managed by mono: local connections only, always authenticated with SCRAM-SHA-256.\n\
         # The superuser may connect to every database; every other role only through a line of\n\
         # the managed section below (a cooperative's role into its own database).\n\
         # TYPE  DATABASE  USER  ADDRESS        METHOD\n\
         local   all       {superuser}                  scram-sha-256\n\
         host    all       {superuser}   127.0.0.1/32   scram-sha-256\n\
         host    all       {superuser}   ::1/128        scram-sha-256\n\
         {BEGIN}\n"
    );
    for rule in &rules {
        out.push_str(&rule.to_string());
        out.push('\n');
    }
    out.push_str(END);
    out.push('\n');
    out
}

/// The managed rules found in a file written by [`render`] (none in a file without the section).
pub(crate) fn parse(text: &str) -> Vec<HbaRule> {
    let mut inside = false;
    let mut rules = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line == BEGIN {
            inside = true;
            continue;
        }
        if line == END {
            break;
        }
        if !inside {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let ["host", db, role, "127.0.0.1/32", "scram-sha-256"] = fields.as_slice() {
            if let Ok(rule) = HbaRule::new(db, role) {
                rules.push(rule);
            }
        }
    }
    rules.sort();
    rules.dedup();
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_managed_section() {
        let rules = vec![
            HbaRule::new("coop_b", "coop_b").unwrap(),
            HbaRule::new("coop_a", "coop_a").unwrap(),
        ];
        let text = render("postgres", &rules);
        assert!(
            !text.contains("all       all"),
            "no catch-all line:\n{text}"
        );
        let mut sorted = rules.clone();
        sorted.sort();
        assert_eq!(parse(&text), sorted);
        assert_eq!(parse("host all all 127.0.0.1/32 scram-sha-256\n"), vec![]);
    }

    #[test]
    fn refuses_identifiers_that_could_change_the_file() {
        for bad in ["", "all", "a b", "a\nhost", "A", "x\"", "1abc", "sameuser"] {
            assert!(HbaRule::new(bad, "coop_a").is_err(), "{bad:?}");
            assert!(HbaRule::new("coop_a", bad).is_err(), "{bad:?}");
        }
    }
}
