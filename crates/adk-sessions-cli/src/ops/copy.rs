//! `adk-sessions copy`: copies sessions — ids, merged state (with its `app:` and `user:`
//! scopes), every event and the session's update time — from one store to another, in
//! any direction between the backends and layouts (adk-python's v1 tables ⇄ adk-go's
//! tables, SQLite → PostgreSQL, …).
//!
//! - **Idempotent.** A session already in the destination with the same state and events
//!   is left as it is; running the copy again copies nothing new.
//! - **Never overwrites.** A session in the destination whose state or events differ is a
//!   reported conflict and left alone; the command then exits non-zero.
//! - **One transaction per session.** Each session is created with its events in one
//!   create (`CreateOptions::events`): a failure leaves no half-copied session. Its event
//!   deltas are not applied again; its state is the source's merged state.
//! - **Verified.** At the end every copied or unchanged session is read back from the
//!   destination and its event count compared with the source's.
//!
//! `app:`/`user:` state is copied as the source's sessions show it: the destination's
//! app and user rows get those values (keys the destination has and the source does not
//! are kept).

use std::sync::Arc;

use adk_sessions::{
    CreateOptions, Error, Event, EventPolicy, GetFilter, JsonMap, PageRequest, Session, SessionKey,
    SessionService, Timestamp,
};
use tokio::task::JoinSet;

use super::export::progress;
use super::{describe, open, parse_layout, DbArg};

/// Sessions copied at once.
const PARALLEL: usize = 8;
/// Sessions listed per page of the source.
const PAGE: usize = 500;

/// Flags of `adk-sessions copy`.
#[derive(Debug, clap::Args)]
pub struct CopyArgs {
    /// Source database URL.
    #[arg(long)]
    from: String,
    /// Destination database URL (created when fresh, as `serve` would).
    #[arg(long)]
    to: String,
    /// Table layout of a fresh destination: adk-python (the default) or adk-go.
    #[arg(long, value_parser = parse_layout)]
    to_schema: Option<adk_sessions::StorageLayout>,
    /// App to copy (repeat for several; default: every app of the source).
    #[arg(long = "app")]
    apps: Vec<String>,
    /// Keep event fields adk-python does not know (see `serve --lenient-events`); without
    /// it a session holding one is reported and not copied.
    #[arg(long)]
    lenient_events: bool,
}

/// What happened to one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Copied {
    /// Created in the destination.
    Created,
    /// Already there with the same state and events.
    Unchanged,
    /// Not copied, and why.
    Conflict(String),
}

/// What a copy did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Sessions created in the destination.
    pub created: usize,
    /// Sessions already there with the same contents.
    pub unchanged: usize,
    /// Sessions not copied, with the reason.
    pub conflicts: Vec<String>,
    /// Events of the created and unchanged sessions, as read back from the destination.
    pub events: usize,
}

/// A whole session as read from a store or an export line.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Its key.
    pub key: SessionKey,
    /// Its merged state.
    pub state: JsonMap,
    /// Its events, oldest first.
    pub events: Vec<Event>,
    /// Its update time, when known.
    pub revision: Option<Timestamp>,
}

impl Snapshot {
    /// The snapshot of a session read with all its events.
    pub fn of(session: &Session) -> Snapshot {
        Snapshot {
            key: session.key().clone(),
            state: session.state().snapshot(),
            events: session.events().iter().map(|e| (*e).clone()).collect(),
            revision: Some(session.revision()),
        }
    }

    fn name(&self) -> String {
        format!(
            "session {}/{}/{}",
            self.key.app_name(),
            self.key.user_id(),
            self.key.session_id()
        )
    }
}

/// Restores `source` into `dest`: creates it with its state, events and update time in
/// one create, or, when the key exists, compares it with what is there.
pub async fn restore(dest: &dyn SessionService, source: &Snapshot) -> Result<Copied, Error> {
    match dest.get(&source.key, GetFilter::all()).await {
        Ok(existing) => return Ok(compare(&existing, source)),
        Err(Error::NotFound { .. }) => {}
        Err(e) => return Err(e),
    }
    let mut options = CreateOptions::new()
        .session_id(source.key.session_id())
        .state(source.state.clone())
        .events(source.events.iter().cloned());
    if let Some(revision) = source.revision {
        options = options.last_update_time(revision);
    }
    match dest
        .create(source.key.app_name(), source.key.user_id(), options)
        .await
    {
        Ok(_) => Ok(Copied::Created),
        // Created meanwhile by someone else: compare with that.
        Err(Error::AlreadyExists { .. }) => {
            let existing = dest.get(&source.key, GetFilter::all()).await?;
            Ok(compare(&existing, source))
        }
        Err(Error::InvalidArgument(why)) => Ok(Copied::Conflict(format!(
            "{} cannot be stored in the destination: {why}",
            source.name()
        ))),
        Err(e) => Err(e),
    }
}

fn compare(existing: &Session, source: &Snapshot) -> Copied {
    let same_events = existing.events().len() == source.events.len()
        && existing
            .events()
            .iter()
            .zip(source.events.iter())
            .all(|(a, b)| *a == *b);
    if !same_events {
        return Copied::Conflict(format!(
            "{} exists in the destination with other events ({} there, {} here); left alone",
            source.name(),
            existing.events().len(),
            source.events.len()
        ));
    }
    if existing.state().snapshot() != source.state {
        return Copied::Conflict(format!(
            "{} exists in the destination with another state; left alone",
            source.name()
        ));
    }
    Copied::Unchanged
}

/// Every session key of `app` in `service`, page by page.
async fn keys_of(service: &dyn SessionService, app: &str) -> Result<Vec<SessionKey>, Error> {
    let mut keys = Vec::new();
    let mut page = PageRequest::with_size(PAGE);
    loop {
        let listed = service.list(app, None, &page).await?;
        keys.extend(listed.sessions.iter().map(|s| s.key().clone()));
        match listed.next_page_token {
            Some(token) => page = PageRequest::with_size(PAGE).token(token),
            None => return Ok(keys),
        }
    }
}

/// Copies every session of `apps` (all apps of `source` when empty) into `dest`,
/// calling `tick` once per session, then verifies the event counts.
pub async fn copy_sessions(
    source: Arc<dyn SessionService>,
    dest: Arc<dyn SessionService>,
    apps: &[String],
    mut on_total: impl FnMut(u64),
    tick: impl Fn() + Send + Sync + 'static,
) -> Result<Summary, String> {
    let apps = if apps.is_empty() {
        source
            .list_apps()
            .await
            .map_err(|e| format!("listing the source's apps: {e}"))?
    } else {
        apps.to_vec()
    };
    let mut keys = Vec::new();
    for app in &apps {
        keys.extend(
            keys_of(source.as_ref(), app)
                .await
                .map_err(|e| format!("listing the sessions of app {app:?}: {e}"))?,
        );
    }
    on_total(keys.len() as u64);
    let tick = Arc::new(tick);
    let mut summary = Summary::default();
    // (key, events in the source) of every session the destination now holds.
    let mut held: Vec<(SessionKey, usize)> = Vec::with_capacity(keys.len());
    let mut tasks = JoinSet::new();
    let mut pending = keys.into_iter();
    loop {
        while tasks.len() < PARALLEL {
            let Some(key) = pending.next() else { break };
            let (source, dest, tick) = (source.clone(), dest.clone(), tick.clone());
            tasks.spawn(async move {
                let result = async {
                    let session = source.get(&key, GetFilter::all()).await?;
                    let copied = restore(dest.as_ref(), &Snapshot::of(&session)).await?;
                    Ok::<_, Error>((copied, session.events().len()))
                }
                .await;
                tick();
                (key, result)
            });
        }
        let Some(done) = tasks.join_next().await else {
            break;
        };
        let (key, result) = done.map_err(|e| format!("a copy task failed: {e}"))?;
        let name = format!("{}/{}/{}", key.app_name(), key.user_id(), key.session_id());
        match result {
            Ok((Copied::Created, n)) => {
                summary.created += 1;
                held.push((key, n));
            }
            Ok((Copied::Unchanged, n)) => {
                summary.unchanged += 1;
                held.push((key, n));
            }
            Ok((Copied::Conflict(why), _)) => summary.conflicts.push(why),
            // A session deleted from the source during the copy: nothing to copy.
            Err(Error::NotFound { .. }) => {}
            Err(e) => return Err(format!("copying session {name}: {e}")),
        }
    }
    for (key, want) in held {
        let got = dest
            .get(&key, GetFilter::all())
            .await
            .map_err(|e| format!("verifying {key:?} in the destination: {e}"))?;
        if got.events().len() != want {
            return Err(format!(
                "verification failed: session {}/{}/{} has {} events in the destination, {want} in the source",
                key.app_name(),
                key.user_id(),
                key.session_id(),
                got.events().len()
            ));
        }
        summary.events += want;
    }
    Ok(summary)
}

/// Runs the copy.
pub async fn run(args: CopyArgs) -> Result<(), String> {
    let policy = EventPolicy {
        lenient_unknown_fields: args.lenient_events,
    };
    let from = DbArg {
        db: args.from.clone(),
        schema: None,
    };
    let to = DbArg {
        db: args.to.clone(),
        schema: args.to_schema,
    };
    if adk_sessions::redact_url(&args.from) == adk_sessions::redact_url(&args.to) {
        return Err("--from and --to name the same database".into());
    }
    let source = open(&from, policy).await?;
    let dest = open(&to, policy).await?;
    eprintln!(
        "copying {} ({}) -> {} ({})",
        adk_sessions::redact_url(&args.from),
        describe(source.as_ref()),
        adk_sessions::redact_url(&args.to),
        describe(dest.as_ref())
    );
    let bar = progress(0, "copy");
    let ticker = bar.clone();
    let summary = copy_sessions(
        source.clone(),
        dest.clone(),
        &args.apps,
        |n| bar.set_length(n),
        move || ticker.inc(1),
    )
    .await;
    bar.finish_and_clear();
    for service in [&source, &dest] {
        service
            .close()
            .await
            .map_err(|e| format!("closing a database: {e}"))?;
    }
    let summary = summary?;
    for c in &summary.conflicts {
        eprintln!("conflict: {c}");
    }
    eprintln!(
        "copied {}, unchanged {}, conflicts {}; verified {} session(s) with {} event(s) in the destination",
        summary.created,
        summary.unchanged,
        summary.conflicts.len(),
        summary.created + summary.unchanged,
        summary.events
    );
    if summary.conflicts.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} session(s) not copied (see above)",
            summary.conflicts.len()
        ))
    }
}
