//! The whole conformance suite against the in-memory backend.

#[path = "support/conformance.rs"]
#[macro_use]
mod conformance;

use std::sync::Arc;

use adk_sessions::{EventPolicy, InMemorySessionService, SessionService};

// `conformance_suite!` stands in for `adk_sessions::conformance_tests!` (see
// support/conformance.rs for why).
conformance_suite!(
    memory,
    async { Arc::new(InMemorySessionService::new()) as Arc<dyn SessionService> },
    async {
        Arc::new(InMemorySessionService::with_policy(EventPolicy {
            lenient_unknown_fields: true,
        })) as Arc<dyn SessionService>
    }
);
