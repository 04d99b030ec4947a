//! Database URLs as users write them — ours (`sqlite://`, `postgres://`, `mysql://`,
//! `memory://`) and the SQLAlchemy spellings adk-python configs already hold
//! (`sqlite+aiosqlite:///`, `postgresql+asyncpg://`, `mysql+aiomysql://`) — and their
//! redaction: a password never reaches an error, a log line or `Debug` output.

use std::fmt;
use std::path::PathBuf;

use crate::error::{Error, Result};

/// Which backend a URL selects, with what it needs to connect.
#[derive(Clone, PartialEq, Eq)]
pub enum DbUrl {
    /// `memory://`: [`crate::InMemorySessionService`].
    Memory,
    /// A SQLite file (`sqlite://relative.db`, `sqlite:///abs/path.db`), or an in-memory
    /// SQLite database (`sqlite::memory:`) when `path` is `None`.
    Sqlite {
        /// The file, `None` for `sqlite::memory:`.
        path: Option<PathBuf>,
    },
    /// A PostgreSQL server; `url` is normalized to `postgres://…`.
    Postgres {
        /// The connection URL for the driver.
        url: String,
    },
    /// A MySQL or MariaDB server; `url` is normalized to `mysql://…`.
    Mysql {
        /// The connection URL for the driver.
        url: String,
    },
}

impl DbUrl {
    /// Parses a database URL; an unknown scheme is `InvalidArgument` listing the known ones.
    pub fn parse(url: &str) -> Result<DbUrl> {
        let url = url.trim();
        let (scheme, rest) = match url.split_once(':') {
            Some((s, r)) => (s.to_ascii_lowercase(), r),
            None => {
                return Err(Error::invalid(format!(
                    "database URL {:?} has no scheme; {KNOWN}",
                    redact(url)
                )))
            }
        };
        let base = scheme.split('+').next().unwrap_or("");
        match base {
            "memory" => Ok(DbUrl::Memory),
            "sqlite" => {
                if rest == ":memory:"
                    || rest == "//:memory:"
                    || rest == "///:memory:"
                    || rest.is_empty()
                    || rest == "//"
                {
                    return Ok(DbUrl::Sqlite { path: None });
                }
                let Some(after) = rest.strip_prefix("//") else {
                    return Err(Error::invalid(format!(
                        "SQLite URL {:?} must be sqlite://relative.db, sqlite:///absolute/path.db or sqlite::memory:",
                        redact(url)
                    )));
                };
                // SQLAlchemy: sqlite:///rel.db is relative, sqlite:////abs.db absolute.
                // Ours: sqlite://rel.db relative, sqlite:///abs.db absolute.
                let path = if scheme.contains('+') {
                    after.strip_prefix('/').unwrap_or(after)
                } else {
                    after
                };
                let path = path.split('?').next().unwrap_or(path);
                if path.is_empty() {
                    return Err(Error::invalid(format!(
                        "SQLite URL {:?} names no file",
                        redact(url)
                    )));
                }
                Ok(DbUrl::Sqlite {
                    path: Some(PathBuf::from(path)),
                })
            }
            "postgres" | "postgresql" => Ok(DbUrl::Postgres {
                url: format!("postgres:{rest}"),
            }),
            "mysql" | "mariadb" => Ok(DbUrl::Mysql {
                url: format!("mysql:{rest}"),
            }),
            _ => Err(Error::invalid(format!(
                "database URL scheme {scheme:?} is not supported; {KNOWN}"
            ))),
        }
    }

    /// A short name of the backend: `memory`, `sqlite`, `postgres` or `mysql`.
    pub fn backend(&self) -> &'static str {
        match self {
            DbUrl::Memory => "memory",
            DbUrl::Sqlite { .. } => "sqlite",
            DbUrl::Postgres { .. } => "postgres",
            DbUrl::Mysql { .. } => "mysql",
        }
    }
}

const KNOWN: &str = "use memory://, sqlite://path.db, sqlite::memory:, postgres://user@host/db or mysql://user@host/db";

impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string())
    }
}

impl fmt::Display for DbUrl {
    /// The URL with any password replaced by `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbUrl::Memory => f.write_str("memory://"),
            DbUrl::Sqlite { path: None } => f.write_str("sqlite::memory:"),
            DbUrl::Sqlite { path: Some(p) } => write!(f, "sqlite://{}", p.display()),
            DbUrl::Postgres { url } | DbUrl::Mysql { url } => f.write_str(&redact(url)),
        }
    }
}

/// `url` with the password of its authority (`user:password@`) replaced by `***`, and the
/// value of every query parameter whose name ends in `password` (`password`, libpq's
/// `sslpassword`) too.
pub fn redact(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let auth_start = scheme_end + 3;
        let auth_end = out[auth_start..]
            .find(['/', '?', '#'])
            .map_or(out.len(), |i| auth_start + i);
        if let Some(at) = out[auth_start..auth_end].rfind('@') {
            let userinfo = &out[auth_start..auth_start + at];
            if let Some(colon) = userinfo.find(':') {
                let pw_start = auth_start + colon + 1;
                out.replace_range(pw_start..auth_start + at, "***");
            }
        }
    }
    // Every query parameter named like a password, not only the first text `password=`
    // (which may be the end of another name, `sslpassword=`, or sit outside the query).
    if let Some(q) = out.find('?') {
        let query = out[q + 1..]
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.to_ascii_lowercase().ends_with("password") => {
                    format!("{key}=***")
                }
                _ => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&");
        out.truncate(q + 1);
        out.push_str(&query);
    }
    out
}

/// Replaces every occurrence of the passwords of `url` in `message` by `***`: driver
/// errors sometimes echo the URL or its parts. The passwords are the authority's
/// (`user:password@`) and every query parameter's whose name ends in `password`, each as
/// written and percent-decoded.
pub fn redact_in(message: &str, url: &str) -> String {
    let mut message = message.replace(url, &redact(url));
    let mut secrets = passwords_of(url);
    // Longest first, so a password that contains another is masked whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for secret in secrets {
        message = message.replace(&secret, "***");
    }
    message
}

/// The passwords written in `url`, as written and percent-decoded, none empty.
fn passwords_of(url: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(scheme_end) = url.find("://").map(|i| i + 3) {
        let auth_end = url[scheme_end..]
            .find(['/', '?', '#'])
            .map_or(url.len(), |i| scheme_end + i);
        let auth = &url[scheme_end..auth_end];
        if let Some((_, pw)) = auth.rfind('@').and_then(|at| auth[..at].split_once(':')) {
            found.push(pw.to_owned());
        }
    }
    if let Some((_, query)) = url.split_once('?') {
        for pair in query.split('&') {
            if let Some((key, value)) = pair.split_once('=') {
                if key.to_ascii_lowercase().ends_with("password") {
                    found.push(value.to_owned());
                }
            }
        }
    }
    let decoded: Vec<String> = found.iter().filter_map(|s| percent_decoded(s)).collect();
    found.extend(decoded);
    found.retain(|s| !s.is_empty() && s != "***");
    found
}

/// `text` with its `%XX` escapes decoded, when it has any and they make UTF-8.
fn percent_decoded(text: &str) -> Option<String> {
    if !text.contains('%') {
        return None;
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h)? * 16 + hex(l)?) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_spelling_parses() {
        let sqlite = |p: &str| DbUrl::Sqlite {
            path: Some(PathBuf::from(p)),
        };
        assert_eq!(DbUrl::parse("memory://").unwrap(), DbUrl::Memory);
        assert_eq!(DbUrl::parse("sqlite://rel.db").unwrap(), sqlite("rel.db"));
        assert_eq!(
            DbUrl::parse("sqlite:///abs/x.db").unwrap(),
            sqlite("/abs/x.db")
        );
        assert_eq!(
            DbUrl::parse("sqlite+aiosqlite:///rel.db").unwrap(),
            sqlite("rel.db")
        );
        assert_eq!(
            DbUrl::parse("sqlite+aiosqlite:////abs.db").unwrap(),
            sqlite("/abs.db")
        );
        assert_eq!(
            DbUrl::parse("sqlite::memory:").unwrap(),
            DbUrl::Sqlite { path: None }
        );
        assert_eq!(
            DbUrl::parse("postgresql+asyncpg://u:p@h/db").unwrap(),
            DbUrl::Postgres {
                url: "postgres://u:p@h/db".into()
            }
        );
        assert_eq!(
            DbUrl::parse("mariadb://root@h/db").unwrap(),
            DbUrl::Mysql {
                url: "mysql://root@h/db".into()
            }
        );
        assert!(DbUrl::parse("redis://x").is_err());
        assert!(DbUrl::parse("nonsense").is_err());
    }

    #[test]
    fn passwords_never_show() {
        let u = DbUrl::parse("postgres://bob:s3cret@db:5432/x?sslmode=disable").unwrap();
        assert_eq!(
            u.to_string(),
            "postgres://bob:***@db:5432/x?sslmode=disable"
        );
        assert!(!format!("{u:?}").contains("s3cret"));
        assert_eq!(
            redact("mysql://h/db?password=abc&x=1"),
            "mysql://h/db?password=***&x=1"
        );
        assert_eq!(
            redact_in("failed for bob:s3cret at db", "postgres://bob:s3cret@db/x"),
            "failed for bob:*** at db"
        );
    }

    /// Found by fuzz/fuzz_targets/db_url.rs: only the first text `password=` was masked, so
    /// a `password` parameter after libpq's `sslpassword` (or any name ending in
    /// `password`) was shown as it is.
    #[test]
    fn every_password_query_parameter_is_masked() {
        assert_eq!(
            redact("postgres://adk@h/db?sslpassword=k3y&password=s3cret&application_name=adk"),
            "postgres://adk@h/db?sslpassword=***&password=***&application_name=adk"
        );
        assert_eq!(
            redact("postgres://h/db?password=a&PASSWORD=b&user=u"),
            "postgres://h/db?password=***&PASSWORD=***&user=u"
        );
        // Not a query parameter: left as it is.
        assert_eq!(redact("sqlite://password=x.db"), "sqlite://password=x.db");
        let u = "postgres://u:pw@h/db?sslpassword=k3y&password=s3cret";
        assert_eq!(redact(&redact(u)), redact(u));
    }

    /// A driver message that echoes a query parameter's password, or the authority's
    /// password percent-decoded, shows neither.
    #[test]
    fn messages_lose_every_password_of_the_url() {
        let url = "postgres://bob:p%40ss-w0rd@h/db?sslpassword=k3y-Secret&sslmode=require";
        let message = "bad key k3y-Secret for bob with p@ss-w0rd or p%40ss-w0rd";
        let shown = redact_in(message, url);
        for secret in ["k3y-Secret", "p@ss-w0rd", "p%40ss-w0rd"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert_eq!(shown, "bad key *** for bob with *** or ***");
        assert_eq!(
            redact_in("no secret here", "postgres://h/db"),
            "no secret here"
        );
    }

    /// Found by fuzz/fuzz_targets/db_url.rs: a SQLite URL that does not parse was quoted as
    /// it came in the error, password parameters included.
    #[test]
    fn a_refused_sqlite_url_is_quoted_redacted() {
        for url in [
            "sqlite:x.db?password=s3cret",
            "sqlite+a:///?password=s3cret",
        ] {
            let e = DbUrl::parse(url).unwrap_err().to_string();
            assert!(!e.contains("s3cret") && e.contains("password=***"), "{e}");
        }
    }
}
