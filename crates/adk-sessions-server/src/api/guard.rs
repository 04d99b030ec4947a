//! What keeps a web page the operator happens to visit from writing to a server on their
//! machine (CSRF and DNS rebinding, when auth is off):
//! - a request with a body must say `Content-Type: application/json` (or a `+json` type):
//!   HTML forms and `text/plain` bodies, which browsers send cross-origin without asking,
//!   are refused with 415 before anything is read;
//! - with [`HostCheck::Loopback`], the `Host` header must name the loopback interface
//!   (`localhost`, `127.0.0.1`, `[::1]`, any port) and an `Origin` header, when present,
//!   too: a rebinding page's requests carry its own host name and are refused with 403.
//!   `adk-sessions serve` turns this on when it listens on loopback without auth; a reverse
//!   proxy that forwards another `Host` switches it off with `--allow-any-host`.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::errors::ApiError;

/// Which `Host` / `Origin` a request may carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HostCheck {
    /// Any (behind auth, or behind a proxy that checks).
    #[default]
    Any,
    /// Loopback names only.
    Loopback,
}

/// Middleware: the content type of bodies, and the host check.
pub async fn guard(State(check): State<HostCheck>, req: Request, next: Next) -> Response {
    if check == HostCheck::Loopback {
        if let Err(what) = loopback_only(req.headers()) {
            return ApiError::new(StatusCode::FORBIDDEN, what).into_response();
        }
    }
    if has_body(&req) && !is_json(req.headers()) {
        return ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "a request body must be sent as Content-Type: application/json",
        )
        .into_response();
    }
    next.run(req).await
}

fn has_body(req: &Request) -> bool {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let headers = req.headers();
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match length {
        Some(n) => n > 0,
        None => headers.contains_key(header::TRANSFER_ENCODING),
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn loopback_only(headers: &HeaderMap) -> Result<(), String> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !is_loopback_authority(host) {
        return Err(format!(
            "Host {host:?} is not this machine's loopback interface: the server listens on loopback without auth and answers only requests made to it there (a proxy: run it with --allow-any-host)"
        ));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let authority = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        if !authority.is_some_and(is_loopback_authority) {
            return Err(format!(
                "Origin {origin:?} is not a page served from this machine's loopback interface"
            ));
        }
    }
    Ok(())
}

/// `localhost`, `127.x.x.x` or `[::1]`, with or without a port.
fn is_loopback_authority(authority: &str) -> bool {
    let host = if let Some(rest) = authority.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, tail)) if tail.is_empty() || tail.starts_with(':') => h,
            _ => return false,
        }
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_authorities() {
        for ok in [
            "localhost",
            "localhost:8000",
            "127.0.0.1:8000",
            "127.1.2.3",
            "[::1]:80",
            "[::1]",
            "LOCALHOST:1",
        ] {
            assert!(is_loopback_authority(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8000",
            "localhost.evil.example",
            "10.0.0.1:8000",
            "[::2]:80",
            "",
            "[::1]x",
        ] {
            assert!(!is_loopback_authority(bad), "{bad}");
        }
    }
}
