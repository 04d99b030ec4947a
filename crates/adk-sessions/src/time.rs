//! Time as the library keeps it: microseconds since the Unix epoch (UTC), the precision
//! of every timestamp column of adk-python's schema. Events carry float seconds as ADK
//! does; conversions between the two round to the nearest microsecond.

use chrono::{DateTime, NaiveDateTime, Utc};

/// A point in time in whole microseconds since the Unix epoch, UTC: a session's revision
/// (its last update time), the `after` bound of a [`crate::GetFilter`], the times of a
/// [`crate::Error::Stale`]. Event timestamps stay `f64` epoch seconds, as ADK keeps them;
/// [`Timestamp::from_secs_f64`] and [`Timestamp::as_secs_f64`] convert exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub(crate) i64);

impl std::fmt::Display for Timestamp {
    /// Epoch seconds with six decimals, as the REST API shows times.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.0.div_euclid(1_000_000);
        let frac = self.0.rem_euclid(1_000_000);
        write!(f, "{secs}.{frac:06}")
    }
}

impl From<std::time::SystemTime> for Timestamp {
    /// Truncated to the microsecond; times before 1970 are negative.
    fn from(t: std::time::SystemTime) -> Self {
        match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => Timestamp(i64::try_from(d.as_micros()).unwrap_or(i64::MAX)),
            Err(e) => Timestamp(-i64::try_from(e.duration().as_micros()).unwrap_or(i64::MAX)),
        }
    }
}

impl Timestamp {
    /// From whole microseconds since the Unix epoch.
    pub const fn from_micros(micros: i64) -> Self {
        Timestamp(micros)
    }

    /// Whole microseconds since the Unix epoch.
    pub const fn as_micros(self) -> i64 {
        self.0
    }

    /// The current time.
    pub fn now() -> Self {
        Timestamp(Utc::now().timestamp_micros())
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
        Some(Timestamp(whole as i64 * 1_000_000 + frac_us as i64))
    }

    /// As float epoch seconds (what ADK events carry).
    pub fn as_secs_f64(self) -> f64 {
        // Split to keep every microsecond exact in the f64.
        let secs = self.0.div_euclid(1_000_000);
        let frac = self.0.rem_euclid(1_000_000);
        secs as f64 + frac as f64 / 1_000_000.0
    }

    /// As a naive UTC date-time (what the SQL columns store).
    #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
    pub(crate) fn to_naive(self) -> NaiveDateTime {
        DateTime::<Utc>::from_timestamp_micros(self.0)
            .unwrap_or_default()
            .naive_utc()
    }

    /// From a naive UTC date-time.
    #[cfg_attr(
        not(any(feature = "sqlite", feature = "postgres", feature = "mysql")),
        allow(dead_code)
    )]
    pub(crate) fn from_naive(dt: NaiveDateTime) -> Self {
        Timestamp(dt.and_utc().timestamp_micros())
    }

    /// The next microsecond.
    /// The first whole second at or after this time.
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    pub(crate) fn ceil_second(self) -> Self {
        Timestamp(
            self.0.div_euclid(1_000_000) * 1_000_000
                + if self.0.rem_euclid(1_000_000) == 0 {
                    0
                } else {
                    1_000_000
                },
        )
    }

    /// The whole second this time falls in.
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    pub(crate) fn floor_second(self) -> Self {
        Timestamp(self.0.div_euclid(1_000_000) * 1_000_000)
    }

    pub(crate) fn succ(self) -> Self {
        Timestamp(self.0 + 1)
    }
}

impl Timestamp {
    /// The SQL text adk-python stores in `DATETIME` columns: `YYYY-MM-DD HH:MM:SS.ffffff`
    /// (naive UTC, always six fraction digits).
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) fn to_sql_text(self) -> String {
        let secs = self.0.div_euclid(1_000_000);
        let frac = self.0.rem_euclid(1_000_000);
        let days = secs.div_euclid(86_400);
        let tod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{frac:06}",
            tod / 3600,
            tod / 60 % 60,
            tod % 60
        )
    }

    /// Reads `YYYY-MM-DD HH:MM:SS` with an optional fraction of up to nine digits and a
    /// space or `T` separator (what adk-python and this crate write). `None` otherwise.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) fn parse_sql_text(text: &str) -> Option<Timestamp> {
        let b = text.trim().as_bytes();
        if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b' ' | b'T') {
            return None;
        }
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            b[r].iter().try_fold(0i64, |acc, c| {
                c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
            })
        };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
            return None;
        }
        let mut us = 0i64;
        if b.len() > 19 {
            if b[19] != b'.' || b.len() == 20 || b.len() > 29 {
                return None;
            }
            let digits = &b[20..];
            for (i, c) in digits.iter().enumerate() {
                if !c.is_ascii_digit() {
                    return None;
                }
                if i < 6 {
                    us = us * 10 + i64::from(c - b'0');
                }
            }
            for _ in digits.len()..6 {
                us *= 10;
            }
        }
        let days = days_from_civil(y, mo, d);
        Some(Timestamp(
            (days * 86_400 + h * 3600 + mi * 60 + s) * 1_000_000 + us,
        ))
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Event timestamps must be before 2100-01-01T00:00:00Z: every revision derived from
/// them (at most a few µs later) then stays exact as float seconds and within what each
/// store and the REST API accept back.
pub const MAX_EVENT_SECS: f64 = 4_102_444_800.0;

/// Epoch numbers at least this large are milliseconds, smaller ones seconds. Other ADK
/// runtimes write both (adk-js stores integer epoch milliseconds in SQLite time columns and
/// millisecond event timestamps): 10^11 seconds is the year 5138, 10^11 milliseconds is
/// 1973-03-03, so no time either runtime writes is ambiguous.
pub(crate) const EPOCH_MILLIS_FROM: f64 = 1e11;

/// Float epoch seconds from an epoch number in seconds or milliseconds (see
/// [`EPOCH_MILLIS_FROM`]).
pub(crate) fn epoch_secs(value: f64) -> f64 {
    if value.abs() >= EPOCH_MILLIS_FROM {
        value / 1000.0
    } else {
        value
    }
}

/// Parses an RFC 3339 date-time (as ADK-Go writes timestamps) into float epoch seconds.
pub(crate) fn parse_rfc3339_secs(text: &str) -> Option<f64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|dt| Timestamp(dt.with_timezone(&Utc).timestamp_micros()).as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_seconds_round_trip_at_microsecond_precision() {
        let t = 1_795_653_226.461_133_7_f64;
        let us = Timestamp::from_secs_f64(t).unwrap();
        assert_eq!(us.0, 1_795_653_226_461_134);
        assert_eq!(Timestamp::from_secs_f64(us.as_secs_f64()), Some(us));
    }

    #[test]
    fn rounding_matches_python_datetime_fromtimestamp() {
        // Values checked against CPython 3.11: datetime.fromtimestamp(t, timezone.utc).
        assert_eq!(
            Timestamp::from_secs_f64(1795653528.5935798).unwrap().0,
            1795653528593580
        );
        assert_eq!(Timestamp::from_secs_f64(0.0000005).unwrap().0, 0);
        assert_eq!(Timestamp::from_secs_f64(0.0000015).unwrap().0, 2);
        assert_eq!(Timestamp::from_secs_f64(-1.5).unwrap().0, -1_500_000);
    }

    #[test]
    fn sql_text_matches_chrono_both_ways() {
        for us in [
            0i64,
            1_795_653_845_087_631,
            951_782_400_000_001, // 2000-02-29
            4_107_542_399_999_999,
            -1,
            -86_400_000_000 * 365,
        ] {
            let t = Timestamp(us);
            let chrono_text = t.to_naive().format("%Y-%m-%d %H:%M:%S%.6f").to_string();
            assert_eq!(t.to_sql_text(), chrono_text);
            assert_eq!(Timestamp::parse_sql_text(&chrono_text), Some(t));
        }
        assert_eq!(
            Timestamp::parse_sql_text("2026-11-26 00:38:48"),
            Some(Timestamp(1_795_653_528_000_000))
        );
        assert_eq!(
            Timestamp::parse_sql_text("2026-11-26T00:38:48.5"),
            Some(Timestamp(1_795_653_528_500_000))
        );
        for bad in [
            "",
            "2026-11-26",
            "2026-13-01 00:00:00",
            "2026-11-26 00:38:48.",
            "x026-11-26 00:38:48",
        ] {
            assert_eq!(Timestamp::parse_sql_text(bad), None, "{bad}");
        }
    }

    #[test]
    fn non_finite_seconds_are_refused() {
        assert_eq!(Timestamp::from_secs_f64(f64::NAN), None);
        assert_eq!(Timestamp::from_secs_f64(f64::INFINITY), None);
    }

    #[test]
    fn rfc3339_is_parsed_to_seconds() {
        assert_eq!(parse_rfc3339_secs("1970-01-01T00:00:01.5Z"), Some(1.5));
        assert_eq!(parse_rfc3339_secs("yesterday"), None);
    }
}
