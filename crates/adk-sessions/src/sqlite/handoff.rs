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

/// How long a lone operation polls for its reply before it sleeps.
const REPLY_SPIN: Duration = Duration::from_millis(1);

/// Counts the operations of one kind in flight.
#[derive(Debug, Clone, Default)]
pub struct InFlight(Arc<AtomicUsize>);

/// One operation in flight; counted until dropped.
pub struct Ticket<'a> {
    count: &'a AtomicUsize,
    alone: bool,
}

impl InFlight {
    /// Counts an operation in.
    pub fn enter(&self) -> Ticket<'_> {
        let alone = self.0.fetch_add(1, Ordering::AcqRel) == 0;
        Ticket {
            count: &self.0,
            alone,
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Ticket<'_> {
    /// Awaits `reply`: polled between yields for up to [`REPLY_SPIN`] while this is the
    /// only operation in flight, then left to its waker.
    pub async fn wait<F: Future + Unpin>(&self, mut reply: F) -> F::Output {
        if self.alone {
            let until = Instant::now() + REPLY_SPIN;
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
