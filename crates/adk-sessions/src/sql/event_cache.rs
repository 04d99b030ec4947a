//! A memo of decoded events: decoding `event_data` is most of the cost of a `get`, and an
//! agent runtime reads the same events again and again (every turn starts with a `get` of
//! the whole session). The cache maps what a row holds (`id`, `invocation_id`,
//! `timestamp` and the exact `event_data` text) to the event decoded from it. A hit
//! requires all four to be equal, so it returns exactly what decoding the row would
//! return: nothing ever needs invalidating, whoever wrote the row (this process,
//! another one, adk-python) and whatever happened to it since.
//!
//! Bounded by the bytes of `event_data` it holds; the decoded events take 1–6 times as
//! much again (measured: 5.7× for the benchmark's 520-byte events, 2.1× at 2.3 KB, 1.1×
//! at 20 KB), so the default of 8 MiB holds at most about 60 MiB. Two generations, each up to half the budget; a hit in the older one moves the
//! entry to the newer one, and when the newer one is full the older one is dropped. That
//! keeps recently used events at O(1) cost per lookup, without a linked list.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::model::Event;
use crate::time::Timestamp;

/// What a stored event row holds besides its session key.
#[derive(Debug, Clone, Copy)]
pub struct RowKey<'a> {
    /// `events.id`.
    pub id: &'a str,
    /// `events.invocation_id`.
    pub invocation_id: &'a str,
    /// `events.timestamp` (`None` when the column could not be read as a time).
    pub time: Option<Timestamp>,
    /// `events.event_data`.
    pub text: &'a str,
}

struct Entry {
    id: Box<str>,
    invocation_id: Box<str>,
    time: Option<Timestamp>,
    text: Arc<str>,
    event: Arc<Event>,
}

impl Entry {
    fn holds(&self, row: &RowKey<'_>) -> bool {
        *self.id == *row.id
            && *self.invocation_id == *row.invocation_id
            && self.time == row.time
            && *self.text == *row.text
    }
}

#[derive(Default)]
struct Generations {
    newer: HashMap<u64, Entry>,
    older: HashMap<u64, Entry>,
    newer_bytes: usize,
}

/// Decoded events by the content of their rows (see the module documentation).
pub struct EventCache {
    budget: usize,
    hasher: RandomState,
    generations: Mutex<Generations>,
}

impl std::fmt::Debug for EventCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventCache")
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl EventCache {
    /// A cache holding at most `budget` bytes of `event_data`; 0 disables it.
    pub fn new(budget: usize) -> Self {
        EventCache {
            budget,
            hasher: RandomState::new(),
            generations: Mutex::default(),
        }
    }

    fn slot(&self, row: &RowKey<'_>) -> u64 {
        self.hasher
            .hash_one((row.id, row.invocation_id, row.time.map(|t| t.0)))
    }

    /// The event decoded from exactly this row, when it is cached.
    pub fn get(&self, row: &RowKey<'_>) -> Option<Arc<Event>> {
        if self.budget == 0 {
            return None;
        }
        let slot = self.slot(row);
        let mut g = self.generations.lock();
        if let Some(e) = g.newer.get(&slot) {
            return e.holds(row).then(|| e.event.clone());
        }
        let entry = g.older.remove(&slot)?;
        if !entry.holds(row) {
            return None;
        }
        let event = entry.event.clone();
        self.put(&mut g, slot, entry);
        Some(event)
    }

    /// Records that decoding `row` gives `event`. `text` must be `row.text` (shared, so
    /// a caller that holds it already does not copy it again).
    pub fn insert(&self, row: &RowKey<'_>, text: Arc<str>, event: Arc<Event>) {
        let size = text.len();
        if self.budget == 0 || size > self.budget / 2 {
            return;
        }
        let entry = Entry {
            id: row.id.into(),
            invocation_id: row.invocation_id.into(),
            time: row.time,
            text,
            event,
        };
        let slot = self.slot(row);
        let mut g = self.generations.lock();
        self.put(&mut g, slot, entry);
    }

    fn put(&self, g: &mut Generations, slot: u64, entry: Entry) {
        let size = entry.text.len();
        if g.newer_bytes + size > self.budget / 2 {
            g.older = std::mem::take(&mut g.newer);
            g.newer_bytes = 0;
        }
        g.newer_bytes += size;
        if let Some(old) = g.newer.insert(slot, entry) {
            g.newer_bytes -= old.text.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row<'a>(id: &'a str, text: &'a str) -> RowKey<'a> {
        RowKey {
            id,
            invocation_id: "inv",
            time: Some(Timestamp(1)),
            text,
        }
    }

    fn event(id: &str) -> Arc<Event> {
        Arc::new(Event {
            id: id.into(),
            ..Default::default()
        })
    }

    #[test]
    fn a_hit_needs_every_column_equal() {
        let cache = EventCache::new(1 << 20);
        cache.insert(&row("e1", "{}"), Arc::from("{}"), event("e1"));
        assert_eq!(cache.get(&row("e1", "{}")).unwrap().id, "e1");
        assert!(cache.get(&row("e1", "{ }")).is_none(), "other text");
        assert!(cache.get(&row("e2", "{}")).is_none(), "other id");
        let mut other_time = row("e1", "{}");
        other_time.time = Some(Timestamp(2));
        assert!(cache.get(&other_time).is_none(), "other time");
        let mut other_inv = row("e1", "{}");
        other_inv.invocation_id = "x";
        assert!(cache.get(&other_inv).is_none(), "other invocation");
    }

    #[test]
    fn the_budget_bounds_what_is_held_and_recent_entries_survive() {
        let text = "x".repeat(100);
        let cache = EventCache::new(1000);
        for i in 0..50 {
            let id = format!("e{i}");
            cache.insert(&row(&id, &text), Arc::from(text.as_str()), event(&id));
            // e0 is used all the time, so it stays.
            assert!(cache.get(&row("e0", &text)).is_some(), "e0 evicted at {i}");
        }
        let held = (0..50)
            .filter(|i| cache.get(&row(&format!("e{i}"), &text)).is_some())
            .count();
        assert!(
            held <= 10,
            "{held} entries of 100 bytes in a 1000-byte budget"
        );
        assert!(cache.get(&row("e49", &text)).is_some(), "newest evicted");
        let off = EventCache::new(0);
        off.insert(&row("e", "{}"), Arc::from("{}"), event("e"));
        assert!(off.get(&row("e", "{}")).is_none());
    }
}
