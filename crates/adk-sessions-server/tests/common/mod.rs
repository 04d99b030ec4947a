//! Shared by the server tests: a real listening server on 127.0.0.1:0 over a memory
//! backend, and small request helpers.
#![allow(dead_code)]

use std::sync::Arc;

use adk_sessions::{InMemorySessionService, SessionService};
use adk_sessions_server::{router, ServerConfig};
use serde_json::Value;

/// A running server.
pub struct Server {
    pub base: String,
    pub service: Arc<dyn SessionService>,
    pub client: reqwest::Client,
}

/// Starts a server over a fresh in-memory service.
pub async fn spawn(config: ServerConfig) -> Server {
    let service: Arc<dyn SessionService> =
        Arc::new(InMemorySessionService::with_policy(config.event_policy));
    spawn_with(service, config).await
}

/// Starts a server over `service`.
pub async fn spawn_with(service: Arc<dyn SessionService>, config: ServerConfig) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(service.clone(), config);
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Server {
        base: format!("http://{addr}"),
        service,
        client: reqwest::Client::new(),
    }
}

/// A response: status, headers and the JSON body (`{"__text__": …}` when not JSON).
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub json: Value,
}

impl Server {
    pub async fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Resp {
        let mut req = self.client.request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{}", self.base, path),
        );
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(serde_json::to_vec(b).unwrap());
        }
        into_resp(req.send().await.unwrap()).await
    }

    pub async fn send_raw(&self, method: &str, path: &str, raw: Vec<u8>) -> Resp {
        let req = self
            .client
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}{}", self.base, path),
            )
            .header("content-type", "application/json")
            .body(raw);
        into_resp(req.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send("GET", path, None).await
    }
}

pub async fn into_resp(r: reqwest::Response) -> Resp {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let json =
        serde_json::from_str(&text).unwrap_or_else(|_| serde_json::json!({"__text__": text}));
    Resp {
        status,
        headers,
        json,
    }
}
