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
}
