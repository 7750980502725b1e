//! Fixed-size digests (`checksum160/256/512`) with hex text forms and SHA-256 helpers.
//!
//! Hex input is accepted in either case; output is lowercase, as nodeos prints it.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::bytes::{DecodeError, Pack, Reader, Unpack};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("expected {expected} hex characters for {kind}, got {got:?}")]
pub struct ChecksumError {
    pub kind: &'static str,
    pub expected: usize,
    pub got: String,
}

macro_rules! checksum {
    ($name:ident, $len:expr, $kind:literal) => {
        #[doc = concat!("ABI `", $kind, "`: ", stringify!($len), " raw bytes.")]
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            pub const LEN: usize = $len;

            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            pub fn to_hex_upper(&self) -> String {
                hex::encode_upper(self.0)
            }

            pub fn is_zero(&self) -> bool {
                self.0.iter().all(|&b| b == 0)
            }

            pub fn from_hex(s: &str) -> Result<Self, ChecksumError> {
                let err = || ChecksumError {
                    kind: $kind,
                    expected: $len * 2,
                    got: s.chars().take(200).collect(),
                };
                if s.len() != $len * 2 {
                    return Err(err());
                }
                let mut out = [0u8; $len];
                hex::decode_to_slice(s, &mut out).map_err(|_| err())?;
                Ok($name(out))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name([0u8; $len])
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl FromStr for $name {
            type Err = ChecksumError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::from_hex(s)
            }
        }

        impl Pack for $name {
            fn pack(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.0);
            }
        }

        impl Unpack for $name {
            const MIN_SIZE: usize = $len;
            fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                r.take_array().map($name)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::from_hex(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

checksum!(Checksum160, 20, "checksum160");
checksum!(Checksum256, 32, "checksum256");
checksum!(Checksum512, 64, "checksum512");

impl Checksum256 {
    /// SHA-256 of the given bytes.
    pub fn sha256(data: impl AsRef<[u8]>) -> Self {
        Checksum256(Sha256::digest(data.as_ref()).into())
    }
}

/// Lowercase hex SHA-256 of a UTF-8 string, the `sha256(str)` of the document rules.
pub fn sha256_hex(s: &str) -> String {
    Checksum256::sha256(s.as_bytes()).to_hex()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_either_case() {
        let lower = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let a = Checksum256::from_hex(lower).unwrap();
        let b = Checksum256::from_hex(&lower.to_uppercase()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, Checksum256::sha256(b""));
        assert_eq!(a.to_string(), lower);
        assert!(Checksum256::from_hex("zz").is_err());
        assert!(Checksum160::from_hex(lower).is_err());
    }
}
