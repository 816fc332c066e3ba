//! [`EventQueue`]: where a shared breaker's events wait, inside its lock,
//! until one thread at a time delivers them in order.

use core::cell::Cell;

use crate::observe::{Event, Interest, Observer, Sink};
use crate::State;

/// Where a shared breaker's events wait, inside its lock, for delivery:
/// an [`EventQueue`] for an observer, nothing (`()`) without one. Chosen by
/// the observer's [`Sink::Queue`]; not for implementing.
pub trait Queue: Sink {
    /// An empty queue, for `const` construction.
    #[allow(clippy::declare_interior_mutable_const)] // each use is a fresh queue
    const NEW: Self;
    /// Sets which events to keep, before each operation.
    #[doc(hidden)]
    fn set_interest(&self, interest: Interest);
    /// If no thread is delivering and events wait: takes them, and the
    /// caller becomes the one delivering.
    #[doc(hidden)]
    fn claim(&self) -> Option<Batch>;
    /// For the thread delivering: the next batch, or `None` (and delivery
    /// ends) when nothing waits.
    #[doc(hidden)]
    fn next_batch(&self) -> Option<Batch>;
    /// Delivery ended without finishing (an observer panicked): the next
    /// operation's thread takes over what waits.
    #[doc(hidden)]
    fn abandon(&self);
}

/// No observer, no queue.
impl Queue for () {
    const NEW: Self = ();
    #[inline]
    fn set_interest(&self, _: Interest) {}
    #[inline]
    fn claim(&self) -> Option<Batch> {
        None
    }
    #[inline]
    fn next_batch(&self) -> Option<Batch> {
        None
    }
    #[inline]
    fn abandon(&self) {}
}

impl Queue for EventQueue {
    #[allow(clippy::declare_interior_mutable_const)]
    const NEW: Self = EventQueue::new();
    fn set_interest(&self, interest: Interest) {
        self.interest.set(interest);
    }
    fn claim(&self) -> Option<Batch> {
        EventQueue::claim(self)
    }
    fn next_batch(&self) -> Option<Batch> {
        EventQueue::next_batch(self)
    }
    fn abandon(&self) {
        self.delivering.set(false);
    }
}

/// Room for the events of one operation (a lazy transition, the outcome,
/// three thresholds, a reset and the state change) with some to spare; more
/// accumulate only while another thread is delivering.
pub(crate) const QUEUE: usize = 8;

/// A batch taken out of the queue: its events, then a [`Event::Dropped`] if
/// any were left out.
pub type Batch = heapless::Vec<Event, { QUEUE + 1 }>;

/// The [`Observer`] of the breaker inside a [`SharedBreaker`](super::SharedBreaker):
/// it holds events until the lock is released. Not used directly.
///
/// When full, it keeps every state change (merging consecutive ones, so the
/// last state is always reported) and leaves out other events, counting them.
#[derive(Debug)]
pub struct EventQueue {
    events: [Cell<Option<Event>>; QUEUE],
    len: Cell<usize>,
    dropped: Cell<u32>,
    /// What the shared breaker's observer wants, set before each operation.
    interest: Cell<Interest>,
    /// A thread is delivering; new events wait for it.
    delivering: Cell<bool>,
}

impl EventQueue {
    pub(crate) const fn new() -> Self {
        EventQueue {
            events: [const { Cell::new(None) }; QUEUE],
            len: Cell::new(0),
            dropped: Cell::new(0),
            interest: Cell::new(Interest::NONE),
            delivering: Cell::new(false),
        }
    }

    /// If no thread is delivering and events wait: takes them, and the
    /// caller becomes the one delivering.
    pub(crate) fn claim(&self) -> Option<Batch> {
        if self.delivering.get() || self.is_empty() {
            return None;
        }
        self.delivering.set(true);
        Some(self.take_all())
    }

    /// For the thread delivering: the next batch, or `None` (and delivery
    /// ends) when nothing waits.
    pub(crate) fn next_batch(&self) -> Option<Batch> {
        if self.is_empty() {
            self.delivering.set(false);
            return None;
        }
        Some(self.take_all())
    }

    fn is_empty(&self) -> bool {
        self.len.get() == 0 && self.dropped.get() == 0
    }

    fn take_all(&self) -> Batch {
        let len = self.len.replace(0);
        let mut batch = Batch::new();
        for slot in self.events.iter().take(len) {
            if let Some(event) = slot.take() {
                let _ = batch.push(event);
            }
        }
        let count = self.dropped.replace(0);
        if count > 0 {
            let _ = batch.push(Event::Dropped { count });
        }
        batch
    }

    fn push(&self, event: Event) {
        let len = self.len.get();
        if let Some(slot) = self.events.get(len) {
            slot.set(Some(event));
            // A slot exists at `len`, so len < QUEUE: the add never saturates.
            self.len.set(len.saturating_add(1));
        } else if let Event::StateChanged { .. } = event {
            self.keep_state_change(event);
        } else {
            self.dropped.set(self.dropped.get().saturating_add(1));
        }
    }

    /// Full, and a state change arrives: make room by leaving out the
    /// oldest event that is not one, or merge it into the last state change.
    fn keep_state_change(&self, event: Event) {
        let len = self.len.get();
        let other = self
            .events
            .iter()
            .take(len)
            .position(|slot| !matches!(slot.get(), Some(Event::StateChanged { .. })));
        if let Some(i) = other {
            for w in i..len.saturating_sub(1) {
                if let (Some(a), Some(b)) =
                    (self.events.get(w), self.events.get(w.saturating_add(1)))
                {
                    a.set(b.get());
                }
            }
            if let Some(last) = self.events.get(len.saturating_sub(1)) {
                last.set(Some(event));
            }
            self.dropped.set(self.dropped.get().saturating_add(1));
        } else if let Some(last) = self.events.get(len.saturating_sub(1)) {
            // Every slot holds a state change: A→B then B→C reads as A→C.
            if let (
                Some(Event::StateChanged { from, .. }),
                Event::StateChanged { to, reason, at, .. },
            ) = (last.get(), event)
            {
                last.set(Some(merged(from, to, reason, at)));
            }
        }
    }
}

fn merged(from: State, to: State, reason: crate::Reason, at: crate::Instant) -> Event {
    Event::StateChanged {
        from,
        to,
        reason,
        at,
    }
}

impl Observer for EventQueue {
    fn interest(&self) -> Interest {
        self.interest.get()
    }

    fn on_event(&self, event: &Event) {
        self.push(*event);
    }
}
