//! The REST API as a library function: [`router`] over any `Arc<dyn SessionService>`.
//!
//! Every route is one row of [`routes`]: its method, path, handler and OpenAPI
//! operation, so the router and `/openapi.json` are built from the same table and
//! cannot drift apart. Handlers translate HTTP to library calls and back; they hold no
//! session logic.

mod create_body;
mod guard;
pub use guard::HostCheck;
pub mod errors;
mod events;
pub mod json;
mod sessions;
mod state;
pub mod view;

use std::sync::Arc;
use std::time::Duration;

use adk_sessions::{EventPolicy, SessionService};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::{Json, Router};
use serde_json::{json, Value};
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tower_http::LatencyUnit;
use tracing::Level;

pub use errors::ApiError;
pub use sessions::NEXT_PAGE_TOKEN_HEADER;

use crate::auth::{self, Tokens};
use crate::metrics as m;
use crate::openapi::{self, Op};

/// The default of [`ServerConfig::max_create_events`].
pub const DEFAULT_MAX_CREATE_EVENTS: usize = 10_000;

/// How the server behaves. `Default` is what `adk-sessions serve` uses without flags.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Strictness of incoming events (`--lenient-events` keeps fields adk-python does not
    /// know inside `actions` and the content model).
    pub event_policy: EventPolicy,
    /// Bearer tokens and the apps each may touch; `None` = no auth.
    pub auth: Option<Arc<Tokens>>,
    /// Largest accepted request body, bytes (16 MiB by default).
    pub max_body_bytes: usize,
    /// Longest a request may take before it is answered 503 (30 s by default).
    pub request_timeout: Option<Duration>,
    /// Serve `/metrics` and record request and database metrics.
    pub metrics: bool,
    /// Which `Host` / `Origin` requests may carry ([`HostCheck::Any`] by default;
    /// `adk-sessions serve` uses [`HostCheck::Loopback`] on loopback without auth).
    pub host_check: HostCheck,
    /// Most events a create may restore into a new session (10 000 by default); a body
    /// with more is refused (422) before any event is decoded.
    pub max_create_events: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            event_policy: EventPolicy::default(),
            auth: None,
            max_body_bytes: 16 * 1024 * 1024,
            request_timeout: Some(Duration::from_secs(30)),
            metrics: true,
            max_create_events: DEFAULT_MAX_CREATE_EVENTS,
            host_check: HostCheck::Any,
        }
    }
}

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    pub(crate) service: Arc<dyn SessionService>,
    pub(crate) policy: EventPolicy,
    pub(crate) max_create_events: usize,
}

/// One route: method, path (axum and OpenAPI share the `{param}` syntax), handler and
/// its OpenAPI operation.
pub struct Route {
    /// HTTP method.
    pub method: Method,
    /// Path template.
    pub path: &'static str,
    /// The OpenAPI operation object.
    pub op: Op,
    handler: MethodRouter<AppState>,
}

fn route<H, T>(method: Method, path: &'static str, op: Op, handler: H) -> Route
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).expect("a routable method");
    Route {
        method,
        path,
        op,
        handler: on(filter, handler),
    }
}

const SESSIONS: &str = "/apps/{app_name}/users/{user_id}/sessions";
const SESSION: &str = "/apps/{app_name}/users/{user_id}/sessions/{session_id}";
const EVENTS: &str = "/apps/{app_name}/users/{user_id}/sessions/{session_id}/events";

/// The table of every route the server answers.
pub fn routes() -> Vec<Route> {
    use openapi::ops;
    vec![
        route(
            Method::POST,
            SESSIONS,
            ops::create_session(),
            sessions::create,
        ),
        route(Method::GET, SESSIONS, ops::list_sessions(), sessions::list),
        route(
            Method::GET,
            "/apps/{app_name}/sessions",
            ops::list_app_sessions(),
            sessions::list,
        ),
        route(Method::GET, SESSION, ops::get_session(), sessions::get),
        route(
            Method::POST,
            SESSION,
            ops::create_session_with_id(),
            sessions::create_with_id,
        ),
        route(
            Method::DELETE,
            SESSION,
            ops::delete_session(),
            sessions::delete,
        ),
        route(
            Method::PATCH,
            SESSION,
            ops::update_session(),
            sessions::patch,
        ),
        route(Method::POST, EVENTS, ops::append_event(), events::append),
        route(
            Method::GET,
            "/apps/{app_name}/users/{user_id}/state",
            ops::user_state(),
            state::user_state,
        ),
        route(
            Method::GET,
            "/apps/{app_name}/state",
            ops::app_state(),
            state::app_state,
        ),
        route(Method::GET, "/healthz", ops::healthz(), healthz),
        route(Method::GET, "/readyz", ops::readyz(), readyz),
        route(Method::GET, "/metrics", ops::metrics(), metrics),
        route(Method::GET, "/openapi.json", ops::openapi(), openapi_json),
    ]
}

/// The HTTP API over `service`: adk-python's session endpoints and the extras, with auth,
/// body limit, timeout, request logs and metrics as `config` says.
pub fn router(service: Arc<dyn SessionService>, config: ServerConfig) -> Router {
    let service: Arc<dyn SessionService> = if config.metrics {
        m::install();
        Arc::new(m::Instrumented::new(service))
    } else {
        service
    };
    let state = AppState {
        service,
        policy: config.event_policy,
        max_create_events: config.max_create_events,
    };
    let mut router: Router<AppState> = Router::new();
    for r in routes() {
        if r.path == "/metrics" && !config.metrics {
            continue;
        }
        router = router.route(r.path, r.handler);
    }
    let mut router = router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(middleware::from_fn_with_state(
            config.auth.clone(),
            auth::require_token,
        ));
    if config.metrics {
        router = router.route_layer(middleware::from_fn(m::track_request));
    }
    let mut router = router
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            config.host_check,
            guard::guard,
        ))
        .with_state(state);
    if let Some(limit) = config.request_timeout {
        router = router.layer(middleware::from_fn_with_state(limit, timeout));
    }
    router.layer(
        TraceLayer::new_for_http()
            .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
            .on_response(
                DefaultOnResponse::new()
                    .level(Level::INFO)
                    .latency_unit(LatencyUnit::Micros),
            ),
    )
}

async fn timeout(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("request timed out after {} s", limit.as_secs_f64()),
        )
        .into_response(),
    }
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Not Found")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
}

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(st): State<AppState>) -> Result<Json<Value>, ApiError> {
    match st.service.ping().await {
        Ok(()) => Ok(Json(
            json!({"status": "ok", "backend": st.service.backend_name()}),
        )),
        // Described as every other error is (a storage error's message, which may name a
        // host, a file or SQL, goes to the log only): `/readyz` answers without a token.
        Err(e) => {
            let reason = match ApiError::from(e).detail {
                Value::String(text) => text,
                other => other.to_string(),
            };
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("database not ready: {reason}"),
            ))
        }
    }
}

async fn metrics() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        m::render(),
    )
        .into_response()
}

async fn openapi_json() -> Json<Value> {
    Json(openapi::document(&routes()))
}
