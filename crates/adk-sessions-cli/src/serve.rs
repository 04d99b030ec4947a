//! `adk-sessions serve`: opens the database, binds, serves [`adk_sessions_server::router`] with
//! request logs through `tracing`, and shuts down gracefully on SIGTERM/SIGINT: stop
//! accepting, finish in-flight requests, then drop (close) the database. With
//! `--tls-cert`/`--tls-key` it serves HTTPS and reads the pair again on SIGHUP.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use adk_sessions::{EventPolicy, OpenOptions};

use adk_sessions_server::auth::Tokens;
use adk_sessions_server::{router, HostCheck, ServerConfig};

use crate::tls::{self, ReloadingCert, TlsFiles};

/// Flags of `adk-sessions serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Database URL: sqlite://file.db, sqlite::memory:, memory://, postgres://…, mysql://….
    #[arg(
        long,
        env = "ADK_SESSIONS_DB",
        default_value = "sqlite://adk-sessions.db"
    )]
    pub db: String,
    /// Table layout for a fresh SQL database: adk-python (the default) or adk-go (the
    /// tables of adk-go's database session service). An existing database is used in the
    /// layout it holds; naming the other one is an error.
    #[arg(long, env = "ADK_SESSIONS_SCHEMA", value_parser = crate::ops::parse_layout)]
    pub schema: Option<adk_sessions::StorageLayout>,
    /// Address to listen on.
    #[arg(long, env = "ADK_SESSIONS_ADDR", default_value = "127.0.0.1:8000")]
    pub addr: String,
    /// PEM file of the certificate chain to serve HTTPS with (the server's own
    /// certificate first); needs --tls-key. Read again on SIGHUP.
    #[arg(long, env = "ADK_SESSIONS_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM file of the private key of --tls-cert (PKCS#8, PKCS#1 or SEC1). Read again on
    /// SIGHUP.
    #[arg(long, env = "ADK_SESSIONS_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// JSON file of bearer tokens and the apps each may touch (no auth without it).
    #[arg(long, env = "ADK_SESSIONS_AUTH_TOKENS")]
    pub auth_tokens: Option<PathBuf>,
    /// Largest accepted request body in bytes.
    #[arg(long, env = "ADK_SESSIONS_MAX_BODY_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Most events one create may restore into a new session.
    #[arg(long, env = "ADK_SESSIONS_MAX_CREATE_EVENTS", default_value_t = adk_sessions_server::DEFAULT_MAX_CREATE_EVENTS)]
    pub max_create_events: usize,
    /// Seconds a connection may take to send a complete request head, and may stay idle
    /// between requests, before it is closed.
    #[arg(long, env = "ADK_SESSIONS_HEADER_TIMEOUT", default_value_t = 10.0)]
    pub header_timeout: f64,
    /// Most connections served at once; more are closed when accepted.
    #[arg(long, env = "ADK_SESSIONS_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,
    /// Per-request timeout in seconds (0 = none).
    #[arg(long, env = "ADK_SESSIONS_REQUEST_TIMEOUT", default_value_t = 30.0)]
    pub request_timeout: f64,
    /// Keep event fields adk-python does not know inside `actions` and the content model
    /// instead of refusing them (only for deployments without Python readers).
    #[arg(long, env = "ADK_SESSIONS_LENIENT_EVENTS")]
    pub lenient_events: bool,
    /// SQLite: MiB of event_data whose decoded events are kept for later reads (0 = off).
    #[arg(long, env = "ADK_SESSIONS_EVENT_CACHE_MB", default_value_t = 8)]
    pub event_cache_mb: usize,
    /// Answer requests whatever their Host/Origin when listening on loopback without auth
    /// (behind a reverse proxy that forwards another Host). Off: such a server answers
    /// only requests addressed to loopback, so a web page cannot reach it by DNS rebinding.
    #[arg(long, env = "ADK_SESSIONS_ALLOW_ANY_HOST")]
    pub allow_any_host: bool,
    /// Write logs as JSON lines (one object per event) instead of text.
    #[arg(long, env = "ADK_SESSIONS_LOG_JSON")]
    pub log_json: bool,
}

/// Logs through `tracing` to stderr, filtered by `RUST_LOG` (default `info`): one span
/// per request (method, URI) and one line per response (status, latency).
pub fn init_tracing(json: bool) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init()
    };
}

/// Runs the server until SIGTERM or SIGINT.
pub async fn run(args: ServeArgs) -> Result<(), String> {
    init_tracing(args.log_json);
    let policy = EventPolicy {
        lenient_unknown_fields: args.lenient_events,
    };
    let auth = match &args.auth_tokens {
        Some(path) => Some(Arc::new(Tokens::load(path)?)),
        None => None,
    };
    if !args.request_timeout.is_finite() || args.request_timeout < 0.0 {
        return Err("--request-timeout must be a non-negative number of seconds".into());
    }
    if !args.header_timeout.is_finite() || !(0.1..=3600.0).contains(&args.header_timeout) {
        return Err("--header-timeout must be between 0.1 and 3600 seconds".into());
    }
    if args.max_connections == 0 {
        return Err("--max-connections must be at least 1".into());
    }
    let addr: SocketAddr = args
        .addr
        .parse()
        .map_err(|e| format!("--addr {:?} is not HOST:PORT: {e}", args.addr))?;
    // Read before the database is opened: a pair that cannot be served changes nothing.
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(Arc::new(
            ReloadingCert::load(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            })
            .await?,
        )),
        _ => None,
    };
    let acceptor = tls.clone().map(tls::acceptor).transpose()?;
    // On loopback without auth, only requests made to loopback (no DNS rebinding).
    let host_check = if addr.ip().is_loopback() && auth.is_none() && !args.allow_any_host {
        HostCheck::Loopback
    } else {
        HostCheck::Any
    };
    let config = ServerConfig {
        event_policy: policy,
        auth,
        max_body_bytes: args.max_body_bytes,
        request_timeout: (args.request_timeout > 0.0)
            .then(|| Duration::from_secs_f64(args.request_timeout)),
        metrics: true,
        max_create_events: args.max_create_events,
        host_check,
    };
    let mut options = OpenOptions::default()
        .policy(policy)
        .event_cache_bytes(args.event_cache_mb.saturating_mul(1 << 20));
    options.layout = args.schema;
    let shown = adk_sessions::redact_url(&args.db);
    let service = adk_sessions::open(&args.db, &options)
        .await
        .map_err(|e| format!("cannot open {shown}: {e}"))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(addr = %local, db = %shown, backend = service.backend_name(),
        layout = service.storage_layout().map(|l| l.name()),
        auth = config.auth.is_some(), tls = tls.is_some(), "adk-sessions listening");
    if let Some(cert) = tls {
        tokio::spawn(reload_on_sighup(cert));
    }
    let app = router(service.clone(), config);
    let limits = crate::listener::Limits {
        header_timeout: Duration::from_secs_f64(args.header_timeout),
        max_connections: args.max_connections,
        drain: Duration::from_secs(30),
    };
    crate::listener::serve(listener, app, limits, acceptor, shutdown_signal()).await;
    tracing::info!("stopped accepting; in-flight requests finished; closing the database");
    // SQLite: the WAL is merged into the database file, so a copy of the .db file made
    // after a clean stop is complete.
    service
        .close()
        .await
        .map_err(|e| format!("closing {shown}: {e}"))?;
    drop(service);
    Ok(())
}

/// Reads the certificate and key again on each SIGHUP; a pair that cannot be served is
/// logged and the one in use stays.
async fn reload_on_sighup(cert: Arc<ReloadingCert>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch SIGHUP: the TLS certificate will not be reloaded");
                return;
            }
        };
        while hangups.recv().await.is_some() {
            let files = cert.files();
            match cert.reload().await {
                Ok(chain) => tracing::info!(
                    cert = %files.cert.display(),
                    key = %files.key.display(),
                    chain,
                    "SIGHUP: TLS certificate reloaded; new connections use it"
                ),
                Err(e) => tracing::error!(
                    error = %e,
                    "SIGHUP: TLS certificate not reloaded; still serving the previous one"
                ),
            }
        }
    }
    #[cfg(not(unix))]
    drop(cert);
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT: shutting down"),
        _ = term => tracing::info!("SIGTERM: shutting down"),
    }
}
