//! `adk-sessions import`: reads `export`'s JSON lines and creates each session with its
//! events. Idempotent: a session that already exists with the same state and events is
//! skipped; one that exists with other contents is a reported conflict and left alone.
//!
//! The session is created with its exported (merged) state and then each event is
//! appended; replaying the events' deltas over the final state leaves it unchanged.
//! The library offers no way to set a stored update time, so `lastUpdateTime` of an
//! imported session is the later of its newest event and the import time.

use std::io::BufRead;

use adk_sessions::{
    CreateOptions, Event, EventPolicy, GetFilter, JsonMap, SessionKey, SessionService,
};
use serde_json::Value;

use super::export::{progress, session_line};
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
        let key = SessionKey::new(app.as_str(), user.as_str(), id.as_str());
        match service.get(&key, GetFilter::all()).await {
            Ok(existing) => {
                let mine = session_line(&existing);
                if mine.get("events") == v.get("events").or(Some(&Value::Array(vec![])))
                    && mine.get("state") == Some(&Value::Object(state.clone()))
                {
                    summary.unchanged += 1;
                } else {
                    summary.conflicts.push(format!(
                        "line {}: session {app}/{user}/{id} exists with other contents; left alone",
                        n + 1
                    ));
                }
                continue;
            }
            Err(adk_sessions::Error::NotFound { .. }) => {}
            Err(e) => return Err(at(e.to_string())),
        }
        let options = CreateOptions::new().session_id(id.as_str()).state(state);
        let session = match service.create(&app, &user, options).await {
            Ok(s) => s,
            Err(adk_sessions::Error::AlreadyExists { .. }) => {
                summary.conflicts.push(format!(
                    "line {}: session {app}/{user}/{id} was created concurrently; left alone",
                    n + 1
                ));
                continue;
            }
            Err(e) => return Err(at(e.to_string())),
        };
        for event in events {
            service
                .append_event(&session, event)
                .await
                .map_err(|e| at(format!("session {app}/{user}/{id}: {e}")))?;
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
