//! SQLite reader threads, alone in this test binary so that no other test's threads are
//! counted: many reads at once share a bounded set of threads, and the threads stop with
//! the service.

#[path = "support/sqlite_files.rs"]
mod sqlite_files;
use sqlite_files::{open_with, temp_db};

use std::sync::Arc;
use std::time::Duration;

use adk_sessions::{CreateOptions, Event, GetFilter, OpenOptions, SessionKey, SessionService};

/// Threads of this process with the given name, as the kernel keeps it (15 bytes;
/// Linux: /proc/self/task/*/comm).
fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.flatten()
                .filter(|t| {
                    std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name)
                })
                .count()
        })
        .unwrap_or(0)
}

/// Many reads at once share a bounded set of reader threads, all answer correctly, and
/// the threads are gone once the service is dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reads_share_bounded_reader_threads_that_stop_with_the_service() {
    let path = temp_db("readers");
    let service = Arc::new(open_with(&path, &OpenOptions::default().pool_size(3)).await);
    for n in 0..8 {
        let s = service
            .create("app", "u", CreateOptions::new().session_id(format!("s{n}")))
            .await
            .unwrap();
        for i in 0..=n {
            service
                .append_event(&s, Event::new(format!("i{i}"), "a"))
                .await
                .unwrap();
        }
    }
    // Reads one after another, each sent as soon as the last one answered, keep to one
    // thread (and its warm page cache).
    for k in 0..300 {
        service
            .get(
                &SessionKey::new("app", "u", format!("s{}", k % 8)),
                GetFilter::all(),
            )
            .await
            .unwrap();
    }
    assert_eq!(threads_named("adk-sqlite-read"), 1, "sequential reads");
    let reads = (0..64).map(|k| {
        let service = service.clone();
        tokio::spawn(async move {
            let n = k % 8;
            let s = service
                .get(
                    &SessionKey::new("app", "u", format!("s{n}")),
                    GetFilter::all(),
                )
                .await
                .unwrap();
            assert_eq!(s.events().len(), n + 1, "session s{n}");
        })
    });
    for r in futures_join(reads).await {
        r.unwrap();
    }
    let during = threads_named("adk-sqlite-read");
    assert!((1..=3).contains(&during), "reader threads: {during}");
    drop(service);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while threads_named("adk-sqlite-read") > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        threads_named("adk-sqlite-read"),
        0,
        "reader threads left running"
    );
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

async fn futures_join<T>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<Result<T, tokio::task::JoinError>> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await);
    }
    out
}
