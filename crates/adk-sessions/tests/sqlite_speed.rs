//! Rough speed figures of the SQLite backend against the targets (the bench
//! issue measures them properly). Ignored by default; run with
//! `cargo test --release -p adk-sessions --test sqlite_speed -- --ignored --nocapture`.
//!
//! - floor: the same INSERT + UPDATE per transaction through bare rusqlite, same pragmas;
//! - single stream: durable appends one after another (target ≥ 0.8× floor);
//! - 16 tasks: concurrent appends to 16 sessions (target ≥ 10× single stream);
//! - get of a 5000-event session (target < 15 ms).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use adk_sessions::sql::sqlite::SqliteSessionService;
use adk_sessions::{Content, Event, GetFilter, OpenOptions, SessionService};
use rusqlite::{params, Connection};
use serde_json::json;

fn temp_db(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "adk-sqlite-{tag}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir.join("sessions.db")
}

fn event(i: usize) -> Event {
    Event::new("inv", "agent")
        .with_content(Content::text(
            "model",
            format!("message number {i} of the bench"),
        ))
        .with_state("turn", json!(i))
}

/// The bare-driver floor: `n` transactions of INSERT + UPDATE, in commits per second.
fn floor(conn: &Connection, from: usize, n: usize) -> f64 {
    let data = event(0).to_storage_json();
    let start = Instant::now();
    for i in from..from + n {
        let tx = conn.unchecked_transaction().unwrap();
        conn.prepare_cached("INSERT INTO e VALUES (?1, 's', ?2, ?3)")
            .unwrap()
            .execute(params![i.to_string(), i.to_string(), data])
            .unwrap();
        conn.prepare_cached("UPDATE s SET update_time = ?1 WHERE id = 's'")
            .unwrap()
            .execute([i.to_string()])
            .unwrap();
        tx.commit().unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn floor_db() -> Connection {
    let path = temp_db("floor");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;
         CREATE TABLE s (id TEXT PRIMARY KEY, state TEXT, update_time TEXT);
         CREATE TABLE e (id TEXT, sid TEXT, ts TEXT, data TEXT, PRIMARY KEY (id, sid));
         INSERT INTO s VALUES ('s', '{}', '');",
    )
    .unwrap();
    conn
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "speed figures; run in release with --ignored --nocapture"]
async fn speed_figures() {
    let service = Arc::new(
        SqliteSessionService::open(Some(&temp_db("speed")), &OpenOptions::default())
            .await
            .unwrap(),
    );

    // Floor and single stream alternate in rounds, so a noisy disk hits both alike.
    let floor_conn = floor_db();
    let s = service
        .create("app", "u", Some("single"), None)
        .await
        .unwrap();
    let (rounds, n) = (5, 400);
    let (mut floor_secs, mut single_secs) = (0.0, 0.0);
    for round in 0..rounds {
        floor_secs += n as f64 / floor(&floor_conn, round * n, n);
        let start = Instant::now();
        for i in 0..n {
            service.append_event(&s, event(i)).await.unwrap();
        }
        single_secs += start.elapsed().as_secs_f64();
    }
    let floor_rate = (rounds * n) as f64 / floor_secs;
    let single = (rounds * n) as f64 / single_secs;

    let per_task = 1000;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..16 {
        let service = service.clone();
        tasks.push(tokio::spawn(async move {
            let s = service
                .create("app", "u", Some(&format!("t{t}")), None)
                .await
                .unwrap();
            for i in 0..per_task {
                service.append_event(&s, event(i)).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let concurrent = (16 * per_task) as f64 / start.elapsed().as_secs_f64();

    // A 5000-event session, written by 16 tasks' worth of group commits.
    let big = service.create("app", "u", Some("big"), None).await.unwrap();
    for i in 0..5000 {
        service.append_event(&big, event(i)).await.unwrap();
    }
    let mut times = Vec::new();
    for _ in 0..10 {
        let start = Instant::now();
        let got = service
            .get("app", "u", "big", GetFilter::all())
            .await
            .unwrap();
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(got.events().len(), 5000);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    // CPU time of the process per get (all threads), less sensitive to a loaded machine
    // than wall time. Linux only; clock ticks of 10 ms, so over many gets.
    let cpu_ms = || -> Option<f64> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: f64 =
            fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        Some(ticks * 10.0)
    };
    if let Some(before) = cpu_ms() {
        for _ in 0..40 {
            service
                .get("app", "u", "big", GetFilter::all())
                .await
                .unwrap();
        }
        if let Some(after) = cpu_ms() {
            println!(
                "get 5000 events: {:.1} ms CPU per get (all threads)",
                (after - before) / 40.0
            );
        }
    }
    let raw = Connection::open(service.path().unwrap()).unwrap();
    for _ in 0..3 {
        let start = Instant::now();
        let mut stmt = raw.prepare_cached("SELECT id, invocation_id, timestamp, event_data FROM events WHERE app_name = 'app' AND user_id = 'u' AND session_id = 'big' ORDER BY timestamp DESC, id DESC").unwrap();
        let mut rows = stmt.query([]).unwrap();
        let mut total = 0;
        while let Some(r) = rows.next().unwrap() {
            total += r.get_ref(3).unwrap().as_str().unwrap().len();
        }
        println!(
            "raw rows: {:.1} ms ({total} bytes)",
            start.elapsed().as_secs_f64() * 1000.0
        );
    }
    let start = Instant::now();
    service
        .get("app", "u", "big", GetFilter::recent(0))
        .await
        .unwrap();
    println!(
        "get without events: {:.2} ms",
        start.elapsed().as_secs_f64() * 1000.0
    );

    println!("floor (bare INSERT+UPDATE txn): {floor_rate:.0} commits/s");
    println!(
        "single stream: {single:.0} appends/s ({:.2}x floor)",
        single / floor_rate
    );
    println!(
        "16 tasks: {concurrent:.0} appends/s ({:.1}x single stream)",
        concurrent / single
    );
    println!(
        "get 5000 events: median {:.1} ms, min {:.1} ms",
        times[5], times[0]
    );
}

#[test]
#[ignore = "speed figures; run in release with --ignored --nocapture"]
fn decode_cost_of_5000_events() {
    let texts: Vec<String> = (0..5000).map(|i| event(i).to_storage_json()).collect();
    println!("{}", texts[0]);
    let start = Instant::now();
    for t in &texts {
        Event::from_storage_json(t).unwrap();
    }
    println!(
        "decode 5000: {:.1} ms",
        start.elapsed().as_secs_f64() * 1000.0
    );
    let start = Instant::now();
    for t in &texts {
        let _: serde_json::Value = serde_json::from_str(t).unwrap();
    }
    println!(
        "as Value 5000: {:.1} ms",
        start.elapsed().as_secs_f64() * 1000.0
    );
}
