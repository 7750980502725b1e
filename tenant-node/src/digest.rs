//! Canonical digest encoding (pure): a SHA-256 over named sections of typed records, each field
//! tagged and length-prefixed so no two different record streams encode alike, JSON in RFC 8785
//! canonical form so the database's JSON rendering does not matter.

use sha2::{Digest, Sha256};

/// Version tag hashed first; bump it when the encoding or the digested set changes.
pub const DIGEST_VERSION: &str = "tenant-node chain digest v1";

/// One field of a record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Field<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Text(&'a str),
    Bytes(&'a [u8]),
    /// JSON text, hashed in canonical form (as given if it does not parse).
    Json(&'a str),
}

/// Accumulates sections and records.
#[derive(Debug, Clone)]
pub struct Digester {
    hasher: Sha256,
    records: u64,
}

impl Default for Digester {
    fn default() -> Self {
        Digester::new()
    }
}

impl Digester {
    pub fn new() -> Digester {
        let mut d = Digester {
            hasher: Sha256::new(),
            records: 0,
        };
        d.chunk(b'V', DIGEST_VERSION.as_bytes());
        d
    }

    fn chunk(&mut self, tag: u8, payload: &[u8]) {
        self.hasher.update([tag]);
        self.hasher.update((payload.len() as u64).to_be_bytes());
        self.hasher.update(payload);
    }

    /// Starts a named section (a table, in its canonical order).
    pub fn section(&mut self, name: &str) {
        self.chunk(b'S', name.as_bytes());
    }

    /// Adds one record.
    pub fn record(&mut self, fields: &[Field<'_>]) {
        self.records += 1;
        self.hasher.update([b'R']);
        self.hasher.update((fields.len() as u64).to_be_bytes());
        for f in fields {
            match f {
                Field::Null => self.chunk(b'n', &[]),
                Field::Bool(b) => self.chunk(b'b', &[u8::from(*b)]),
                Field::Int(i) => self.chunk(b'i', &i.to_be_bytes()),
                Field::Text(t) => self.chunk(b't', t.as_bytes()),
                Field::Bytes(b) => self.chunk(b'x', b),
                Field::Json(j) => match chain::jcs::canonicalize_str(j) {
                    Ok(c) => self.chunk(b'j', c.as_bytes()),
                    Err(_) => self.chunk(b'J', j.as_bytes()),
                },
            }
        }
    }

    /// Records added so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Lowercase hex SHA-256.
    pub fn finish(self) -> String {
        hex::encode(self.hasher.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(sections: &[(&str, Vec<Vec<Field<'_>>>)]) -> String {
        let mut d = Digester::new();
        for (name, records) in sections {
            d.section(name);
            for r in records {
                d.record(r);
            }
        }
        d.finish()
    }

    #[test]
    fn json_key_order_and_spacing_do_not_matter() {
        let a = digest(&[("t", vec![vec![Field::Json(r#"{"a":1,"b":[true]}"#)]])]);
        let b = digest(&[("t", vec![vec![Field::Json(r#"{ "b": [true], "a": 1 }"#)]])]);
        assert_eq!(a, b);
    }

    #[test]
    fn boundaries_and_types_are_part_of_the_encoding() {
        let split = |x: &'static str, y: &'static str| {
            digest(&[("t", vec![vec![Field::Text(x), Field::Text(y)]])])
        };
        assert_ne!(split("ab", "c"), split("a", "bc"));
        assert_ne!(
            digest(&[("t", vec![vec![Field::Text("1")]])]),
            digest(&[("t", vec![vec![Field::Int(1)]])])
        );
        assert_ne!(
            digest(&[("t", vec![vec![Field::Null]])]),
            digest(&[("t", vec![vec![Field::Text("")]])])
        );
        assert_ne!(
            digest(&[("a", vec![vec![Field::Int(1)]]), ("b", vec![])]),
            digest(&[("a", vec![]), ("b", vec![vec![Field::Int(1)]])])
        );
        assert_eq!(digest(&[]).len(), 64);
    }
}
