//! The PostgreSQL backend against a real server: the whole conformance suite, plus what
//! only a server shows (adk-python's schema, other versions refused, passwords never
//! shown, an unreachable server, first-ever state rows, and multi-process appends and
//! stale races). Set `ADK_SESSIONS_TEST_POSTGRES_URL` (e.g.
//! `postgres://postgres@127.0.0.1:5432/test`); every test makes its own database
//! (`adk_t_…`). Without the variable the tests print `SKIPPED` — and fail under `CI`.
//! Needs the `postgres` and `mysql` features (the test support serves both): `cargo test -p adk-sessions --features postgres,mysql
//! --test postgres_backend`.

#[cfg(all(feature = "postgres", feature = "mysql"))]
#[macro_use]
mod server_support;

#[cfg(all(feature = "postgres", feature = "mysql"))]
server_backend_tests!(server_support::Server::Postgres);

#[cfg(not(all(feature = "postgres", feature = "mysql")))]
#[test]
fn postgres_feature_is_off() {
    adk_sessions::testsuite::skip("built without the `postgres` and `mysql` features");
}
