//! Thin wrappers over private decoders for the fuzz targets in `fuzz/`; compiled only with
//! `--cfg fuzzing`.

pub use crate::sql::adk_go::{GoEventRow, EXTRA_KEY};

use crate::error::Result;
use crate::model::Event;

/// Both decodings of an adk-go row: the typed one (`Ok(None)` when the row needs the
/// general way) and the general one. [`GoEventRow::into_event`] promises they agree.
pub fn go_row_decodings(row: &GoEventRow, session: &str) -> (Result<Option<Event>>, Result<Event>) {
    (
        row.decode_direct(session),
        row.clone().into_event_generic(session),
    )
}

/// The options a database URL's query sets (`?pool_size=4&schema=adk-go`) and the URL
/// without them, as [`crate::open`] takes them apart (`foreign_keys_ok`: whether keys this
/// crate does not know may stay, for a server's driver).
pub fn url_options(url: &str, foreign_keys_ok: bool) -> Result<(String, crate::sql::OpenOptions)> {
    crate::sql::url_options::take(url, &crate::sql::OpenOptions::default(), foreign_keys_ok)
}
