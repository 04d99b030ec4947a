//! The session REST API inside an axum app you already have: the app keeps its own routes
//! (`/` and `/health`, public) and mounts `adk_sessions_server::router(…)` under
//! `/sessions-api` with `Router::nest`, behind its own auth middleware (an `x-api-key`
//! header, 401 without it). `main` serves the app on 127.0.0.1 (a free port) and checks it
//! as a client: without the key the API answers 401; with it a session is created and read
//! back through `/sessions-api/apps/…`; the app's own routes still answer; and the app
//! itself reads the same session in process through the shared service. It exits non-zero
//! on any unexpected answer.
//!
//! Run it with `cargo run -p adk-sessions-server --example embed_router`.

use std::sync::Arc;

use adk_sessions::{GetFilter, InMemorySessionService, SessionKey, SessionService};
use adk_sessions_server::{router, ServerConfig};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

/// The app's key (a real app would read it from its configuration).
const API_KEY: &str = "let-me-in";

/// The app's own auth: every request must carry `x-api-key: <API_KEY>`.
async fn require_api_key(req: Request, next: Next) -> Response {
    match req.headers().get("x-api-key") {
        Some(key) if key.as_bytes() == API_KEY.as_bytes() => next.run(req).await,
        _ => (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "missing or wrong x-api-key"})),
        )
            .into_response(),
    }
}

/// The existing app, with the session API mounted under `/sessions-api`.
fn app(service: Arc<dyn SessionService>) -> Router {
    // The session API's own bearer-token auth (`ServerConfig::auth`) stays off: the app
    // authenticates every request to it with its own layer instead.
    let sessions_api =
        router(service, ServerConfig::default()).layer(middleware::from_fn(require_api_key));
    Router::new()
        .route(
            "/",
            get(|| async { "my app; the session API is under /sessions-api" }),
        )
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .nest("/sessions-api", sessions_api)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let service: Arc<dyn SessionService> = Arc::new(InMemorySessionService::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = app(service.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    println!("serving on {base}");

    let client = reqwest::Client::new();
    let sessions = format!("{base}/sessions-api/apps/my_app/users/alice/sessions");
    let body = json!({"sessionId": "s1", "state": {"topic": "rust", "user:lang": "en"}});

    // Without the key: the app's layer answers, the session API is never reached.
    let r = client.post(&sessions).json(&body).send().await?;
    println!("POST {sessions} without x-api-key -> {}", r.status());
    assert_eq!(r.status(), reqwest::StatusCode::UNAUTHORIZED);
    let r = client.get(format!("{sessions}/s1")).send().await?;
    assert_eq!(r.status(), reqwest::StatusCode::UNAUTHORIZED);

    // With the key: create, then get, through the nested API.
    let r = client
        .post(&sessions)
        .header("x-api-key", API_KEY)
        .json(&body)
        .send()
        .await?;
    let status = r.status();
    let created: Value = r.json().await?;
    println!("POST {sessions} with x-api-key -> {status}: {created}");
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(created["id"], json!("s1"));
    assert_eq!(created["appName"], json!("my_app"));

    let r = client
        .get(format!("{sessions}/s1"))
        .header("x-api-key", API_KEY)
        .send()
        .await?;
    let status = r.status();
    let got: Value = r.json().await?;
    println!(
        "GET {sessions}/s1 with x-api-key -> {status}: state {}",
        got["state"]
    );
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(got["state"]["topic"], json!("rust"));
    assert_eq!(got["state"]["user:lang"], json!("en"));

    // A path the session API does not have, under the prefix: its own JSON 404.
    let r = client
        .get(format!("{base}/sessions-api/no/such/route"))
        .header("x-api-key", API_KEY)
        .send()
        .await?;
    let status = r.status();
    let missing: Value = r.json().await?;
    println!("GET /sessions-api/no/such/route -> {status}: {missing}");
    assert_eq!(status, reqwest::StatusCode::NOT_FOUND);
    assert_eq!(missing["detail"], json!("Not Found"));

    // The app's own routes still answer, without a key.
    let r = client.get(format!("{base}/health")).send().await?;
    let status = r.status();
    let health: Value = r.json().await?;
    println!("GET /health -> {status}: {health}");
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(health["status"], json!("ok"));
    let r = client.get(format!("{base}/")).send().await?;
    let status = r.status();
    let text = r.text().await?;
    println!("GET / -> {status}: {text}");
    assert_eq!(status, reqwest::StatusCode::OK);

    // The app shares the service with the API: what a client wrote is there in process.
    let session = service
        .get(&SessionKey::new("my_app", "alice", "s1"), GetFilter::all())
        .await?;
    println!(
        "in process: session {:?} has state {}",
        session.id(),
        json!(session.state().snapshot())
    );
    assert_eq!(session.state().get("topic"), Some(json!("rust")));

    server.abort();
    println!("embed_router: ok");
    Ok(())
}
