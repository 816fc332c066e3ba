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
    /// Whether the caller becomes the one delivering: no thread is, and
    /// events wait.
    #[doc(hidden)]
    fn claim(&self) -> bool;
    /// For the thread delivering: the oldest waiting event, or `None` (and
    /// delivery ends) when nothing waits.
    #[doc(hidden)]
    fn pop(&self) -> Option<Event>;
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
    fn claim(&self) -> bool {
        false
    }
    #[inline]
    fn pop(&self) -> Option<Event> {
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
    fn claim(&self) -> bool {
        if self.delivering.get() || self.is_empty() {
            return false;
        }
        self.delivering.set(true);
        true
    }
    fn pop(&self) -> Option<Event> {
        let event = self.take_oldest();
        if event.is_none() {
            self.delivering.set(false);
        }
        event
    }
    fn abandon(&self) {
        self.delivering.set(false);
    }
}

/// Room for the events of one operation (a lazy transition, the outcome,
/// three thresholds, a reset and the state change) with some to spare; more
/// accumulate only while another thread is delivering.
pub(crate) const QUEUE: usize = 8;

/// The [`Observer`] of the breaker inside a [`SharedBreaker`](super::SharedBreaker):
/// it holds events until the lock is released. Not used directly.
///
/// When full, it keeps every state change (merging consecutive ones, so the
/// last state is always reported) and leaves out other events, counting
/// them in one [`Event::Dropped`] delivered after what waits.
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

    fn is_empty(&self) -> bool {
        self.len.get() == 0 && self.dropped.get() == 0
    }

    /// The oldest event, moving the others up; once none is left, the
    /// count of those left out, if any.
    fn take_oldest(&self) -> Option<Event> {
        let len = self.len.get();
        if len == 0 {
            let count = self.dropped.replace(0);
            return (count > 0).then_some(Event::Dropped { count });
        }
        let first = self.events.first().and_then(Cell::take);
        for w in self.events.windows(2).take(len.saturating_sub(1)) {
            if let [a, b] = w {
                a.set(b.take());
            }
        }
        self.len.set(len.saturating_sub(1));
        first
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
