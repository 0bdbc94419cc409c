//! A minimal civil (proleptic Gregorian) calendar date.

use std::fmt;

use serde::de::Visitor;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::text::clip;

/// A calendar date in the proleptic Gregorian calendar, years `1..=9999`.
///
/// [`Date::parse`] and `FromStr` live with [`super::PolicyError`] (in
/// `error.rs`), so that this module needs no error type and the two do not
/// import each other.
///
/// The only textual form is `YYYY-MM-DD` (exactly ten ASCII characters);
/// serde reads and writes that form. Dates order chronologically.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

impl Date {
    /// Builds a date, or `None` if it does not exist in the calendar
    /// (month outside 1..=12, day past the end of the month, year outside 1..=9999).
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        if !(1..=9999).contains(&year) || !(1..=12).contains(&month) {
            return None;
        }
        if day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date { year, month, day })
    }

    /// The UTC calendar date of a Unix time (proleptic Gregorian).
    ///
    /// ```
    /// use creditproof::{policy::Date, UnixTime};
    /// assert_eq!(Date::from_unix(UnixTime(0)), Date::new(1970, 1, 1));
    /// assert_eq!(Date::from_unix(UnixTime(1_795_262_400)), Date::new(2026, 11, 21));
    /// ```
    pub fn from_unix(t: crate::UnixTime) -> Option<Date> {
        let (year, month, day) = t.utc_date();
        Date::new(u16::try_from(year).ok()?, month, day)
    }

    /// The year, `1..=9999`.
    pub fn year(self) -> u16 {
        self.year
    }

    /// The month, `1..=12`.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, `1..=31`.
    pub fn day(self) -> u8 {
        self.day
    }
}

/// Whether `year` is a Gregorian leap year.
fn is_leap(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Parses `YYYY-MM-DD` strictly; `None` on anything else.
pub(crate) fn parse_opt(text: &str) -> Option<Date> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u16> {
        let mut n: u16 = 0;
        for &c in &b[range] {
            if !c.is_ascii_digit() {
                return None;
            }
            n = n * 10 + u16::from(c - b'0');
        }
        Some(n)
    };
    let year = num(0..4)?;
    let month = u8::try_from(num(5..7)?).ok()?;
    let day = u8::try_from(num(8..10)?).ok()?;
    Date::new(year, month, day)
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DateVisitor;
        impl Visitor<'_> for DateVisitor {
            type Value = Date;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a calendar date \"YYYY-MM-DD\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Date, E> {
                parse_opt(v).ok_or_else(|| E::custom(format_args!("invalid date {:?}", clip(v))))
            }
        }
        deserializer.deserialize_str(DateVisitor)
    }
}
