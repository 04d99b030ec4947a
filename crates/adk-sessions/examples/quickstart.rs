//! The library in one page, in memory: create a session with state in every scope
//! (`app:`, `user:`, session and `temp:`), append events carrying content and state
//! deltas, reload the session to see what was stored, and watch a stale handle being
//! refused instead of overwriting a newer write. It prints each step and exits non-zero
//! on any unexpected outcome.
//!
//! Run it with `cargo run -p adk-sessions --example quickstart`.

use adk_sessions::{
    Content, CreateOptions, Error, Event, GetFilter, InMemorySessionService, JsonMap, SessionKey,
    SessionService,
};
use serde_json::json;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Any backend works the same; `adk_sessions::open("sqlite://sessions.db", …)` too.
    let service = InMemorySessionService::new();

    // 1. A session with state in every scope. `temp:` keys of an initial state are
    //    dropped; `app:` and `user:` keys go to their scope.
    let initial: JsonMap = json!({
        "topic": "rust",
        "user:lang": "en",
        "app:greeting": "hello",
        "temp:ignored": true,
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    let session = service
        .create(
            "quickstart",
            "alice",
            CreateOptions::new().session_id("s-1").state(initial),
        )
        .await?;
    println!(
        "created session {:?} of app {:?}, user {:?}: state {}",
        session.id(),
        session.app_name(),
        session.user_id(),
        json!(session.state().snapshot())
    );
    assert!(session.state().get("temp:ignored").is_none());
    assert_eq!(session.state().get("user:lang").expect("set"), json!("en"));

    // 2. A user message, then an agent reply that changes state in every scope.
    let question = Event::new("inv-1", "user").with_content(Content::text("user", "hi there"));
    service.append_event(&session, question).await?;
    let reply = Event::new("inv-1", "assistant")
        .with_content(Content::text("model", "hello, alice"))
        .with_state("turns", json!(1))
        .with_state("user:name", json!("Alice"))
        .with_state("app:visits", json!(1))
        .with_state("temp:draft", json!("only for this invocation"));
    let stored = service.append_event(&session, reply).await?;
    println!(
        "appended 2 events; the stored reply's state delta: {}",
        json!(stored.actions.state_delta)
    );
    assert!(!stored.actions.state_delta.contains_key("temp:draft"));
    // The live handle sees the `temp:` key for the rest of the invocation.
    assert_eq!(
        session.state().get("temp:draft").expect("set"),
        json!("only for this invocation")
    );
    assert_eq!(session.events().len(), 2);

    // 3. A reload shows what was stored: no `temp:` key, every other scope merged.
    let reloaded = service
        .get(
            &SessionKey::new("quickstart", "alice", "s-1"),
            GetFilter::all(),
        )
        .await?;
    println!(
        "reloaded: {} events, state {}",
        reloaded.events().len(),
        json!(reloaded.state().snapshot())
    );
    assert_eq!(reloaded.events().len(), 2);
    assert_eq!(reloaded.state().get("turns").expect("set"), json!(1));
    assert_eq!(
        reloaded.state().get("user:name").expect("set"),
        json!("Alice")
    );
    assert!(reloaded.state().get("temp:draft").is_none());
    let first = reloaded.events().get(0).ok_or("no first event")?;
    assert_eq!(first.author, "user");

    // Scoped state is shared: another session of alice sees `user:`, bob sees `app:`.
    let other = service
        .create("quickstart", "alice", CreateOptions::new())
        .await?;
    let bob = service
        .create("quickstart", "bob", CreateOptions::new())
        .await?;
    println!(
        "alice's second session: {}; bob's session: {}",
        json!(other.state().snapshot()),
        json!(bob.state().snapshot())
    );
    assert_eq!(other.state().get("user:name").expect("set"), json!("Alice"));
    assert!(bob.state().get("user:name").is_none());
    assert_eq!(bob.state().get("app:visits").expect("set"), json!(1));
    let app_state = service.get_app_state("quickstart").await?;
    let user_state = service.get_user_state("quickstart", "alice").await?;
    println!(
        "app state {}, alice's user state {}",
        json!(app_state),
        json!(user_state)
    );
    assert_eq!(app_state["visits"], json!(1));
    assert_eq!(user_state["lang"], json!("en"));

    // 4. Two handles of one session: after an append through one, the other is stale and
    //    its append is refused; nothing of it is stored. A reload makes it current.
    let a = service
        .get(
            &SessionKey::new("quickstart", "alice", "s-1"),
            GetFilter::recent(0),
        )
        .await?;
    let b = service
        .get(
            &SessionKey::new("quickstart", "alice", "s-1"),
            GetFilter::recent(0),
        )
        .await?;
    service
        .append_event(
            &a,
            Event::new("inv-2", "assistant").with_state("turns", json!(2)),
        )
        .await?;
    let refused = service
        .append_event(
            &b,
            Event::new("inv-3", "assistant").with_state("turns", json!(99)),
        )
        .await;
    match refused {
        Err(e @ Error::Stale { .. }) => println!("stale handle refused: {e}"),
        other => return Err(format!("expected a Stale error, got {other:?}").into()),
    }
    let current = service
        .get(
            &SessionKey::new("quickstart", "alice", "s-1"),
            GetFilter::all(),
        )
        .await?;
    assert_eq!(current.state().get("turns").expect("set"), json!(2));
    assert_eq!(current.events().len(), 3);
    service
        .append_event(
            &current,
            Event::new("inv-3", "assistant").with_state("turns", json!(3)),
        )
        .await?;
    println!(
        "after a reload the append goes through: turns = {}",
        current.state().get("turns").expect("set")
    );

    // 5. Listing and deleting.
    let page = service
        .list("quickstart", Some("alice"), &Default::default())
        .await?;
    println!("alice has {} sessions", page.sessions.len());
    assert_eq!(page.sessions.len(), 2);
    service
        .delete(&SessionKey::new("quickstart", "alice", other.id()))
        .await?;
    let gone = service
        .get(
            &SessionKey::new("quickstart", "alice", other.id()),
            GetFilter::all(),
        )
        .await;
    assert!(matches!(gone, Err(Error::NotFound { .. })));
    println!("deleted {:?}; a get is now NotFound", other.id());

    println!("quickstart: ok");
    Ok(())
}
