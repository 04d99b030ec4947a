//! Sessions that survive the process: open a SQLite file with
//! `adk_sessions::open("sqlite://…", &OpenOptions::default())`, create a session and
//! append events to it, drop the service, open the file again and find the session, its
//! events and its scoped state as they were stored. The file is the first argument
//! (default: `adk-sessions-example.db` in the system's temporary directory); each run adds
//! one session, so running it twice on one file shows the earlier run's session too.
//!
//! Run it with `cargo run -p adk-sessions --example sqlite_file [-- path/to/file.db]`.

use std::path::PathBuf;

use adk_sessions::{
    Content, CreateOptions, Event, GetFilter, OpenOptions, PageRequest, SessionKey,
};
use serde_json::json;

const APP: &str = "sqlite_example";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("adk-sessions-example.db"));
    // `sqlite://relative.db` or `sqlite:///absolute/path.db`: the path follows `//`.
    let url = format!("sqlite://{}", path.display());
    let options = OpenOptions::default();

    let session_id = {
        let service = adk_sessions::open(&url, &options).await?;
        println!("opened {url} ({} backend)", service.backend_name());
        let before = service
            .list(APP, None, &PageRequest::default())
            .await?
            .sessions
            .len();
        println!("the file holds {before} session(s) of app {APP:?}");

        let initial = json!({"topic": "persistence", "user:plan": "free"});
        let session = service
            .create(APP, "alice", CreateOptions::new().state(initial))
            .await?;
        let question =
            Event::new("inv-1", "user").with_content(Content::text("user", "remember me"));
        service.append_event(&session, question).await?;
        let reply = Event::new("inv-1", "assistant")
            .with_content(Content::text("model", "written to disk"))
            .with_state("turns", json!(1))
            .with_state("app:runs", json!(before + 1))
            .with_state("temp:scratch", json!("not stored"));
        service.append_event(&session, reply).await?;
        println!(
            "created session {:?} with {} events; state {}",
            session.id(),
            session.events().len(),
            json!(session.state().snapshot())
        );
        session.id().to_owned()
        // The service is dropped here: its writer thread and connections close.
    };

    let service = adk_sessions::open(&url, &options).await?;
    println!("reopened {url}");
    let session = service
        .get(
            &SessionKey::new(APP, "alice", &session_id),
            GetFilter::all(),
        )
        .await?;
    println!(
        "session {:?} survived: {} events, state {}",
        session.id(),
        session.events().len(),
        json!(session.state().snapshot())
    );
    assert_eq!(session.events().len(), 2);
    let texts: Vec<String> = session
        .events()
        .iter()
        .filter_map(|e| e.content.as_ref()?.parts.as_ref()?.first()?.text.clone())
        .collect();
    println!("event texts: {texts:?}");
    assert_eq!(texts, ["remember me", "written to disk"]);
    assert_eq!(session.state().get("turns").expect("set"), json!(1));
    assert_eq!(
        session.state().get("user:plan").expect("set"),
        json!("free")
    );
    assert!(session.state().get("temp:scratch").is_none());
    let app_state = service.get_app_state(APP).await?;
    println!("app state: {}", json!(app_state));
    assert!(app_state.contains_key("runs"));

    let all = service.list(APP, None, &PageRequest::default()).await?;
    println!(
        "the file now holds {} session(s) of app {APP:?}",
        all.sessions.len()
    );
    assert!(all.sessions.iter().any(|s| s.id() == session_id));

    println!("sqlite_file: ok ({})", path.display());
    Ok(())
}
