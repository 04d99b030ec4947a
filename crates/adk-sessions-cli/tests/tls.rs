//! HTTPS end to end, through the real binary: `serve --tls-cert --tls-key` answers the REST
//! API over TLS to a client that trusts the certificate's CA, and to no one else (another
//! CA, plain HTTP); SIGHUP swaps in a renewed certificate for new connections, and a
//! broken one on SIGHUP leaves the served certificate as it was; a pair that cannot be
//! served stops the server before the database is opened; a client that never starts its
//! handshake is closed after `--header-timeout`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// A certificate authority made for one test.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Ca { issuer }
    }

    /// A server certificate for 127.0.0.1 and localhost: (certificate PEM, key PEM).
    fn server_pair(&self) -> (String, String) {
        let params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn connector(&self) -> TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from(self.issuer.der().to_vec()))
            .unwrap();
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        TlsConnector::from(Arc::new(config))
    }
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "adk-sessions-tls-{tag}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// One HTTP/1.1 request over TLS verified with `ca`: `Err` when the handshake (or the
/// connection) fails, else the status code and the body.
async fn https(
    ca: &Ca,
    port: u16,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Result<(u16, String), String> {
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = ca
        .connector()
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    tls.read_to_end(&mut response)
        .await
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP response: {text:?}"))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

struct Server {
    child: Child,
    port: u16,
    stderr: PathBuf,
}

impl Server {
    fn start(dir: &Path, extra: &[&str]) -> Server {
        let port = free_port();
        let stderr = dir.join("server.log");
        let child = Command::new(env!("CARGO_BIN_EXE_adk-sessions"))
            .args(["serve", "--db", "memory://", "--addr"])
            .arg(format!("127.0.0.1:{port}"))
            .args(extra)
            .env_remove("ADK_SESSIONS_AUTH_TOKENS")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        Server {
            child,
            port,
            stderr,
        }
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name}");
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn stop(mut self) -> String {
        self.signal("TERM");
        let status = self.child.wait().unwrap();
        let log = self.log();
        assert!(status.success(), "server exit {status}: {log}");
        log
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until `probe` holds (the server is up, a reload took effect), at most 10 s.
async fn eventually<F, Fut>(what: &str, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !probe().await {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn write_pair(dir: &Path, (cert, key): &(String, String)) -> (PathBuf, PathBuf) {
    let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&c, cert).unwrap();
    std::fs::write(&k, key).unwrap();
    (c, k)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_serves_the_api_to_its_cas_clients_only_and_reloads_on_sighup() {
    let dir = temp_dir("serve");
    let (first_ca, second_ca) = (Ca::new("first test CA"), Ca::new("second test CA"));
    let (cert, key) = write_pair(&dir, &first_ca.server_pair());
    let server = Server::start(
        &dir,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
            "--header-timeout",
            "1",
        ],
    );
    let port = server.port;
    eventually("the server answers over HTTPS", || async {
        matches!(
            https(&first_ca, port, "GET", "/healthz", None).await,
            Ok((200, _))
        )
    })
    .await;

    // The REST API over TLS.
    let (status, body) = https(
        &first_ca,
        port,
        "POST",
        "/apps/shop/users/alice/sessions",
        Some(r#"{"state": {"cart": 2}}"#),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let created: Value = serde_json::from_str(&body).unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, body) = https(
        &first_ca,
        port,
        "GET",
        &format!("/apps/shop/users/alice/sessions/{id}"),
        None,
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let read: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(read["state"]["cart"], 2, "{body}");

    // A client that does not trust the certificate's CA is refused in the handshake.
    let e = https(&second_ca, port, "GET", "/healthz", None)
        .await
        .unwrap_err();
    assert!(
        e.contains("UnknownIssuer") || e.contains("certificate"),
        "{e}"
    );
    // Plain HTTP on the HTTPS port gets no HTTP answer.
    let mut plain = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut answer)).await;
    assert!(
        !String::from_utf8_lossy(&answer).contains("200 OK"),
        "{answer:?}"
    );

    // A client that never starts its handshake is closed after --header-timeout.
    let mut silent = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let started = Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut [0u8; 64])).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "a silent connection was kept open: {closed:?}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );

    // A renewed certificate (from another CA) takes effect on SIGHUP.
    write_pair(&dir, &second_ca.server_pair());
    server.signal("HUP");
    eventually("the renewed certificate is served", || async {
        https(&second_ca, port, "GET", "/healthz", None)
            .await
            .is_ok()
    })
    .await;
    assert!(https(&first_ca, port, "GET", "/healthz", None)
        .await
        .is_err());

    // A broken pair on SIGHUP is refused and logged; the served certificate stays.
    std::fs::write(&cert, "not a certificate").unwrap();
    server.signal("HUP");
    eventually("the failed reload is logged", || async {
        server.log().contains("TLS certificate not reloaded")
    })
    .await;
    let (status, _) = https(&second_ca, port, "GET", "/healthz", None)
        .await
        .unwrap();
    assert_eq!(status, 200);

    let log = server.stop();
    assert!(log.contains("tls=true"), "{log}");
    assert!(log.contains("TLS certificate reloaded"), "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_pair_that_cannot_be_served_stops_the_server_before_the_database_is_opened() {
    let dir = temp_dir("refused");
    let ca = Ca::new("test CA");
    let (cert, _) = ca.server_pair();
    let (_, other_key) = ca.server_pair();
    let (cert, key) = write_pair(&dir, &(cert, other_key));
    let db = dir.join("sessions.db");
    let out = Command::new(env!("CARGO_BIN_EXE_adk-sessions"))
        .args(["serve", "--addr", "127.0.0.1:0", "--db"])
        .arg(format!("sqlite://{}", db.display()))
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("cannot be served together"), "{stderr}");
    assert!(stderr.contains(&*cert.to_string_lossy()), "{stderr}");
    assert!(!db.exists(), "the database was created: {stderr}");

    // One of the pair alone is a usage error.
    let out = Command::new(env!("CARGO_BIN_EXE_adk-sessions"))
        .args(["serve", "--db", "memory://", "--tls-cert"])
        .arg(&cert)
        .env_remove("ADK_SESSIONS_TLS_KEY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("--tls-key"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
