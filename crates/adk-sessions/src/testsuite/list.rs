//! The behaviours of docs/contract.md, section *List*.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::json;

use super::support::*;
use crate::{PageRequest, SessionService};

fn ids(page: &crate::SessionPage) -> Vec<String> {
    page.sessions.iter().map(|s| s.id().to_owned()).collect()
}

/// docs/contract.md, *Who is listed*: by app and user → only that user's; unknown user →
/// empty; no user → all.
pub async fn list_by_user_and_by_app(service: Arc<dyn SessionService>) {
    let app = fresh_app("list-user");
    for (user, id) in [("u1", "a"), ("u1", "b"), ("u2", "c")] {
        service
            .create(&app, user, CreateOptions::new().session_id(id))
            .await
            .unwrap();
    }
    service
        .create(
            &fresh_app("elsewhere"),
            "u1",
            CreateOptions::new().session_id("z"),
        )
        .await
        .unwrap();
    let all = PageRequest::default();
    let mut u1 = ids(&service.list(&app, Some("u1"), &all).await.unwrap());
    u1.sort();
    assert_eq!(u1, ["a", "b"]);
    let u1_page = service.list(&app, Some("u1"), &all).await.unwrap();
    assert!(u1_page
        .sessions
        .iter()
        .all(|s| s.user_id() == "u1" && s.app_name() == app));
    assert!(service
        .list(&app, Some("nobody"), &all)
        .await
        .unwrap()
        .sessions
        .is_empty());
    let mut every = ids(&service.list(&app, None, &all).await.unwrap());
    every.sort();
    assert_eq!(every, ["a", "b", "c"]);
    let unknown_app = service.list(&fresh_app("none"), None, &all).await.unwrap();
    assert!(unknown_app.sessions.is_empty() && unknown_app.next_page_token.is_none());
}

/// docs/contract.md, *Listed sessions*: listed sessions have merged state and no events,
/// oldest update first.
pub async fn list_has_merged_state_no_events_oldest_first(service: Arc<dyn SessionService>) {
    let app = fresh_app("list-order");
    let mut handles = Vec::new();
    for id in ["first", "second", "third"] {
        let s = service
            .create(
                &app,
                "u",
                CreateOptions::new()
                    .session_id(id)
                    .state(json!({"own": id})),
            )
            .await
            .unwrap();
        handles.push(s);
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    // Touch "first" last: it becomes the most recently updated.
    service
        .append_event(
            &handles[0],
            event_with("i", json!({"app:shared": 1, "user:mine": 2})),
        )
        .await
        .unwrap();
    let page = service
        .list(&app, Some("u"), &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(ids(&page), ["second", "third", "first"]);
    for s in &page.sessions {
        assert_eq!(s.events().len(), 0, "listed sessions carry no events");
        assert_eq!(
            s.state().snapshot(),
            map(json!({"own": s.id(), "app:shared": 1, "user:mine": 2}))
        );
    }
    let times: Vec<f64> = page.sessions.iter().map(|s| s.last_update_time()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
}

/// docs/contract.md, *Pagination* and *Bad page arguments*: page size + opaque token walk
/// every session exactly once, also while sessions are being added; bad page arguments
/// are refused.
pub async fn list_pagination_walks_every_session_once(service: Arc<dyn SessionService>) {
    let app = fresh_app("list-page");
    let mut existing = HashSet::new();
    for i in 0..7 {
        let s = service
            .create(&app, &format!("u{}", i % 2), CreateOptions::new())
            .await
            .unwrap();
        existing.insert(s.id().to_owned());
    }
    let mut seen = Vec::new();
    let mut request = PageRequest {
        page_size: Some(3),
        page_token: None,
    };
    let mut added = 0;
    loop {
        let page = service.list(&app, None, &request).await.unwrap();
        assert!(page.sessions.len() <= 3);
        seen.extend(ids(&page));
        if added < 2 {
            // A session added while walking.
            service
                .create(&app, "u9", CreateOptions::new())
                .await
                .unwrap();
            added += 1;
        }
        match page.next_page_token {
            Some(token) => request.page_token = Some(token),
            None => break,
        }
        assert!(seen.len() < 100, "pagination does not end");
    }
    let unique: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "a session was listed twice: {seen:?}"
    );
    assert!(existing.is_subset(&unique), "a session was skipped");
    assert_err(
        service
            .list(
                &app,
                None,
                &PageRequest {
                    page_size: Some(0),
                    page_token: None,
                },
            )
            .await,
        is_invalid,
        "page size 0",
    );
    assert_err(
        service
            .list(
                &app,
                None,
                &PageRequest {
                    page_size: Some(2),
                    page_token: Some("garbage".into()),
                },
            )
            .await,
        is_invalid,
        "a token the service did not issue",
    );
}

/// Walks every page of `app` (one user's or the whole app's) with pages of `size`.
async fn walk(
    service: &dyn SessionService,
    app: &str,
    user: Option<&str>,
    size: usize,
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut request = PageRequest {
        page_size: Some(size),
        page_token: None,
    };
    loop {
        let page = service.list(app, user, &request).await.unwrap();
        seen.extend(ids(&page));
        match page.next_page_token {
            Some(token) => request.page_token = Some(token),
            None => return seen,
        }
        assert!(seen.len() < 100, "pagination does not end");
    }
}

/// docs/contract.md, *Order follows writes*: the list order follows every write: an
/// append moves a session after the others, a deleted session is no longer listed, and
/// paging one user or the whole app gives the same order as one unpaged list.
pub async fn list_order_follows_appends_and_deletes(service: Arc<dyn SessionService>) {
    let app = fresh_app("list-order");
    for (user, id) in [
        ("a", "a1"),
        ("b", "b1"),
        ("a", "a2"),
        ("a", "a3"),
        ("b", "b2"),
        ("a", "a4"),
    ] {
        service
            .create(&app, user, CreateOptions::new().session_id(id))
            .await
            .unwrap();
    }
    let a1 = service
        .get(&SessionKey::new(&app, "a", "a1"), crate::GetFilter::all())
        .await
        .unwrap();
    service
        .append_event(&a1, event_with("i", json!({"k": 1})))
        .await
        .unwrap();
    service
        .delete(&SessionKey::new(&app, "a", "a3"))
        .await
        .unwrap();
    let whole = walk(service.as_ref(), &app, None, usize::MAX).await;
    assert_eq!(whole.len(), 5, "{whole:?}");
    assert_eq!(
        whole.last().map(String::as_str),
        Some("a1"),
        "appended session last: {whole:?}"
    );
    assert!(
        !whole.contains(&"a3".to_owned()),
        "deleted session listed: {whole:?}"
    );
    for size in [1, 2, 3] {
        assert_eq!(
            walk(service.as_ref(), &app, None, size).await,
            whole,
            "app pages of {size}"
        );
        let user_a: Vec<String> = whole
            .iter()
            .filter(|id| id.starts_with('a'))
            .cloned()
            .collect();
        assert_eq!(
            walk(service.as_ref(), &app, Some("a"), size).await,
            user_a,
            "user pages of {size}"
        );
    }
    let page = service
        .list(&app, Some("nobody"), &PageRequest::default())
        .await
        .unwrap();
    assert!(page.sessions.is_empty());
}
