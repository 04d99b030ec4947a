//! The opaque page token of `list`: the position (update time, user, id) of the last
//! session of a page. Keyset pagination, so sessions added meanwhile never make a page
//! repeat or skip an existing session.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::time::Timestamp;

/// The sort key of a listed session: oldest update first, then user, then id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ListCursor {
    /// Update time, µs.
    pub t: i64,
    /// User id.
    pub u: String,
    /// Session id.
    pub s: String,
}

impl ListCursor {
    /// The cursor of a session.
    pub fn new(update: Timestamp, user_id: &str, session_id: &str) -> Self {
        ListCursor {
            t: update.0,
            u: user_id.to_owned(),
            s: session_id.to_owned(),
        }
    }

    /// The token text.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Reads a token; a token this library did not make is `InvalidArgument`.
    pub fn decode(token: &str) -> Result<Self> {
        URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| {
                Error::invalid(format!(
                    "page_token {token:?} is not a token this service issued"
                ))
            })
    }
}

/// Checks the arguments of a `list` call (ids, page size, token) the same way for every
/// backend, and returns the position to continue after (`None` for the first page).
pub fn check_list_request(
    app_name: &str,
    user_id: Option<&str>,
    page: &crate::PageRequest,
) -> Result<Option<ListCursor>> {
    crate::validate::check_id("app_name", app_name)?;
    if let Some(u) = user_id {
        crate::validate::check_id("user_id", u)?;
    }
    check_page_size(page.page_size)?;
    page.page_token
        .as_deref()
        .map(ListCursor::decode)
        .transpose()
}

/// Checks a page size: at least 1.
pub fn check_page_size(size: Option<usize>) -> Result<()> {
    match size {
        Some(0) => Err(Error::invalid("page_size must be at least 1")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_garbage_is_refused() {
        let c = ListCursor::new(Timestamp(42), "u", "s");
        assert_eq!(ListCursor::decode(&c.encode()).unwrap(), c);
        assert!(ListCursor::decode("garbage!").is_err());
    }
}
