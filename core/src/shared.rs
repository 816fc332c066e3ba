//! [`SharedBreaker`]: the breaker behind `&self`, for interrupt handlers,
//! several tasks, or several cores.
//!
//! The lock is a parameter ([`LockKind`]): the provided
//! [`CriticalSectionLock`] works on any chip through the `critical-section`
//! crate (the binary picks the implementation, the library never does);
//! adapters plug in their own, such as a per-breaker mutex on std.
//! Events are queued while the lock is held and delivered after it is
//! released, in order, so an observer may call back into the breaker.

use core::cell::{Cell, RefCell};
use core::ops::Deref;
use core::time::Duration;

use crate::observe::{Event, Observer};
use crate::window::Window;
use crate::{
    Breaker, CallError, Clock, Config, Metrics, Outcome, Permit, Recorded, RejectReason, Rejected,
    State, TransitionError,
};

/// A kind of lock that can guard a value and give `&mut` access to it.
///
/// `with` returns `None` only if the lock is already held by the same
/// execution context (a re-entrant call), instead of deadlocking or panicking.
pub trait LockKind {
    /// The lock guarding a `T`.
    type Lock<T>;
    /// Wraps `value` in a lock.
    fn new<T>(value: T) -> Self::Lock<T>;
    /// Runs `f` with exclusive access, or returns `None` if re-entered.
    fn with<T, R>(lock: &Self::Lock<T>, f: impl FnOnce(&mut T) -> R) -> Option<R>;
}

/// A [`LockKind`] built on `critical_section::with`: interrupts off (or the
/// binary's chosen implementation) for the length of one breaker operation.
#[derive(Clone, Copy, Debug)]
pub struct CriticalSectionLock;

impl LockKind for CriticalSectionLock {
    type Lock<T> = critical_section::Mutex<RefCell<T>>;

    fn new<T>(value: T) -> Self::Lock<T> {
        critical_section::Mutex::new(RefCell::new(value))
    }

    fn with<T, R>(lock: &Self::Lock<T>, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        critical_section::with(|cs| {
            let mut value = lock.borrow(cs).try_borrow_mut().ok()?;
            Some(f(&mut value))
        })
    }
}

/// The most events one operation can produce: a lazy transition, the
/// outcome, three thresholds and the state change, with room to spare.
const QUEUE: usize = 8;

/// An [`Observer`] that holds the events of one operation until the lock is
/// released. Used inside a [`SharedBreaker`]; not needed directly.
#[derive(Debug)]
pub struct EventQueue {
    events: [Cell<Option<Event>>; QUEUE],
    len: Cell<usize>,
    enabled: bool,
}

impl EventQueue {
    const fn new(enabled: bool) -> Self {
        EventQueue {
            events: [const { Cell::new(None) }; QUEUE],
            len: Cell::new(0),
            enabled,
        }
    }

    fn take_all(&self) -> [Option<Event>; QUEUE] {
        let len = self.len.replace(0);
        // Only the slots written since the last take can hold an event.
        core::array::from_fn(|i| match self.events.get(i) {
            Some(slot) if i < len => slot.take(),
            _ => None,
        })
    }
}

impl Observer for EventQueue {
    fn on_event(&self, event: &Event) {
        let len = self.len.get();
        if let (true, Some(slot)) = (self.enabled, self.events.get(len)) {
            slot.set(Some(*event));
            // A slot exists at `len`, so len < QUEUE: the add never saturates.
            self.len.set(len.saturating_add(1));
        }
    }
}

/// The breaker inside a [`SharedBreaker`].
pub type Inner<W, C> = Breaker<W, C, EventQueue>;

/// A lock was re-entered from inside itself; the operation was not performed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Busy;

impl core::fmt::Display for Busy {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the breaker's lock was re-entered from inside itself")
    }
}

impl core::error::Error for Busy {}

/// A [`Breaker`] usable through `&self`, from a `static`.
///
/// Hands out [`SharedPermit`] guards that cancel on drop, so a permit cannot
/// be lost.
///
/// ```
/// use tripline_core::{Config, CountWindow, MockClock, SharedBreaker, State};
///
/// static CLOCK: MockClock = MockClock::new();
/// static SENSOR: SharedBreaker<CountWindow<8>, &MockClock> =
///     SharedBreaker::new(Config::DEFAULT, CountWindow::new(), &CLOCK);
///
/// // From a task, an interrupt handler, another core:
/// let reading = SENSOR.call(|| Ok::<u16, ()>(512));
/// assert_eq!(reading, Ok(512));
/// assert_eq!(SENSOR.state(), Ok(State::Closed));
/// ```
pub struct SharedBreaker<W, C, O = (), L: LockKind = CriticalSectionLock> {
    inner: L::Lock<Inner<W, C>>,
    observer: O,
}

impl<W: Window, C: Clock> SharedBreaker<W, C, (), CriticalSectionLock> {
    /// A shared breaker guarded by a critical section; `const`, for statics.
    pub const fn new(config: Config, window: W, clock: C) -> Self {
        Self::with_observer(config, window, clock, ())
    }
}

impl<W: Window, C: Clock, O: Observer> SharedBreaker<W, C, O, CriticalSectionLock> {
    /// As [`new`](SharedBreaker::new), reporting events to `observer`.
    pub const fn with_observer(config: Config, window: W, clock: C, observer: O) -> Self {
        SharedBreaker {
            inner: critical_section::Mutex::new(RefCell::new(Breaker::assemble(
                config,
                window,
                clock,
                EventQueue::new(O::ENABLED),
            ))),
            observer,
        }
    }
}

impl<W: Window, C: Clock, O: Observer, L: LockKind> SharedBreaker<W, C, O, L> {
    /// The breaker for [`from_lock`](SharedBreaker::from_lock) to take once
    /// it is inside its lock; for adapters whose lock has a `const` constructor.
    pub const fn unlocked(config: Config, window: W, clock: C) -> Inner<W, C> {
        Breaker::assemble(config, window, clock, EventQueue::new(O::ENABLED))
    }

    /// A shared breaker over a lock already holding
    /// [`unlocked`](SharedBreaker::unlocked)'s breaker; `const`, for statics.
    pub const fn from_lock(inner: L::Lock<Inner<W, C>>, observer: O) -> Self {
        SharedBreaker { inner, observer }
    }
}

impl<W, C, O, L: LockKind> SharedBreaker<W, C, O, L> {
    /// The observer.
    pub const fn observer(&self) -> &O {
        &self.observer
    }
}

impl<W: Window, C: Clock, O: Observer, L: LockKind> SharedBreaker<W, C, O, L> {
    /// A shared breaker over any lock kind (what adapters use).
    pub fn with_lock(config: Config, window: W, clock: C, observer: O) -> Self {
        SharedBreaker {
            inner: L::new(Breaker::assemble(
                config,
                window,
                clock,
                EventQueue::new(O::ENABLED),
            )),
            observer,
        }
    }

    /// Runs `f` on the breaker under the lock, then delivers its events.
    ///
    /// # Errors
    /// [`Busy`] if called from inside the lock (from the breaker's own clock).
    ///
    /// ```
    /// use tripline_core::*;
    ///
    /// static CLOCK: MockClock = MockClock::new();
    /// static BUS: SharedBreaker<CountWindow<8>, &MockClock> =
    ///     SharedBreaker::new(Config::DEFAULT, CountWindow::new(), &CLOCK);
    ///
    /// BUS.lock(|b| b.force_open()).unwrap();
    /// assert_eq!(BUS.state(), Ok(State::ForcedOpen));
    /// ```
    pub fn lock<R>(&self, f: impl FnOnce(&mut Inner<W, C>) -> R) -> Result<R, Busy> {
        let (result, events) = L::with(&self.inner, |b| {
            let r = f(b);
            (r, b.observer().take_all())
        })
        .ok_or(Busy)?;
        for event in events.iter().flatten() {
            self.observer.on_event(event);
        }
        Ok(result)
    }

    /// Asks to make one call; the permit cancels itself if dropped.
    ///
    /// # Errors
    /// [`Rejected`], as [`Breaker::try_acquire`]; reason `Busy` if re-entered.
    ///
    /// ```
    /// use tripline_core::*;
    ///
    /// static CLOCK: MockClock = MockClock::new();
    /// static BUS: SharedBreaker<CountWindow<8>, &MockClock> =
    ///     SharedBreaker::new(Config::DEFAULT, CountWindow::new(), &CLOCK);
    ///
    /// let permit = BUS.try_acquire().unwrap();
    /// drop(permit); // never recorded: cancelled, not lost
    /// assert_eq!(BUS.metrics().unwrap().cancelled, 1);
    /// ```
    pub fn try_acquire(&self) -> Result<SharedPermit<&Self>, Rejected> {
        Self::try_acquire_via(self)
    }

    /// As [`try_acquire`](SharedBreaker::try_acquire), for a permit that
    /// owns its way to the breaker (an `Arc`, say) and so can outlive the
    /// borrow, as a `'static` future's permit must.
    ///
    /// # Errors
    /// As [`try_acquire`](SharedBreaker::try_acquire).
    ///
    /// ```
    /// use tripline_core::*;
    ///
    /// static CLOCK: MockClock = MockClock::new();
    /// static BUS: SharedBreaker<CountWindow<8>, &MockClock> =
    ///     SharedBreaker::new(Config::DEFAULT, CountWindow::new(), &CLOCK);
    ///
    /// // Any `Deref` to the breaker works: `&'static`, `Arc`, `Rc`.
    /// let permit = SharedBreaker::try_acquire_via(&BUS).unwrap();
    /// assert_eq!(permit.record(Outcome::Success), Ok(Recorded::Counted));
    /// ```
    pub fn try_acquire_via<B: Deref<Target = Self>>(
        breaker: B,
    ) -> Result<SharedPermit<B>, Rejected> {
        let permit = breaker
            .lock(Breaker::try_acquire)
            .unwrap_or(Err(Rejected::new(RejectReason::Busy, None)))?;
        Ok(SharedPermit {
            breaker,
            permit: Some(permit),
        })
    }

    /// Runs `f` if admitted, counting `Err` as a failure.
    ///
    /// # Errors
    /// As [`Breaker::call`].
    pub fn call<T, E>(&self, f: impl FnOnce() -> Result<T, E>) -> Result<T, CallError<E>> {
        self.call_with(f, Outcome::of)
    }

    /// Runs `f` if admitted, recording what `classify` makes of the result.
    /// The lock is not held while `f` runs.
    ///
    /// # Errors
    /// As [`Breaker::call`].
    pub fn call_with<T, E>(
        &self,
        f: impl FnOnce() -> Result<T, E>,
        classify: impl FnOnce(&Result<T, E>) -> Outcome,
    ) -> Result<T, CallError<E>> {
        let permit = self.try_acquire().map_err(CallError::Rejected)?;
        let result = f();
        let _ = permit.record(classify(&result));
        result.map_err(CallError::Inner)
    }

    /// [`Breaker::state`].
    ///
    /// # Errors
    /// [`Busy`] if re-entered.
    pub fn state(&self) -> Result<State, Busy> {
        self.lock(|b| b.state())
    }

    /// [`Breaker::metrics`].
    ///
    /// # Errors
    /// [`Busy`] if re-entered.
    pub fn metrics(&self) -> Result<Metrics, Busy> {
        self.lock(|b| b.metrics())
    }

    /// [`Breaker::retry_after`].
    ///
    /// # Errors
    /// [`Busy`] if re-entered.
    pub fn retry_after(&self) -> Result<Option<Duration>, Busy> {
        self.lock(|b| b.retry_after())
    }

    /// [`Breaker::transition_to`].
    ///
    /// # Errors
    /// [`Busy`] if re-entered; the inner result carries a [`TransitionError`].
    pub fn transition_to(&self, to: State) -> Result<Result<(), TransitionError>, Busy> {
        self.lock(|b| b.transition_to(to))
    }

    /// [`Breaker::reset`].
    ///
    /// # Errors
    /// [`Busy`] if re-entered.
    pub fn reset(&self) -> Result<(), Busy> {
        self.lock(Breaker::reset)
    }
}

/// A permit of a [`SharedBreaker`]: record the outcome, or drop it to cancel.
///
/// `B` is how the permit reaches its breaker: `&SharedBreaker` from
/// [`try_acquire`](SharedBreaker::try_acquire), or an owning pointer such as
/// an `Arc` from [`try_acquire_via`](SharedBreaker::try_acquire_via). Dropping
/// it unrecorded (an early return, a dropped future, a panic unwinding through
/// it) cancels the call, so a half-open slot is never lost.
#[must_use = "dropping a permit cancels it; record the outcome instead"]
pub struct SharedPermit<B: BreakerRef> {
    breaker: B,
    permit: Option<Permit>,
}

impl<B: BreakerRef> SharedPermit<B> {
    /// Records the call's outcome, as [`Breaker::record`].
    ///
    /// # Errors
    /// [`Busy`] if re-entered; the permit is then cancelled on drop instead.
    pub fn record(mut self, outcome: Outcome) -> Result<Recorded, Busy> {
        self.breaker.settle(&mut self.permit, Some(outcome))
    }
}

impl<B: BreakerRef> Drop for SharedPermit<B> {
    fn drop(&mut self) {
        if self.permit.is_some() {
            let _ = self.breaker.settle(&mut self.permit, None);
        }
    }
}

impl<B: BreakerRef> core::fmt::Debug for SharedPermit<B> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SharedPermit")
            .field("permit", &self.permit)
            .finish_non_exhaustive()
    }
}

/// A way to reach a [`SharedBreaker`]: `&SharedBreaker`, `Arc<SharedBreaker>`,
/// any `Deref` to one. What a [`SharedPermit`] holds; implemented for you.
pub trait BreakerRef {
    /// Records `outcome` for the permit in `slot` (or cancels it if `None`),
    /// taking it out of the slot under the lock; leaves it there on [`Busy`].
    ///
    /// # Errors
    /// [`Busy`] if re-entered.
    fn settle(&self, slot: &mut Option<Permit>, outcome: Option<Outcome>)
        -> Result<Recorded, Busy>;
}

impl<B, W, C, O, L> BreakerRef for B
where
    B: Deref<Target = SharedBreaker<W, C, O, L>>,
    W: Window,
    C: Clock,
    O: Observer,
    L: LockKind,
{
    fn settle(
        &self,
        slot: &mut Option<Permit>,
        outcome: Option<Outcome>,
    ) -> Result<Recorded, Busy> {
        self.lock(|b| match (slot.take(), outcome) {
            (Some(permit), Some(outcome)) => b.record(permit, outcome),
            (Some(permit), None) => b.cancel(permit),
            (None, _) => Recorded::Stale,
        })
    }
}
