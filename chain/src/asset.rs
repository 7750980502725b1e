//! Antelope `symbol_code`, `symbol`, `asset` and `extended_asset`.
//!
//! Text forms: symbol code `RUB`, symbol `4,RUB`, asset `100.0000 RUB` (the number of digits after
//! the dot is the precision), extended asset `100.0000 RUB@eosio.token`. Parsing is strict:
//! precision at most 18, symbol code 1-7 uppercase letters `A-Z`, the amount must fit in an `i64`.
//!
//! Binary forms: a symbol code is the ASCII letters packed little-endian into a u64; a symbol is
//! `precision | code << 8`; an asset is `amount: i64` followed by the symbol. Decoding checks the
//! same rules, except that it accepts the empty symbol code (raw value 0), which default-constructed
//! contract assets (`asset()`) store on chain.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::bytes::{DecodeError, Pack, Reader, Unpack};
use crate::name::Name;

/// Largest precision nodeos accepts.
pub const MAX_PRECISION: u8 = 18;

/// Why a symbol, asset or extended asset text (or raw value) was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AssetError {
    #[error("symbol code {0:?} must be 1-7 uppercase letters A-Z")]
    BadSymbolCode(String),
    #[error("symbol {0:?} must look like \"4,RUB\" (precision 0-18, comma, code)")]
    BadSymbol(String),
    #[error("precision {precision} in {text:?} exceeds the maximum of 18")]
    Precision { text: String, precision: u64 },
    #[error("asset {0:?} must look like \"100.0000 RUB\" (digits, optional dot and digits, one space, code)")]
    BadAsset(String),
    #[error("amount of asset {0:?} does not fit in a signed 64-bit integer")]
    Overflow(String),
    #[error("asset {text:?} has {digits} digits after the dot, but {expected} needs {precision}")]
    PrecisionMismatch {
        text: String,
        digits: usize,
        expected: String,
        precision: u8,
    },
    #[error("extended asset {0:?} must look like \"100.0000 RUB@contract\"")]
    BadExtendedAsset(String),
    #[error("raw value {0:#018x} is not a valid symbol")]
    BadRawSymbol(u64),
    #[error("raw value {0:#018x} is not a valid symbol code")]
    BadRawSymbolCode(u64),
}

/// Keeps error messages short when the input is huge.
fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

/// A token symbol code such as `RUB` or `AXON`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SymbolCode(u64);

impl SymbolCode {
    /// Checks a raw value: letters `A-Z` from the low byte up, then only zero bytes.
    /// Returns the number of letters (0 for the empty code).
    fn raw_len(raw: u64) -> Option<usize> {
        let bytes = raw.to_le_bytes();
        let len = bytes.iter().position(|&b| b == 0).unwrap_or(8);
        if len > 7
            || !bytes[..len].iter().all(u8::is_ascii_uppercase)
            || bytes[len..].iter().any(|&b| b != 0)
        {
            return None;
        }
        Some(len)
    }

    /// Wraps a raw value, checking it (the empty code 0 is accepted).
    pub fn from_u64(raw: u64) -> Result<Self, AssetError> {
        Self::raw_len(raw)
            .map(|_| SymbolCode(raw))
            .ok_or(AssetError::BadRawSymbolCode(raw))
    }

    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// Parses `RUB`: 1-7 uppercase letters.
    pub fn parse(s: &str) -> Result<Self, AssetError> {
        let b = s.as_bytes();
        if b.is_empty() || b.len() > 7 || !b.iter().all(u8::is_ascii_uppercase) {
            return Err(AssetError::BadSymbolCode(clip(s)));
        }
        let mut raw = [0u8; 8];
        raw[..b.len()].copy_from_slice(b);
        Ok(SymbolCode(u64::from_le_bytes(raw)))
    }
}

impl fmt::Display for SymbolCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0.to_le_bytes().iter().take_while(|&&b| b != 0) {
            fmt::Write::write_char(f, char::from(*b))?;
        }
        Ok(())
    }
}

impl fmt::Debug for SymbolCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SymbolCode({self})")
    }
}

impl FromStr for SymbolCode {
    type Err = AssetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SymbolCode::parse(s)
    }
}

impl Pack for SymbolCode {
    fn pack(&self, out: &mut Vec<u8>) {
        self.0.pack(out);
    }
}

impl Unpack for SymbolCode {
    const MIN_SIZE: usize = 8;
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let offset = r.offset();
        let raw = u64::unpack(r)?;
        SymbolCode::from_u64(raw).map_err(|e| DecodeError::Invalid {
            offset,
            reason: e.to_string(),
        })
    }
}

/// A symbol: precision (decimal places) and code, e.g. `4,RUB`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Symbol(u64);

impl Symbol {
    pub fn new(precision: u8, code: SymbolCode) -> Result<Self, AssetError> {
        if precision > MAX_PRECISION {
            return Err(AssetError::Precision {
                text: format!("{precision},{code}"),
                precision: u64::from(precision),
            });
        }
        Ok(Symbol(u64::from(precision) | (code.0 << 8)))
    }

    /// Wraps a raw value, checking precision and code.
    pub fn from_u64(raw: u64) -> Result<Self, AssetError> {
        let precision = (raw & 0xff) as u8;
        if precision > MAX_PRECISION || SymbolCode::raw_len(raw >> 8).is_none() {
            return Err(AssetError::BadRawSymbol(raw));
        }
        Ok(Symbol(raw))
    }

    pub const fn as_u64(self) -> u64 {
        self.0
    }

    pub const fn precision(self) -> u8 {
        (self.0 & 0xff) as u8
    }

    pub const fn code(self) -> SymbolCode {
        SymbolCode(self.0 >> 8)
    }

    /// Parses `4,RUB`.
    pub fn parse(s: &str) -> Result<Self, AssetError> {
        let (p, code) = s
            .split_once(',')
            .ok_or_else(|| AssetError::BadSymbol(clip(s)))?;
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AssetError::BadSymbol(clip(s)));
        }
        let precision: u64 = p.parse().map_err(|_| AssetError::BadSymbol(clip(s)))?;
        if precision > u64::from(MAX_PRECISION) {
            return Err(AssetError::Precision {
                text: clip(s),
                precision,
            });
        }
        let code = SymbolCode::parse(code)?;
        Symbol::new(precision as u8, code)
    }

    /// 10^precision.
    fn scale(self) -> u64 {
        10u64.pow(u32::from(self.precision()))
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.precision(), self.code())
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Symbol({self})")
    }
}

impl FromStr for Symbol {
    type Err = AssetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Symbol::parse(s)
    }
}

impl Pack for Symbol {
    fn pack(&self, out: &mut Vec<u8>) {
        self.0.pack(out);
    }
}

impl Unpack for Symbol {
    const MIN_SIZE: usize = 8;
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let offset = r.offset();
        let raw = u64::unpack(r)?;
        Symbol::from_u64(raw).map_err(|e| DecodeError::Invalid {
            offset,
            reason: e.to_string(),
        })
    }
}

/// An amount of a token: `amount` in units of 10^-precision.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Asset {
    pub amount: i64,
    pub symbol: Symbol,
}

impl Asset {
    pub const fn new(amount: i64, symbol: Symbol) -> Self {
        Asset { amount, symbol }
    }

    /// Parses `100.0000 RUB`; the precision is the number of digits after the dot.
    pub fn parse(s: &str) -> Result<Self, AssetError> {
        let bad = || AssetError::BadAsset(clip(s));
        let (number, code) = s.split_once(' ').ok_or_else(bad)?;
        let code = SymbolCode::parse(code)?;
        let (negative, digits) = match number.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, number),
        };
        let (int_part, frac_part) = match digits.split_once('.') {
            Some((i, f)) => {
                if f.is_empty() {
                    return Err(bad());
                }
                (i, f)
            }
            None => (digits, ""),
        };
        if int_part.is_empty()
            || !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        if frac_part.len() > usize::from(MAX_PRECISION) {
            return Err(AssetError::Precision {
                text: clip(s),
                precision: frac_part.len() as u64,
            });
        }
        let overflow = || AssetError::Overflow(clip(s));
        let mut magnitude: i128 = 0;
        for b in int_part.bytes().chain(frac_part.bytes()) {
            magnitude = magnitude
                .checked_mul(10)
                .and_then(|m| m.checked_add(i128::from(b - b'0')))
                .filter(|m| *m <= i128::from(i64::MAX) + 1)
                .ok_or_else(overflow)?;
        }
        let signed = if negative { -magnitude } else { magnitude };
        let amount = i64::try_from(signed).map_err(|_| overflow())?;
        let symbol = Symbol::new(frac_part.len() as u8, code)?;
        Ok(Asset { amount, symbol })
    }

    /// Parses `s` and checks that it uses exactly `expected` (same code and precision).
    pub fn parse_as(s: &str, expected: Symbol) -> Result<Self, AssetError> {
        let asset = Asset::parse(s)?;
        if asset.symbol.code() != expected.code() {
            return Err(AssetError::BadAsset(clip(s)));
        }
        if asset.symbol.precision() != expected.precision() {
            return Err(AssetError::PrecisionMismatch {
                text: clip(s),
                digits: usize::from(asset.symbol.precision()),
                expected: expected.to_string(),
                precision: expected.precision(),
            });
        }
        Ok(asset)
    }
}

impl fmt::Display for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.amount < 0 { "-" } else { "" };
        let magnitude = self.amount.unsigned_abs();
        let precision = usize::from(self.symbol.precision());
        if precision == 0 {
            write!(f, "{sign}{magnitude} {}", self.symbol.code())
        } else {
            let scale = self.symbol.scale();
            write!(
                f,
                "{sign}{}.{:0width$} {}",
                magnitude / scale,
                magnitude % scale,
                self.symbol.code(),
                width = precision
            )
        }
    }
}

impl fmt::Debug for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Asset({self})")
    }
}

impl FromStr for Asset {
    type Err = AssetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Asset::parse(s)
    }
}

impl Pack for Asset {
    fn pack(&self, out: &mut Vec<u8>) {
        self.amount.pack(out);
        self.symbol.pack(out);
    }
}

impl Unpack for Asset {
    const MIN_SIZE: usize = 16;
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Asset {
            amount: i64::unpack(r)?,
            symbol: Symbol::unpack(r)?,
        })
    }
}

/// An asset together with the token contract that issues it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ExtendedAsset {
    pub quantity: Asset,
    pub contract: Name,
}

impl ExtendedAsset {
    /// Parses `100.0000 RUB@eosio.token`.
    pub fn parse(s: &str) -> Result<Self, AssetError> {
        let (quantity, contract) = s
            .rsplit_once('@')
            .ok_or_else(|| AssetError::BadExtendedAsset(clip(s)))?;
        let contract = Name::parse(contract).map_err(|_| AssetError::BadExtendedAsset(clip(s)))?;
        Ok(ExtendedAsset {
            quantity: Asset::parse(quantity)?,
            contract,
        })
    }
}

impl fmt::Display for ExtendedAsset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.quantity, self.contract)
    }
}

impl fmt::Debug for ExtendedAsset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ExtendedAsset({self})")
    }
}

impl FromStr for ExtendedAsset {
    type Err = AssetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ExtendedAsset::parse(s)
    }
}

impl Pack for ExtendedAsset {
    fn pack(&self, out: &mut Vec<u8>) {
        self.quantity.pack(out);
        self.contract.pack(out);
    }
}

impl Unpack for ExtendedAsset {
    const MIN_SIZE: usize = 24;
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ExtendedAsset {
            quantity: Asset::unpack(r)?,
            contract: Name::unpack(r)?,
        })
    }
}

macro_rules! serde_as_string {
    ($($t:ty),*) => {$(
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                <$t>::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    )*};
}
serde_as_string!(SymbolCode, Symbol, Asset);

#[derive(serde::Serialize, serde::Deserialize)]
struct ExtendedAssetJson {
    quantity: Asset,
    contract: Name,
}

impl serde::Serialize for ExtendedAsset {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ExtendedAssetJson {
            quantity: self.quantity,
            contract: self.contract,
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for ExtendedAsset {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let j = ExtendedAssetJson::deserialize(d)?;
        Ok(ExtendedAsset {
            quantity: j.quantity,
            contract: j.contract,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_display_round_trip() {
        for s in [
            "100.0000 RUB",
            "0.0000 AXON",
            "-1.2345 RUB",
            "1 XYZ",
            "1000000.00 USD",
        ] {
            assert_eq!(Asset::parse(s).unwrap().to_string(), s);
        }
        let min = Asset::parse("-922337203685477.5808 RUB").unwrap();
        assert_eq!(min.amount, i64::MIN);
        assert_eq!(min.to_string(), "-922337203685477.5808 RUB");
        assert_eq!(Symbol::parse("4,RUB").unwrap().to_string(), "4,RUB");
        assert_eq!(Symbol::parse("18,ABCDEFG").unwrap().precision(), 18);
    }

    #[test]
    fn rejects_bad_text() {
        for s in [
            "",
            "1",
            "1 rub",
            "1.0 RUB ",
            " 1.0 RUB",
            "1. RUB",
            ".1 RUB",
            "1.0  RUB",
            "+1 RUB",
            "1.0 ABCDEFGH",
            "9223372036854775808 RUB",
            "1.0000000000000000000 RUB",
            "1,0 RUB",
            "--1 RUB",
            "1e5 RUB",
        ] {
            assert!(Asset::parse(s).is_err(), "{s:?}");
        }
        for s in [
            "", "4", "4,", ",RUB", "19,RUB", "4,rub", "-1,RUB", "1000,RUB", "4,RUB,",
        ] {
            assert!(Symbol::parse(s).is_err(), "{s:?}");
        }
        let e = Asset::parse_as("1.00 RUB", Symbol::parse("4,RUB").unwrap()).unwrap_err();
        assert!(matches!(
            e,
            AssetError::PrecisionMismatch {
                digits: 2,
                precision: 4,
                ..
            }
        ));
    }

    #[test]
    fn binary_checks_raw_values() {
        let a = Asset::parse("1.0000 RUB").unwrap();
        assert_eq!(Asset::unpacked(&a.packed()).unwrap(), a);
        assert!(Symbol::from_u64(19).is_err());
        assert!(Symbol::from_u64(0x61_04).is_err()); // lowercase 'a'
        assert!(Symbol::from_u64(0x4100_4104).is_err()); // gap in the code
        assert!(Symbol::from_u64(0).is_ok()); // default symbol() stored by contracts
    }

    #[test]
    fn extended_asset_text_and_json() {
        let e = ExtendedAsset::parse("1.0000 RUB@eosio.token").unwrap();
        assert_eq!(e.to_string(), "1.0000 RUB@eosio.token");
        let j = serde_json::to_value(e).unwrap();
        assert_eq!(
            j,
            serde_json::json!({"quantity": "1.0000 RUB", "contract": "eosio.token"})
        );
        assert_eq!(serde_json::from_value::<ExtendedAsset>(j).unwrap(), e);
    }
}
