//! The one rule for a test that cannot run here (no database URL, no Python peer): on a
//! developer's machine it is skipped with a loud line that `cargo test` shows even for a
//! passing test; under CI (`CI` set, and not `false` or `0`) it is a failure, because
//! there every database and runtime is expected.

use std::collections::HashSet;
use std::io::Write;
use std::sync::Mutex;

/// True when `CI` is set to something other than empty, `false` or `0`.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Reports that a test cannot run here because of `why` (say what to set to run it).
/// Under CI this panics; otherwise it writes a `SKIPPED` line straight to the process's
/// stderr (past the test harness's capture, once per distinct reason) and returns, and
/// the caller's test then returns without asserting anything.
pub fn skip(why: &str) {
    if in_ci() {
        panic!("SKIPPED under CI, which is a failure: {why}");
    }
    static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let first = SEEN
        .lock()
        .map(|mut seen| seen.get_or_insert_with(HashSet::new).insert(why.to_owned()))
        .unwrap_or(true);
    if first {
        let line = format!("\n******** SKIPPED: {why} ********\n");
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}
