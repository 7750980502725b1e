//! Calendar arithmetic without a time zone database: ISO dates, the meta `DD.MM.YYYY HH:mm`
//! form, and the two supported zones (Europe/Moscow is UTC+3 without DST since 2014; UTC).
//!
//! The civil-date math is Howard Hinnant's `days_from_civil` / `civil_from_days`.

use std::fmt;

use thiserror::Error;

/// Why a date, a time or a zone was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ClockError {
    #[error("{text:?} is not a date in the form {expected}")]
    Format {
        text: String,
        expected: &'static str,
    },
    #[error("{text:?} is not a real calendar date")]
    NoSuchDate { text: String },
    #[error("{text:?} is out of the supported range (years 1900-2999)")]
    OutOfRange { text: String },
    #[error("time zone {0:?} is not supported (supported: Europe/Moscow, UTC)")]
    UnsupportedZone(String),
}

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

/// A civil date and time with minute precision (no zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime {
    pub date: Date,
    pub hour: u32,
    pub minute: u32,
}

/// The zones a meta `timezone` may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Zone {
    /// `Europe/Moscow`: UTC+3 all year (no DST since 2014-10-26).
    Moscow,
    /// `UTC`.
    Utc,
}

/// The default meta time zone.
pub const DEFAULT_ZONE: &str = "Europe/Moscow";

/// Moscow switched to permanent UTC+3 on 2014-10-26 at 02:00 local time (unix 1414274400).
const MOSCOW_PERMANENT_SINCE: i64 = 1_414_274_400;

impl Zone {
    pub fn parse(name: &str) -> Result<Zone, ClockError> {
        match name {
            "Europe/Moscow" => Ok(Zone::Moscow),
            "UTC" | "Etc/UTC" => Ok(Zone::Utc),
            other => Err(ClockError::UnsupportedZone(
                other.chars().take(64).collect(),
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Zone::Moscow => "Europe/Moscow",
            Zone::Utc => "UTC",
        }
    }

    /// Offset from UTC in seconds. Moscow times before the 2014 switch are out of scope (no
    /// document of this platform predates it) and are given the current offset too.
    pub fn offset_secs(self) -> i64 {
        match self {
            Zone::Moscow => 3 * 3600,
            Zone::Utc => 0,
        }
    }

    /// Whether the offset is exact for the instant (Moscow before 2014-10-26 was UTC+4/+3).
    pub fn offset_is_exact_at(self, unix_secs: i64) -> bool {
        match self {
            Zone::Moscow => unix_secs >= MOSCOW_PERMANENT_SINCE,
            Zone::Utc => true,
        }
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Parses exactly `n` ASCII digits.
fn digits(s: &str, n: usize) -> Option<u32> {
    if s.len() == n && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

impl Date {
    /// A checked date (years 1900–2999).
    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        let ok = (1900..=2999).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month);
        ok.then_some(Date { year, month, day })
    }

    /// Parses `YYYY-MM-DD` (the data form of every date field).
    pub fn parse_iso(text: &str) -> Result<Date, ClockError> {
        let format = || ClockError::Format {
            text: clip(text),
            expected: "YYYY-MM-DD",
        };
        let mut parts = text.split('-');
        let (Some(y), Some(m), Some(d), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(format());
        };
        let (Some(y), Some(m), Some(d)) = (digits(y, 4), digits(m, 2), digits(d, 2)) else {
            return Err(format());
        };
        checked(text, y as i32, m, d)
    }

    /// `DD.MM.YYYY`, the Russian form used in documents.
    pub fn to_ru(self) -> String {
        format!("{:02}.{:02}.{:04}", self.day, self.month, self.year)
    }

    /// `«1» февраля 2025 г.`, the long form used in document headings.
    pub fn to_ru_long(self) -> String {
        const MONTHS: [&str; 12] = [
            "января",
            "февраля",
            "марта",
            "апреля",
            "мая",
            "июня",
            "июля",
            "августа",
            "сентября",
            "октября",
            "ноября",
            "декабря",
        ];
        let month = MONTHS[(self.month as usize).saturating_sub(1) % 12];
        format!("«{}» {} {} г.", self.day, month, self.year)
    }
}

fn checked(text: &str, year: i32, month: u32, day: u32) -> Result<Date, ClockError> {
    if !(1900..=2999).contains(&year) {
        return Err(ClockError::OutOfRange { text: clip(text) });
    }
    Date::new(year, month, day).ok_or_else(|| ClockError::NoSuchDate { text: clip(text) })
}

impl DateTime {
    /// Parses the meta form `DD.MM.YYYY HH:mm`.
    pub fn parse_meta(text: &str) -> Result<DateTime, ClockError> {
        let format = || ClockError::Format {
            text: clip(text),
            expected: "DD.MM.YYYY HH:mm",
        };
        let (date, time) = text.split_once(' ').ok_or_else(format)?;
        let mut d = date.split('.');
        let (Some(dd), Some(mm), Some(yy), None) = (d.next(), d.next(), d.next(), d.next()) else {
            return Err(format());
        };
        let (Some(day), Some(month), Some(year)) = (digits(dd, 2), digits(mm, 2), digits(yy, 4))
        else {
            return Err(format());
        };
        let (hh, mi) = time.split_once(':').ok_or_else(format)?;
        let (Some(hour), Some(minute)) = (digits(hh, 2), digits(mi, 2)) else {
            return Err(format());
        };
        let date = checked(text, year as i32, month, day)?;
        if hour > 23 || minute > 59 {
            return Err(ClockError::NoSuchDate { text: clip(text) });
        }
        Ok(DateTime { date, hour, minute })
    }

    /// Parses `HH:MM` on a given date.
    pub fn on_date(date: Date, time: &str) -> Result<DateTime, ClockError> {
        let format = || ClockError::Format {
            text: clip(time),
            expected: "HH:MM",
        };
        let (hh, mi) = time.split_once(':').ok_or_else(format)?;
        let (Some(hour), Some(minute)) = (digits(hh, 2), digits(mi, 2)) else {
            return Err(format());
        };
        if hour > 23 || minute > 59 {
            return Err(ClockError::NoSuchDate { text: clip(time) });
        }
        Ok(DateTime { date, hour, minute })
    }

    /// The civil time of a unix instant (seconds are dropped: minute precision).
    pub fn from_unix(secs: i64) -> DateTime {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        DateTime {
            date: Date {
                year: year as i32,
                month,
                day,
            },
            hour: (rem / 3600) as u32,
            minute: (rem % 3600 / 60) as u32,
        }
    }

    /// Seconds since the epoch, reading this civil time as UTC.
    pub fn to_unix(self) -> i64 {
        days_from_civil(self.date.year, self.date.month, self.date.day) * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
    }

    /// The local civil time in `zone` of a unix instant.
    pub fn in_zone(unix_secs: i64, zone: Zone) -> DateTime {
        DateTime::from_unix(unix_secs + zone.offset_secs())
    }

    /// The unix instant of this civil time read in `zone`.
    pub fn unix_in_zone(self, zone: Zone) -> i64 {
        self.to_unix() - zone.offset_secs()
    }

    /// `YYYY-MM-DDTHH:MM:00Z` (a W3C date in UTC), for PDF metadata.
    pub fn to_w3c_utc(self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:00Z",
            self.date.year, self.date.month, self.date.day, self.hour, self.minute
        )
    }

    /// `HH:MM`.
    pub fn time_text(self) -> String {
        format!("{:02}:{:02}", self.hour, self.minute)
    }
}

impl fmt::Display for DateTime {
    /// The meta form `DD.MM.YYYY HH:mm`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:02}:{:02}",
            self.date.to_ru(),
            self.hour,
            self.minute
        )
    }
}

/// Input text clipped for error messages.
fn clip(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_form_round_trips_and_converts_zones() {
        let t = DateTime::parse_meta("01.02.2025 10:30").unwrap();
        assert_eq!(t.to_string(), "01.02.2025 10:30");
        let unix = t.unix_in_zone(Zone::Moscow);
        assert_eq!(unix, 1_738_395_000);
        assert_eq!(
            DateTime::from_unix(unix).to_w3c_utc(),
            "2025-02-01T07:30:00Z"
        );
        assert_eq!(DateTime::in_zone(unix, Zone::Moscow), t);
        assert_eq!(
            DateTime::in_zone(unix, Zone::Utc).to_string(),
            "01.02.2025 07:30"
        );
    }

    #[test]
    fn day_boundaries_and_leap_years() {
        // 23:30 UTC on 31 Dec is 02:30 on 1 Jan in Moscow.
        let t = DateTime::parse_meta("31.12.2024 23:30").unwrap();
        let local = DateTime::in_zone(t.to_unix(), Zone::Moscow);
        assert_eq!(local.to_string(), "01.01.2025 02:30");
        assert!(DateTime::parse_meta("29.02.2024 00:00").is_ok());
        assert!(matches!(
            DateTime::parse_meta("29.02.2025 00:00"),
            Err(ClockError::NoSuchDate { .. })
        ));
        assert!(Date::parse_iso("2000-02-29").is_ok());
        assert!(Date::parse_iso("1900-02-29").is_err());
    }

    #[test]
    fn rejects_malformed_text() {
        for bad in [
            "1.02.2025 10:30",
            "01.02.2025",
            "01.02.2025 24:00",
            "01-02-2025 10:30",
        ] {
            assert!(DateTime::parse_meta(bad).is_err(), "{bad}");
        }
        for bad in ["2025-2-01", "2025-13-01", "20250201", "1899-01-01"] {
            assert!(Date::parse_iso(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Zone::parse("Asia/Tokyo"),
            Err(ClockError::UnsupportedZone("Asia/Tokyo".into()))
        );
    }

    #[test]
    fn long_russian_date() {
        let d = Date::parse_iso("2025-02-01").unwrap();
        assert_eq!(d.to_ru_long(), "«1» февраля 2025 г.");
        assert_eq!(d.to_ru(), "01.02.2025");
    }
}
