//! The whole conformance suite against the in-memory backend.

use std::sync::Arc;

use adk_sessions::{EventPolicy, InMemorySessionService, SessionService};

adk_sessions::conformance_tests!(
    memory,
    async { Arc::new(InMemorySessionService::new()) as Arc<dyn SessionService> },
    async {
        Arc::new(InMemorySessionService::with_policy(EventPolicy {
            lenient_unknown_fields: true,
        })) as Arc<dyn SessionService>
    }
);
