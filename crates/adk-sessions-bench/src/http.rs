//! W4: W3 through the REST server. The server runs in this process on `127.0.0.1:0`
//! (the crate's [`adk_sessions_server::router`] with the default [`adk_sessions_server::ServerConfig`], as
//! `adk-sessions serve` runs it) over the same service; `--http-clients` keep-alive
//! clients (one connection each) then run three phases, each started together:
//!
//! 1. **create**: each client creates its 4 sessions (`POST …/sessions`);
//! 2. **append**: each client appends `--task-events` events round robin over its
//!    sessions (`POST …/sessions/{id}/events`, camelCase body);
//! 3. **get**: each client GETs one shared 50-event session `--http-gets` times.
//!
//! Each phase reports requests/s (all clients together) and p50/p99 latency; bodies are
//! built before the clock starts, and every status and count is checked.

use std::sync::Arc;
use std::time::{Duration, Instant};

use adk_sessions::{CreateOptions, SessionKey, SessionService};
use serde_json::{json, Value};

use super::report::Report;
use super::workloads::{event, initial_state, user_of, APP, W3_SESSIONS_PER_TASK};
use super::{BenchArgs, BenchError, Progress};

/// Events of the session every client GETs.
pub const GET_SESSION_EVENTS: usize = 50;

fn herr(doing: &str, e: impl std::fmt::Display) -> BenchError {
    BenchError::Other(format!("W4 {doing}: {e}"))
}

/// Latencies of one phase and its wall time.
struct Phase {
    latencies: Vec<Duration>,
    wall: Duration,
}

impl Phase {
    fn report(mut self, name: &str, report: &mut Report) {
        self.latencies.sort();
        let n = self.latencies.len();
        let pct = |p: f64| {
            if n == 0 {
                0.0
            } else {
                let i = ((n as f64 * p).ceil() as usize).clamp(1, n) - 1;
                self.latencies[i].as_secs_f64() * 1e3
            }
        };
        report.rate(
            &format!("w4_{name}_per_s"),
            n as f64 / self.wall.as_secs_f64().max(1e-9),
        );
        report.millis(&format!("w4_{name}_p50_ms"), pct(0.50));
        report.millis(&format!("w4_{name}_p99_ms"), pct(0.99));
    }
}

/// Runs W4 against `svc` and adds its keys to `report`.
pub async fn w4(
    svc: Arc<dyn SessionService>,
    args: &BenchArgs,
    text: &str,
    progress: &Progress,
    report: &mut Report,
) -> Result<(), BenchError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| herr("binding a loopback port", e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| herr("reading the port", e))?;
    let app =
        adk_sessions_server::router(svc.clone(), adk_sessions_server::ServerConfig::default());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let base = format!("http://{addr}/apps/{APP}/users");

    // The shared 50-event session, written through the library.
    let get_session = svc
        .create(
            APP,
            "u0",
            CreateOptions::new()
                .session_id("http-get")
                .state(initial_state(0)),
        )
        .await?;
    for i in 0..GET_SESSION_EVENTS {
        svc.append_event(&get_session, event(i, text)).await?;
    }

    let clients = args.http_clients.max(1);
    let k = args.task_events;
    let gets = args.http_gets;
    let result = async {
        let create = phase(progress, "W4 create", clients, W3_SESSIONS_PER_TASK, {
            let base = base.clone();
            move |c, client: reqwest::Client| {
                let base = base.clone();
                async move {
                    let mut lat = Vec::new();
                    for j in 0..W3_SESSIONS_PER_TASK {
                        let n = c * W3_SESSIONS_PER_TASK + j;
                        let body = json!({"sessionId": format!("http-{n}"), "state": Value::Object(initial_state(n))}).to_string();
                        let url = format!("{base}/{}/sessions", user_of(n));
                        let t = Instant::now();
                        let r = client.post(&url).header("content-type", "application/json").body(body).send().await.map_err(|e| herr("create", e))?;
                        let status = r.status();
                        r.bytes().await.map_err(|e| herr("create", e))?;
                        lat.push(t.elapsed());
                        if !status.is_success() {
                            return Err(BenchError::Assertion(format!("W4 create http-{n}: HTTP {status}")));
                        }
                    }
                    Ok(lat)
                }
            }
        })
        .await?;
        let text = text.to_owned();
        let append = phase(progress, "W4 append", clients, k, {
            let base = base.clone();
            move |c, client: reqwest::Client| {
                let base = base.clone();
                let bodies: Vec<(String, String)> = (0..k)
                    .map(|x| {
                        let n = c * W3_SESSIONS_PER_TASK + x % W3_SESSIONS_PER_TASK;
                        let e = event(x / W3_SESSIONS_PER_TASK, &text);
                        (
                            format!("{base}/{}/sessions/http-{n}/events", user_of(n)),
                            e.to_camel_value().to_string(),
                        )
                    })
                    .collect();
                async move {
                    let mut lat = Vec::with_capacity(bodies.len());
                    for (url, body) in bodies {
                        let t = Instant::now();
                        let r = client.post(&url).header("content-type", "application/json").body(body).send().await.map_err(|e| herr("append", e))?;
                        let status = r.status();
                        r.bytes().await.map_err(|e| herr("append", e))?;
                        lat.push(t.elapsed());
                        if !status.is_success() {
                            return Err(BenchError::Assertion(format!("W4 append to {url}: HTTP {status}")));
                        }
                    }
                    Ok(lat)
                }
            }
        })
        .await?;
        let get = phase(progress, "W4 get", clients, gets, {
            let url = format!("{base}/u0/sessions/http-get");
            move |_, client: reqwest::Client| {
                let url = url.clone();
                async move {
                    let mut lat = Vec::with_capacity(gets);
                    for _ in 0..gets {
                        let t = Instant::now();
                        let r = client.get(&url).send().await.map_err(|e| herr("get", e))?;
                        let status = r.status();
                        let body = r.bytes().await.map_err(|e| herr("get", e))?;
                        lat.push(t.elapsed());
                        if !status.is_success() {
                            return Err(BenchError::Assertion(format!("W4 get: HTTP {status}")));
                        }
                        if lat.len() == 1 {
                            let v: Value = serde_json::from_slice(&body).map_err(|e| herr("get body", e))?;
                            let n = v["events"].as_array().map_or(0, Vec::len);
                            if n != GET_SESSION_EVENTS {
                                return Err(BenchError::Assertion(format!("W4 get: {n} events, expected {GET_SESSION_EVENTS}")));
                            }
                        }
                    }
                    Ok(lat)
                }
            }
        })
        .await?;
        Ok::<_, BenchError>((create, append, get))
    }
    .await;
    server.abort();
    let (create, append, get) = result?;

    // The appends landed: every HTTP session holds its share of the events.
    for n in 0..clients * W3_SESSIONS_PER_TASK {
        let j = n % W3_SESSIONS_PER_TASK;
        let want = k / W3_SESSIONS_PER_TASK + usize::from(j < k % W3_SESSIONS_PER_TASK);
        let got = svc
            .get(
                &SessionKey::new(APP, user_of(n), format!("http-{n}")),
                adk_sessions::GetFilter::all(),
            )
            .await?
            .events()
            .len();
        if got != want {
            return Err(BenchError::Assertion(format!(
                "W4 session http-{n}: {got} events, expected {want}"
            )));
        }
    }

    let total = create.latencies.len() + append.latencies.len() + get.latencies.len();
    let wall = create.wall + append.wall + get.wall;
    report.rate(
        "w4_requests_per_s",
        total as f64 / wall.as_secs_f64().max(1e-9),
    );
    report.count("w4_clients", clients as u64);
    create.report("create", report);
    append.report("append", report);
    get.report("get", report);
    Ok(())
}

/// Runs one phase: `clients` tasks, each with its own keep-alive client, started
/// together; `per_client` requests each (for the progress bar).
async fn phase<F, Fut>(
    progress: &Progress,
    name: &str,
    clients: usize,
    per_client: usize,
    make: F,
) -> Result<Phase, BenchError>
where
    F: Fn(usize, reqwest::Client) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<Duration>, BenchError>> + Send + 'static,
{
    progress.phase(name, clients * per_client);
    let start = Arc::new(tokio::sync::Barrier::new(clients + 1));
    let mut joins = Vec::with_capacity(clients);
    for c in 0..clients {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .no_proxy()
            .build()
            .map_err(|e| herr("building a client", e))?;
        let fut = make(c, client);
        let start = start.clone();
        let bar = progress.bar();
        joins.push(tokio::spawn(async move {
            start.wait().await;
            let lat = fut.await;
            if let Ok(l) = &lat {
                bar.inc(l.len() as u64);
            }
            lat
        }));
    }
    // The clock starts before the clients are released: once the barrier opens they may
    // finish before this task is scheduled again.
    let t = Instant::now();
    start.wait().await;
    let mut latencies = Vec::with_capacity(clients * per_client);
    for j in joins {
        latencies.extend(j.await.map_err(|e| herr("client task", e))??);
    }
    Ok(Phase {
        latencies,
        wall: t.elapsed(),
    })
}
