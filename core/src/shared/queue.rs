//! [`EventQueue`]: where a shared breaker's events wait, inside its lock,
//! until one thread at a time delivers them in order.

use core::cell::Cell;
use core::marker::PhantomData;

use crate::observe::{Event, Interest, Observer, Sink};
use crate::{Instant, Reason, RejectReason, Rejected, Rule, State};

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

impl<O: Observer, const N: usize> Queue for EventQueue<O, N> {
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
        let event = self.take_oldest(O::INTEREST);
        if event.is_none() {
            self.delivering.set(false);
        }
        event
    }
    fn abandon(&self) {
        self.delivering.set(false);
    }
}

/// The default room: the events of one operation (a lazy transition, the
/// outcome, three thresholds, a reset and the state change) with some to
/// spare; more accumulate only while another thread is delivering.
pub const DEFAULT_QUEUE: usize = 8;

/// An event as it waits in the queue: [`Event`] without what a queued
/// event never has (a breaker name, [`Event::Dropped`]) and with its
/// optional values flattened, so that it takes 16 bytes instead of 32 on
/// 32-bit chips and 40 on 64-bit ones. An empty slot is all zeros, so an
/// empty queue in a `static` needs no initial image in flash.
#[derive(Clone, Copy, Debug)]
enum Slot {
    Empty,
    Changed {
        from: State,
        to: State,
        reason: Reason,
        at: Instant,
    },
    Threshold {
        rule: Rule,
        value: u32,
        threshold: u32,
    },
    Rejected {
        reason: RejectReason,
        known: bool,
        retry_after_us: u64,
    },
    Success {
        timed: bool,
        slow: bool,
        duration_us: u64,
    },
    Failure {
        timed: bool,
        slow: bool,
        duration_us: u64,
    },
    Ignored,
    Cancelled,
    Stale,
    Reset {
        at: Instant,
    },
}

const _: () = assert!(core::mem::size_of::<Slot>() == 16);

impl Slot {
    /// The slot for `event`; `None` for a report of dropped events, which
    /// is never queued (the queue counts them itself).
    #[inline(always)]
    fn of(event: &Event) -> Option<Slot> {
        Some(match *event {
            Event::StateChanged {
                from,
                to,
                reason,
                at,
            } => Slot::Changed {
                from,
                to,
                reason,
                at,
            },
            Event::ThresholdExceeded {
                rule,
                value,
                threshold,
            } => Slot::Threshold {
                rule,
                value,
                threshold,
            },
            Event::Rejected(r) => Slot::Rejected {
                reason: r.reason(),
                known: r.retry_after_micros().is_some(),
                retry_after_us: r.retry_after_micros().unwrap_or(0),
            },
            Event::Success { duration_us, slow } => Slot::Success {
                timed: duration_us.is_some(),
                slow,
                duration_us: duration_us.unwrap_or(0),
            },
            Event::Failure { duration_us, slow } => Slot::Failure {
                timed: duration_us.is_some(),
                slow,
                duration_us: duration_us.unwrap_or(0),
            },
            Event::Ignored => Slot::Ignored,
            Event::Cancelled => Slot::Cancelled,
            Event::Stale => Slot::Stale,
            Event::Reset { at } => Slot::Reset { at },
            Event::Dropped { .. } => return None,
        })
    }

    /// The event this slot holds, if any. Only kinds in `wanted` are ever
    /// queued; a constant `wanted` leaves the others' conversions out of
    /// the binary.
    #[inline(always)]
    fn event(self, wanted: Interest) -> Option<Event> {
        let timed = |timed: bool, us: u64| if timed { Some(us) } else { None };
        let kind = |k: Interest| wanted.intersects(k);
        Some(match self {
            Slot::Changed {
                from,
                to,
                reason,
                at,
            } if kind(Interest::STATE_CHANGED) => Event::StateChanged {
                from,
                to,
                reason,
                at,
            },
            Slot::Threshold {
                rule,
                value,
                threshold,
            } if kind(Interest::THRESHOLD) => Event::ThresholdExceeded {
                rule,
                value,
                threshold,
            },
            Slot::Rejected {
                reason,
                known,
                retry_after_us,
            } if kind(Interest::REJECTED) => {
                Event::Rejected(Rejected::new(reason, timed(known, retry_after_us)))
            }
            Slot::Success {
                timed: t,
                slow,
                duration_us,
            } if kind(Interest::SUCCESS) => Event::Success {
                duration_us: timed(t, duration_us),
                slow,
            },
            Slot::Failure {
                timed: t,
                slow,
                duration_us,
            } if kind(Interest::FAILURE) => Event::Failure {
                duration_us: timed(t, duration_us),
                slow,
            },
            Slot::Ignored if kind(Interest::IGNORED) => Event::Ignored,
            Slot::Cancelled if kind(Interest::CANCELLED) => Event::Cancelled,
            Slot::Stale if kind(Interest::STALE) => Event::Stale,
            Slot::Reset { at } if kind(Interest::RESET) => Event::Reset { at },
            _ => return None,
        })
    }
}

/// The [`Observer`] of the breaker inside a [`SharedBreaker`](super::SharedBreaker)
/// whose observer is an `O`: it holds up to `N` events until the lock is
/// released, and wants what `O` wants. Not used directly: `N` is
/// [`DEFAULT_QUEUE`], or what a [`Queued`](crate::observe::Queued) observer says.
///
/// When full, it keeps every state change (one arriving then takes the
/// last slot, merged with the state change there: A→B then B→C reads as
/// A→C) and leaves out other events, counting them in one
/// [`Event::Dropped`] delivered after what waits.
pub struct EventQueue<O, const N: usize = DEFAULT_QUEUE> {
    slots: [Cell<Slot>; N],
    len: Cell<u8>,
    /// A thread is delivering; new events wait for it.
    delivering: Cell<bool>,
    /// What the shared breaker's observer wants, set before each operation.
    interest: Cell<Interest>,
    dropped: Cell<u32>,
    /// Whose interest it has; `fn() -> O` keeps it `Send` and `Sync`.
    observer: PhantomData<fn() -> O>,
}

impl<O, const N: usize> core::fmt::Debug for EventQueue<O, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EventQueue")
            .field("len", &self.len.get())
            .field("dropped", &self.dropped.get())
            .field("delivering", &self.delivering.get())
            .finish_non_exhaustive()
    }
}

impl<O, const N: usize> EventQueue<O, N> {
    pub(crate) const fn new() -> Self {
        const { assert!(N >= 1 && N <= 255, "an event queue holds 1 to 255 events") };
        EventQueue {
            slots: [const { Cell::new(Slot::Empty) }; N],
            len: Cell::new(0),
            delivering: Cell::new(false),
            interest: Cell::new(Interest::NONE),
            dropped: Cell::new(0),
            observer: PhantomData,
        }
    }

    fn is_empty(&self) -> bool {
        self.len.get() == 0 && self.dropped.get() == 0
    }

    fn count_dropped(&self) {
        self.dropped.set(self.dropped.get().saturating_add(1));
    }

    /// The oldest event, moving the others up; once none is left, the
    /// count of those left out, if any.
    fn take_oldest(&self, wanted: Interest) -> Option<Event> {
        let len = usize::from(self.len.get());
        if len == 0 {
            let count = self.dropped.replace(0);
            return (count > 0).then_some(Event::Dropped { count });
        }
        let first = self.slots.first().map(|s| s.replace(Slot::Empty));
        for w in self.slots.windows(2).take(len.saturating_sub(1)) {
            if let [a, b] = w {
                a.set(b.replace(Slot::Empty));
            }
        }
        self.len.set(self.len.get().saturating_sub(1));
        first.and_then(|slot| slot.event(wanted))
    }

    // Inline: at each place an event is built its kind is known, and the
    // conversion to a slot folds to a few stores.
    #[inline(always)]
    fn push(&self, event: &Event) {
        let Some(slot) = Slot::of(event) else { return };
        let len = self.len.get();
        if let Some(free) = self.slots.get(usize::from(len)) {
            free.set(slot);
            // A slot exists at `len`, so len < N <= 255: the add never saturates.
            self.len.set(len.saturating_add(1));
            return;
        }
        let Slot::Changed { to, reason, at, .. } = slot else {
            self.count_dropped();
            return;
        };
        // Full, and a state change arrives: it takes the last slot.
        if let Some(last) = self.slots.last() {
            let from = match last.get() {
                // A→B then B→C reads as A→C.
                Slot::Changed { from, .. } => from,
                _ => {
                    self.count_dropped();
                    match slot {
                        Slot::Changed { from, .. } => from,
                        _ => to,
                    }
                }
            };
            last.set(Slot::Changed {
                from,
                to,
                reason,
                at,
            });
        }
    }
}

impl<O: Observer, const N: usize> Observer for EventQueue<O, N> {
    const INTEREST: Interest = O::INTEREST;

    fn interest(&self) -> Interest {
        self.interest.get()
    }

    #[inline(always)]
    fn on_event(&self, event: &Event) {
        self.push(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::Interest;

    struct All;
    impl Observer for All {}

    fn queue() -> EventQueue<All> {
        let q = EventQueue::new();
        q.set_interest(Interest::ALL);
        q
    }

    fn changed(from: State, to: State, at: u64) -> Event {
        Event::StateChanged {
            from,
            to,
            reason: Reason::Manual,
            at: Instant::from_micros(at),
        }
    }

    fn put(q: &EventQueue<All>, e: &Event) {
        Observer::on_event(q, e);
    }

    fn drain(q: &EventQueue<All>) -> heapless::Vec<Event, 16> {
        let mut out = heapless::Vec::new();
        assert!(q.claim(), "events wait, nobody delivers");
        while let Some(e) = q.pop() {
            out.push(e).expect("room for every test's events");
        }
        assert!(!q.claim(), "nothing left");
        out
    }

    #[test]
    fn every_queued_kind_comes_back_as_it_went_in() {
        let events = [
            changed(State::Closed, State::Open, 7),
            Event::ThresholdExceeded {
                rule: Rule::FailureRate,
                value: 500,
                threshold: 400,
            },
            Event::Rejected(Rejected::new(RejectReason::Open, Some(1_500))),
            Event::Rejected(Rejected::new(RejectReason::ForcedOpen, None)),
            Event::Success {
                duration_us: Some(0),
                slow: false,
            },
            Event::Failure {
                duration_us: None,
                slow: true,
            },
            Event::Ignored,
            Event::Cancelled,
            Event::Stale,
            Event::Reset {
                at: Instant::from_micros(9),
            },
        ];
        let q = queue();
        for batch in events.chunks(DEFAULT_QUEUE) {
            for e in batch {
                put(&q, e);
            }
            assert_eq!(drain(&q).as_slice(), batch);
        }
    }

    #[test]
    fn when_full_a_state_change_takes_the_last_slot_and_merges_with_one_there() {
        let q = queue();
        for _ in 0..DEFAULT_QUEUE {
            put(&q, &Event::Cancelled);
        }
        put(&q, &Event::Stale); // no room: left out, counted
        put(&q, &changed(State::Closed, State::Open, 1)); // replaces the last Cancelled
        put(&q, &changed(State::Open, State::HalfOpen, 2)); // merged: Closed → HalfOpen
        let out = drain(&q);
        assert_eq!(out.len(), DEFAULT_QUEUE + 1);
        assert!(out[..DEFAULT_QUEUE - 1]
            .iter()
            .all(|e| *e == Event::Cancelled));
        assert_eq!(
            out[DEFAULT_QUEUE - 1],
            changed(State::Closed, State::HalfOpen, 2)
        );
        assert_eq!(out[DEFAULT_QUEUE], Event::Dropped { count: 2 });
    }

    #[test]
    fn a_second_claim_waits_for_the_first_deliverer() {
        let q = queue();
        put(&q, &Event::Stale);
        assert!(q.claim());
        put(&q, &Event::Ignored);
        assert!(!q.claim(), "one deliverer at a time");
        assert_eq!(q.pop(), Some(Event::Stale));
        assert_eq!(q.pop(), Some(Event::Ignored), "joined the running delivery");
        assert_eq!(q.pop(), None);
        put(&q, &Event::Cancelled);
        assert!(q.claim(), "delivery ended with the queue empty");
        q.abandon();
        assert!(q.claim(), "an abandoned delivery is taken over");
    }
}
