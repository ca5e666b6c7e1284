//! The monitor's newest records in memory, for the dashboard and the logs.
//!
//! A slot keeps its strings' buffers from one record to the next: once the
//! ring has gone round, a record costs no allocation. Fresh strings for
//! every record were allocated among each call's short-lived buffers, and
//! the last 500 calls' strings then kept the pages of the busiest moment
//! resident long after it (`bench/arenas`: 9 MB of a worker arena resident
//! around 3 MB in use, 60 s after the load).
//!
//! Slots are shared (`Arc`) so that readers copy pointers, not records, under
//! the lock the request path takes; a slot a reader still holds is replaced
//! instead of written into.

use std::sync::Arc;

use super::RequestRecord;

/// The newest records, at most `capacity`, oldest overwritten first.
#[derive(Debug)]
pub(super) struct Ring {
    slots: Vec<Arc<RequestRecord>>,
    capacity: usize,
    /// The slot the next record goes to: once full, the oldest.
    next: usize,
}

impl Ring {
    /// An empty ring of `capacity` slots (at least one).
    pub(super) fn new(capacity: usize) -> Ring {
        let capacity = capacity.max(1);
        Ring {
            slots: Vec::with_capacity(capacity),
            capacity,
            next: 0,
        }
    }

    /// Keeps a copy of `record`, in place of the oldest once full.
    pub(super) fn push(&mut self, record: &RequestRecord) {
        if self.slots.len() < self.capacity {
            self.slots.push(Arc::new(record.clone()));
        } else {
            let slot = &mut self.slots[self.next];
            match Arc::get_mut(slot) {
                Some(kept) => kept.assign(record),
                None => *slot = Arc::new(record.clone()),
            }
        }
        self.next = (self.next + 1) % self.capacity;
    }

    /// The records, oldest first.
    pub(super) fn iter(&self) -> impl DoubleEndedIterator<Item = &Arc<RequestRecord>> {
        let (newer, older) = self.slots.split_at(self.next);
        older.iter().chain(newer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, model: &str) -> RequestRecord {
        RequestRecord {
            id: id.into(),
            model: model.into(),
            ..RequestRecord::default()
        }
    }

    fn ids(ring: &Ring) -> Vec<&str> {
        ring.iter().map(|r| r.id.as_str()).collect()
    }

    #[test]
    fn keeps_the_newest_in_order() {
        let mut ring = Ring::new(3);
        assert!(ids(&ring).is_empty());
        ring.push(&record("1", "m"));
        ring.push(&record("2", "m"));
        assert_eq!(ids(&ring), ["1", "2"]);
        for id in ["3", "4", "5"] {
            ring.push(&record(id, "m"));
        }
        assert_eq!(ids(&ring), ["3", "4", "5"]);
        assert_eq!(
            ring.iter().rev().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["5", "4", "3"]
        );
    }

    #[test]
    fn an_overwritten_slot_keeps_its_buffers() {
        let mut ring = Ring::new(1);
        ring.push(&record("a-long-response-id", "a-long-model-name"));
        let (id, model) = (ring.slots[0].id.as_ptr(), ring.slots[0].model.as_ptr());
        ring.push(&record("short", "m"));
        assert_eq!(ids(&ring), ["short"]);
        assert_eq!(ring.slots[0].model, "m");
        assert_eq!((ring.slots[0].id.as_ptr(), ring.slots[0].model.as_ptr()), (id, model));
    }

    #[test]
    fn a_slot_a_reader_holds_is_replaced_not_written() {
        let mut ring = Ring::new(1);
        ring.push(&record("first", "m"));
        let held = ring.iter().next().cloned().expect("one record");
        ring.push(&record("second", "m"));
        assert_eq!(held.id, "first", "the reader's record is unchanged");
        assert_eq!(ids(&ring), ["second"]);
    }
}
