//! What a hostile or careless client must not be able to do to the server, one test per
//! finding: grow `/metrics` without bound, blow up memory through a create with many
//! initial events, or leave a half-created session behind.

mod common;

use adk_sessions::{GetFilter, SessionKey};
use adk_sessions_server::ServerConfig;
use common::{spawn, Server};
use serde_json::{json, Value};

const S: &str = "/apps/app/users/u/sessions";

async fn server() -> Server {
    spawn(ServerConfig::default()).await
}

#[tokio::test]
async fn invented_methods_add_no_metrics_series() {
    let srv = server().await;
    for i in 0..40 {
        let method = format!("{}{i}", "X".repeat(3000));
        let r = srv.send(&method, &format!("{S}/s{i}"), None).await;
        assert!(r.status >= 400, "{method:.10}… answered {}", r.status);
    }
    let metrics = srv
        .client
        .get(format!("{}/metrics", srv.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!metrics.contains("XXXX"), "a method name became a label");
    assert!(
        !metrics.contains("/s1"),
        "a raw path became a label (routes are labelled by their template)"
    );
    for line in metrics.lines().filter(|l| l.contains("method=\"")) {
        let method = line.split("method=\"").nth(1).unwrap().split('"').next();
        assert!(
            matches!(
                method,
                Some("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS")
                    | Some("CONNECT" | "TRACE" | "other")
            ),
            "{line}"
        );
    }
}

#[tokio::test]
async fn create_with_more_events_than_the_limit_is_422_and_creates_nothing() {
    let srv = spawn(ServerConfig {
        max_create_events: 100,
        ..ServerConfig::default()
    })
    .await;
    let events: Vec<Value> = (0..101).map(|_| json!({"author": "user"})).collect();
    let r = srv
        .send(
            "POST",
            S,
            Some(&json!({"sessionId": "big", "events": events})),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.json);
    assert_eq!(r.json["detail"][0]["type"], "too_long");
    assert_eq!(r.json["detail"][0]["loc"], json!(["body", "events"]));
    assert_eq!(srv.get(&format!("{S}/big")).await.status, 404);

    // At the limit it is created with every event.
    let events: Vec<Value> = (0..100).map(|_| json!({"author": "user"})).collect();
    let r = srv
        .send(
            "POST",
            S,
            Some(&json!({"sessionId": "ok", "events": events})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["events"].as_array().unwrap().len(), 100);
}

#[tokio::test]
async fn a_small_body_of_many_empty_events_is_refused_before_it_is_decoded() {
    // 300 000 empty events in 1.2 MB: the default limit refuses it at once. Memory use is
    // not measured here (that would be a timed test); the bound is what keeps it small:
    // at most `max_create_events` items are ever held, as JSON values.
    let srv = server().await;
    let mut body = String::from(r#"{"sessionId": "amp", "events": ["#);
    body.push_str(&vec!["{}"; 300_000].join(","));
    body.push_str("]}");
    let r = srv.send_raw("POST", S, body.into_bytes()).await;
    assert_eq!(r.status, 422, "{}", r.json);
    assert_eq!(r.json["detail"][0]["type"], "too_long");
    assert_eq!(srv.get(&format!("{S}/amp")).await.status, 404);
}

#[tokio::test]
async fn duplicate_initial_event_ids_are_422_and_create_nothing() {
    let srv = server().await;
    let ev = json!({"id": "e1", "author": "user", "timestamp": 1.0});
    let r = srv
        .send(
            "POST",
            S,
            Some(&json!({"sessionId": "dup", "events": [ev, ev]})),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.json);
    assert_eq!(r.json["detail"][0]["loc"], json!(["body", "events", 1]));
    assert_eq!(srv.get(&format!("{S}/dup")).await.status, 404);
    let none = srv
        .service
        .get(&SessionKey::new("app", "u", "dup"), GetFilter::all())
        .await
        .is_err();
    assert!(none, "the session exists in the store");
}

/// Appends and PATCHes without `expectedLastUpdateTime` mean "append to
/// whatever is current" and never fail because of other writers — on memory and on a
/// SQLite file, with 12 concurrent clients on one session.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unconditional_appends_and_patches_never_conflict() {
    let dir = std::env::temp_dir().join(format!("adk-sec-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let sqlite = adk_sessions::open(
        &format!("sqlite://{}", dir.join("s.db").display()),
        &Default::default(),
    )
    .await
    .unwrap();
    let memory: std::sync::Arc<dyn adk_sessions::SessionService> =
        std::sync::Arc::new(adk_sessions::InMemorySessionService::new());
    for service in [memory, sqlite] {
        let srv = std::sync::Arc::new(common::spawn_with(service, ServerConfig::default()).await);
        let r = srv
            .send("POST", S, Some(&json!({"sessionId": "hot"})))
            .await;
        assert_eq!(r.status, 200);
        let mut tasks = Vec::new();
        for c in 0..12 {
            let srv = srv.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..8 {
                    let r = if c % 3 == 0 {
                        srv.send(
                            "PATCH",
                            &format!("{S}/hot"),
                            Some(&json!({"stateDelta": {format!("p{c}_{i}"): i}})),
                        )
                        .await
                    } else {
                        srv.send(
                            "POST",
                            &format!("{S}/hot/events"),
                            Some(&json!({"author": "user", "actions": {"stateDelta": {format!("e{c}_{i}"): i}}})),
                        )
                        .await
                    };
                    assert_eq!(r.status, 200, "client {c} write {i}: {}", r.json);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let got = srv.get(&format!("{S}/hot")).await;
        assert_eq!(got.json["events"].as_array().unwrap().len(), 12 * 8);
        assert_eq!(got.json["state"].as_object().unwrap().len(), 12 * 8);
    }
    std::fs::remove_dir_all(dir).ok();
}

/// An event without an author is 422 (adk-python requires one); a
/// timestamp the stores cannot keep exactly (from 2100 on) is 422; and every
/// `lastUpdateTime` the server returns is accepted back as `expectedLastUpdateTime`, also
/// at the edge of the accepted range.
#[tokio::test]
async fn authorless_and_far_future_events_are_422_and_returned_times_are_accepted_back() {
    let srv = server().await;
    assert_eq!(
        srv.send("POST", S, Some(&json!({"sessionId": "edge"})))
            .await
            .status,
        200
    );
    let events = format!("{S}/edge/events");
    for (body, what) in [
        (json!({"invocationId": "i"}), "no author"),
        (json!({"author": ""}), "empty author"),
        (
            json!({"author": "user", "timestamp": 9.0e9}),
            "timestamp 9e9",
        ),
        (
            json!({"author": "user", "timestamp": 4_102_444_800.0}),
            "2100-01-01",
        ),
    ] {
        let r = srv.send("POST", &events, Some(&body)).await;
        assert_eq!(r.status, 422, "{what}: {}", r.json);
    }
    let got = srv.get(&format!("{S}/edge")).await;
    assert_eq!(got.json["events"], json!([]), "a refused event was stored");
    // The latest accepted time, then an older one (the revision moves a µs past it):
    // each returned lastUpdateTime is accepted back.
    let mut last = got.json["lastUpdateTime"].as_f64().unwrap();
    for ts in [4_102_444_799.999_999, 1.0] {
        let r = srv
            .send(
                "POST",
                &format!("{events}?expectedLastUpdateTime={last}"),
                Some(&json!({"author": "user", "timestamp": ts})),
            )
            .await;
        assert_eq!(r.status, 200, "append at {ts} after {last}: {}", r.json);
        last = r.json["lastUpdateTime"].as_f64().unwrap();
    }
    assert!(last > 4_102_444_799.999_999);
}

/// `expectedLastUpdateTime` in the body is the precondition too (never stored as an
/// unknown event field), and a stale one is 409 with the same text as a lost race.
#[tokio::test]
async fn expected_last_update_time_in_the_body_is_the_precondition() {
    let srv = server().await;
    let created = srv.send("POST", S, Some(&json!({"sessionId": "b"}))).await;
    let first = created.json["lastUpdateTime"].as_f64().unwrap();
    let events = format!("{S}/b/events");
    let r = srv
        .send(
            "POST",
            &events,
            Some(&json!({"author": "user", "expectedLastUpdateTime": first})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert!(r.json["event"].get("expectedLastUpdateTime").is_none());
    let stale = srv
        .send(
            "POST",
            &events,
            Some(&json!({"author": "user", "expectedLastUpdateTime": first})),
        )
        .await;
    assert_eq!(stale.status, 409, "{}", stale.json);
    assert!(
        stale.json["detail"]
            .as_str()
            .unwrap()
            .starts_with("stale session"),
        "{}",
        stale.json
    );
    let got = srv.get(&format!("{S}/b")).await;
    assert_eq!(got.json["events"].as_array().unwrap().len(), 1);
    assert!(got.json["events"][0]
        .get("expectedLastUpdateTime")
        .is_none());
    let both = srv
        .send(
            "POST",
            &format!("{events}?expectedLastUpdateTime=1"),
            Some(&json!({"author": "user", "expectedLastUpdateTime": 2})),
        )
        .await;
    assert_eq!(both.status, 422);
}

/// The `Bearer` scheme in any case; two `Authorization`
/// headers are refused; a read-only token reads and is 403 on every write; a token
/// with an apps map writes the apps it may write and only reads the others.
#[tokio::test]
async fn auth_scheme_any_case_one_header_and_read_only_tokens() {
    let tokens = adk_sessions_server::auth::Tokens::parse(
        r#"{"tokens": [{"token": "writer-token-1", "apps": ["app"]},
                       {"token": "reader-token-1", "apps": ["app"], "access": "read"},
                       {"token": "mixed-token-1", "apps": {"other": "write", "*": "read"}}]}"#,
    )
    .unwrap();
    let srv = spawn(ServerConfig {
        auth: Some(std::sync::Arc::new(tokens)),
        ..ServerConfig::default()
    })
    .await;
    let url = |p: &str| format!("{}{p}", srv.base);
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let r = srv
            .client
            .post(url(S))
            .header("authorization", format!("{scheme} writer-token-1"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{scheme}");
    }
    let two = srv
        .client
        .get(url(S))
        .header("authorization", "Bearer writer-token-1")
        .header("authorization", "Bearer reader-token-1")
        .send()
        .await
        .unwrap();
    assert_eq!(two.status(), 400);
    let read = srv
        .client
        .get(url(S))
        .bearer_auth("reader-token-1")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let write = srv
        .client
        .post(url(S))
        .bearer_auth("reader-token-1")
        .json(&json!({"sessionId": "r"}))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 403);
    assert_eq!(srv.get(&format!("{S}/r")).await.status, 401);

    // One token, its access per app: writes `other`, only reads every other app.
    let other = "/apps/other/users/u/sessions";
    for (method, path, status) in [
        ("POST", other, 200),
        ("GET", other, 200),
        ("GET", S, 200),
        ("POST", S, 403),
    ] {
        let r = srv
            .client
            .request(method.parse().unwrap(), url(path))
            .bearer_auth("mixed-token-1")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{method} {path}");
    }
}

/// Bodies must be JSON by their Content-Type (forms and text/plain are what a
/// foreign page can send without asking) — 415, nothing created; and with the loopback
/// host check, a foreign Host (DNS rebinding) or Origin is 403.
#[tokio::test]
async fn non_json_bodies_are_415_and_foreign_hosts_403_on_loopback() {
    let srv = spawn(ServerConfig {
        host_check: adk_sessions_server::HostCheck::Loopback,
        ..ServerConfig::default()
    })
    .await;
    let url = format!("{}{S}", srv.base);
    for (ctype, body) in [
        (Some("text/plain"), r#"{"sessionId": "csrf"}"#),
        (
            Some("application/x-www-form-urlencoded"),
            r#"{"sessionId": "csrf"}"#,
        ),
        (
            Some("multipart/form-data; boundary=x"),
            r#"{"sessionId": "csrf"}"#,
        ),
        (None, r#"{"sessionId": "csrf"}"#),
    ] {
        let mut req = srv.client.post(&url).body(body);
        if let Some(c) = ctype {
            req = req.header("content-type", c);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 415, "{ctype:?}");
    }
    assert_eq!(srv.get(&format!("{S}/csrf")).await.status, 404);
    // JSON (also with a charset) works; an empty POST creates as before.
    let ok = srv
        .client
        .post(&url)
        .header("content-type", "application/json; charset=utf-8")
        .body(r#"{"sessionId": "ok"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(srv.client.post(&url).send().await.unwrap().status(), 200);
    // DNS rebinding and foreign pages.
    for (name, value) in [
        ("host", "evil.example:8000"),
        ("origin", "http://evil.example"),
    ] {
        let r = srv
            .client
            .get(&url)
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{name}: {value}");
    }
    let local = srv
        .client
        .get(&url)
        .header("origin", "http://localhost:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(local.status(), 200);
}
