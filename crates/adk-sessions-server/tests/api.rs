//! The HTTP API through a real listening server (127.0.0.1:0, reqwest): every endpoint
//! and every error status.

mod common;

use std::sync::Arc;
use std::time::Duration;

use adk_sessions::{
    CreateOptions, Event, GetFilter, JsonMap, PageRequest, Session, SessionKey, SessionPage,
    SessionService,
};
use adk_sessions_server::auth::Tokens;
use adk_sessions_server::ServerConfig;
use async_trait::async_trait;
use common::{spawn, spawn_with, Server};
use serde_json::{json, Value};

const S: &str = "/apps/app/users/u/sessions";

async fn server() -> Server {
    spawn(ServerConfig::default()).await
}

async fn create(srv: &Server, body: Value) -> Value {
    let r = srv.send("POST", S, Some(&body)).await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json
}

#[tokio::test]
async fn create_returns_the_session_in_camel_case_with_scoped_state() {
    let srv = server().await;
    let s = create(
        &srv,
        json!({"sessionId": "s1", "state": {"k": 1, "app:a": 2, "user:b": 3, "temp:t": 4}}),
    )
    .await;
    assert_eq!(s["id"], "s1");
    assert_eq!(s["appName"], "app");
    assert_eq!(s["userId"], "u");
    assert_eq!(s["state"], json!({"k": 1, "app:a": 2, "user:b": 3}));
    assert_eq!(s["events"], json!([]));
    assert!(s["lastUpdateTime"].as_f64().unwrap() > 1.7e9);
    let got = srv.get(&format!("{S}/s1")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json, s);
}

#[tokio::test]
async fn create_without_body_generates_a_uuid() {
    let srv = server().await;
    let r = srv.send("POST", S, None).await;
    assert_eq!(r.status, 200);
    assert!(uuid::Uuid::parse_str(r.json["id"].as_str().unwrap()).is_ok());
}

#[tokio::test]
async fn create_accepts_snake_case() {
    let srv = server().await;
    let s = create(&srv, json!({"session_id": "snake", "state": {"x": true}})).await;
    assert_eq!(s["id"], "snake");
}

#[tokio::test]
async fn duplicate_create_is_409_with_adk_text() {
    let srv = server().await;
    create(&srv, json!({"sessionId": "dup"})).await;
    let r = srv
        .send("POST", S, Some(&json!({"sessionId": "dup"})))
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.json, json!({"detail": "Session already exists: dup"}));
}

#[tokio::test]
async fn create_with_events_restores_them_and_hides_internal_metadata() {
    let srv = server().await;
    let ev = json!({"id": "e1", "invocationId": "i1", "author": "user", "timestamp": 4.0e9,
                    "content": {"role": "user", "parts": [{"text": "hi"}]},
                    "customMetadata": {"__adk_internal_x": 1}});
    let s = create(&srv, json!({"sessionId": "r", "events": [ev]})).await;
    let e = &s["events"][0];
    assert_eq!(e["id"], "e1");
    assert!(e.get("customMetadata").is_none(), "{e}");
    assert_eq!(e["nodeInfo"], json!({"path": ""}));
    assert_eq!(e["actions"]["stateDelta"], json!({}));
    // Stored with adk-python's restored marker.
    let stored = srv
        .service
        .get(&SessionKey::new("app", "u", "r"), GetFilter::all())
        .await
        .unwrap();
    let meta = stored
        .events()
        .get(0)
        .unwrap()
        .custom_metadata
        .clone()
        .unwrap();
    assert_eq!(
        meta,
        json!({"__adk_internal_restored_event": true})
            .as_object()
            .unwrap()
            .clone()
    );
}

#[tokio::test]
async fn initial_events_with_actions_tool_ids_or_protocol_calls_are_400_and_nothing_is_created() {
    let srv = server().await;
    let base = json!({"id": "e", "invocationId": "i", "author": "user", "timestamp": 4.0e9});
    let mut with_actions = base.clone();
    with_actions["actions"] = json!({"stateDelta": {"a": 1}});
    let mut with_ids = base.clone();
    with_ids["longRunningToolIds"] = json!(["c"]);
    let mut with_protocol = base.clone();
    with_protocol["content"] =
        json!({"parts": [{"functionCall": {"name": "adk_request_input", "args": {}}}]});
    for (event, what) in [
        (with_actions, "event actions"),
        (with_ids, "long-running tool IDs"),
        (with_protocol, "ADK protocol function calls"),
    ] {
        let r = srv
            .send(
                "POST",
                S,
                Some(&json!({"sessionId": "x", "events": [base.clone(), event]})),
            )
            .await;
        assert_eq!(r.status, 400);
        assert_eq!(
            r.json["detail"],
            format!("Session initialization event 1 cannot include {what}.")
        );
        assert_eq!(srv.get(&format!("{S}/x")).await.status, 404);
    }
}

#[tokio::test]
async fn create_bad_bodies_are_422_naming_the_member() {
    let srv = server().await;
    let cases = [
        (json!({"state": [1]}), json!(["body", "state"]), "dict_type"),
        (
            json!({"sessionId": 5}),
            json!(["body", "sessionId"]),
            "string_type",
        ),
        (json!([1]), json!(["body"]), "model_attributes_type"),
        (
            json!({"events": {}}),
            json!(["body", "events"]),
            "list_type",
        ),
        (
            json!({"events": [{"author": "u", "content": {"bogus": 1}}]}),
            json!(["body", "events", 0]),
            "value_error",
        ),
    ];
    for (body, loc, kind) in cases {
        let r = srv.send("POST", S, Some(&body)).await;
        assert_eq!(r.status, 422, "{body}");
        assert_eq!(r.json["detail"][0]["loc"], loc, "{}", r.json);
        assert_eq!(r.json["detail"][0]["type"], kind, "{}", r.json);
    }
    let r = srv
        .send(
            "POST",
            S,
            Some(&json!({"events": [{"author": "u", "content": {"bogus": 1}}]})),
        )
        .await;
    assert!(
        r.json["detail"][0]["msg"]
            .as_str()
            .unwrap()
            .contains("bogus"),
        "{}",
        r.json
    );
    assert!(srv
        .service
        .list("app", None, &PageRequest::default())
        .await
        .unwrap()
        .sessions
        .is_empty());
}

#[tokio::test]
async fn malformed_json_and_invalid_utf8_are_422() {
    let srv = server().await;
    let r = srv.send_raw("POST", S, b"{not json".to_vec()).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.json["detail"][0]["type"], "json_invalid");
    let r = srv
        .send_raw("POST", S, b"{\"sessionId\": \"\xff\"}".to_vec())
        .await;
    assert_eq!(r.status, 422);
    assert!(r.json["detail"][0]["ctx"]["error"]
        .as_str()
        .unwrap()
        .contains("UTF-8"));
}

#[tokio::test]
async fn ids_over_128_characters_are_400_naming_the_id() {
    let srv = server().await;
    let long = "x".repeat(129);
    let r = srv.get(&format!("{S}/{long}")).await;
    assert_eq!(r.status, 400);
    assert!(r.json["detail"]
        .as_str()
        .unwrap()
        .contains("session_id is 129 characters"));
    let r = srv.send("POST", S, Some(&json!({"sessionId": long}))).await;
    assert_eq!(r.status, 400);
    let r = srv.get(&format!("/apps/{long}/state")).await;
    assert!(r.json["detail"].as_str().unwrap().contains("app_name"));
}

#[tokio::test]
async fn deprecated_create_with_id_takes_the_state_as_body() {
    let srv = server().await;
    let r = srv
        .send("POST", &format!("{S}/old"), Some(&json!({"a": 1})))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["id"], "old");
    assert_eq!(r.json["state"], json!({"a": 1}));
    let r = srv.send("POST", &format!("{S}/old"), None).await;
    assert_eq!(r.status, 409);
    let r = srv
        .send("POST", &format!("{S}/old2"), Some(&json!([1])))
        .await;
    assert_eq!(r.status, 422);
}

#[tokio::test]
async fn get_missing_or_of_another_user_is_404() {
    let srv = server().await;
    create(&srv, json!({"sessionId": "mine"})).await;
    for path in [
        format!("{S}/nope"),
        "/apps/app/users/other/sessions/mine".to_owned(),
    ] {
        let r = srv.get(&path).await;
        assert_eq!(r.status, 404);
        assert_eq!(r.json, json!({"detail": "Session not found"}));
    }
}

#[tokio::test]
async fn list_is_oldest_first_without_events_and_hides_eval_sessions() {
    let srv = server().await;
    for id in ["a", "adk-eval-session-1", "b", "___eval___session___2"] {
        create(&srv, json!({"sessionId": id})).await;
    }
    srv.send(
        "PATCH",
        &format!("{S}/a"),
        Some(&json!({"stateDelta": {"x": 1}})),
    )
    .await;
    let r = srv.get(S).await;
    assert_eq!(r.status, 200);
    let ids: Vec<&str> = r
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["b", "a"]);
    assert_eq!(r.json[1]["events"], json!([]));
    assert!(r.headers.get("x-next-page-token").is_none());
}

#[tokio::test]
async fn app_list_has_every_user_and_pages_and_is_gated_by_the_app_token() {
    let tokens = Tokens::parse(
        r#"{"tokens": [{"token": "token-app-1", "apps": ["app"]}, {"token": "token-other-1", "apps": ["other"]}]}"#,
    )
    .unwrap();
    let srv = spawn(ServerConfig {
        auth: Some(Arc::new(tokens)),
        ..ServerConfig::default()
    })
    .await;
    let send = |method: &str, path: String, body: Option<Value>, token: &str| {
        let mut req = srv
            .client
            .request(method.parse().unwrap(), format!("{}{}", srv.base, path))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send()
    };
    for (user, id) in [("u1", "a"), ("u2", "b"), ("u1", "c")] {
        let r = send(
            "POST",
            format!("/apps/app/users/{user}/sessions"),
            Some(json!({"sessionId": id})),
            "token-app-1",
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = send("GET", "/apps/app/sessions".into(), None, "token-app-1")
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let all: Value = r.json().await.unwrap();
    let pairs: Vec<(String, String)> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["userId"].as_str().unwrap().into(),
                s["id"].as_str().unwrap().into(),
            )
        })
        .collect();
    let mut sorted = pairs.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [("u1", "a"), ("u1", "c"), ("u2", "b")].map(|(u, i)| (u.to_string(), i.to_string()))
    );
    // Pages of one walk every session once.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let r = send(
            "GET",
            format!("/apps/app/sessions?pageSize=1&pageToken={token}"),
            None,
            "token-app-1",
        )
        .await
        .unwrap();
        let next = r
            .headers()
            .get("x-next-page-token")
            .map(|v| v.to_str().unwrap().to_owned());
        let page: Value = r.json().await.unwrap();
        seen.extend(page.as_array().unwrap().iter().map(|s| s["id"].clone()));
        match next {
            Some(t) => token = t,
            None => break,
        }
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
    // Another app's token is refused.
    let r = send("GET", "/apps/app/sessions".into(), None, "token-other-1")
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn list_pages_through_the_next_page_token_header() {
    let srv = server().await;
    for i in 0..5 {
        create(&srv, json!({"sessionId": format!("p{i}")})).await;
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let path = match &token {
            Some(t) => format!("{S}?pageSize=2&pageToken={t}"),
            None => format!("{S}?pageSize=2"),
        };
        let r = srv.get(&path).await;
        assert_eq!(r.status, 200);
        let page = r.json.as_array().unwrap();
        assert!(page.len() <= 2);
        seen.extend(page.iter().map(|s| s["id"].as_str().unwrap().to_owned()));
        token = r
            .headers
            .get("x-next-page-token")
            .map(|v| v.to_str().unwrap().to_owned());
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, ["p0", "p1", "p2", "p3", "p4"]);
}

#[tokio::test]
async fn bad_query_values_are_4xx_naming_the_parameter() {
    let srv = server().await;
    create(&srv, json!({"sessionId": "q"})).await;
    for (path, name) in [
        (format!("{S}?pageSize=0"), "pageSize"),
        (format!("{S}?pageSize=abc"), "pageSize"),
        (format!("{S}/q?numRecentEvents=-1"), "numRecentEvents"),
        (format!("{S}/q?afterTimestamp=nan"), "afterTimestamp"),
        (
            format!("{S}/q/events?expectedLastUpdateTime=x"),
            "expectedLastUpdateTime",
        ),
    ] {
        let method = if path.ends_with("=x") { "POST" } else { "GET" };
        let r = srv.send(method, &path, Some(&json!({"author": "u"}))).await;
        assert_eq!(r.status, 422, "{path}: {}", r.json);
        assert_eq!(r.json["detail"][0]["loc"], json!(["query", name]));
    }
    let r = srv.get(&format!("{S}?pageSize=1&pageToken=garbage")).await;
    assert_eq!(r.status, 400);
    assert!(r.json["detail"].as_str().unwrap().contains("page_token"));
}

#[tokio::test]
async fn delete_is_200_null_also_when_missing() {
    let srv = server().await;
    create(&srv, json!({"sessionId": "d"})).await;
    for _ in 0..2 {
        let r = srv.send("DELETE", &format!("{S}/d"), None).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json, Value::Null);
    }
    assert_eq!(srv.get(&format!("{S}/d")).await.status, 404);
}

#[tokio::test]
async fn patch_appends_a_user_state_event_with_a_p_invocation_id() {
    let srv = server().await;
    create(&srv, json!({"sessionId": "p"})).await;
    let r = srv
        .send(
            "PATCH",
            &format!("{S}/p"),
            Some(&json!({"stateDelta": {"x": 1, "user:l": "fr"}})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["state"], json!({"x": 1, "user:l": "fr"}));
    let e = &r.json["events"][0];
    assert_eq!(e["author"], "user");
    let inv = e["invocationId"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(inv.strip_prefix("p-").unwrap()).is_ok());
    assert_eq!(e["actions"]["stateDelta"], json!({"x": 1, "user:l": "fr"}));
    assert_eq!(r.json["lastUpdateTime"], e["timestamp"]);
}

#[tokio::test]
async fn patch_errors_are_404_and_422() {
    let srv = server().await;
    create(&srv, json!({"sessionId": "p"})).await;
    let r = srv
        .send(
            "PATCH",
            &format!("{S}/nope"),
            Some(&json!({"stateDelta": {}})),
        )
        .await;
    assert_eq!(r.status, 404);
    let r = srv.send("PATCH", &format!("{S}/p"), Some(&json!({}))).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.json["detail"][0]["loc"], json!(["body", "stateDelta"]));
    assert_eq!(r.json["detail"][0]["type"], "missing");
    let r = srv
        .send("PATCH", &format!("{S}/p"), Some(&json!({"stateDelta": 3})))
        .await;
    assert_eq!(r.status, 422);
    let r = srv.send("PATCH", &format!("{S}/p"), None).await;
    assert_eq!(r.status, 422);
    assert!(srv.get(&format!("{S}/p")).await.json["events"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn append_fills_id_and_timestamp_and_accepts_snake_case() {
    let srv = server().await;
    create(&srv, json!({"sessionId": "e"})).await;
    let r = srv
        .send("POST", &format!("{S}/e/events"), Some(&json!({
            "invocation_id": "i1", "author": "agent",
            "content": {"role": "model", "parts": [{"function_call": {"name": "f", "args": {"snake_key": 1}}}]},
            "actions": {"state_delta": {"n": 1, "temp:t": 1}}
        })))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let e = &r.json["event"];
    assert!(uuid::Uuid::parse_str(e["id"].as_str().unwrap()).is_ok());
    assert_eq!(e["invocationId"], "i1");
    assert_eq!(e["actions"]["stateDelta"], json!({"n": 1}));
    assert_eq!(
        e["content"]["parts"][0]["functionCall"]["args"],
        json!({"snake_key": 1})
    );
    assert_eq!(r.json["lastUpdateTime"], e["timestamp"]);
    let s = srv.get(&format!("{S}/e")).await.json;
    assert_eq!(s["state"], json!({"n": 1}));
    assert_eq!(s["events"][0], *e);
}

#[tokio::test]
async fn append_with_a_stale_expected_update_time_is_409_and_stores_nothing() {
    let srv = server().await;
    let s = create(&srv, json!({"sessionId": "c"})).await;
    let seen = s["lastUpdateTime"].as_f64().unwrap();
    let ok = srv
        .send(
            "POST",
            &format!("{S}/c/events?expectedLastUpdateTime={seen}"),
            Some(&json!({"author": "a", "invocationId": "i"})),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.json);
    let stale = srv
        .send(
            "POST",
            &format!("{S}/c/events?expectedLastUpdateTime={seen}"),
            Some(&json!({"author": "b", "invocationId": "i"})),
        )
        .await;
    assert_eq!(stale.status, 409);
    // One text for every stale append, whether caught before or during the write.
    assert!(
        stale.json["detail"]
            .as_str()
            .unwrap()
            .starts_with("stale session \"c\": stored revision"),
        "{}",
        stale.json
    );
    let now = ok.json["lastUpdateTime"].as_f64().unwrap();
    let again = srv
        .send(
            "POST",
            &format!("{S}/c/events?expectedLastUpdateTime={now}"),
            Some(&json!({"author": "c", "invocationId": "i"})),
        )
        .await;
    assert_eq!(again.status, 200);
    let authors: Vec<Value> = srv.get(&format!("{S}/c")).await.json["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["author"].clone())
        .collect();
    assert_eq!(authors, [json!("a"), json!("c")]);
}

#[tokio::test]
async fn append_errors_are_404_and_422() {
    let srv = server().await;
    let r = srv
        .send(
            "POST",
            &format!("{S}/none/events"),
            Some(&json!({"author": "a"})),
        )
        .await;
    assert_eq!(r.status, 404);
    create(&srv, json!({"sessionId": "v"})).await;
    let r = srv
        .send(
            "POST",
            &format!("{S}/v/events"),
            Some(&json!({"author": "a", "actions": {"madeUp": 1}})),
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(
        r.json["detail"][0]["msg"]
            .as_str()
            .unwrap()
            .contains("made"),
        "{}",
        r.json
    );
    let r = srv
        .send("POST", &format!("{S}/v/events"), Some(&json!("text")))
        .await;
    assert_eq!(r.status, 422);
    let r = srv.send("POST", &format!("{S}/v/events"), None).await;
    assert_eq!(r.status, 422);
    assert!(srv.get(&format!("{S}/v")).await.json["events"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn lenient_events_keep_unknown_fields() {
    let mut config = ServerConfig::default();
    config.event_policy.lenient_unknown_fields = true;
    let srv = spawn(config).await;
    create(&srv, json!({"sessionId": "l"})).await;
    let r = srv
        .send(
            "POST",
            &format!("{S}/l/events"),
            Some(&json!({"author": "a", "actions": {"madeUp": 1}})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["event"]["actions"]["madeUp"], 1);
}

#[tokio::test]
async fn get_filters_recent_events_and_after_timestamp() {
    let srv = server().await;
    create(&srv, json!({"sessionId": "f"})).await;
    for t in [4.0e9, 4.0e9 + 1.0, 4.0e9 + 2.0] {
        let r = srv
            .send(
                "POST",
                &format!("{S}/f/events"),
                Some(&json!({"author": "a", "invocationId": "i", "timestamp": t})),
            )
            .await;
        assert_eq!(r.status, 200);
    }
    let ts = |v: &Value| -> Vec<f64> {
        v["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["timestamp"].as_f64().unwrap())
            .collect()
    };
    assert_eq!(
        ts(&srv.get(&format!("{S}/f?numRecentEvents=2")).await.json),
        [4.0e9 + 1.0, 4.0e9 + 2.0]
    );
    assert_eq!(
        ts(&srv
            .get(&format!("{S}/f?afterTimestamp=4000000001"))
            .await
            .json),
        [4.0e9 + 1.0, 4.0e9 + 2.0]
    );
    assert_eq!(
        ts(&srv.get(&format!("{S}/f?numRecentEvents=0")).await.json),
        Vec::<f64>::new()
    );
}

#[tokio::test]
async fn user_and_app_state_endpoints_return_unprefixed_maps() {
    let srv = server().await;
    create(
        &srv,
        json!({"sessionId": "st", "state": {"app:a": 1, "user:u": 2, "s": 3}}),
    )
    .await;
    assert_eq!(
        srv.get("/apps/app/users/u/state").await.json,
        json!({"u": 2})
    );
    assert_eq!(srv.get("/apps/app/state").await.json, json!({"a": 1}));
    assert_eq!(srv.get("/apps/other/state").await.json, json!({}));
}

#[tokio::test]
async fn health_ready_metrics_and_openapi() {
    let srv = server().await;
    assert_eq!(srv.get("/healthz").await.json, json!({"status": "ok"}));
    assert_eq!(
        srv.get("/readyz").await.json,
        json!({"status": "ok", "backend": "memory"})
    );
    srv.get(&format!("{S}/x")).await;
    let r = srv
        .client
        .get(format!("{}/metrics", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    for name in [
        "adk_sessions_http_requests_total",
        "adk_sessions_http_request_duration_seconds_bucket",
        "adk_sessions_db_operation_duration_seconds_bucket",
    ] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
    let spec = srv.get("/openapi.json").await.json;
    assert_eq!(spec["openapi"], "3.0.3");
    for r in adk_sessions_server::api::routes() {
        let m = r.method.as_str().to_ascii_lowercase();
        assert!(
            spec["paths"][r.path][&m].is_object(),
            "{m} {} missing",
            r.path
        );
    }
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_in_json() {
    let srv = server().await;
    let r = srv.get("/nope").await;
    assert_eq!((r.status, r.json), (404, json!({"detail": "Not Found"})));
    let r = srv.send("PUT", &format!("{S}/x"), None).await;
    assert_eq!(
        (r.status, r.json),
        (405, json!({"detail": "Method Not Allowed"}))
    );
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let srv = spawn(ServerConfig {
        max_body_bytes: 1024,
        ..ServerConfig::default()
    })
    .await;
    let big = json!({"sessionId": "big", "state": {"x": "y".repeat(4096)}});
    let r = srv.send("POST", S, Some(&big)).await;
    assert_eq!(r.status, 413);
    assert!(r.json["detail"].is_string());
    assert_eq!(srv.get(&format!("{S}/big")).await.status, 404);
}

#[tokio::test]
async fn bearer_tokens_gate_apps_with_401_and_403() {
    let tokens = Tokens::parse(r#"{"tokens": [{"token": "token-for-app", "apps": ["app"]}, {"token": "token-for-all", "apps": ["*"]}]}"#).unwrap();
    let srv = spawn(ServerConfig {
        auth: Some(Arc::new(tokens)),
        ..ServerConfig::default()
    })
    .await;
    let get = |path: String, token: Option<&'static str>| {
        let mut req = srv.client.get(format!("{}{}", srv.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req
    };
    let r = get(S.into(), None).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        get(S.into(), Some("wrong-token"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        get(S.into(), Some("token-for-app"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let other = "/apps/other/users/u/sessions".to_owned();
    let r = get(other.clone(), Some("token-for-app"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        get(other, Some("token-for-all"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        get("/healthz".into(), None).send().await.unwrap().status(),
        200
    );
}

/// The URL of the database `Broken` cannot reach.
const BROKEN_URL: &str = "postgres://admin:hunter2@db.internal:5432/x";

/// What a driver error says: a file, a table and the SQL that failed.
const BROKEN_SQL: &str = "error returned from database: no such table: sessions \
     (/var/lib/adk/sessions.db; SELECT state FROM sessions WHERE app_name = ?1)";

/// Text of `Broken`'s errors that must never reach a client.
const BROKEN_SECRETS: [&str; 9] = [
    "hunter2",
    "admin",
    "db.internal",
    "postgres://",
    "/var/lib",
    "sessions.db",
    "SELECT",
    "FROM",
    "no such table",
];

/// A backend whose storage is down (and slow when asked to be).
struct Broken {
    delay: Duration,
}

fn down() -> adk_sessions::Error {
    adk_sessions::Error::storage(BROKEN_SQL)
}

#[async_trait]
impl SessionService for Broken {
    async fn create(&self, _: &str, _: &str, _: CreateOptions) -> adk_sessions::Result<Session> {
        Err(adk_sessions::Error::storage(adk_sessions::redact_url_in(
            &format!("cannot connect to {BROKEN_URL}"),
            BROKEN_URL,
        )))
    }
    async fn get(&self, _: &SessionKey, _: GetFilter) -> adk_sessions::Result<Session> {
        tokio::time::sleep(self.delay).await;
        Err(down())
    }
    async fn list(
        &self,
        _: &str,
        _: Option<&str>,
        _: &PageRequest,
    ) -> adk_sessions::Result<SessionPage> {
        Err(down())
    }
    async fn delete(&self, _: &SessionKey) -> adk_sessions::Result<()> {
        Err(down())
    }
    async fn append_event(&self, _: &Session, _: Event) -> adk_sessions::Result<Arc<Event>> {
        Err(down())
    }
    async fn get_user_state(&self, _: &str, _: &str) -> adk_sessions::Result<JsonMap> {
        Err(down())
    }
    async fn get_app_state(&self, _: &str) -> adk_sessions::Result<JsonMap> {
        Err(down())
    }
    async fn ping(&self) -> adk_sessions::Result<()> {
        Err(adk_sessions::Error::storage(adk_sessions::redact_url_in(
            &format!("cannot connect to {BROKEN_URL}: {BROKEN_SQL}"),
            BROKEN_URL,
        )))
    }
    fn backend_name(&self) -> &'static str {
        "broken"
    }
}

/// The error id of a storage error's detail, which must be exactly
/// `storage unavailable (error id <12 hex digits>; the server log has the details)`.
fn storage_error_id(detail: &str) -> String {
    let id = detail
        .strip_prefix("storage unavailable (error id ")
        .and_then(|rest| rest.strip_suffix("; the server log has the details)"))
        .unwrap_or_else(|| panic!("not the storage error shape: {detail}"));
    assert!(
        id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{detail}"
    );
    id.to_owned()
}

/// Asserts that no text of `Broken`'s errors is in a response body.
fn assert_no_secret(body: &Value) {
    let text = body.to_string();
    for secret in BROKEN_SECRETS {
        assert!(
            !text.contains(secret),
            "{secret:?} reached the client: {text}"
        );
    }
}

/// Collects the `tracing` events of the current thread as text (`request_error_id=…
/// error=…`), to see what the server logs for an error.
#[derive(Default, Clone)]
struct LogCapture(Arc<std::sync::Mutex<Vec<String>>>);

impl tracing::Subscriber for LogCapture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Fields(String);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                self.0.push_str(&format!("{}={v:?} ", f.name()));
            }
            fn record_str(&mut self, f: &tracing::field::Field, v: &str) {
                self.0.push_str(&format!("{}={v} ", f.name()));
            }
        }
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

// Current-thread runtime (the default): the server task runs on this thread, so the
// thread's log capture sees its events.
#[tokio::test]
async fn storage_errors_are_503_without_the_password_and_readyz_fails() {
    let logs = LogCapture::default();
    let _guard = tracing::subscriber::set_default(logs.clone());
    let srv = spawn_with(
        Arc::new(Broken {
            delay: Duration::ZERO,
        }),
        ServerConfig::default(),
    )
    .await;
    // The password is redacted by the library; the rest of the message (user, host,
    // file, SQL) is for the log only: the client gets an id to find it there.
    let r = srv.send("POST", S, Some(&json!({}))).await;
    assert_eq!(r.status, 503);
    let id = storage_error_id(r.json["detail"].as_str().unwrap());
    assert_no_secret(&r.json);
    let logged = logs.0.lock().unwrap().clone();
    let line = logged
        .iter()
        .find(|l| l.contains(&format!("request_error_id={id} ")))
        .unwrap_or_else(|| panic!("error id {id} not logged: {logged:#?}"));
    assert!(
        line.contains("cannot connect to postgres://admin:***@db.internal:5432/x"),
        "{line}"
    );
    assert!(!line.contains("hunter2"), "{line}");

    let mut ids = vec![id];
    for (method, path, body) in [
        ("GET", format!("{S}/x"), None),
        ("GET", S.to_owned(), None),
        ("DELETE", format!("{S}/x"), None),
        (
            "POST",
            format!("{S}/x/events"),
            Some(json!({"author": "a"})),
        ),
        (
            "PATCH",
            format!("{S}/x"),
            Some(json!({"stateDelta": {"k": 1}})),
        ),
        ("GET", "/apps/app/users/u/state".to_owned(), None),
        ("GET", "/apps/app/state".to_owned(), None),
    ] {
        let r = srv.send(method, &path, body.as_ref()).await;
        assert_eq!(r.status, 503, "{method} {path}: {}", r.json);
        ids.push(storage_error_id(r.json["detail"].as_str().unwrap()));
        assert_no_secret(&r.json);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 8, "each error gets its own id");
    let logged = logs.0.lock().unwrap().clone();
    assert!(logged.iter().any(|l| l.contains(BROKEN_SQL)), "{logged:#?}");

    // `/readyz` (open without a token) fails the same way.
    let r = srv.get("/readyz").await;
    assert_eq!(r.status, 503);
    let detail = r.json["detail"].as_str().unwrap();
    storage_error_id(
        detail
            .strip_prefix("database not ready: ")
            .unwrap_or(detail),
    );
    assert_no_secret(&r.json);
    assert_eq!(srv.get("/healthz").await.status, 200);
}

#[tokio::test]
async fn slow_requests_time_out_with_503() {
    let config = ServerConfig {
        request_timeout: Some(Duration::from_millis(100)),
        ..ServerConfig::default()
    };
    let srv = spawn_with(
        Arc::new(Broken {
            delay: Duration::from_secs(5),
        }),
        config,
    )
    .await;
    let r = srv.get(&format!("{S}/x")).await;
    assert_eq!(r.status, 503);
    assert!(r.json["detail"].as_str().unwrap().contains("timed out"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_id_already_stored_is_409_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("adk-sessions-api-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("dup.db").display());
    let service = adk_sessions::open(&url, &Default::default()).await.unwrap();
    let srv = spawn_with(service, ServerConfig::default()).await;
    create(&srv, json!({"sessionId": "d"})).await;
    let event = json!({"id": "same", "author": "a", "invocationId": "i"});
    let first = srv
        .send("POST", &format!("{S}/d/events"), Some(&event))
        .await;
    assert_eq!(first.status, 200, "{}", first.json);
    let second = srv
        .send("POST", &format!("{S}/d/events"), Some(&event))
        .await;
    assert_eq!(second.status, 409, "{}", second.json);
    assert_eq!(
        srv.get(&format!("{S}/d")).await.json["events"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    std::fs::remove_dir_all(dir).ok();
}
