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
