//! The conformance suite: one `pub async fn` per behaviour of docs/contract.md (which
//! names, under each behaviour, the functions that check it), each taking the backend
//! under test as `Arc<dyn SessionService>`. It is the definition of correct for every
//! backend. Every function uses its own freshly named app, so one service instance may
//! be shared by all of them, and they may run in parallel.
//!
//! A backend's test file runs the whole list in one line with [`crate::conformance_tests!`]:
//!
//! ```ignore
//! adk_sessions::conformance_tests!(memory, async {
//!     std::sync::Arc::new(adk_sessions::InMemorySessionService::new())
//!         as std::sync::Arc<dyn adk_sessions::SessionService>
//! });
//! ```
//!
//! which expands to a module `memory` holding one `#[tokio::test]` per behaviour (the
//! calling crate needs `tokio` with the `macros` and `rt-multi-thread` features). The
//! factory may also return `Option<Arc<dyn SessionService>>`: `None` means the backend is
//! not available here (say, no database URL), and each test then returns at once; the
//! factory is expected to have said so loudly. A third
//! argument, a factory of a service built with the lenient event policy, adds the test
//! that unknown fields then round-trip.

mod append;
mod concurrency;
mod create;
mod delete;
mod get;
mod input;
mod isolation;
mod list;
pub mod list_statements;
mod skip;
mod support;

pub use append::*;
pub use concurrency::*;
pub use create::*;
pub use delete::*;
pub use get::*;
pub use input::*;
pub use isolation::*;
pub use list::*;
pub use skip::{in_ci, skip};

/// The one list of conformance behaviours (every strict-policy function of this module),
/// handed to `callback!(args; name, name, …)`. [`conformance_tests!`](crate::conformance_tests) and
/// [`behaviours`] both expand from it, so a new behaviour is listed once.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_behaviours {
    (($($callback:tt)*) $($args:tt)*) => {
        $($callback)*! { $($args)*;
            create_with_id_echoes_the_request,
            create_without_id_generates_a_unique_id,
            create_duplicate_is_already_exists,
            create_race_has_exactly_one_winner,
            create_drops_temp_keys,
            create_puts_scoped_keys_in_their_scope,
            get_missing_is_not_found,
            get_returns_the_current_merged_state,
            get_filters_select_events,
            get_orders_events_by_timestamp_then_id,
            list_by_user_and_by_app,
            list_has_merged_state_no_events_oldest_first,
            list_pagination_walks_every_session_once,
            list_order_follows_appends_and_deletes,
            delete_removes_the_session_and_its_events,
            delete_missing_or_foreign_is_harmless,
            append_to_missing_session_is_not_found,
            partial_events_are_not_stored,
            events_round_trip_field_for_field,
            unknown_nested_fields_are_refused,
            duplicate_event_id_is_refused,
            temp_keys_live_only_on_the_handle,
            state_deltas_replace_per_key,
            scopes_are_shared_as_promised,
            last_update_time_follows_events_forward,
            stale_handle_is_refused,
            concurrent_scoped_writes_are_never_lost,
            concurrent_stale_race_has_one_winner_per_round,
            bad_ids_are_refused_and_change_nothing,
            bad_events_are_refused_and_change_nothing,
            scoped_state_reads_are_empty_when_nothing_is_stored,
            keys_compare_byte_for_byte,
            appends_without_precondition_never_fail_for_contention,
            create_with_events_is_all_or_nothing,
            create_restores_last_update_time,
            list_apps_names_every_app_with_a_session
        }
    };
}

/// A behaviour's run: takes the service under test, resolves when the behaviour held.
pub type BehaviourFuture = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// One behaviour of the suite, by name, runnable against any service.
#[derive(Clone, Copy)]
pub struct Behaviour {
    /// The name of the function (and of the behaviour in docs/contract.md).
    pub name: &'static str,
    /// Runs it; panics when the service breaks the behaviour.
    pub run: fn(std::sync::Arc<dyn crate::SessionService>) -> BehaviourFuture,
}

impl std::fmt::Debug for Behaviour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

macro_rules! behaviour_list {
    (; $($name:ident),* $(,)?) => {
        vec![$(Behaviour {
            name: stringify!($name),
            run: |service| Box::pin($name(service)),
        }),*]
    };
}

/// Every behaviour that [`conformance_tests!`](crate::conformance_tests) runs with the strict event policy, in
/// order, for running the suite outside `#[test]`s (a custom runner, a health check of a
/// deployed backend). `lenient_unknown_fields_round_trip` is separate: it needs a service
/// built with the lenient policy.
pub fn behaviours() -> Vec<Behaviour> {
    crate::__conformance_behaviours!((behaviour_list))
}

/// Expands to a module of `#[tokio::test]`s, one per conformance behaviour, each running
/// against a service built by the given async expression. See the module docs.
#[macro_export]
macro_rules! conformance_tests {
    ($module:ident, $make:expr) => {
        $crate::conformance_tests!(@module $module, $make, {});
    };
    ($module:ident, $make:expr, $make_lenient:expr) => {
        $crate::conformance_tests!(@module $module, $make, {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn lenient_unknown_fields_round_trip() {
                let service: ::std::option::Option<::std::sync::Arc<dyn $crate::SessionService>> =
                    $make_lenient.await.into();
                if let ::std::option::Option::Some(service) = service {
                    $crate::testsuite::lenient_unknown_fields_round_trip(service).await;
                }
            }
        });
    };
    (@module $module:ident, $make:expr, { $($extra:tt)* }) => {
        #[allow(unused_imports)]
        mod $module {
            use super::*;
            $crate::__conformance_behaviours!(($crate::conformance_tests) @tests $make);
            $($extra)*
        }
    };
    (@tests $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let service: ::std::option::Option<::std::sync::Arc<dyn $crate::SessionService>> =
                    $make.await.into();
                if let ::std::option::Option::Some(service) = service {
                    $crate::testsuite::$name(service).await;
                }
            }
        )*
    };
}
