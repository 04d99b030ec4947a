//! Time as the library keeps it: microseconds since the Unix epoch (UTC), the precision
//! of every timestamp column of adk-python's schema. Events carry float seconds as ADK
//! does; conversions between the two round to the nearest microsecond.

use chrono::{DateTime, NaiveDateTime, Utc};

/// A point in time in whole microseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Micros(pub i64);

impl Micros {
    /// The current time.
    pub fn now() -> Self {
        Micros(Utc::now().timestamp_micros())
    }

    /// From float epoch seconds, rounded to the microsecond exactly as Python's
    /// `datetime.fromtimestamp` rounds (whole seconds split off first, the fraction
    /// rounded half to even), so both runtimes store the same column value. `None` when
    /// the value is not finite or out of the representable range.
    pub fn from_secs_f64(secs: f64) -> Option<Self> {
        if !secs.is_finite() || secs.abs() > 9.0e9 {
            return None;
        }
        let whole = secs.trunc();
        let frac_us = ((secs - whole) * 1_000_000.0).round_ties_even();
        Some(Micros(whole as i64 * 1_000_000 + frac_us as i64))
    }

    /// As float epoch seconds (what ADK events carry).
    pub fn as_secs_f64(self) -> f64 {
        // Split to keep every microsecond exact in the f64.
        let secs = self.0.div_euclid(1_000_000);
        let frac = self.0.rem_euclid(1_000_000);
        secs as f64 + frac as f64 / 1_000_000.0
    }

    /// As a naive UTC date-time (what the SQL columns store).
    pub fn to_naive(self) -> NaiveDateTime {
        DateTime::<Utc>::from_timestamp_micros(self.0)
            .unwrap_or_default()
            .naive_utc()
    }

    /// From a naive UTC date-time.
    pub fn from_naive(dt: NaiveDateTime) -> Self {
        Micros(dt.and_utc().timestamp_micros())
    }

    /// The next microsecond.
    pub fn succ(self) -> Self {
        Micros(self.0 + 1)
    }
}

/// Parses an RFC 3339 date-time (as ADK-Go writes timestamps) into float epoch seconds.
pub fn parse_rfc3339_secs(text: &str) -> Option<f64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|dt| Micros(dt.with_timezone(&Utc).timestamp_micros()).as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_seconds_round_trip_at_microsecond_precision() {
        let t = 1_795_653_226.461_133_7_f64;
        let us = Micros::from_secs_f64(t).unwrap();
        assert_eq!(us.0, 1_795_653_226_461_134);
        assert_eq!(Micros::from_secs_f64(us.as_secs_f64()), Some(us));
    }

    #[test]
    fn rounding_matches_python_datetime_fromtimestamp() {
        // Values checked against CPython 3.11: datetime.fromtimestamp(t, timezone.utc).
        assert_eq!(
            Micros::from_secs_f64(1795653528.5935798).unwrap().0,
            1795653528593580
        );
        assert_eq!(Micros::from_secs_f64(0.0000005).unwrap().0, 0);
        assert_eq!(Micros::from_secs_f64(0.0000015).unwrap().0, 2);
        assert_eq!(Micros::from_secs_f64(-1.5).unwrap().0, -1_500_000);
    }

    #[test]
    fn non_finite_seconds_are_refused() {
        assert_eq!(Micros::from_secs_f64(f64::NAN), None);
        assert_eq!(Micros::from_secs_f64(f64::INFINITY), None);
    }

    #[test]
    fn rfc3339_is_parsed_to_seconds() {
        assert_eq!(parse_rfc3339_secs("1970-01-01T00:00:01.5Z"), Some(1.5));
        assert_eq!(parse_rfc3339_secs("yesterday"), None);
    }
}
