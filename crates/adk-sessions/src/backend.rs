//! For authors of a backend: what every `SessionService` implementation in this crate is
//! built from, so a third-party store keeps the same contract with little code.
//!
//! A backend's `create` calls [`prepare_create`] (checks the key, generates an id, splits
//! the initial state by scope), stores the session and its `app:`/`user:` keys, and
//! returns [`crate::Session::from_parts`] with the [`merge`]d state. Its `append_event` calls
//! [`prepare_append`]: a [`Prepared::Partial`] event is returned as is; otherwise, in one
//! transaction, it checks that the stored revision still equals
//! [`PreparedAppend::expected_revision`] (else [`stale`]), stores the event, applies the
//! scoped deltas (per key replace, see [`apply_delta`]) and moves the stored revision to
//! [`PreparedAppend::update_time`]; only after the write is durable does it call
//! [`crate::Session::apply_append`]. `list` pages with [`ListCursor`] tokens after
//! [`check_list_request`]. Ids are checked with [`check_key`] / [`check_id`].
//!
//! Then run the whole conformance suite against it (feature `testsuite`):
//!
//! ```ignore
//! adk_sessions::conformance_tests!(my_store, async {
//!     std::sync::Arc::new(MyStore::default()) as std::sync::Arc<dyn adk_sessions::SessionService>
//! });
//! ```
//!
//! `examples/custom_backend.rs` is a complete in-memory store built this way, and
//! docs/contract.md lists every behaviour the suite checks.

pub use crate::page::{check_list_request, check_page_size, ListCursor};
pub use crate::session::{
    prepare_append, prepare_append_to_current, prepare_create, stale, Prepared, PreparedAppend,
    PreparedCreate,
};
pub use crate::state::{apply_delta, merge, scope_of, take_temp, Scope, ScopedDelta};
pub use crate::validate::{check_id, check_key, MAX_ID_CHARS};
