//! `adk-sessions import`: reads `export`'s JSON lines and creates each session with its
//! events. Idempotent: a session that already exists with the same state and events is
//! skipped; one that exists with other contents is a reported conflict and left alone.
//!
//! Each session is created with its exported (merged) state, its events and its
//! `lastUpdateTime` in one create, as `copy` does (see [`super::copy::restore`]): the
//! events' deltas are not replayed, so the import order of sessions cannot roll an
//! `app:`/`user:` key back to an older value.

use std::io::BufRead;

use adk_sessions::{Event, EventPolicy, JsonMap, SessionKey, SessionService, Timestamp};
use serde_json::Value;

use super::copy::{restore, Copied, Snapshot};
use super::export::progress;
use super::{open, DbArg};

/// Flags of `adk-sessions import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    #[command(flatten)]
    db: DbArg,
    /// The JSON lines file (`-` for stdin).
    file: std::path::PathBuf,
    /// Keep event fields adk-python does not know (see `serve --lenient-events`).
    #[arg(long)]
    lenient_events: bool,
}

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Sessions created.
    pub imported: usize,
    /// Sessions already present with the same contents.
    pub unchanged: usize,
    /// Sessions present with other contents (left alone), with the reason.
    pub conflicts: Vec<String>,
}

/// Imports lines into `service`.
pub async fn import_lines(
    service: &dyn SessionService,
    lines: impl Iterator<Item = Result<String, String>>,
    policy: EventPolicy,
    mut tick: impl FnMut(),
) -> Result<Summary, String> {
    let mut summary = Summary::default();
    for (n, line) in lines.enumerate() {
        let line = line?;
        tick();
        if line.trim().is_empty() {
            continue;
        }
        let at = |e: String| format!("line {}: {e}", n + 1);
        let v: Value = serde_json::from_str(&line).map_err(|e| at(e.to_string()))?;
        let text = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| at(format!("{k} is missing or not a string")))
        };
        let (app, user, id) = (text("appName")?, text("userId")?, text("id")?);
        let state: JsonMap = match v.get("state") {
            Some(Value::Object(m)) => m.clone(),
            None | Some(Value::Null) => JsonMap::new(),
            Some(_) => return Err(at("state is not an object".into())),
        };
        let events: Vec<Event> = match v.get("events") {
            Some(Value::Array(items)) => items
                .iter()
                .map(|e| Event::from_json(e.clone(), policy).map_err(|e| at(e.to_string())))
                .collect::<Result<_, _>>()?,
            None | Some(Value::Null) => Vec::new(),
            Some(_) => return Err(at("events is not an array".into())),
        };
        let revision = match v.get("lastUpdateTime") {
            None | Some(Value::Null) => None,
            Some(t) => Some(
                t.as_f64()
                    .and_then(Timestamp::from_secs_f64)
                    .ok_or_else(|| at("lastUpdateTime is not epoch seconds".into()))?,
            ),
        };
        let snapshot = Snapshot {
            key: SessionKey::new(app.as_str(), user.as_str(), id.as_str()),
            state,
            events,
            revision,
        };
        match restore(service, &snapshot).await {
            Ok(Copied::Created) => {}
            Ok(Copied::Unchanged) => {
                summary.unchanged += 1;
                continue;
            }
            Ok(Copied::Conflict(why)) => {
                summary.conflicts.push(format!("line {}: {why}", n + 1));
                continue;
            }
            Err(e) => return Err(at(e.to_string())),
        }
        summary.imported += 1;
    }
    Ok(summary)
}

/// Runs the import.
pub async fn run(args: ImportArgs) -> Result<(), String> {
    let policy = EventPolicy {
        lenient_unknown_fields: args.lenient_events,
    };
    let service = open(&args.db, policy).await?;
    let stdin = args.file.as_os_str() == "-";
    let reader: Box<dyn BufRead> = if stdin {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        let f = std::fs::File::open(&args.file)
            .map_err(|e| format!("cannot open {}: {e}", args.file.display()))?;
        Box::new(std::io::BufReader::new(f))
    };
    let total = if stdin {
        0
    } else {
        std::fs::read(&args.file)
            .map(|b| b.iter().filter(|&&c| c == b'\n').count() as u64)
            .unwrap_or(0)
    };
    let bar = progress(total, "import");
    let lines = reader.lines().map(|l| l.map_err(|e| e.to_string()));
    let summary = import_lines(service.as_ref(), lines, policy, || bar.inc(1)).await;
    bar.finish_and_clear();
    service
        .close()
        .await
        .map_err(|e| format!("closing the database: {e}"))?;
    let summary = summary?;
    for c in &summary.conflicts {
        eprintln!("conflict: {c}");
    }
    eprintln!(
        "imported {}, unchanged {}, conflicts {}",
        summary.imported,
        summary.unchanged,
        summary.conflicts.len()
    );
    if summary.conflicts.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} conflict(s); those sessions were left alone",
            summary.conflicts.len()
        ))
    }
}
