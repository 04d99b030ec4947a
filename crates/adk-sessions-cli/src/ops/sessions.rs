//! `adk-sessions sessions list|show|delete`: inspect and remove sessions.

use adk_sessions::{EventPolicy, GetFilter, PageRequest, SessionKey};
use serde_json::json;

use super::{open, DbArg};
use adk_sessions_server::api::view::session_json;

/// `sessions` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum SessionsCommand {
    /// One JSON line per session (no events): id, userId, lastUpdateTime, events count
    /// is not loaded.
    List {
        #[command(flatten)]
        db: DbArg,
        /// App name.
        app: String,
        /// Only this user's sessions.
        #[arg(long)]
        user: Option<String>,
    },
    /// A session with its events, as the API serves it (pretty JSON).
    Show {
        #[command(flatten)]
        db: DbArg,
        /// App name.
        app: String,
        /// User id.
        user: String,
        /// Session id.
        session: String,
        /// Only the newest N events.
        #[arg(long)]
        num_recent_events: Option<usize>,
    },
    /// Deletes a session and its events.
    Delete {
        #[command(flatten)]
        db: DbArg,
        /// App name.
        app: String,
        /// User id.
        user: String,
        /// Session id.
        session: String,
    },
}

/// Runs a `sessions` subcommand.
pub async fn run(cmd: SessionsCommand) -> Result<(), String> {
    match cmd {
        SessionsCommand::List { db, app, user } => {
            let service = open(&db, EventPolicy::default()).await?;
            let page = service
                .list(&app, user.as_deref(), &PageRequest::default())
                .await
                .map_err(|e| e.to_string())?;
            for s in &page.sessions {
                println!(
                    "{}",
                    json!({"appName": s.app_name(), "userId": s.user_id(), "id": s.id(),
                           "lastUpdateTime": s.last_update_time(), "stateKeys": s.state().len()})
                );
            }
            eprintln!("{} session(s)", page.sessions.len());
            Ok(())
        }
        SessionsCommand::Show {
            db,
            app,
            user,
            session,
            num_recent_events,
        } => {
            let service = open(&db, EventPolicy::default()).await?;
            let filter = match num_recent_events {
                Some(n) => GetFilter::recent(n),
                None => GetFilter::all(),
            };
            let s = service
                .get(&SessionKey::new(app, user, session), filter)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "{}",
                serde_json::to_string_pretty(&session_json(&s)).unwrap_or_default()
            );
            Ok(())
        }
        SessionsCommand::Delete {
            db,
            app,
            user,
            session,
        } => {
            let service = open(&db, EventPolicy::default()).await?;
            let key = SessionKey::new(app, user, session);
            let existed = service.get(&key, GetFilter::recent(0)).await.is_ok();
            service.delete(&key).await.map_err(|e| e.to_string())?;
            eprintln!(
                "{}",
                if existed {
                    "deleted"
                } else {
                    "no such session (nothing to delete)"
                }
            );
            Ok(())
        }
    }
}
