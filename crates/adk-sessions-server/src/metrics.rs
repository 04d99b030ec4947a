//! Prometheus metrics: requests by route, method and status
//! (`adk_sessions_http_requests_total`), request latency
//! (`adk_sessions_http_request_duration_seconds`) and database operation latency by
//! operation and outcome (`adk_sessions_db_operation_duration_seconds`), recorded by
//! [`Instrumented`], a `SessionService` wrapper. The recorder is process-global and
//! installed once.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use adk_sessions::{
    CreateOptions, Event, GetFilter, JsonMap, PageRequest, Result, Session, SessionKey,
    SessionPage, SessionService,
};
use async_trait::async_trait;
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

const BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder (once per process).
pub fn install() {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets(BUCKETS)
            .expect("non-empty buckets");
        match builder.install_recorder() {
            Ok(h) => h,
            // Another recorder is installed: keep serving an (empty) exposition.
            Err(_) => PrometheusBuilder::new().build_recorder().handle(),
        }
    });
}

/// The exposition text.
pub fn render() -> String {
    HANDLE.get().map(|h| h.render()).unwrap_or_default()
}

/// The `method` label: one of the standard methods, or `other`. Labels come from a closed
/// set, so no request can add a series to `/metrics` (a client sending long invented
/// methods would otherwise grow the exposition without bound).
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// Middleware: counts and times each routed request. Every label comes from a closed
/// set: the route is the matched route template (or `unmatched`), never the raw path;
/// the method is [`method_label`]; the status is a number.
pub async fn track_request(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = method_label(req.method());
    let start = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("adk_sessions_http_requests_total",
        "route" => route.clone(), "method" => method, "status" => status)
    .increment(1);
    metrics::histogram!("adk_sessions_http_request_duration_seconds",
        "route" => route, "method" => method)
    .record(start.elapsed().as_secs_f64());
    resp
}

/// A `SessionService` that records the latency and outcome of every call.
pub struct Instrumented {
    inner: Arc<dyn SessionService>,
}

impl Instrumented {
    /// Wraps a backend.
    pub fn new(inner: Arc<dyn SessionService>) -> Self {
        Instrumented { inner }
    }
}

async fn timed<T>(
    backend: &'static str,
    op: &'static str,
    f: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let start = Instant::now();
    let out = f.await;
    let outcome = match &out {
        Ok(_) => "ok",
        Err(adk_sessions::Error::NotFound { .. }) => "not_found",
        Err(adk_sessions::Error::AlreadyExists { .. }) => "already_exists",
        Err(adk_sessions::Error::Stale { .. }) => "stale",
        // A duplicate event id was an `InvalidArgument` before it had its own variant: the
        // label stays, so existing series and dashboards keep counting it.
        Err(adk_sessions::Error::InvalidArgument(_))
        | Err(adk_sessions::Error::DuplicateEvent { .. }) => "invalid_argument",
        Err(adk_sessions::Error::Storage { .. }) => "storage_error",
        // `Error` is non-exhaustive: a variant added later gets its own label once named
        // here; until then it is counted apart from the known outcomes.
        Err(_) => "other_error",
    };
    metrics::histogram!("adk_sessions_db_operation_duration_seconds",
        "backend" => backend, "op" => op, "outcome" => outcome)
    .record(start.elapsed().as_secs_f64());
    out
}

#[async_trait]
impl SessionService for Instrumented {
    async fn create(
        &self,
        app_name: &str,
        user_id: &str,
        options: CreateOptions,
    ) -> Result<Session> {
        let b = self.inner.backend_name();
        timed(b, "create", self.inner.create(app_name, user_id, options)).await
    }

    async fn get(&self, key: &SessionKey, filter: GetFilter) -> Result<Session> {
        let b = self.inner.backend_name();
        timed(b, "get", self.inner.get(key, filter)).await
    }

    async fn list(
        &self,
        app_name: &str,
        user_id: Option<&str>,
        page: &PageRequest,
    ) -> Result<SessionPage> {
        let b = self.inner.backend_name();
        timed(b, "list", self.inner.list(app_name, user_id, page)).await
    }

    async fn delete(&self, key: &SessionKey) -> Result<()> {
        let b = self.inner.backend_name();
        timed(b, "delete", self.inner.delete(key)).await
    }

    async fn append_event(&self, session: &Session, event: Event) -> Result<Arc<Event>> {
        let b = self.inner.backend_name();
        timed(b, "append_event", self.inner.append_event(session, event)).await
    }

    async fn append_to_current(
        &self,
        key: &adk_sessions::SessionKey,
        event: Event,
    ) -> Result<adk_sessions::Appended> {
        let b = self.inner.backend_name();
        timed(
            b,
            "append_to_current",
            self.inner.append_to_current(key, event),
        )
        .await
    }

    async fn get_user_state(&self, app_name: &str, user_id: &str) -> Result<JsonMap> {
        let b = self.inner.backend_name();
        timed(
            b,
            "get_user_state",
            self.inner.get_user_state(app_name, user_id),
        )
        .await
    }

    async fn get_app_state(&self, app_name: &str) -> Result<JsonMap> {
        let b = self.inner.backend_name();
        timed(b, "get_app_state", self.inner.get_app_state(app_name)).await
    }

    async fn close(&self) -> Result<()> {
        self.inner.close().await
    }

    async fn ping(&self) -> Result<()> {
        let b = self.inner.backend_name();
        timed(b, "ping", self.inner.ping()).await
    }

    fn backend_name(&self) -> &'static str {
        self.inner.backend_name()
    }
}
