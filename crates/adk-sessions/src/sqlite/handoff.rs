//! Waiting for a reply from a SQLite thread without paying for a wake-up each time.
//!
//! A write or read runs on another thread (the writer, a reader); the async task then
//! waits for its reply. A parked async worker must be woken when the reply comes, which
//! costs tens of µs on a virtual machine — per operation, and as much as the write
//! itself for a lone writer at `synchronous=NORMAL`. So an operation that is the only one
//! of its kind in flight polls its reply between yields for a short while before it
//! leaves it to the waker. With several in flight they wait normally: their wake-ups
//! overlap (and group commit amortises them), and the CPU is better spent on the other
//! tasks.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

/// The latency tuning of the SQLite backend, all in one place, from
/// [`crate::SqliteLatency`]: how long a lone operation polls for its reply on its own task
/// before it sleeps ([`Tuning::reply_spin`]), how long the reader thread that finished
/// last polls its queue ([`Tuning::reader_spin`]) and how long the writer thread polls for
/// its next job ([`Tuning::writer_spin`]) before they sleep. Zero means never poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// Polling of a lone operation's reply, on the caller's task (between yields).
    pub reply_spin: Duration,
    /// Polling of the read queue by the reader thread that finished last.
    pub reader_spin: Duration,
    /// Polling of the write queue by the writer thread before it sleeps.
    pub writer_spin: Duration,
}

impl From<crate::SqliteLatency> for Tuning {
    fn from(latency: crate::SqliteLatency) -> Self {
        match latency {
            crate::SqliteLatency::LowLatency => Tuning {
                reply_spin: Duration::from_millis(1),
                reader_spin: Duration::from_micros(50),
                writer_spin: Duration::from_micros(50),
            },
            crate::SqliteLatency::NoBusyWait => Tuning {
                reply_spin: Duration::ZERO,
                reader_spin: Duration::ZERO,
                writer_spin: Duration::ZERO,
            },
        }
    }
}

/// Counts the operations of one kind in flight.
#[derive(Debug, Clone)]
pub struct InFlight {
    count: Arc<AtomicUsize>,
    reply_spin: Duration,
}

/// One operation in flight; counted until dropped.
pub struct Ticket<'a> {
    count: &'a AtomicUsize,
    alone: bool,
    reply_spin: Duration,
}

impl InFlight {
    /// A counter whose lone operations poll their reply for `tuning.reply_spin`.
    pub fn new(tuning: Tuning) -> Self {
        InFlight {
            count: Arc::default(),
            reply_spin: tuning.reply_spin,
        }
    }

    /// Counts an operation in.
    pub fn enter(&self) -> Ticket<'_> {
        let alone = self.count.fetch_add(1, Ordering::AcqRel) == 0;
        Ticket {
            count: &self.count,
            alone: alone && !self.reply_spin.is_zero(),
            reply_spin: self.reply_spin,
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Ticket<'_> {
    /// Awaits `reply`: polled between yields for up to [`Tuning::reply_spin`] while this is
    /// the only operation in flight, then left to its waker.
    pub async fn wait<F: Future + Unpin>(&self, mut reply: F) -> F::Output {
        if self.alone {
            let until = Instant::now() + self.reply_spin;
            loop {
                let polled = poll_fn(|cx| Poll::Ready(Pin::new(&mut reply).poll(cx))).await;
                if let Poll::Ready(v) = polled {
                    return v;
                }
                if Instant::now() >= until || self.count.load(Ordering::Acquire) > 1 {
                    break;
                }
                tokio::task::yield_now().await;
            }
        }
        reply.await
    }
}
