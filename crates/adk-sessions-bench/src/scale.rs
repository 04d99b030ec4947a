//! `--scale`: how the cost of a read grows with the database.
//!
//! - **get**: a 50-event session (`scale-get`), read with all its events, while other
//!   sessions of the same app and users hold 10⁴, 10⁵, 10⁶ events (`--scale-events`);
//!   the figure is the median of 50 gets after one warm-up, per size.
//! - **list**: pages of 100 over all sessions of app `bench_list` holding 10⁴ and 10⁵
//!   sessions (`--scale-sessions`); the figure is the median time of a page over the first
//!   10 pages (following the page tokens), read twice.
//!
//! The growth (`scale_get_growth`, `scale_list_growth`) is the largest size's figure over
//! the smallest's; the promise is that it stays under 2. Background rows are bulk-loaded
//! through the raw driver in large transactions (SQLite, PostgreSQL, MySQL), or through
//! the service for the in-memory backends; they are valid rows the service can read.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adk_sessions::{
    CreateOptions, GetFilter, PageRequest, SessionKey, SessionService, SqliteSync, Timestamp,
};
use sqlx::Connection as _;

use super::report::Report;
use super::target::{ServerKind, Target};
use super::workloads::{event, initial_state, user_of, APP};
use super::{floor, BenchArgs, BenchError, Progress};

/// The app of the list check.
pub const LIST_APP: &str = "bench_list";
/// Events per background session of the get check.
const EVENTS_PER_BG_SESSION: usize = 100;
/// Rows per bulk statement / transaction.
const CHUNK: usize = 500;
const TX_ROWS: usize = 50_000;

const ZERO_ID: &str = "00000000-0000-0000-0000-000000000000";

fn median_ms(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v.get(v.len() / 2).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

/// Where background rows are written.
enum Loader {
    Service(Arc<dyn SessionService>),
    Sqlite(PathBuf),
    Server(ServerKind, String),
}

/// One background session to load: app, user, id, session state JSON, and its events.
struct BgSession {
    app: &'static str,
    user: String,
    id: String,
    events: usize,
}

impl Loader {
    async fn load(
        &self,
        rows: Vec<BgSession>,
        text: &str,
        progress: &Progress,
    ) -> Result<(), BenchError> {
        match self {
            Loader::Service(svc) => {
                for s in rows {
                    let h = svc
                        .create(
                            s.app,
                            &s.user,
                            CreateOptions::new()
                                .session_id(&s.id)
                                .state(initial_state(0)),
                        )
                        .await?;
                    for i in 0..s.events {
                        svc.append_event(&h, event(i, text)).await?;
                    }
                    progress.inc(s.events.max(1) as u64);
                }
                Ok(())
            }
            Loader::Sqlite(path) => {
                let path = path.clone();
                let templates = templates(text);
                let bar = progress.clone();
                tokio::task::spawn_blocking(move || sqlite_load(&path, &rows, &templates, &bar))
                    .await
                    .map_err(|e| BenchError::Other(format!("scale load thread: {e}")))?
            }
            Loader::Server(kind, url) => {
                server_load(*kind, url, &rows, &templates(text), progress).await
            }
        }
    }
}

/// The storage JSON of event i (for i < 100) with a placeholder id.
fn templates(text: &str) -> Vec<String> {
    (0..EVENTS_PER_BG_SESSION)
        .map(|i| {
            let mut e = event(i, text);
            e.id = ZERO_ID.to_owned();
            e.actions.state_delta.retain(|k, _| !k.starts_with("temp:"));
            e.to_storage_json()
        })
        .collect()
}

fn sqlite_load(
    path: &std::path::Path,
    rows: &[BgSession],
    templates: &[String],
    progress: &Progress,
) -> Result<(), BenchError> {
    let sq = |e: rusqlite::Error| BenchError::Other(format!("scale load (SQLite): {e}"));
    let conn = floor::sqlite_open(Some(path), SqliteSync::Normal)?;
    conn.execute_batch("PRAGMA synchronous=OFF").map_err(sq)?;
    let base = Timestamp::now().as_micros() - 10_000_000_000;
    let mut in_tx = 0usize;
    conn.execute_batch("BEGIN IMMEDIATE").map_err(sq)?;
    for (k, s) in rows.iter().enumerate() {
        let t = floor::time_text(Timestamp::from_micros(base + k as i64));
        conn.prepare_cached("INSERT INTO sessions (app_name, user_id, id, state, create_time, update_time) VALUES (?1, ?2, ?3, '{\"k\":0}', ?4, ?4)")
            .and_then(|mut st| st.execute((s.app, &s.user, &s.id, &t)))
            .map_err(sq)?;
        for i in 0..s.events {
            let id = uuid::Uuid::new_v4().to_string();
            let data = templates[i % templates.len()].replacen(ZERO_ID, &id, 1);
            conn.prepare_cached("INSERT INTO events (id, app_name, user_id, session_id, invocation_id, timestamp, event_data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
                .and_then(|mut st| st.execute((&id, s.app, &s.user, &s.id, format!("inv{i}"), &t, &data)))
                .map_err(sq)?;
        }
        in_tx += s.events + 1;
        progress.inc(s.events.max(1) as u64);
        if in_tx >= TX_ROWS {
            conn.execute_batch("COMMIT; BEGIN IMMEDIATE").map_err(sq)?;
            in_tx = 0;
        }
    }
    conn.execute_batch("COMMIT").map_err(sq)?;
    Ok(())
}

async fn server_load(
    kind: ServerKind,
    url: &str,
    rows: &[BgSession],
    templates: &[String],
    progress: &Progress,
) -> Result<(), BenchError> {
    let sx = |e: sqlx::Error| {
        BenchError::Other(adk_sessions::redact_url_in(
            &format!("scale load: {e}"),
            url,
        ))
    };
    let base = Timestamp::now().as_micros() - 10_000_000_000;
    let (json_cast, mut pg, mut my) = match kind {
        ServerKind::Postgres => (
            "::jsonb",
            Some(sqlx::PgConnection::connect(url).await.map_err(sx)?),
            None,
        ),
        ServerKind::Mysql => (
            "",
            None,
            Some(sqlx::MySqlConnection::connect(url).await.map_err(sx)?),
        ),
    };
    macro_rules! exec {
        ($sql:expr, $binds:expr) => {{
            match (&mut pg, &mut my) {
                (Some(c), _) => {
                    let mut q = sqlx::query::<sqlx::Postgres>(sqlx::AssertSqlSafe($sql));
                    for b in $binds {
                        q = match b {
                            Bind::S(s) => q.bind(s),
                            Bind::T(t) => q.bind(t),
                        };
                    }
                    q.execute(&mut *c).await.map_err(sx)?;
                }
                (None, Some(c)) => {
                    let mut q = sqlx::query::<sqlx::MySql>(sqlx::AssertSqlSafe($sql));
                    for b in $binds {
                        q = match b {
                            Bind::S(s) => q.bind(s),
                            Bind::T(t) => q.bind(t),
                        };
                    }
                    q.execute(&mut *c).await.map_err(sx)?;
                }
                _ => unreachable!(),
            }
        }};
    }
    let ph = |n: usize| match kind {
        ServerKind::Postgres => format!("${n}"),
        ServerKind::Mysql => "?".to_owned(),
    };
    for chunk in rows.chunks(CHUNK) {
        exec!("BEGIN".to_owned(), Vec::<Bind>::new());
        // Sessions of the chunk, one statement.
        let mut sql = String::from(
            "INSERT INTO sessions (app_name, user_id, id, state, create_time, update_time) VALUES ",
        );
        let mut binds = Vec::new();
        for (j, s) in chunk.iter().enumerate() {
            let k = binds.len();
            if j > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "({}, {}, {}, '{{\"k\":0}}'{json_cast}, {}, {})",
                ph(k + 1),
                ph(k + 2),
                ph(k + 3),
                ph(k + 4),
                ph(k + 4)
            ));
            binds.extend([
                Bind::S(s.app.to_owned()),
                Bind::S(s.user.clone()),
                Bind::S(s.id.clone()),
                Bind::T(floor::naive_utc(Timestamp::from_micros(base + j as i64))),
            ]);
            if kind == ServerKind::Mysql {
                // MySQL placeholders are positional: bind the time twice.
                binds.push(Bind::T(floor::naive_utc(Timestamp::from_micros(
                    base + j as i64,
                ))));
            }
        }
        exec!(sql, binds);
        // Their events, CHUNK rows per statement.
        let all: Vec<(&BgSession, usize)> = chunk
            .iter()
            .flat_map(|s| (0..s.events).map(move |i| (s, i)))
            .collect();
        for part in all.chunks(CHUNK) {
            let mut sql = String::from("INSERT INTO events (id, app_name, user_id, session_id, invocation_id, timestamp, event_data) VALUES ");
            let mut binds = Vec::new();
            for (j, (s, i)) in part.iter().enumerate() {
                let k = binds.len();
                if j > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!(
                    "({}, {}, {}, {}, {}, {}, {}{json_cast})",
                    ph(k + 1),
                    ph(k + 2),
                    ph(k + 3),
                    ph(k + 4),
                    ph(k + 5),
                    ph(k + 6),
                    ph(k + 7)
                ));
                let id = uuid::Uuid::new_v4().to_string();
                let data = templates[i % templates.len()].replacen(ZERO_ID, &id, 1);
                binds.extend([
                    Bind::S(id),
                    Bind::S(s.app.to_owned()),
                    Bind::S(s.user.clone()),
                    Bind::S(s.id.clone()),
                    Bind::S(format!("inv{i}")),
                    Bind::T(floor::naive_utc(Timestamp::from_micros(base + *i as i64))),
                    Bind::S(data),
                ]);
            }
            exec!(sql, binds);
            progress.inc(part.len() as u64);
        }
        if chunk.iter().all(|s| s.events == 0) {
            progress.inc(chunk.len() as u64);
        }
        exec!("COMMIT".to_owned(), Vec::<Bind>::new());
    }
    Ok(())
}

/// A bound value of a bulk statement.
enum Bind {
    S(String),
    T(chrono::NaiveDateTime),
}

/// Runs the growth check and adds its keys to `report`.
pub async fn run(
    svc: Arc<dyn SessionService>,
    target: &Target,
    args: &BenchArgs,
    text: &str,
    progress: &Progress,
    report: &mut Report,
) -> Result<(), BenchError> {
    let loader = match target {
        Target::Memory | Target::Sqlite { path: None, .. } => Loader::Service(svc.clone()),
        Target::Sqlite { path: Some(p), .. } => Loader::Sqlite(p.clone()),
        Target::Server { kind, url, .. } => Loader::Server(*kind, url.clone()),
    };

    let h = svc
        .create(
            APP,
            "u0",
            CreateOptions::new()
                .session_id("scale-get")
                .state(initial_state(0)),
        )
        .await?;
    for i in 0..50 {
        svc.append_event(&h, event(i, text)).await?;
    }
    let mut sizes = args.scale_events.clone();
    sizes.sort_unstable();
    let mut loaded_events = 0usize;
    let mut loaded_sessions = 0usize;
    let mut get_ms = Vec::new();
    for &n in &sizes {
        let need = n.saturating_sub(loaded_events);
        let sessions = need.div_ceil(EVENTS_PER_BG_SESSION);
        progress.phase(
            &format!("load {n} events"),
            sessions * EVENTS_PER_BG_SESSION,
        );
        let rows: Vec<BgSession> = (loaded_sessions..loaded_sessions + sessions)
            .map(|k| BgSession {
                app: APP,
                user: user_of(k),
                id: format!("bg{k}"),
                events: EVENTS_PER_BG_SESSION,
            })
            .collect();
        loader.load(rows, text, progress).await?;
        loaded_sessions += sessions;
        loaded_events += sessions * EVENTS_PER_BG_SESSION;
        progress.phase(&format!("get @{n}"), 51);
        let mut times = Vec::with_capacity(50);
        let key = SessionKey::new(APP, "u0", "scale-get");
        for round in 0..51 {
            let t = Instant::now();
            let got = svc.get(&key, GetFilter::all()).await?;
            let d = t.elapsed();
            if got.events().len() != 50 {
                return Err(BenchError::Assertion(format!(
                    "scale get @{n}: {} events, expected 50",
                    got.events().len()
                )));
            }
            if round > 0 {
                times.push(d);
            }
            progress.inc(1);
        }
        let ms = median_ms(times);
        report.millis(&format!("scale_get_ms_{n}"), ms);
        get_ms.push(ms);
    }
    if let (Some(first), Some(last)) = (get_ms.first(), get_ms.last()) {
        report.ratio("scale_get_growth", last / first.max(1e-9));
    }

    let mut sizes = args.scale_sessions.clone();
    sizes.sort_unstable();
    let mut loaded = 0usize;
    let mut list_ms = Vec::new();
    for &n in &sizes {
        let need = n.saturating_sub(loaded);
        progress.phase(&format!("load {n} sessions"), need);
        let rows: Vec<BgSession> = (loaded..loaded + need)
            .map(|k| BgSession {
                app: LIST_APP,
                user: user_of(k),
                id: format!("ls{k}"),
                events: 0,
            })
            .collect();
        loader.load(rows, text, progress).await?;
        loaded += need;
        progress.phase(&format!("list @{n}"), 20);
        let mut times = Vec::with_capacity(20);
        for _ in 0..2 {
            let mut token = None;
            for _ in 0..10 {
                let mut page = PageRequest::with_size(100);
                page.page_token = token.take();
                let t = Instant::now();
                let got = svc.list(LIST_APP, None, &page).await?;
                times.push(t.elapsed());
                let want = 100.min(n);
                if got.sessions.len() != want && got.next_page_token.is_some() {
                    return Err(BenchError::Assertion(format!(
                        "scale list @{n}: a page of {}, expected {want}",
                        got.sessions.len()
                    )));
                }
                progress.inc(1);
                token = got.next_page_token;
                if token.is_none() {
                    break;
                }
            }
        }
        let ms = median_ms(times);
        report.millis(&format!("scale_list_ms_{n}"), ms);
        list_ms.push(ms);
    }
    if let (Some(first), Some(last)) = (list_ms.first(), list_ms.last()) {
        report.ratio("scale_list_growth", last / first.max(1e-9));
    }
    Ok(())
}
