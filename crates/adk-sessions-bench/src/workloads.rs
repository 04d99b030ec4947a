//! The data and the workloads W1–W3 of docs/bench.md, run against any
//! [`SessionService`]. Every workload asserts its counts: a wrong count is an error, and
//! the run fails with it, so a fast but wrong backend never produces a figure.
//!
//! Events are built before the clock starts (ids, timestamps, 200-character text, state
//! deltas), so a figure is the cost of the service call alone; the Python peer script
//! does the same.

use std::sync::Arc;
use std::time::{Duration, Instant};

use adk_sessions::{
    Content, CreateOptions, Event, GetFilter, JsonMap, PageRequest, Session, SessionKey,
    SessionService,
};
use serde_json::{json, Value};

use super::{BenchError, Progress};

/// The app every workload writes to.
pub const APP: &str = "bench";

/// The 200 ASCII characters of every event's text part.
pub fn text_200() -> String {
    const WORDS: &str =
        "The quick brown fox jumps over the lazy dog while the agent keeps the session. ";
    WORDS.chars().cycle().take(200).collect()
}

/// The user of session number `n`: `u{n % 10}`.
pub fn user_of(n: usize) -> String {
    format!("u{}", n % 10)
}

/// The initial state of session number `n`:
/// `{"k": n, "user:name": "n{n % 10}", "app:v": 1}`.
pub fn initial_state(n: usize) -> JsonMap {
    let mut m = JsonMap::new();
    m.insert("k".into(), json!(n));
    m.insert("user:name".into(), json!(format!("n{}", n % 10)));
    m.insert("app:v".into(), json!(1));
    m
}

/// The state delta of event `i`: `counter`, `last`, and the scoped keys of docs/bench.md
/// (`user:seen` every 10th, `app:hits` every 25th, `temp:scratch` every 7th).
pub fn delta_of(i: usize) -> Vec<(String, Value)> {
    let mut d = vec![
        ("counter".to_owned(), json!(i)),
        ("last".to_owned(), json!(format!("v{i}"))),
    ];
    if i % 10 == 0 {
        d.push(("user:seen".to_owned(), json!(i)));
    }
    if i % 25 == 0 {
        d.push(("app:hits".to_owned(), json!(i)));
    }
    if i % 7 == 0 {
        d.push(("temp:scratch".to_owned(), json!("x")));
    }
    d
}

/// Event `i` of a session: invocation `inv{i}`, author `user`/`agent` and role
/// `user`/`model` alternating, one 200-character text part, the delta of [`delta_of`],
/// a UUID v4 id and the current time.
pub fn event(i: usize, text: &str) -> Event {
    let (author, role) = if i % 2 == 0 {
        ("user", "user")
    } else {
        ("agent", "model")
    };
    let mut e = Event::new(format!("inv{i}"), author).with_content(Content::text(role, text));
    for (k, v) in delta_of(i) {
        e = e.with_state(k, v);
    }
    e
}

/// Rates of W1–W3.
#[derive(Debug, Clone, Default)]
pub struct Rates {
    /// W1 creates per second.
    pub w1_create: f64,
    /// W1 appends per second.
    pub w1_append: f64,
    /// W1 full gets per second.
    pub w1_get: f64,
    /// W1 gets of the 10 newest events per second.
    pub w1_recent: f64,
    /// W1 lists per second.
    pub w1_list: f64,
    /// W2 appends per second.
    pub w2_append: f64,
    /// W2: one get of the whole big session, milliseconds (median of three).
    pub w2_get_ms: f64,
    /// W3 appends per second, all tasks together.
    pub w3_append: f64,
}

/// Sizes of the run (the flags).
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// S: sessions of W1.
    pub sessions: usize,
    /// M: events per session of W1.
    pub events: usize,
    /// B: events of the W2 session.
    pub big: usize,
    /// C: tasks of W3.
    pub tasks: usize,
    /// K: events each W3 task appends (round robin over its 4 sessions).
    pub task_events: usize,
}

/// Sessions each W3 task owns.
pub const W3_SESSIONS_PER_TASK: usize = 4;

fn per_s(count: usize, d: Duration) -> f64 {
    count as f64 / d.as_secs_f64().max(1e-9)
}

fn check(cond: bool, what: impl FnOnce() -> String) -> Result<(), BenchError> {
    if cond {
        Ok(())
    } else {
        Err(BenchError::Assertion(what()))
    }
}

/// Runs W1: create, append, get, recent, list.
pub async fn w1(
    svc: &dyn SessionService,
    sizes: Sizes,
    text: &str,
    progress: &Progress,
    rates: &mut Rates,
) -> Result<(), BenchError> {
    let s = sizes.sessions;
    let m = sizes.events;

    progress.phase("W1 create", s);
    let mut handles: Vec<Session> = Vec::with_capacity(s);
    let t = Instant::now();
    for n in 0..s {
        let h = svc
            .create(
                APP,
                &user_of(n),
                CreateOptions::new()
                    .session_id(format!("s{n}"))
                    .state(initial_state(n)),
            )
            .await?;
        handles.push(h);
        progress.inc(1);
    }
    rates.w1_create = per_s(s, t.elapsed());

    // Built before the clock starts: events[i][n] is event i of session n.
    let events: Vec<Vec<Event>> = (0..m)
        .map(|i| (0..s).map(|_| event(i, text)).collect())
        .collect();
    progress.phase("W1 append", s * m);
    let t = Instant::now();
    for round in events {
        for (h, e) in handles.iter().zip(round) {
            svc.append_event(h, e).await?;
        }
        progress.inc(s as u64);
    }
    rates.w1_append = per_s(s * m, t.elapsed());

    progress.phase("W1 get", s);
    let t = Instant::now();
    for n in 0..s {
        let got = svc
            .get(
                &SessionKey::new(APP, user_of(n), format!("s{n}")),
                GetFilter::all(),
            )
            .await?;
        let len = got.events().len();
        check(len == m, || {
            format!("W1 get s{n}: {len} events, expected {m}")
        })?;
        progress.inc(1);
    }
    rates.w1_get = per_s(s, t.elapsed());
    check_state(svc, sizes).await?;

    progress.phase("W1 recent", s);
    let want = m.min(10);
    let t = Instant::now();
    for n in 0..s {
        let got = svc
            .get(
                &SessionKey::new(APP, user_of(n), format!("s{n}")),
                GetFilter::recent(10),
            )
            .await?;
        let len = got.events().len();
        check(len == want, || {
            format!("W1 recent s{n}: {len} events, expected {want}")
        })?;
        progress.inc(1);
    }
    rates.w1_recent = per_s(s, t.elapsed());

    progress.phase("W1 list", 11);
    let t = Instant::now();
    for u in 0..10 {
        let page = svc
            .list(APP, Some(&format!("u{u}")), &PageRequest::default())
            .await?;
        let want = (0..s).filter(|n| n % 10 == u).count();
        let got = page.sessions.len();
        check(got == want, || {
            format!("W1 list u{u}: {got} sessions, expected {want}")
        })?;
        progress.inc(1);
    }
    let page = svc.list(APP, None, &PageRequest::default()).await?;
    let got = page.sessions.len();
    check(got == s, || {
        format!("W1 list of the app: {got} sessions, expected {s}")
    })?;
    progress.inc(1);
    rates.w1_list = per_s(11, t.elapsed());
    Ok(())
}

/// After W1: the stored state says what the deltas wrote (outside the clock).
async fn check_state(svc: &dyn SessionService, sizes: Sizes) -> Result<(), BenchError> {
    if sizes.sessions == 0 || sizes.events == 0 {
        return Ok(());
    }
    let got = svc
        .get(&SessionKey::new(APP, "u0", "s0"), GetFilter::recent(0))
        .await?;
    let last = sizes.events - 1;
    let state = got.state().snapshot();
    check(state.get("counter") == Some(&json!(last)), || {
        format!(
            "W1 state of s0: counter is {:?}, expected {last}",
            state.get("counter")
        )
    })?;
    check(!state.contains_key("temp:scratch"), || {
        "W1 state of s0: temp:scratch was persisted".to_owned()
    })?;
    check(state.get("app:v") == Some(&json!(1)), || {
        "W1 state of s0: app:v is missing".to_owned()
    })?;
    Ok(())
}

/// Runs W2: one session, B appends one after another, then a get of all of them.
pub async fn w2(
    svc: &dyn SessionService,
    sizes: Sizes,
    text: &str,
    progress: &Progress,
    rates: &mut Rates,
) -> Result<(), BenchError> {
    let b = sizes.big;
    let h = svc
        .create(
            APP,
            "u0",
            CreateOptions::new()
                .session_id("big")
                .state(initial_state(0)),
        )
        .await?;
    let events: Vec<Event> = (0..b).map(|i| event(i, text)).collect();
    progress.phase("W2 append", b);
    let t = Instant::now();
    for (i, e) in events.into_iter().enumerate() {
        svc.append_event(&h, e).await?;
        if i % 100 == 99 {
            progress.inc(100);
        }
    }
    rates.w2_append = per_s(b, t.elapsed());

    progress.phase("W2 get", 3);
    let mut times = Vec::with_capacity(3);
    for _ in 0..3 {
        let t = Instant::now();
        let got = svc
            .get(&SessionKey::new(APP, "u0", "big"), GetFilter::all())
            .await?;
        times.push(t.elapsed());
        let len = got.events().len();
        check(len == b, || format!("W2 get: {len} events, expected {b}"))?;
        progress.inc(1);
    }
    times.sort();
    rates.w2_get_ms = times[1].as_secs_f64() * 1e3;
    Ok(())
}

/// Runs W3: C tasks, each owning 4 sessions, each appending K events round robin over
/// its sessions, all tasks at once. Sessions are created before the clock starts.
pub async fn w3(
    svc: Arc<dyn SessionService>,
    sizes: Sizes,
    text: &str,
    progress: &Progress,
    rates: &mut Rates,
) -> Result<(), BenchError> {
    let c = sizes.tasks;
    let k = sizes.task_events;
    let mut work = Vec::with_capacity(c);
    for t in 0..c {
        let mut handles = Vec::new();
        for j in 0..W3_SESSIONS_PER_TASK {
            let n = t * W3_SESSIONS_PER_TASK + j;
            let h = svc
                .create(
                    APP,
                    &user_of(n),
                    CreateOptions::new()
                        .session_id(format!("w3-{n}"))
                        .state(initial_state(n)),
                )
                .await?;
            handles.push(h);
        }
        let events: Vec<Event> = (0..k)
            .map(|x| event(x / W3_SESSIONS_PER_TASK, text))
            .collect();
        work.push((handles, events));
    }
    progress.phase("W3 concurrent", c * k);
    let start = Arc::new(tokio::sync::Barrier::new(c + 1));
    let mut joins = Vec::with_capacity(c);
    for (handles, events) in work {
        let svc = svc.clone();
        let start = start.clone();
        let bar = progress.bar();
        joins.push(tokio::spawn(async move {
            start.wait().await;
            for (x, e) in events.into_iter().enumerate() {
                svc.append_event(&handles[x % W3_SESSIONS_PER_TASK], e)
                    .await?;
                bar.inc(1);
            }
            Ok::<_, adk_sessions::Error>(handles)
        }));
    }
    // The clock starts before the tasks are released: once the barrier opens they may
    // run to completion before this task is scheduled again.
    let t = Instant::now();
    start.wait().await;
    let mut all = Vec::new();
    for j in joins {
        let handles = j
            .await
            .map_err(|e| BenchError::Other(format!("W3 task panicked: {e}")))??;
        all.extend(handles);
    }
    rates.w3_append = per_s(c * k, t.elapsed());
    for h in &all {
        let n: usize = h.id()[3..].parse().unwrap_or(0);
        let j = n % W3_SESSIONS_PER_TASK;
        let want = k / W3_SESSIONS_PER_TASK + usize::from(j < k % W3_SESSIONS_PER_TASK);
        let got = svc.get(h.key(), GetFilter::all()).await?.events().len();
        check(got == want, || {
            format!("W3 session {}: {got} events, expected {want}", h.id())
        })?;
    }
    Ok(())
}
