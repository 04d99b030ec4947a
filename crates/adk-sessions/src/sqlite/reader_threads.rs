//! The reader threads of a SQLite file: up to `pool_size` threads, each owning one
//! read-only connection, taking read jobs from one queue.
//!
//! Dedicated threads rather than tokio's blocking pool: a job handed to a thread that is
//! already running is picked up at once, while `spawn_blocking` wakes a parked pool thread
//! (or starts a new one when the last one has not quite gone idle yet) for every read.
//! Threads start on demand, when a job finds none idle; a thread counts as idle again
//! before it hands its answer back, so a caller that sends its next read at once finds
//! it idle instead of starting another thread (with a cold page cache). The thread that
//! finished last
//! polls the queue for a few µs before it sleeps, so back-to-back reads (a runtime
//! loading session after session) never wait for a wake-up; the others sleep at once.
//! Dropping the handle lets the threads finish the queued jobs and exit.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Condvar, Mutex};
use rusqlite::Connection;

use super::schema::{open_reader, Location};
use crate::error::Error;
use crate::sql::OpenOptions;

/// A read job: runs with the thread's connection and the file's location, or with the
/// error that kept the thread from opening a connection, and returns the [`Delivery`] of
/// its answer.
pub type ReadJob =
    Box<dyn FnOnce(crate::error::Result<(&Connection, &Location)>) -> Delivery + Send>;

/// Hands a job's answer to its caller; the thread calls it once it counts as idle again.
pub type Delivery = Box<dyn FnOnce() + Send>;

/// The handle of the reader threads.
pub struct ReaderThreads {
    shared: Arc<Shared>,
}

struct Shared {
    loc: Location,
    options: OpenOptions,
    max_threads: usize,
    state: Mutex<State>,
    wake: Condvar,
    /// Jobs in the queue, readable without the lock (for the polling thread).
    queued: AtomicUsize,
    /// A thread is polling the queue.
    polling: AtomicBool,
}

#[derive(Default)]
struct State {
    jobs: VecDeque<ReadJob>,
    threads: usize,
    /// Threads not running a job (polling or asleep).
    idle: usize,
    asleep: usize,
    closed: bool,
}

impl ReaderThreads {
    /// Reader threads for the file at `loc`, at most `options.pool_size` of them; none
    /// runs before the first job.
    pub fn new(loc: Location, options: OpenOptions) -> Self {
        let max_threads = options.pool_size.max(1) as usize;
        ReaderThreads {
            shared: Arc::new(Shared {
                loc,
                options,
                max_threads,
                state: Mutex::new(State::default()),
                wake: Condvar::new(),
                queued: AtomicUsize::new(0),
                polling: AtomicBool::new(false),
            }),
        }
    }

    /// Queues `job`; a thread runs it as soon as one is free (or it gets the error that
    /// kept a thread from starting or from opening its connection).
    pub fn submit(&self, job: ReadJob) {
        let mut st = self.shared.state.lock();
        st.jobs.push_back(job);
        self.shared.queued.fetch_add(1, Ordering::Release);
        if st.idle == 0 && st.threads < self.shared.max_threads {
            st.threads += 1;
            drop(st);
            self.start_thread();
            return;
        }
        // A polling thread takes one job; wake a sleeper for any other.
        let polling = self.shared.polling.load(Ordering::Acquire);
        if st.asleep > 0 && (st.jobs.len() > 1 || !polling) {
            self.shared.wake.notify_one();
        }
    }

    /// The file the threads read.
    pub fn location(&self) -> &Location {
        &self.shared.loc
    }

    fn start_thread(&self) {
        let shared = self.shared.clone();
        let started = std::thread::Builder::new()
            .name("adk-sqlite-reader".into())
            .spawn(move || shared.run());
        if let Err(e) = started {
            let msg = format!(
                "{}: cannot start a reader thread: {e}",
                self.shared.loc.label
            );
            self.shared.leave(Error::storage(msg), false);
        }
    }
}

impl Drop for ReaderThreads {
    fn drop(&mut self) {
        self.shared.state.lock().closed = true;
        self.shared.wake.notify_all();
    }
}

impl Shared {
    /// A reader thread: opens its connection, then runs jobs until the handle is dropped
    /// and the queue is empty. A thread that cannot open its connection answers one job
    /// with the error and leaves, so the next job starts a thread that tries again.
    fn run(&self) {
        let conn = match open_reader(&self.loc, &self.options) {
            Ok(conn) => conn,
            Err(e) => return self.leave(e, true),
        };
        self.state.lock().idle += 1;
        while let Some(job) = self.next_job() {
            let run = || job(Ok((&conn, &self.loc)));
            // A panicking job drops its answer (its caller gets an error); the thread stays.
            let delivery = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run));
            self.state.lock().idle += 1;
            if let Ok(deliver) = delivery {
                deliver();
            }
        }
    }

    /// A thread that could not start or open its connection is gone: every queued job
    /// gets `error` when no other thread is left to run it, else only the first one
    /// (`fail_one`: the job that thread was started for).
    fn leave(&self, error: Error, fail_one: bool) {
        let mut st = self.state.lock();
        st.threads -= 1;
        let take = match (st.threads, fail_one) {
            (0, _) => st.jobs.len(),
            (_, true) => st.jobs.len().min(1),
            (_, false) => 0,
        };
        let failed: Vec<ReadJob> = st.jobs.drain(..take).collect();
        self.queued.fetch_sub(failed.len(), Ordering::Release);
        drop(st);
        let msg = match error {
            Error::Storage { message, .. } => message,
            other => other.to_string(),
        };
        for job in failed {
            job(Err(Error::storage(msg.clone())))();
        }
    }

    /// The next job for a thread that counts as idle; `None` once the handle is dropped
    /// and the queue is empty.
    fn next_job(&self) -> Option<ReadJob> {
        let mut st = self.state.lock();
        let mut polled = false;
        loop {
            if let Some(job) = st.jobs.pop_front() {
                self.queued.fetch_sub(1, Ordering::Release);
                st.idle -= 1;
                return Some(job);
            }
            if st.closed {
                st.idle -= 1;
                st.threads -= 1;
                return None;
            }
            let spin = super::handoff::Tuning::from(self.options.sqlite_latency).reader_spin;
            if !polled
                && !spin.is_zero()
                && self
                    .polling
                    .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
            {
                polled = true;
                drop(st);
                let until = Instant::now() + spin;
                while self.queued.load(Ordering::Acquire) == 0 && Instant::now() < until {
                    std::thread::yield_now();
                }
                self.polling.store(false, Ordering::Release);
                st = self.state.lock();
                continue;
            }
            st.asleep += 1;
            self.wake.wait(&mut st);
            st.asleep -= 1;
            polled = false;
        }
    }
}
