//! Options written in a database URL's query, so one string configures a deployment:
//! `sqlite://sessions.db?sync=normal&pool_size=4`,
//! `postgres://u@db/sessions?pool_size=16&connect_timeout=2&sslmode=require`.
//!
//! | key | value | sets |
//! |---|---|---|
//! | `pool_size` | integer ≥ 1 | [`OpenOptions::pool_size`] |
//! | `connect_timeout` | seconds | [`OpenOptions::connect_timeout`] |
//! | `busy_timeout` | seconds | [`OpenOptions::busy_timeout`] (SQLite) |
//! | `sync` | `full` or `normal` | [`OpenOptions::sqlite_sync`] (SQLite) |
//! | `latency` | `low` or `no_busy_wait` | [`OpenOptions::sqlite_latency`] (SQLite) |
//! | `event_cache_mb` | integer MiB, `0` = off | [`OpenOptions::event_cache_bytes`] (SQLite) |
//! | `lenient_events` | `true` or `false` | [`crate::EventPolicy::lenient_unknown_fields`] |
//! | `schema` | `adk-python` or `adk-go` | [`OpenOptions::layout`] (SQL backends) |
//!
//! These keys are taken out of the URL; any other key is left for the driver (PostgreSQL's
//! `sslmode`, MySQL's `ssl-mode`, …), except on SQLite and `memory://`, where an unknown key
//! is refused. A key given in the URL overrides the [`OpenOptions`] passed in code.

use std::time::Duration;

use super::common::{OpenOptions, SqliteLatency, SqliteSync, StorageLayout};
use crate::error::{Error, Result};

/// The keys this crate reads.
const KEYS: [&str; 8] = [
    "pool_size",
    "connect_timeout",
    "busy_timeout",
    "sync",
    "latency",
    "event_cache_mb",
    "lenient_events",
    "schema",
];

/// Splits `url` into the URL without our keys and `base` with them applied. `foreign_keys_ok`:
/// whether keys we do not know may stay in the URL (for a driver that reads them).
pub fn take(url: &str, base: &OpenOptions, foreign_keys_ok: bool) -> Result<(String, OpenOptions)> {
    let Some((head, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), base.clone()));
    };
    let mut options = base.clone();
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if !KEYS.contains(&key) {
            if foreign_keys_ok {
                kept.push(pair);
                continue;
            }
            return Err(Error::invalid(format!(
                "unknown option {key:?} in the database URL; known: {}",
                KEYS.join(", ")
            )));
        }
        apply(&mut options, key, value)?;
    }
    let url = if kept.is_empty() {
        head.to_owned()
    } else {
        format!("{head}?{}", kept.join("&"))
    };
    Ok((url, options))
}

fn apply(options: &mut OpenOptions, key: &str, value: &str) -> Result<()> {
    let bad =
        |what: &str| Error::invalid(format!("database URL option {key}={value:?} is not {what}"));
    let seconds = |v: &str| -> Result<Duration> {
        v.parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0 && *s <= 86_400.0)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| bad("a number of seconds between 0 and 86400"))
    };
    match key {
        "pool_size" => {
            options.pool_size = value
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=1024).contains(n))
                .ok_or_else(|| bad("an integer between 1 and 1024"))?
        }
        "connect_timeout" => options.connect_timeout = seconds(value)?,
        "busy_timeout" => options.busy_timeout = seconds(value)?,
        "sync" => {
            options.sqlite_sync = match value.to_ascii_lowercase().as_str() {
                "full" => SqliteSync::Full,
                "normal" => SqliteSync::Normal,
                _ => return Err(bad("full or normal")),
            }
        }
        "latency" => {
            options.sqlite_latency = match value.to_ascii_lowercase().as_str() {
                "low" => SqliteLatency::LowLatency,
                "no_busy_wait" => SqliteLatency::NoBusyWait,
                _ => return Err(bad("low or no_busy_wait")),
            }
        }
        "event_cache_mb" => {
            let mb = value
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= 1 << 20)
                .ok_or_else(|| bad("a whole number of MiB"))?;
            options.event_cache_bytes = mb << 20;
        }
        "lenient_events" => {
            options.policy.lenient_unknown_fields = match value {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => return Err(bad("true or false")),
            }
        }
        "schema" => {
            options.layout =
                Some(StorageLayout::parse(value).ok_or_else(|| bad("adk-python or adk-go"))?)
        }
        _ => unreachable!("only KEYS reach apply"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_keys_are_taken_out_and_applied() {
        let base = OpenOptions::default();
        let (url, o) = take(
            "postgres://u@h/db?pool_size=3&sslmode=require&connect_timeout=1.5&lenient_events=true",
            &base,
            true,
        )
        .unwrap();
        assert_eq!(url, "postgres://u@h/db?sslmode=require");
        assert_eq!(o.pool_size, 3);
        assert_eq!(o.connect_timeout, Duration::from_millis(1500));
        assert!(o.policy.lenient_unknown_fields);
        let (_, o) = take("postgres://u@h/db?schema=adk-go", &base, true).unwrap();
        assert_eq!(o.layout, Some(StorageLayout::AdkGo));
        let e = take("sqlite://x.db?schema=go", &base, false).unwrap_err();
        assert!(e.to_string().contains("adk-python or adk-go"), "{e}");
        let (url, o) = take(
            "sqlite://x.db?sync=normal&latency=no_busy_wait&event_cache_mb=0&busy_timeout=2",
            &base,
            false,
        )
        .unwrap();
        assert_eq!(url, "sqlite://x.db");
        assert_eq!(o.sqlite_sync, SqliteSync::Normal);
        assert_eq!(o.sqlite_latency, SqliteLatency::NoBusyWait);
        assert_eq!(o.event_cache_bytes, 0);
        assert_eq!(o.busy_timeout, Duration::from_secs(2));
    }

    #[test]
    fn bad_values_and_unknown_sqlite_keys_are_refused_by_name() {
        let base = OpenOptions::default();
        for (url, needle) in [
            ("sqlite://x.db?pool_size=0", "pool_size"),
            ("sqlite://x.db?sync=fast", "sync"),
            ("sqlite://x.db?cache=shared", "cache"),
            ("postgres://h/db?connect_timeout=-1", "connect_timeout"),
            ("postgres://h/db?lenient_events=yes", "lenient_events"),
        ] {
            let err = take(url, &base, url.starts_with("postgres")).unwrap_err();
            assert!(err.to_string().contains(needle), "{url}: {err}");
        }
    }
}
