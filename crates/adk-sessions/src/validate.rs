//! Checks on what callers pass in, shared by every backend so each refuses the same
//! input with the same message before anything is written.

use crate::error::{Error, Result};

/// Longest app name, user id or session id the schema stores (`VARCHAR(128)`).
pub const MAX_ID_CHARS: usize = 128;

/// Checks an app name, user id or session id: non-empty, at most 128 characters.
/// `what` names the argument in the error.
pub fn check_id(what: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid(format!("{what} is empty")));
    }
    if value.contains('\0') {
        return Err(Error::invalid(format!(
            "{what} holds the character U+0000 (NUL), which a session store cannot keep"
        )));
    }
    // Fast path: a string of at most 128 bytes has at most 128 characters.
    if value.len() <= MAX_ID_CHARS {
        return Ok(());
    }
    let n = value.chars().count();
    if n > MAX_ID_CHARS {
        return Err(Error::invalid(format!(
            "{what} is {n} characters long; at most {MAX_ID_CHARS} are allowed"
        )));
    }
    Ok(())
}

/// Checks the key of a session.
pub fn check_key(app_name: &str, user_id: &str, session_id: &str) -> Result<()> {
    check_id("app_name", app_name)?;
    check_id("user_id", user_id)?;
    check_id("session_id", session_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_non_empty_and_short() {
        assert!(check_id("app_name", "a").is_ok());
        assert!(check_id("app_name", &"é".repeat(128)).is_ok());
        let e = check_id("user_id", "").unwrap_err().to_string();
        assert!(e.contains("user_id is empty"), "{e}");
        let e = check_id("session_id", &"x".repeat(129))
            .unwrap_err()
            .to_string();
        assert!(e.contains("session_id is 129 characters"), "{e}");
    }
}
