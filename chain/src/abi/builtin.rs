//! The built-in ABI types and their JSON <-> binary conversions (wharfkit JSON conventions).
//!
//! JSON forms: 8-32 bit integers and varints as numbers; 64/128-bit integers as numbers when
//! `|v| <= 2^53 - 1`, else decimal strings (input accepts either for every integer type, with
//! strict range checks); floats as numbers (`"NaN"`, `"Infinity"`, `"-Infinity"` strings for the
//! non-finite values); `float128` and `bytes` as hex; names, times, symbols, assets, checksums,
//! keys and signatures as their text forms; `extended_asset` as `{"quantity", "contract"}`.

use std::str::FromStr;

use serde_json::{Map, Number, Value};

use crate::asset::{Asset, ExtendedAsset, Symbol, SymbolCode};
use crate::bytes::{pack_bytes, pack_varint32, pack_varuint32, DecodeError, Pack, Reader, Unpack};
use crate::checksum::{Checksum160, Checksum256, Checksum512};
use crate::keys::{PublicKey, Signature};
use crate::name::Name;
use crate::time::{BlockTimestamp, TimePoint, TimePointSec};

/// Largest integer magnitude a JSON number carries exactly in JavaScript (2^53 - 1).
const MAX_SAFE_INTEGER: u128 = (1 << 53) - 1;

macro_rules! builtins {
    ($($variant:ident = $name:literal, $min:expr;)*) => {
        /// A built-in ABI type.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub(crate) enum Builtin { $($variant),* }

        /// The names of the ABI's built-in types (everything that is not a struct, variant or
        /// alias), in the order of `Builtin`.
        pub const BUILTIN_TYPE_NAMES: &[&str] = &[$($name),*];

        impl Builtin {
            pub(crate) const ALL: &'static [Builtin] = &[$(Builtin::$variant),*];

            pub(crate) fn name(self) -> &'static str {
                match self { $(Builtin::$variant => $name),* }
            }

            /// The smallest encoded size, in bytes.
            pub(crate) fn min_size(self) -> usize {
                match self { $(Builtin::$variant => $min),* }
            }
        }
    };
}

builtins! {
    Bool = "bool", 1;
    Int8 = "int8", 1;
    Uint8 = "uint8", 1;
    Int16 = "int16", 2;
    Uint16 = "uint16", 2;
    Int32 = "int32", 4;
    Uint32 = "uint32", 4;
    Int64 = "int64", 8;
    Uint64 = "uint64", 8;
    Int128 = "int128", 16;
    Uint128 = "uint128", 16;
    VarInt32 = "varint32", 1;
    VarUint32 = "varuint32", 1;
    Float32 = "float32", 4;
    Float64 = "float64", 8;
    Float128 = "float128", 16;
    TimePoint = "time_point", 8;
    TimePointSec = "time_point_sec", 4;
    BlockTimestamp = "block_timestamp_type", 4;
    Name = "name", 8;
    Bytes = "bytes", 1;
    String = "string", 1;
    Checksum160 = "checksum160", 20;
    Checksum256 = "checksum256", 32;
    Checksum512 = "checksum512", 64;
    PublicKey = "public_key", 34;
    Signature = "signature", 66;
    Symbol = "symbol", 8;
    SymbolCode = "symbol_code", 8;
    Asset = "asset", 16;
    ExtendedAsset = "extended_asset", 24;
}

/// A JSON number for small magnitudes, else a decimal string.
fn big_int(negative: bool, magnitude: u128) -> Value {
    if magnitude <= MAX_SAFE_INTEGER {
        // Fits in 53 bits, so the i64 conversion is exact.
        let v = magnitude as i64;
        Value::from(if negative { -v } else { v })
    } else if negative {
        Value::String(format!("-{magnitude}"))
    } else {
        Value::String(magnitude.to_string())
    }
}

fn float_value(v: f64) -> Value {
    match Number::from_f64(v) {
        Some(n) => Value::Number(n),
        None if v.is_nan() => Value::String("NaN".into()),
        None if v > 0.0 => Value::String("Infinity".into()),
        None => Value::String("-Infinity".into()),
    }
}

fn str_value(s: impl ToString) -> Value {
    Value::String(s.to_string())
}

impl Builtin {
    /// Reads one value and renders it as JSON.
    pub(crate) fn decode(self, r: &mut Reader<'_>) -> Result<Value, DecodeError> {
        Ok(match self {
            Builtin::Bool => Value::Bool(bool::unpack(r)?),
            Builtin::Int8 => Value::from(i8::unpack(r)?),
            Builtin::Uint8 => Value::from(u8::unpack(r)?),
            Builtin::Int16 => Value::from(i16::unpack(r)?),
            Builtin::Uint16 => Value::from(u16::unpack(r)?),
            Builtin::Int32 => Value::from(i32::unpack(r)?),
            Builtin::Uint32 => Value::from(u32::unpack(r)?),
            Builtin::Int64 => {
                let v = i64::unpack(r)?;
                big_int(v < 0, u128::from(v.unsigned_abs()))
            }
            Builtin::Uint64 => big_int(false, u128::from(u64::unpack(r)?)),
            Builtin::Int128 => {
                let v = i128::unpack(r)?;
                big_int(v < 0, v.unsigned_abs())
            }
            Builtin::Uint128 => big_int(false, u128::unpack(r)?),
            Builtin::VarInt32 => Value::from(r.varint32()?),
            Builtin::VarUint32 => Value::from(r.varuint32()?),
            Builtin::Float32 => float_value(f64::from(f32::unpack(r)?)),
            Builtin::Float64 => float_value(f64::unpack(r)?),
            Builtin::Float128 => Value::String(hex::encode(r.take(16)?)),
            Builtin::TimePoint => str_value(TimePoint::unpack(r)?),
            Builtin::TimePointSec => str_value(TimePointSec::unpack(r)?),
            Builtin::BlockTimestamp => str_value(BlockTimestamp::unpack(r)?),
            Builtin::Name => str_value(Name::unpack(r)?),
            Builtin::Bytes => Value::String(hex::encode(r.bytes()?)),
            Builtin::String => Value::String(r.string()?),
            Builtin::Checksum160 => Value::String(Checksum160::unpack(r)?.to_hex()),
            Builtin::Checksum256 => Value::String(Checksum256::unpack(r)?.to_hex()),
            Builtin::Checksum512 => Value::String(Checksum512::unpack(r)?.to_hex()),
            Builtin::PublicKey => str_value(PublicKey::unpack(r)?),
            Builtin::Signature => str_value(Signature::unpack(r)?),
            Builtin::Symbol => str_value(Symbol::unpack(r)?),
            Builtin::SymbolCode => str_value(SymbolCode::unpack(r)?),
            Builtin::Asset => str_value(Asset::unpack(r)?),
            Builtin::ExtendedAsset => {
                let e = ExtendedAsset::unpack(r)?;
                let mut m = Map::with_capacity(2);
                m.insert("quantity".into(), str_value(e.quantity));
                m.insert("contract".into(), str_value(e.contract));
                Value::Object(m)
            }
        })
    }

    /// Writes the binary form of a JSON value; the error says what was wrong with the value.
    pub(crate) fn encode(self, v: &Value, out: &mut Vec<u8>) -> Result<(), String> {
        match self {
            Builtin::Bool => match v {
                Value::Bool(b) => b.pack(out),
                _ => return Err("expected true or false".into()),
            },
            Builtin::Int8 => (int(v, i8::MIN.into(), i8::MAX as u128)? as i8).pack(out),
            Builtin::Uint8 => (int(v, 0, u8::MAX.into())? as u8).pack(out),
            Builtin::Int16 => (int(v, i16::MIN.into(), i16::MAX as u128)? as i16).pack(out),
            Builtin::Uint16 => (int(v, 0, u16::MAX.into())? as u16).pack(out),
            Builtin::Int32 => (int(v, i32::MIN.into(), i32::MAX as u128)? as i32).pack(out),
            Builtin::Uint32 => (int(v, 0, u32::MAX.into())? as u32).pack(out),
            Builtin::Int64 => (int(v, i64::MIN.into(), i64::MAX as u128)? as i64).pack(out),
            Builtin::Uint64 => (int(v, 0, u64::MAX.into())? as u64).pack(out),
            Builtin::Int128 => int(v, i128::MIN, i128::MAX as u128)?.pack(out),
            Builtin::Uint128 => {
                let (negative, magnitude) = int_parts(v)?;
                if negative && magnitude != 0 {
                    return Err("out of range for uint128".into());
                }
                magnitude.pack(out);
            }
            Builtin::VarInt32 => {
                pack_varint32(int(v, i32::MIN.into(), i32::MAX as u128)? as i32, out)
            }
            Builtin::VarUint32 => pack_varuint32(int(v, 0, u32::MAX.into())? as u32, out),
            Builtin::Float32 => {
                let f = float(v)?;
                let narrow = f as f32;
                if f.is_finite() && !narrow.is_finite() {
                    return Err("out of range for float32".into());
                }
                narrow.pack(out);
            }
            Builtin::Float64 => float(v)?.pack(out),
            Builtin::Float128 => {
                let s = text(v)?;
                let mut raw = [0u8; 16];
                if s.len() != 32 || hex::decode_to_slice(s, &mut raw).is_err() {
                    return Err("expected 32 hex characters".into());
                }
                out.extend_from_slice(&raw);
            }
            Builtin::TimePoint => parse::<TimePoint>(v)?.pack(out),
            Builtin::TimePointSec => parse::<TimePointSec>(v)?.pack(out),
            Builtin::BlockTimestamp => parse::<BlockTimestamp>(v)?.pack(out),
            Builtin::Name => parse::<Name>(v)?.pack(out),
            Builtin::Bytes => {
                let s = text(v)?;
                let raw = hex::decode(s).map_err(|e| format!("expected hex bytes: {e}"))?;
                pack_bytes(&raw, out);
            }
            Builtin::String => text(v)?.pack(out),
            Builtin::Checksum160 => parse::<Checksum160>(v)?.pack(out),
            Builtin::Checksum256 => parse::<Checksum256>(v)?.pack(out),
            Builtin::Checksum512 => parse::<Checksum512>(v)?.pack(out),
            Builtin::PublicKey => parse::<PublicKey>(v)?.pack(out),
            Builtin::Signature => parse::<Signature>(v)?.pack(out),
            Builtin::Symbol => parse::<Symbol>(v)?.pack(out),
            Builtin::SymbolCode => parse::<SymbolCode>(v)?.pack(out),
            Builtin::Asset => parse::<Asset>(v)?.pack(out),
            Builtin::ExtendedAsset => match v {
                Value::Object(m) => {
                    if let Some(extra) = m.keys().find(|k| *k != "quantity" && *k != "contract") {
                        return Err(format!("unexpected key {extra:?} in extended_asset"));
                    }
                    let field = |k: &str| m.get(k).ok_or_else(|| format!("missing key {k:?}"));
                    let quantity = parse::<Asset>(field("quantity")?)?;
                    let contract = parse::<Name>(field("contract")?)?;
                    ExtendedAsset { quantity, contract }.pack(out);
                }
                _ => parse::<ExtendedAsset>(v)?.pack(out),
            },
        }
        Ok(())
    }
}

fn text(v: &Value) -> Result<&str, String> {
    v.as_str().ok_or_else(|| "expected a string".to_owned())
}

fn parse<T>(v: &Value) -> Result<T, String>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    text(v)?.parse::<T>().map_err(|e| e.to_string())
}

/// Sign and magnitude of a JSON integer (a number, or a decimal string with optional `-`).
fn int_parts(v: &Value) -> Result<(bool, u128), String> {
    match v {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Ok((false, u128::from(u)))
            } else if let Some(i) = n.as_i64() {
                Ok((i < 0, u128::from(i.unsigned_abs())))
            } else {
                Err(format!(
                    "{n} is not an integer (use a decimal string for large values)"
                ))
            }
        }
        Value::String(s) => {
            let (negative, digits) = match s.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, s.as_str()),
            };
            if digits.is_empty() || digits.len() > 39 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return Err("expected an integer or a decimal string".into());
            }
            let magnitude = digits
                .parse::<u128>()
                .map_err(|_| "integer out of range".to_owned())?;
            Ok((negative, magnitude))
        }
        _ => Err("expected an integer or a decimal string".into()),
    }
}

/// A JSON integer checked against `[min, max]`, returned as i128 (max may exceed i128 only for
/// uint128, which is handled separately).
fn int(v: &Value, min: i128, max: u128) -> Result<i128, String> {
    let (negative, magnitude) = int_parts(v)?;
    let in_range = if negative {
        magnitude <= min.unsigned_abs()
    } else {
        magnitude <= max
    };
    if !in_range {
        return Err(format!("{} is out of range [{min}, {max}]", render(v)));
    }
    Ok(if negative {
        // magnitude <= |min| <= 2^127, so the negation fits (i128::MIN case via wrapping).
        0i128.wrapping_sub_unsigned(magnitude)
    } else {
        magnitude as i128
    })
}

fn float(v: &Value) -> Result<f64, String> {
    match v {
        Value::Number(n) => n.as_f64().ok_or_else(|| "expected a number".to_owned()),
        Value::String(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            other => other
                .parse::<f64>()
                .map_err(|_| "expected a number".to_owned()),
        },
        _ => Err("expected a number".into()),
    }
}

/// A short rendering of a JSON value for error messages.
pub(crate) fn render(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 64 {
        let mut clipped: String = s.chars().take(61).collect();
        clipped.push_str("...");
        clipped
    } else {
        s
    }
}
