//! Antelope time types: `time_point` (µs), `time_point_sec` (s) and `block_timestamp_type` (500 ms slots since 2000).
//!
//! Text forms follow nodeos/wharfkit: `2024-12-28T06:58:52` for `time_point_sec`,
//! `2024-12-28T06:58:52.500` for `time_point` and `block_timestamp_type` (UTC, no zone suffix).
//! A `time_point` with sub-millisecond precision prints 6 fractional digits so that text round
//! trips are lossless. Parsing accepts an optional trailing `Z` and 1-6 fractional digits; a
//! fraction the type cannot hold exactly is an error rather than being rounded.
//!
//! Years outside 0000-9999 (reachable only by `time_point`) use the ISO 8601 expanded form
//! (`+010000-01-01T00:00:00.000`). The civil-date math is Howard Hinnant's `days_from_civil`.

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use thiserror::Error;

use crate::bytes::{DecodeError, Pack, Reader, Unpack};

/// Why a time text was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TimeError {
    #[error("time {0:?} must look like 2024-12-28T06:58:52[.500][Z]")]
    Format(String),
    #[error("time {0:?} is not a valid calendar date and time")]
    Invalid(String),
    #[error("time {text:?} is out of range for {kind}")]
    OutOfRange { text: String, kind: &'static str },
    #[error("time {text:?}: the fractional seconds cannot be represented exactly by {kind}")]
    Fraction { text: String, kind: &'static str },
}

fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

const MICROS_PER_SEC: i64 = 1_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = (if y >= 0 { y } else { y - 399 }) / 400;
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = (if z >= 0 { z } else { z - 146_096 }) / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// How many fractional digits to print.
#[derive(Clone, Copy)]
enum Frac {
    None,
    Millis,
    /// Milliseconds, or microseconds when they are not a whole number of milliseconds.
    Auto,
}

/// Formats microseconds since the Unix epoch as ISO 8601 without a zone suffix.
fn write_iso(f: &mut fmt::Formatter<'_>, micros: i64, frac: Frac) -> fmt::Result {
    let secs = micros.div_euclid(MICROS_PER_SEC);
    let sub = micros.rem_euclid(MICROS_PER_SEC);
    let days = secs.div_euclid(SECS_PER_DAY);
    let tod = secs.rem_euclid(SECS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    if (0..=9999).contains(&year) {
        write!(f, "{year:04}")?;
    } else {
        write!(f, "{year:+07}")?;
    }
    write!(
        f,
        "-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    )?;
    match frac {
        Frac::None => Ok(()),
        Frac::Auto if sub % 1000 != 0 => write!(f, ".{sub:06}"),
        Frac::Millis | Frac::Auto => write!(f, ".{:03}", sub / 1000),
    }
}

/// A parsed ISO 8601 time: microseconds since the Unix epoch (as i128 so callers range-check).
fn parse_iso(s: &str) -> Result<i128, TimeError> {
    let format = || TimeError::Format(clip(s));
    let text = s.strip_suffix('Z').unwrap_or(s);
    let b = text.as_bytes();
    // Year: 4 digits, or a sign and 6-9 digits (ISO 8601 expanded form).
    let (year, rest) = match b.first() {
        Some(&sign @ (b'+' | b'-')) => {
            let n = b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if !(6..=9).contains(&n) {
                return Err(format());
            }
            let v = digits(&b[1..=n]).ok_or_else(format)?;
            (if sign == b'-' { -v } else { v }, &b[1 + n..])
        }
        _ => (
            digits(b.get(..4).ok_or_else(format)?).ok_or_else(format)?,
            &b[4..],
        ),
    };
    // "-MM-DDTHH:MM:SS" is 15 bytes.
    if rest.len() < 15
        || rest[0] != b'-'
        || rest[3] != b'-'
        || rest[6] != b'T'
        || rest[9] != b':'
        || rest[12] != b':'
    {
        return Err(format());
    }
    let field = |at: usize| digits(&rest[at..at + 2]).ok_or_else(format);
    let (month, day, hour, minute, second) =
        (field(1)?, field(4)?, field(7)?, field(10)?, field(13)?);
    let frac = &rest[15..];
    let micros = match frac.split_first() {
        None => 0,
        Some((b'.', d)) if (1..=6).contains(&d.len()) => {
            let v = digits(d).ok_or_else(format)?;
            v * 10i64.pow(6 - d.len() as u32)
        }
        Some(_) => return Err(format()),
    };
    let (month, day) = (month as u32, day as u32);
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(TimeError::Invalid(clip(s)));
    }
    let days = i128::from(days_from_civil(year, month, day));
    let secs = days * 86_400 + i128::from(hour * 3600 + minute * 60 + second);
    Ok(secs * 1_000_000 + i128::from(micros))
}

/// Decimal value of an all-digit slice (at most 9 digits so it cannot overflow).
fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 9 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        b.iter()
            .fold(0i64, |acc, &c| acc * 10 + i64::from(c - b'0')),
    )
}

fn now_micros() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_micros()).map_or(i64::MIN, |v| -v),
    }
}

/// `time_point`: microseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TimePoint(i64);

impl TimePoint {
    pub const fn from_micros(micros: i64) -> Self {
        TimePoint(micros)
    }

    pub const fn as_micros(self) -> i64 {
        self.0
    }

    /// Milliseconds since the epoch (rounded toward negative infinity).
    pub const fn as_millis(self) -> i64 {
        self.0.div_euclid(1000)
    }

    pub fn now() -> Self {
        TimePoint(now_micros())
    }

    /// Whole seconds (rounded down); `None` outside the `time_point_sec` range.
    pub fn to_time_point_sec(self) -> Option<TimePointSec> {
        u32::try_from(self.0.div_euclid(MICROS_PER_SEC))
            .ok()
            .map(TimePointSec)
    }

    pub fn parse(s: &str) -> Result<Self, TimeError> {
        let micros = parse_iso(s)?;
        i64::try_from(micros)
            .map(TimePoint)
            .map_err(|_| TimeError::OutOfRange {
                text: clip(s),
                kind: "time_point",
            })
    }
}

impl From<TimePointSec> for TimePoint {
    fn from(t: TimePointSec) -> Self {
        t.to_time_point()
    }
}

impl From<BlockTimestamp> for TimePoint {
    fn from(t: BlockTimestamp) -> Self {
        t.to_time_point()
    }
}

impl fmt::Display for TimePoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_iso(f, self.0, Frac::Auto)
    }
}

/// `time_point_sec`: seconds since 1970-01-01T00:00:00Z (until 2106).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TimePointSec(u32);

impl TimePointSec {
    pub const fn from_unix(secs: u32) -> Self {
        TimePointSec(secs)
    }

    pub const fn as_unix(self) -> u32 {
        self.0
    }

    /// The current time, rounded down to the second (clamped to the representable range).
    pub fn now() -> Self {
        let secs = now_micros().div_euclid(MICROS_PER_SEC);
        TimePointSec(u32::try_from(secs.max(0)).unwrap_or(u32::MAX))
    }

    pub const fn to_time_point(self) -> TimePoint {
        TimePoint(self.0 as i64 * MICROS_PER_SEC)
    }

    /// `self + secs`, or `None` past 2106.
    pub fn checked_add_secs(self, secs: u32) -> Option<Self> {
        self.0.checked_add(secs).map(TimePointSec)
    }

    /// Parses whole seconds; a fractional part is accepted only if it is zero.
    pub fn parse(s: &str) -> Result<Self, TimeError> {
        let micros = parse_iso(s)?;
        if micros % 1_000_000 != 0 {
            return Err(TimeError::Fraction {
                text: clip(s),
                kind: "time_point_sec",
            });
        }
        u32::try_from(micros / 1_000_000)
            .map(TimePointSec)
            .map_err(|_| TimeError::OutOfRange {
                text: clip(s),
                kind: "time_point_sec",
            })
    }
}

impl From<BlockTimestamp> for TimePointSec {
    /// Rounds down to the second.
    fn from(t: BlockTimestamp) -> Self {
        // slot/2 + 946_684_800 is below 2^32 for every u32 slot.
        TimePointSec(t.0 / 2 + BlockTimestamp::EPOCH_SECS)
    }
}

impl fmt::Display for TimePointSec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_iso(f, i64::from(self.0) * MICROS_PER_SEC, Frac::None)
    }
}

/// `block_timestamp_type`: 500 ms slots since 2000-01-01T00:00:00.000Z.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct BlockTimestamp(u32);

impl BlockTimestamp {
    /// 2000-01-01T00:00:00Z in Unix seconds.
    pub const EPOCH_SECS: u32 = 946_684_800;
    /// Slot length in milliseconds.
    pub const INTERVAL_MS: i64 = 500;

    pub const fn from_slot(slot: u32) -> Self {
        BlockTimestamp(slot)
    }

    pub const fn slot(self) -> u32 {
        self.0
    }

    pub const fn to_time_point(self) -> TimePoint {
        TimePoint(
            Self::EPOCH_SECS as i64 * MICROS_PER_SEC + self.0 as i64 * Self::INTERVAL_MS * 1000,
        )
    }

    /// The slot containing `t` (rounded down); `None` before 2000 or after the last slot.
    pub fn from_time_point(t: TimePoint) -> Option<Self> {
        let since =
            t.0.checked_sub(i64::from(Self::EPOCH_SECS) * MICROS_PER_SEC)?;
        if since < 0 {
            return None;
        }
        u32::try_from(since / (Self::INTERVAL_MS * 1000))
            .ok()
            .map(BlockTimestamp)
    }

    /// Parses a time that falls exactly on a slot boundary (`.000` or `.500`).
    pub fn parse(s: &str) -> Result<Self, TimeError> {
        let micros = parse_iso(s)?;
        let since = micros - i128::from(Self::EPOCH_SECS) * 1_000_000;
        let slot_us = i128::from(Self::INTERVAL_MS) * 1000;
        if since % slot_us != 0 {
            return Err(TimeError::Fraction {
                text: clip(s),
                kind: "block_timestamp_type",
            });
        }
        u32::try_from(since / slot_us)
            .map(BlockTimestamp)
            .map_err(|_| TimeError::OutOfRange {
                text: clip(s),
                kind: "block_timestamp_type",
            })
    }
}

impl From<TimePointSec> for BlockTimestamp {
    /// Seconds before 2000 clamp to slot 0, seconds past the last slot to the last slot.
    fn from(t: TimePointSec) -> Self {
        let since = t.0.saturating_sub(Self::EPOCH_SECS);
        BlockTimestamp(since.saturating_mul(2))
    }
}

impl fmt::Display for BlockTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_iso(f, self.to_time_point().0, Frac::Millis)
    }
}

macro_rules! common_impls {
    ($t:ident, $inner:ty, $min:expr) => {
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($t), "({})"), self)
            }
        }
        impl FromStr for $t {
            type Err = TimeError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $t::parse(s)
            }
        }
        impl Pack for $t {
            fn pack(&self, out: &mut Vec<u8>) {
                self.0.pack(out);
            }
        }
        impl Unpack for $t {
            const MIN_SIZE: usize = $min;
            fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                <$inner>::unpack(r).map($t)
            }
        }
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $t::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}
common_impls!(TimePoint, i64, 8);
common_impls!(TimePointSec, u32, 4);
common_impls!(BlockTimestamp, u32, 4);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_over_a_wide_range() {
        for days in (-1_000_000..1_000_000).step_by(7) {
            let (y, m, d) = civil_from_days(days);
            assert!(d >= 1 && d <= days_in_month(y, m));
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(2000, 1, 1), 10_957);
    }

    #[test]
    fn text_forms() {
        let t = TimePointSec::parse("2024-12-28T06:58:52").unwrap();
        assert_eq!(t.as_unix(), 1_735_369_132);
        assert_eq!(t.to_string(), "2024-12-28T06:58:52");
        assert_eq!(TimePointSec::parse("2024-12-28T06:58:52Z").unwrap(), t);
        assert_eq!(TimePointSec::parse("2024-12-28T06:58:52.000").unwrap(), t);
        assert!(TimePointSec::parse("2024-12-28T06:58:52.5").is_err());
        assert_eq!(
            TimePointSec::from_unix(u32::MAX).to_string(),
            "2106-02-07T06:28:15"
        );
        assert!(TimePointSec::parse("2106-02-07T06:28:16").is_err());
        assert!(TimePointSec::parse("1969-12-31T23:59:59").is_err());

        let p = TimePoint::parse("2024-12-28T06:58:52.5Z").unwrap();
        assert_eq!(p.to_string(), "2024-12-28T06:58:52.500");
        assert_eq!(
            TimePoint::from_micros(1).to_string(),
            "1970-01-01T00:00:00.000001"
        );
        assert_eq!(
            TimePoint::from_micros(-1).to_string(),
            "1969-12-31T23:59:59.999999"
        );
        for v in [i64::MIN, i64::MAX, -1, 0, 253_402_300_800_000_000] {
            let t = TimePoint::from_micros(v);
            assert_eq!(TimePoint::parse(&t.to_string()).unwrap(), t, "{t}");
        }

        let b = BlockTimestamp::parse("2026-11-21T12:00:00.500").unwrap();
        assert_eq!(b.to_string(), "2026-11-21T12:00:00.500");
        assert!(BlockTimestamp::parse("2026-11-21T12:00:00.250").is_err());
        assert!(BlockTimestamp::parse("1999-12-31T23:59:59.500").is_err());
        assert_eq!(BlockTimestamp::from_time_point(b.to_time_point()), Some(b));
        assert_eq!(TimePointSec::from(b).to_string(), "2026-11-21T12:00:00");
    }

    #[test]
    fn rejects_malformed() {
        for s in [
            "",
            "2024",
            "2024-12-28",
            "2024-12-28 06:58:52",
            "2024-13-01T00:00:00",
            "2023-02-29T00:00:00",
            "2024-12-28T24:00:00",
            "2024-12-28T06:60:00",
            "2024-12-28T06:58:52.",
            "2024-12-28T06:58:52.1234567",
            "2024-12-28T06:58:52ZZ",
            "+2024-12-28T06:58:52",
            "2024-1-28T06:58:52",
            "2024-12-28T06:58:52+00:00",
            "٢٠٢٤-12-28T06:58:52",
        ] {
            assert!(TimePoint::parse(s).is_err(), "{s:?}");
        }
        assert_eq!(
            TimePoint::parse("2024-02-29T00:00:00").unwrap().as_millis() % 1000,
            0
        );
    }
}
