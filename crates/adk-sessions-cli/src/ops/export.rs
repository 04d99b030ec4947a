//! `adk-sessions export`: JSON lines, one session with its events per line, oldest
//! update first, with a progress bar on stderr. Line format (events camelCase, kept
//! whole — internal metadata included — so an import reproduces them):
//!
//! `{"appName": …, "userId": …, "id": …, "state": {…merged…}, "events": […], "lastUpdateTime": …}`

use std::io::Write;

use adk_sessions::{EventPolicy, GetFilter, PageRequest, Session};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};

use super::{open, DbArg};

/// Flags of `adk-sessions export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    db: DbArg,
    /// App to export (repeat for several).
    #[arg(long = "app", required = true)]
    apps: Vec<String>,
    /// Only this user's sessions.
    #[arg(long)]
    user: Option<String>,
    /// Output file (default: stdout).
    #[arg(long, short)]
    out: Option<std::path::PathBuf>,
}

/// The export line of a loaded session.
pub fn session_line(s: &Session) -> Value {
    let events: Vec<Value> = s.events().iter().map(|e| e.to_camel_value()).collect();
    json!({
        "appName": s.app_name(), "userId": s.user_id(), "id": s.id(),
        "state": Value::Object(s.state().snapshot()),
        "events": events,
        "lastUpdateTime": s.last_update_time(),
    })
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}

/// Runs the export.
pub async fn run(args: ExportArgs) -> Result<(), String> {
    let service = open(&args.db, EventPolicy::default()).await?;
    let mut out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut total = 0u64;
    for app in &args.apps {
        let listed = service
            .list(app, args.user.as_deref(), &PageRequest::default())
            .await
            .map_err(|e| e.to_string())?;
        let bar = progress(listed.sessions.len() as u64, &format!("export {app}"));
        for s in &listed.sessions {
            let full = service
                .get(s.key(), GetFilter::all())
                .await
                .map_err(|e| e.to_string())?;
            serde_json::to_writer(&mut out, &session_line(&full)).map_err(|e| e.to_string())?;
            out.write_all(b"\n").map_err(|e| e.to_string())?;
            bar.inc(1);
            total += 1;
        }
        bar.finish_and_clear();
    }
    out.flush().map_err(|e| e.to_string())?;
    eprintln!("exported {total} session(s)");
    Ok(())
}
