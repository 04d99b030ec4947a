//! Database URLs (`DbUrl::parse`, the query options `open` takes out of them) and their
//! redaction (`redact_url`, `redact_url_in`, `DbUrl`'s `Display`/`Debug`, parse errors).
//! The input's first line is the URL; the rest is a driver message for `redact_url_in`.
//!
//! The password of a URL `scheme://user:password@host…` (RFC 3986: a scheme of letters,
//! digits, `+`, `-` and `.`, and the authority after `//` right after the scheme's `:`) is what `redact_url` masks: the authority runs to the
//! first `/`, `?` or `#`; the userinfo is the authority up to its last `@`; the password
//! follows the userinfo's first `:`. (`redact_url` also masks such text after a `://`
//! further on, which is not a URL's password: text like `memory:?x://u:p@h` is not checked.)
//! So are the values of query parameters named `…password` (`password`, `sslpassword`) of
//! such a URL (`scheme://…`). Whether it leaks is told apart from a
//! coincidence by comparison: the same text made from the URL with the password replaced by
//! a marker must hold the password at least as often (it may occur elsewhere in the URL or
//! in a fixed message). `redact_url_in` must remove it outright, unless it contains `*`
//! (the mask itself is `***`).
//!
//! Also: nothing panics; redaction of a URL is idempotent; a URL (with a scheme) that parses still
//! parses, to the same backend, once redacted and once `open`'s query options are taken out.

#![no_main]

use adk_sessions::fuzzing::url_options;
use adk_sessions::{redact_url, redact_url_in, DbUrl};
use libfuzzer_sys::fuzz_target;

/// Where the scheme of `url` ends (its `:`), when it has one as RFC 3986 spells it: a
/// letter, then letters, digits, `+`, `-` and `.`.
fn scheme_end(url: &str) -> Option<usize> {
    let colon = url.find(':')?;
    let scheme = url[..colon].trim_start();
    let valid = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some(colon)
}

/// The byte range of the password of `url` (see the module documentation).
fn password_span(url: &str) -> Option<std::ops::Range<usize>> {
    let colon = scheme_end(url)?;
    if !url[colon..].starts_with("://") {
        return None;
    }
    let start = colon + 3;
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    let at = start + url[start..end].rfind('@')?;
    let colon = start + url[start..at].find(':')?;
    Some(colon + 1..at)
}

/// The byte ranges of the values of the URL's query parameters whose name ends in
/// `password` (`password`, libpq's `sslpassword`; any case), which redaction masks too.
fn query_password_spans(url: &str) -> Vec<std::ops::Range<usize>> {
    let (Some(colon), Some(q)) = (scheme_end(url), url.find('?')) else {
        return Vec::new();
    };
    if q < colon || !url[colon..].starts_with("://") {
        return Vec::new();
    }
    let mut spans = Vec::new();
    let mut start = q + 1;
    for pair in url[q + 1..].split('&') {
        if let Some((key, value)) = pair.split_once('=') {
            if key.to_ascii_lowercase().ends_with("password") && !value.is_empty() {
                let value_start = start + key.len() + 1;
                spans.push(value_start..value_start + value.len());
            }
        }
        start += pair.len() + 1;
    }
    spans
}

/// Everything a URL's text can reach a log line or an error through.
fn views(url: &str) -> Vec<String> {
    let mut out = vec![redact_url(url)];
    match DbUrl::parse(url) {
        Ok(parsed) => {
            out.push(parsed.to_string());
            out.push(format!("{parsed:?}"));
        }
        Err(e) => out.push(e.to_string()),
    }
    for foreign_keys_ok in [false, true] {
        if let Err(e) = url_options(url, foreign_keys_ok) {
            out.push(e.to_string());
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (url, message) = text.split_once('\n').unwrap_or((text, ""));
    let parsed = DbUrl::parse(url);
    let redacted = redact_url(url);
    // Idempotent for a URL with an authority (`scheme://…`); in other text, masking a query
    // parameter can take away the `/` that ended what redaction took for an authority.
    let with_authority = scheme_end(url).is_some_and(|colon| url[colon..].starts_with("://"));
    if with_authority {
        assert_eq!(redact_url(&redacted), redacted, "redacting {url:?} twice");
    }

    // A parsed SQLite URL's file name is the whole rest of the URL, `user:pw@` included:
    // it names a file, not a server login, and is shown as it is.
    let sqlite = matches!(parsed, Ok(DbUrl::Sqlite { .. }));
    if let Some(span) = password_span(url) {
        let password = &url[span.clone()];
        let marked = format!("{}\u{1}{}", &url[..span.start], &url[span.end..]);
        assert_eq!(password_span(&marked), Some(span.start..span.start + 1));
        for (i, (view, baseline)) in views(url).iter().zip(views(&marked)).enumerate() {
            if sqlite && (i == 1 || i == 2) {
                continue;
            }
            assert!(
                view.matches(password).count() <= baseline.matches(password).count(),
                "the password {password:?} of {url:?} shows in {view:?}"
            );
        }
        if !password.is_empty() && !password.contains('*') {
            for message in [
                message.to_owned(),
                format!("cannot connect to {url}: {message}"),
                format!("{message}{password}{message}"),
            ] {
                let cleaned = redact_url_in(&message, url);
                assert!(
                    !cleaned.contains(password),
                    "the password {password:?} of {url:?} shows in {cleaned:?}"
                );
            }
        }
    } else {
        let _ = redact_url_in(message, url);
    }
    for span in query_password_spans(url) {
        let password = &url[span.clone()];
        let marked = format!("{}\u{1}{}", &url[..span.start], &url[span.end..]);
        for (i, (view, baseline)) in views(url).iter().zip(views(&marked)).enumerate() {
            if sqlite && (i == 1 || i == 2) {
                continue;
            }
            assert!(
                view.matches(password).count() <= baseline.matches(password).count(),
                "the query password {password:?} of {url:?} shows in {view:?}"
            );
        }
    }

    let Ok(parsed) = parsed else {
        return;
    };
    // `DbUrl::parse` takes anything before the first `:` as the scheme; text whose scheme
    // is no scheme (holding `?`, `/`, …) is not a URL that redaction keeps the shape of.
    if scheme_end(url).is_none() {
        return;
    }
    let again = DbUrl::parse(&redacted)
        .unwrap_or_else(|e| panic!("{url:?} parses, its redacted form {redacted:?} not: {e}"));
    assert_eq!(
        parsed.backend(),
        again.backend(),
        "{url:?} and {redacted:?}"
    );
    if !sqlite && with_authority {
        assert_eq!(
            parsed.to_string(),
            again.to_string(),
            "{url:?} and {redacted:?}"
        );
    }
    let server = matches!(parsed, DbUrl::Postgres { .. } | DbUrl::Mysql { .. });
    if let Ok((stripped, _)) = url_options(url, server) {
        let reparsed = DbUrl::parse(&stripped).unwrap_or_else(|e| {
            panic!("{url:?} parses, without its options {stripped:?} not: {e}")
        });
        assert_eq!(
            parsed.backend(),
            reparsed.backend(),
            "{url:?} and {stripped:?}"
        );
        let (again, _) = url_options(&stripped, server)
            .unwrap_or_else(|e| panic!("options taken out of {url:?}, then {stripped:?}: {e}"));
        assert_eq!(again, stripped, "taking the options out of {url:?} twice");
    }
});
