//! Time as an explicit input.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch.
///
/// Every check that depends on time takes a `UnixTime`, so tests and
/// vectors are deterministic and a verifier can evaluate a presentation "as
/// of" any moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime(pub u64);

/// Seconds in a day.
pub const DAY: u64 = 86_400;

impl UnixTime {
    /// The current system time (0 if the clock is before 1970).
    pub fn now() -> Self {
        Self(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
    }

    /// This time rounded down to the start of its UTC day, so that issuance
    /// timestamps do not fingerprint a holder.
    pub fn start_of_day(self) -> Self {
        Self(self.0 - self.0 % DAY)
    }

    /// Seconds since the epoch.
    pub fn as_secs(self) -> u64 {
        self.0
    }

    /// The proleptic Gregorian `(year, month, day)` of this time's UTC day.
    pub fn utc_date(self) -> (i64, u8, u8) {
        // Howard Hinnant's civil_from_days, in i64 (no overflow for u64
        // seconds / 86400).
        let z = i64::try_from(self.0 / DAY).unwrap_or(i64::MAX / 2) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        // Both in range by construction: day 1..=31, month 1..=12.
        let day = u8::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
        let month = u8::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
        (yoe + era * 400 + i64::from(month <= 2), month, day)
    }
}

/// RFC 3339 in UTC, to the second: `2026-11-21T12:00:00Z`.
///
/// ```
/// assert_eq!(creditproof::UnixTime(1_795_262_400).to_string(), "2026-11-21T12:00:00Z");
/// assert_eq!(creditproof::UnixTime(0).to_string(), "1970-01-01T00:00:00Z");
/// ```
impl std::fmt::Display for UnixTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (y, m, d) = self.utc_date();
        let s = self.0 % DAY;
        write!(f, "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", s / 3600, s / 60 % 60, s % 60)
    }
}
