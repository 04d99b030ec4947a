//! A server that goes away and comes back: the PostgreSQL and MySQL/MariaDB servers are
//! really stopped and started again mid-test. While a server is down every call is a
//! clear `Storage` error (within the connect timeout, not a hang); once it is back, the
//! next call through the *same* service succeeds (the pool drops its dead connections).
//!
//! This stops the machine's shared database servers, so it must never run next to other
//! database tests. It runs only when `ADK_SESSIONS_TEST_RESTART=1` is set, which `.ci/run`
//! sets when it runs this binary alone, after every other test:
//!
//! ```text
//! ADK_SESSIONS_TEST_RESTART=1 cargo test -p adk-sessions --features postgres,mysql \
//!     --test server_restart -- --test-threads=1
//! ```
//!
//! It also waits (up to a minute) until no other client is connected before stopping a
//! server, and a guard starts the server again even when the test fails. Servers are the
//! local ones of this machine kind (127.0.0.1): PostgreSQL through `pg_ctlcluster`,
//! MariaDB through `mysqladmin shutdown` and `start-stop-daemon … mariadbd`. It needs the
//! database URL variables of the other server tests too.

#[cfg(all(feature = "postgres", feature = "mysql"))]
#[macro_use]
#[allow(unused_macros)]
mod server_support;

#[cfg(all(feature = "postgres", feature = "mysql"))]
mod restart {
    use std::process::Command;
    use std::time::{Duration, Instant};

    use adk_sessions::{CreateOptions, Error, Event, GetFilter, OpenOptions, SessionKey};
    use serde_json::json;

    use super::server_support::{Server, TestDb};

    /// The two tests never stop servers at the same time.
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    fn enabled() -> bool {
        if std::env::var("ADK_SESSIONS_TEST_RESTART").as_deref() == Ok("1") {
            return true;
        }
        // Not a CI failure on its own: CI runs this binary alone with the variable set.
        let line = "\n******** SKIPPED: set ADK_SESSIONS_TEST_RESTART=1 (and run this binary alone) to stop and start the database servers ********\n";
        let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
        false
    }

    fn run(cmd: &str, args: &[&str]) -> bool {
        Command::new(cmd)
            .args(args)
            .status()
            .is_ok_and(|s| s.success())
    }

    fn pg_version() -> String {
        std::fs::read_dir("/etc/postgresql")
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .expect("a PostgreSQL cluster under /etc/postgresql")
    }

    fn is_up(server: Server) -> bool {
        match server {
            Server::Postgres => run("pg_isready", &["-q", "-h", "127.0.0.1", "-p", "5432"]),
            Server::Mysql => run(
                "mysqladmin",
                &["-h127.0.0.1", "-uroot", "--connect-timeout=2", "ping"],
            ),
        }
    }

    fn stop(server: Server) {
        let ok = match server {
            Server::Postgres => run(
                "pg_ctlcluster",
                &[
                    "--skip-systemctl-redirect",
                    &pg_version(),
                    "main",
                    "stop",
                    "-m",
                    "fast",
                ],
            ),
            Server::Mysql => run("mysqladmin", &["-h127.0.0.1", "-uroot", "shutdown"]),
        };
        assert!(ok, "could not stop {server:?}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while is_up(server) || (server == Server::Mysql && run("pgrep", &["-x", "mariadbd"])) {
            // MariaDB stops answering before its process exits; starting it again while
            // the old process lingers is a no-op ("already running"), so wait for both.
            assert!(Instant::now() < deadline, "{server:?} does not stop");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn start(server: Server) {
        try_start(server);
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut next_try = Instant::now() + Duration::from_secs(5);
        while !is_up(server) {
            assert!(Instant::now() < deadline, "{server:?} does not come back");
            if Instant::now() > next_try {
                // A start that raced a lingering old process did nothing: try again.
                try_start(server);
                next_try = Instant::now() + Duration::from_secs(5);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn try_start(server: Server) {
        match server {
            Server::Postgres => {
                run(
                    "pg_ctlcluster",
                    &["--skip-systemctl-redirect", &pg_version(), "main", "start"],
                );
            }
            Server::Mysql => {
                run(
                    "start-stop-daemon",
                    &[
                        "--start",
                        "--oknodo",
                        "--background",
                        "--exec",
                        "/usr/sbin/mariadbd",
                    ],
                );
            }
        }
    }

    /// Starts the server again whatever happens to the test.
    struct Restore(Server);

    impl Drop for Restore {
        fn drop(&mut self) {
            // Best effort and never a panic inside a panic (that would abort the run).
            let deadline = Instant::now() + Duration::from_secs(60);
            while !is_up(self.0) && Instant::now() < deadline {
                try_start(self.0);
                std::thread::sleep(Duration::from_secs(2));
            }
        }
    }

    /// Waits until no other client is connected (a restart would break its work).
    async fn wait_for_no_other_clients(db: &TestDb) {
        let sql = match db.server {
            Server::Postgres => "SELECT count(*)::text FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
            Server::Mysql => "SELECT CAST(count(*) AS CHAR) FROM information_schema.processlist WHERE id <> CONNECTION_ID() AND user <> 'system user' AND command <> 'Daemon'",
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let n: usize = db.strings(sql).await[0].parse().unwrap();
            if n == 0 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{n} other clients stay connected to {:?}; refusing to stop the server under them",
                db.server
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    fn local(url: &str) -> bool {
        url.contains("@127.0.0.1") || url.contains("@localhost")
    }

    async fn goes_away_and_comes_back(server: Server) {
        if !enabled() {
            return;
        }
        let _one = ONE_AT_A_TIME.lock().await;
        let Some(db) = TestDb::create(server).await else {
            return;
        };
        assert!(local(&db.url), "only a local server can be restarted");
        let timeout = Duration::from_secs(3);
        let options = OpenOptions::default().connect_timeout(timeout).pool_size(4);
        wait_for_no_other_clients(&db).await;
        let service = adk_sessions::open(&db.url, &options).await.expect("open");
        let session = service
            .create("restart", "u", CreateOptions::new().session_id("s"))
            .await
            .unwrap();
        service
            .append_event(&session, Event::new("i", "a").with_state("n", json!(1)))
            .await
            .unwrap();

        let restore = Restore(server);
        tokio::task::spawn_blocking(move || stop(server))
            .await
            .unwrap();

        for _ in 0..2 {
            let started = Instant::now();
            let e = service
                .get(&SessionKey::new("restart", "u", "s"), GetFilter::all())
                .await
                .expect_err("the server is down");
            let took = started.elapsed();
            assert!(matches!(e, Error::Storage { .. }), "{e:?}");
            assert!(took < timeout + Duration::from_secs(3), "took {took:?}");
            eprintln!("{server:?} down: {e} (after {took:?})");
        }
        let e = service
            .append_event(&session, Event::new("i", "a").with_state("n", json!(2)))
            .await
            .expect_err("the server is down");
        assert!(matches!(e, Error::Storage { .. }), "{e:?}");

        tokio::task::spawn_blocking(move || start(server))
            .await
            .unwrap();
        drop(restore);

        // The very next call through the same service works.
        let s = service
            .get(&SessionKey::new("restart", "u", "s"), GetFilter::all())
            .await
            .expect("the first call after the server came back");
        assert_eq!(s.state().get("n").unwrap(), json!(1));
        assert_eq!(s.events().len(), 1);
        // The handle from before the outage is still current: the failed append stored
        // nothing.
        service
            .append_event(&session, Event::new("i", "a").with_state("n", json!(3)))
            .await
            .expect("append after the server came back");
        let s = service
            .get(&SessionKey::new("restart", "u", "s"), GetFilter::all())
            .await
            .unwrap();
        assert_eq!(s.state().get("n").unwrap(), json!(3));
        assert_eq!(s.events().len(), 2);
        // Many calls at once reconnect every pooled connection.
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let service = service.clone();
                tokio::spawn(async move { service.get_app_state("restart").await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().expect("pooled calls after the restart");
        }
        drop(service);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_goes_away_and_comes_back() {
        goes_away_and_comes_back(Server::Postgres).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mysql_goes_away_and_comes_back() {
        goes_away_and_comes_back(Server::Mysql).await;
    }
}

#[cfg(not(all(feature = "postgres", feature = "mysql")))]
#[test]
fn server_features_are_off() {
    adk_sessions::testsuite::skip("built without the `postgres` and `mysql` features");
}
