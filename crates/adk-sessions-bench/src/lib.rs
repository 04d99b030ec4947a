//! `adk-sessions-bench`: the workloads of docs/bench.md (W1–W3, W4 over HTTP with
//! `--http`), the raw floor of each SQL backend, and the growth check of `--scale`, on
//! any backend URL, measured in one run.
//!
//! Every figure is a rate measured in this run; every workload asserts its counts, and
//! a failed assertion ends the run with an error (exit code 1), never with a figure. With
//! `--json` one JSON object goes to stdout; a human table and a progress bar always go to
//! stderr. Where the run writes follows the rule of [`target`]: a URL that names no
//! database gets a fresh one, removed afterwards.
//!
//! Modules: [`workloads`] (data, W1–W3), [`floor`] (the bare driver), [`http`] (W4),
//! [`scale`] (growth), [`report`] (output), [`target`] (fresh databases).

pub mod floor;
pub mod http;
pub mod report;
pub mod scale;
pub mod target;
pub mod workloads;

use std::sync::Arc;

use adk_sessions::{OpenOptions, PageRequest, SessionService, SqliteSync, StorageLayout};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use report::Report;
use target::Target;
use workloads::{Rates, Sizes};

/// SQLite durability of `--sync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SyncArg {
    /// WAL with `synchronous=FULL`: no acknowledged append is lost (the default).
    Full,
    /// WAL with `synchronous=NORMAL`: the last commits may be lost on power loss.
    Normal,
}

/// Flags of `adk-sessions-bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Database URL: memory://, sqlite:// (a fresh temporary file), sqlite://FILE,
    /// postgres://USER@HOST:PORT (a fresh database), postgres://…/DB (that database),
    /// mysql://… likewise.
    #[arg(long, default_value = "memory://")]
    pub db: String,
    /// S: sessions of W1.
    #[arg(long, default_value_t = 100)]
    pub sessions: usize,
    /// M: events appended to each W1 session.
    #[arg(long, default_value_t = 50)]
    pub events: usize,
    /// B: events of the W2 session.
    #[arg(long, default_value_t = 5000)]
    pub big: usize,
    /// C: concurrent tasks of W3 (each owns 4 sessions).
    #[arg(long, default_value_t = 16)]
    pub tasks: usize,
    /// K: events each W3 task appends, round robin over its 4 sessions.
    #[arg(long, default_value_t = 100)]
    pub task_events: usize,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// SQLite durability (reported as `durability`).
    #[arg(long, value_enum, default_value_t = SyncArg::Full)]
    pub sync: SyncArg,
    /// SQLite: MiB of event_data whose decoded events are cached (0 = every get decodes
    /// every event; reported as `event_cache_mb`).
    #[arg(long, default_value_t = 8)]
    pub event_cache_mb: usize,
    /// Also run W4: W3 through the REST server on a loopback port.
    #[arg(long)]
    pub http: bool,
    /// W4: concurrent keep-alive clients.
    #[arg(long, default_value_t = 16)]
    pub http_clients: usize,
    /// W4: GETs of the 50-event session per client.
    #[arg(long, default_value_t = 1000)]
    pub http_gets: usize,
    /// Also run the growth check (get and list cost as the database grows).
    #[arg(long)]
    pub scale: bool,
    /// Growth: background event counts for the get check.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
    pub scale_events: Vec<usize>,
    /// Growth: session counts for the list check.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    pub scale_sessions: Vec<usize>,
    /// Table layout of the fresh database: adk-python (the default) or adk-go (reported
    /// as `layout`; the raw floor, defined on adk-python's rows, is then not run).
    #[arg(long, value_parser = parse_layout)]
    pub schema: Option<StorageLayout>,
    /// Skip the raw floor.
    #[arg(long)]
    pub no_floor: bool,
    /// Run only the raw floor (no service): what the database allows on this machine.
    #[arg(long, conflicts_with = "no_floor")]
    pub floor_only: bool,
    /// Keep the fresh file or database the run created.
    #[arg(long)]
    pub keep: bool,
}

fn parse_layout(text: &str) -> Result<StorageLayout, String> {
    StorageLayout::parse(text).ok_or_else(|| format!("{text:?} is not adk-python or adk-go"))
}

impl BenchArgs {
    /// The flags with their defaults and `db`.
    pub fn with_db(db: &str) -> Self {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct P {
            #[command(flatten)]
            a: BenchArgs,
        }
        let mut a = P::parse_from(["bench"]).a;
        a.db = db.to_owned();
        a
    }

    fn sizes(&self) -> Sizes {
        Sizes {
            sessions: self.sessions,
            events: self.events,
            big: self.big,
            tasks: self.tasks,
            task_events: self.task_events,
        }
    }

    fn sqlite_sync(&self) -> SqliteSync {
        match self.sync {
            SyncArg::Full => SqliteSync::Full,
            SyncArg::Normal => SqliteSync::Normal,
        }
    }
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A count did not match: the backend returned something else than it was given.
    #[error("assertion failed: {0}")]
    Assertion(String),
    /// The service refused or failed.
    #[error(transparent)]
    Service(#[from] adk_sessions::Error),
    /// Anything else (driver, HTTP, setup).
    #[error("{0}")]
    Other(String),
}

/// The progress bar on stderr, one phase at a time.
#[derive(Clone)]
pub struct Progress(ProgressBar);

impl Progress {
    fn new() -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{msg:>16} [{bar:40}] {pos}/{len} {per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        Progress(bar)
    }

    /// A progress that draws nothing (for tests and library use).
    pub fn hidden() -> Self {
        Progress(ProgressBar::hidden())
    }

    /// Starts a phase of `len` steps.
    pub fn phase(&self, name: &str, len: usize) {
        self.0.set_message(name.to_owned());
        self.0.set_length(len as u64);
        self.0.set_position(0);
        self.0.reset_eta();
    }

    /// Advances by `n` steps.
    pub fn inc(&self, n: u64) {
        self.0.inc(n);
    }

    /// The bar itself (for tasks).
    pub fn bar(&self) -> ProgressBar {
        self.0.clone()
    }

    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// Runs the benchmark as the flags say: the table on stderr, the JSON on stdout.
pub async fn run(args: BenchArgs) -> Result<(), String> {
    let progress = Progress::new();
    let result = measure(&args, &progress).await;
    progress.finish();
    let report = result.map_err(|e| e.to_string())?;
    eprintln!("adk-sessions-bench ({}):", args.db_redacted());
    eprint!("{}", report.table());
    if args.json {
        println!("{}", report.to_json_text());
    }
    Ok(())
}

impl BenchArgs {
    fn db_redacted(&self) -> String {
        adk_sessions::redact_url(&self.db)
    }
}

/// Runs everything the flags ask for and returns the report (no output but the
/// progress bar). The fresh store is removed whatever happened.
pub async fn measure(args: &BenchArgs, progress: &Progress) -> Result<Report, BenchError> {
    let target = Target::resolve(&args.db)?;
    target.prepare().await?;
    let result = measure_on(args, &target, progress).await;
    let cleaned = if args.keep {
        Ok(())
    } else {
        target.cleanup().await
    };
    let report = result?;
    cleaned?;
    Ok(report)
}

async fn measure_on(
    args: &BenchArgs,
    target: &Target,
    progress: &Progress,
) -> Result<Report, BenchError> {
    let mut options = OpenOptions::default()
        .sqlite_sync(args.sqlite_sync())
        .event_cache_bytes(args.event_cache_mb.saturating_mul(1 << 20));
    options.layout = args.schema;
    let durability = match target {
        Target::Memory | Target::Sqlite { path: None, .. } => "none".to_owned(),
        Target::Sqlite { .. } => match args.sync {
            SyncArg::Full => "full".to_owned(),
            SyncArg::Normal => "normal".to_owned(),
        },
        Target::Server { kind, url, .. } => floor::server_durability(*kind, url).await?,
    };
    let mut report = Report::new(target.backend(), &durability);
    if matches!(target, Target::Sqlite { .. }) {
        report.count("event_cache_mb", args.event_cache_mb as u64);
    }
    let sizes = args.sizes();
    let text = workloads::text_200();
    let mut rates = Rates::default();
    if let Some(layout) = args.schema {
        report.text("layout", layout.name());
    }
    let go_layout = args.schema == Some(StorageLayout::AdkGo);
    if go_layout && args.floor_only {
        return Err(BenchError::Other(
            "the raw floor is defined on adk-python's rows; --floor-only with --schema adk-go has nothing to run".into(),
        ));
    }
    let floor_before = if args.no_floor || go_layout {
        None
    } else {
        run_floor(args, target, sizes, &text, progress).await?
    };
    let svc = if args.floor_only {
        None
    } else {
        let svc: Arc<dyn SessionService> =
            adk_sessions::open(&target.service_url(), &options).await?;
        let existing = svc
            .list(workloads::APP, None, &PageRequest::with_size(1))
            .await?;
        if !existing.sessions.is_empty() {
            return Err(BenchError::Other(format!(
                "{} already holds sessions of app {:?}; give a URL without a database (or `sqlite://`) for a fresh one",
                args.db_redacted(),
                workloads::APP
            )));
        }
        workloads::w1(svc.as_ref(), sizes, &text, progress, &mut rates).await?;
        workloads::w2(svc.as_ref(), sizes, &text, progress, &mut rates).await?;
        workloads::w3(svc.clone(), sizes, &text, progress, &mut rates).await?;
        report.workloads(&rates);
        Some(svc)
    };

    if let Some(first) = floor_before {
        // The floor ran before the workloads and runs again after them; the better run
        // counts (fsync times drift on a shared machine, and the better floor is the
        // harder one to match).
        let again = run_floor(args, target, sizes, &text, progress).await?;
        let f = match again {
            Some(second) => floor::Floor {
                append_per_s: first.append_per_s.max(second.append_per_s),
                get_per_s: first.get_per_s.max(second.get_per_s),
            },
            None => first,
        };
        report.rate("floor_append_per_s", f.append_per_s);
        report.rate("floor_get_per_s", f.get_per_s);
        if svc.is_some() {
            report.ratio(
                "ratio_append_vs_floor",
                rates.w1_append / f.append_per_s.max(1e-9),
            );
            report.ratio("ratio_get_vs_floor", rates.w1_get / f.get_per_s.max(1e-9));
        }
    }

    if let Some(svc) = svc {
        if args.http {
            http::w4(svc.clone(), args, &text, progress, &mut report).await?;
        }
        if args.scale {
            scale::run(svc.clone(), target, args, &text, progress, &mut report).await?;
        }
    }
    Ok(report)
}

/// Runs the raw floor of the target's backend once (`None` for the in-memory backend).
async fn run_floor(
    args: &BenchArgs,
    target: &Target,
    sizes: Sizes,
    text: &str,
    progress: &Progress,
) -> Result<Option<floor::Floor>, BenchError> {
    Ok(match target {
        Target::Memory => None,
        // An in-memory SQLite database has no floor: nothing is written to a disk.
        Target::Sqlite { path: None, .. } => None,
        Target::Sqlite { path: Some(p), .. } => {
            let dir = match p.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                _ => std::path::PathBuf::from("."),
            };
            let sync = args.sqlite_sync();
            Some(floor::sqlite(dir, sync, sizes.sessions, sizes.events, text, progress).await?)
        }
        Target::Server {
            kind, admin_url, ..
        } => Some(
            floor::server(
                *kind,
                admin_url,
                sizes.sessions,
                sizes.events,
                text,
                progress,
            )
            .await?,
        ),
    })
}
