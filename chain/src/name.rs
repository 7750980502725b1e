//! Antelope `name`: up to 13 characters of `.12345a-z` packed base-32 into a u64.
//!
//! Parsing is strict like nodeos: invalid characters, more than 13 characters, a 13th character
//! past `j`, and non-normalized forms (trailing dots) are rejected.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::bytes::{DecodeError, Pack, Reader, Unpack};

/// An account, action, table or permission name.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Name(u64);

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NameError {
    #[error("name {0:?} is longer than 13 characters")]
    TooLong(String),
    #[error("name {name:?} has an invalid character {ch:?} (allowed: . 1-5 a-z)")]
    BadChar { name: String, ch: char },
    #[error("name {0:?}: the 13th character must be one of . 1-5 a-j")]
    BadThirteenth(String),
    #[error("name {0:?} is not normalized (trailing dots)")]
    NotNormalized(String),
}

const CHARMAP: &[u8; 32] = b".12345abcdefghijklmnopqrstuvwxyz";

fn char_value(c: u8) -> Option<u64> {
    match c {
        b'.' => Some(0),
        b'1'..=b'5' => Some(u64::from(c - b'1') + 1),
        b'a'..=b'z' => Some(u64::from(c - b'a') + 6),
        _ => None,
    }
}

impl Name {
    pub const fn from_u64(value: u64) -> Self {
        Name(value)
    }

    pub const fn as_u64(self) -> u64 {
        self.0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Parses a name; see the module docs for the rules.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        if s.len() > 13 {
            return Err(NameError::TooLong(s.to_owned()));
        }
        let mut value: u64 = 0;
        for (i, ch) in s.chars().enumerate() {
            let c =
                u8::try_from(ch)
                    .ok()
                    .and_then(char_value)
                    .ok_or_else(|| NameError::BadChar {
                        name: s.to_owned(),
                        ch,
                    })?;
            if i < 12 {
                value |= (c & 0x1f) << (64 - 5 * (i + 1));
            } else {
                if c > 0x0f {
                    return Err(NameError::BadThirteenth(s.to_owned()));
                }
                value |= c;
            }
        }
        let name = Name(value);
        if name.to_string() != s {
            return Err(NameError::NotNormalized(s.to_owned()));
        }
        Ok(name)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [b'.'; 13];
        let mut tmp = self.0;
        for i in 0..13 {
            let (mask, shift) = if i == 0 { (0x0f, 4) } else { (0x1f, 5) };
            buf[12 - i] = CHARMAP[(tmp & mask) as usize];
            tmp >>= shift;
        }
        let end = buf.iter().rposition(|&c| c != b'.').map_or(0, |p| p + 1);
        // CHARMAP is ASCII, so this cannot fail.
        f.write_str(std::str::from_utf8(&buf[..end]).unwrap_or_default())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self})")
    }
}

impl FromStr for Name {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Name::parse(s)
    }
}

impl Pack for Name {
    fn pack(&self, out: &mut Vec<u8>) {
        self.0.pack(out);
    }
}

impl Unpack for Name {
    const MIN_SIZE: usize = 8;
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        u64::unpack(r).map(Name)
    }
}

impl serde::Serialize for Name {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Name {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Name::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// `Name` literal for constants known to be valid; panics at compile time otherwise.
#[macro_export]
macro_rules! name {
    ($s:literal) => {{
        const N: $crate::name::Name = $crate::name::Name::from_u64($crate::name::const_name($s));
        N
    }};
}

/// Compile-time name encoding used by [`name!`]; panics (at compile time) on invalid input.
pub const fn const_name(s: &str) -> u64 {
    let b = s.as_bytes();
    assert!(b.len() <= 13, "name too long");
    let mut value: u64 = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let v: u64 = if c == b'.' {
            0
        } else if c >= b'1' && c <= b'5' {
            (c - b'1') as u64 + 1
        } else if c >= b'a' && c <= b'z' {
            (c - b'a') as u64 + 6
        } else {
            panic!("invalid name character")
        };
        if i < 12 {
            value |= (v & 0x1f) << (64 - 5 * (i + 1));
        } else {
            assert!(v <= 0x0f, "invalid 13th name character");
            value |= v;
        }
        i += 1;
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects() {
        for s in [
            "",
            "a",
            "eosio",
            "eosio.token",
            "zzzzzzzzzzzzj",
            "a.b.c.d",
            ".a",
        ] {
            assert_eq!(Name::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(Name::parse("eosio").unwrap().as_u64(), 6138663577826885632);
        assert!(Name::parse("zzzzzzzzzzzzz").is_err());
        assert!(Name::parse("abcdefghijklmn").is_err());
        assert!(Name::parse("Abc").is_err());
        assert!(Name::parse("abc6").is_err());
        assert!(Name::parse("abc.").is_err());
        assert!(Name::parse("ab\u{430}").is_err());
        assert_eq!(name!("soviet"), Name::parse("soviet").unwrap());
    }
}
