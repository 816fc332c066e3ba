//! [`SharedBreaker`]: the breaker behind `&self`, for interrupt handlers,
//! several tasks, several threads or several cores.
//!
//! A healthy call takes no lock and writes no cache line another thread
//! writes: the breaker publishes its state in atomics after every locked
//! operation, so admitting a call while Closed, rejecting one while Open,
//! and counting a success that changes nothing (a full count window without
//! failures or slow calls, no failure streak) read one word and add to the
//! [`Tally`] its lock kind provides. Everything that can change the state —
//! a failure, a slow call, a due transition, half-open probes, forced
//! states, reset — takes the lock, so every decision is the core
//! [`Breaker`]'s. Reads (`state`, `retry_after`, `metrics`) take no lock
//! either. A lock kind may leave the lock-free paths out (its
//! [`FastPath`] is [`Locked`]); the critical-section lock does on chips
//! without native 64-bit atomics, where they would cost more than the lock
//! and the RAM they need.
//!
//! With a [`TimeWindow`](crate::TimeWindow), successes take the lock: its
//! buckets age with time, so a success is never known to change nothing.
//!
//! The lock is a parameter ([`LockKind`]): the provided
//! [`CriticalSectionLock`] works on any chip through the `critical-section`
//! crate (the binary picks the implementation, the library never does);
//! adapters plug in their own, such as a per-breaker mutex on std.
//! No user code runs while the lock is held but the clock, read once at the
//! start of an operation, before anything changes. Events wait in the lock
//! and are delivered after it is released, by one thread at a time, in one
//! order.

mod fast;
mod gate;
mod lock_free;
mod permit;
mod queue;
mod read;

use core::cell::RefCell;
use core::ops::Deref;
use core::time::Duration;

pub use fast::{FastPath, LockFree, Locked};
pub use permit::{BreakerRef, SharedPermit};
pub use queue::{EventQueue, Queue, DEFAULT_QUEUE};

use crate::breaker::Reading;
use crate::fixed::{ConfigSource, FixedConfig};
use crate::machine::Machine;
use crate::observe::Sink;
use crate::tally::{AddTo, Tally};
use crate::window::Window;
use crate::{
    Breaker, CallError, Clock, Config, Instant, Outcome, Permit, Recorded, RejectReason, Rejected,
    State, TransitionError,
};

/// A kind of lock that can guard a value and give `&mut` access to it, and
/// what the breaker keeps outside it for the operations that take none.
///
/// `with` returns `None` only if the lock is already held by the same
/// execution context (a re-entrant call), instead of deadlocking or panicking.
/// No code of a user's runs inside a shared breaker's lock, so with the
/// provided lock kinds only a clock that calls into its own breaker meets it.
pub trait LockKind {
    /// The lock guarding a `T`.
    type Lock<T>;
    /// What the lock-free paths need ([`LockFree`]), or [`Locked`] to take
    /// the lock for every operation: where 64-bit atomics are not native
    /// they would take critical sections of their own, and the firmware
    /// keeps the smaller code and RAM.
    type Fast: FastPath;
    /// Wraps `value` in a lock.
    fn new<T>(value: T) -> Self::Lock<T>;
    /// Runs `f` with exclusive access, or returns `None` if re-entered.
    fn with<T, R>(lock: &Self::Lock<T>, f: impl FnOnce(&mut T) -> R) -> Option<R>;

    /// Runs `f` with exclusive access, or with `None` if re-entered. The
    /// same as [`with`](LockKind::with) but without the `Option` around the
    /// result, which a lock kind may override so that `f` is called from
    /// one place and a large result is built where the caller wants it,
    /// not copied out of an `Option` (reads of metrics use it).
    #[inline(always)]
    fn with_maybe<T, R>(lock: &Self::Lock<T>, f: impl Fn(Option<&mut T>) -> R) -> R {
        Self::with(lock, |value| f(Some(value))).unwrap_or_else(|| f(None))
    }
}

/// What the critical-section lock keeps outside it: the lock-free paths
/// where 64-bit atomics are native.
#[cfg(target_has_atomic = "64")]
pub type CriticalSectionFast = LockFree<crate::tally::AtomicTally>;
/// What the critical-section lock keeps outside it: nothing but a counter,
/// on chips without native 64-bit atomics (every operation takes the lock).
#[cfg(not(target_has_atomic = "64"))]
pub type CriticalSectionFast = Locked;

/// A [`LockKind`] built on `critical_section::with`: interrupts off (or the
/// binary's chosen implementation) for the length of one breaker operation.
#[derive(Clone, Copy, Debug)]
pub struct CriticalSectionLock;

impl LockKind for CriticalSectionLock {
    type Lock<T> = critical_section::Mutex<RefCell<T>>;
    /// Lock-free only where 64-bit atomics are native; a single-core chip's
    /// critical section is a few instructions anyway.
    type Fast = CriticalSectionFast;

    fn new<T>(value: T) -> Self::Lock<T> {
        critical_section::Mutex::new(RefCell::new(value))
    }

    fn with<T, R>(lock: &Self::Lock<T>, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        critical_section::with(|cs| {
            let mut value = lock.borrow(cs).try_borrow_mut().ok()?;
            Some(f(&mut value))
        })
    }

    #[inline(always)]
    fn with_maybe<T, R>(lock: &Self::Lock<T>, f: impl Fn(Option<&mut T>) -> R) -> R {
        critical_section::with(|cs| {
            let mut value = lock.borrow(cs).try_borrow_mut().ok();
            f(value.as_deref_mut())
        })
    }
}

/// The breaker inside a [`SharedBreaker`]'s lock, for an observer `O`: it
/// has no clock of its own (the shared breaker lends it its clock) and
/// queues its events, if `O` wants any.
pub type Inner<W, O = (), K = Config> = Breaker<W, (), <O as Sink>::Queue, K>;

/// The tally a lock kind's lock-free paths count into.
type TallyOf<L> = <<L as LockKind>::Fast as FastPath>::Tally;

/// A lock was re-entered from inside itself; the operation was not performed.
///
/// Only the breaker's clock runs inside its lock, so only a clock that calls
/// back into its own breaker meets `Busy` (a refused admission is counted
/// as a rejection).
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
/// be lost. The clock `C` is read from several contexts, so a static
/// shared breaker needs a `Sync` clock.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::{Config, CountWindow, MockClock, SharedBreaker, State};
///
/// static CLOCK: MockClock = MockClock::new();
/// static SENSOR: SharedBreaker<CountWindow<8>, &MockClock> =
///     SharedBreaker::new(Config::DEFAULT, CountWindow::new(), &CLOCK);
///
/// // From a task, an interrupt handler, another core:
/// let reading = SENSOR.call(|| Ok::<u16, ()>(512));
/// assert_eq!(reading, Ok(512));
/// assert_eq!(SENSOR.state(), State::Closed);
/// ```
pub struct SharedBreaker<W, C, O: Sink = (), L: LockKind = CriticalSectionLock, K = Config> {
    fast: L::Fast,
    clock: C,
    observer: O,
    inner: L::Lock<Inner<W, O, K>>,
}

impl<W: Window, C: Clock> SharedBreaker<W, C, (), CriticalSectionLock> {
    /// A shared breaker guarded by a critical section; `const`, for statics.
    pub const fn new(config: Config, window: W, clock: C) -> Self {
        Self::with_observer(config, window, clock, ())
    }
}

impl<W: Window, C: Clock, O: Sink> SharedBreaker<W, C, O, CriticalSectionLock> {
    /// As [`new`](SharedBreaker::new), reporting events to `observer`.
    pub const fn with_observer(config: Config, window: W, clock: C, observer: O) -> Self {
        let inner = Self::unlocked(config, window);
        Self::from_lock(
            CriticalSectionFast::new(&config),
            critical_section::Mutex::new(RefCell::new(inner)),
            clock,
            observer,
        )
    }
}

impl<W: Window, C: Clock, K: FixedConfig> SharedBreaker<W, C, (), CriticalSectionLock, K> {
    /// A shared breaker guarded by a critical section whose configuration
    /// is `K::CONFIG`, fixed at compile time: none is kept in RAM, and the
    /// code of what it leaves unused is not linked (see [`FixedConfig`]);
    /// `const`, for statics.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::shared::CriticalSectionLock;
    /// use tripline::{Config, CountWindow, FixedConfig, MockClock, SharedBreaker, State};
    ///
    /// struct Bus;
    /// impl FixedConfig for Bus {
    ///     const CONFIG: Config = Config::DEFAULT;
    /// }
    ///
    /// static CLOCK: MockClock = MockClock::new();
    /// static BUS: SharedBreaker<CountWindow<8>, &MockClock, (), CriticalSectionLock, Bus> =
    ///     SharedBreaker::fixed(Bus, CountWindow::new(), &CLOCK);
    ///
    /// assert_eq!(BUS.call(|| Ok::<u8, ()>(7)), Ok(7));
    /// assert_eq!(BUS.state(), State::Closed);
    /// ```
    pub const fn fixed(config: K, window: W, clock: C) -> Self {
        Self::fixed_with_observer(config, window, clock, ())
    }
}

impl<W: Window, C: Clock, O: Sink, K: FixedConfig> SharedBreaker<W, C, O, CriticalSectionLock, K> {
    /// As [`fixed`](SharedBreaker::fixed), reporting events to `observer`.
    pub const fn fixed_with_observer(config: K, window: W, clock: C, observer: O) -> Self {
        let inner = Self::unlocked_fixed(config, window);
        Self::from_lock(
            CriticalSectionFast::new(&K::CONFIG),
            critical_section::Mutex::new(RefCell::new(inner)),
            clock,
            observer,
        )
    }
}

impl<W: Window, C: Clock, O: Sink, L: LockKind, K: FixedConfig> SharedBreaker<W, C, O, L, K> {
    /// As [`unlocked`](SharedBreaker::unlocked), for a configuration fixed
    /// at compile time ([`FixedConfig`]); for adapters whose lock has a
    /// `const` constructor.
    pub const fn unlocked_fixed(config: K, window: W) -> Inner<W, O, K> {
        Self::inner(Machine::new(&K::CONFIG), config, window)
    }
}

impl<W: Window, C: Clock, O: Sink, L: LockKind, K> SharedBreaker<W, C, O, L, K> {
    /// The breaker inside the lock: no clock of its own, `O`'s queue.
    const fn inner(m: Machine, config: K, window: W) -> Inner<W, O, K> {
        Breaker::assemble(m, config, window, (), <O::Queue as Queue>::NEW)
    }

    /// A shared breaker over a lock already holding
    /// [`unlocked`](SharedBreaker::unlocked)'s breaker, with the lock
    /// kind's [`FastPath`] made for the same config (`LockFree::new(&config)`
    /// or `Locked::new(&config)`); `const`, for statics.
    pub const fn from_lock(
        fast: L::Fast,
        inner: L::Lock<Inner<W, O, K>>,
        clock: C,
        observer: O,
    ) -> Self {
        SharedBreaker {
            fast,
            clock,
            observer,
            inner,
        }
    }
}

impl<W: Window, C: Clock, O: Sink, L: LockKind> SharedBreaker<W, C, O, L> {
    /// The breaker for [`from_lock`](SharedBreaker::from_lock) to take once
    /// it is inside its lock; for adapters whose lock has a `const` constructor.
    pub const fn unlocked(config: Config, window: W) -> Inner<W, O> {
        Self::inner(Machine::new(&config), config, window)
    }

    /// A shared breaker over any lock kind (what adapters use).
    pub fn with_lock(config: Config, window: W, clock: C, observer: O) -> Self {
        Self::from_lock(
            L::Fast::for_config(&config),
            L::new(Self::unlocked(config, window)),
            clock,
            observer,
        )
    }
}

impl<W, C, O: Sink, L: LockKind, K> SharedBreaker<W, C, O, L, K> {
    /// The observer.
    pub const fn observer(&self) -> &O {
        &self.observer
    }

    /// The clock.
    pub const fn clock(&self) -> &C {
        &self.clock
    }
}

/// The time of a locked operation: the shared breaker's clock, read once
/// when first needed (before anything changes).
struct Now<'a, C> {
    clock: &'a C,
    at: Option<Instant>,
}

impl<C: Clock> Reading<()> for Now<'_, C> {
    fn read(&mut self, _: &()) -> Instant {
        let clock = self.clock;
        *self.at.get_or_insert_with(|| crate::clock::read(clock))
    }

    fn read_again(&mut self, _: &()) -> Instant {
        *self.at.insert(crate::clock::read(self.clock))
    }

    fn settle(&mut self, t: Instant) {
        self.at = Some(t);
    }
}

/// What a lock-free attempt came to.
enum Fast<T> {
    Done(T),
    Slow,
}

impl<W: Window, C: Clock, O: Sink, L: LockKind, K: ConfigSource> SharedBreaker<W, C, O, L, K> {
    // ----- the locked path -------------------------------------------------

    /// Runs `op` on the breaker under the lock, publishes the result, and
    /// says whether this thread is now the one to deliver events.
    fn locked<R>(
        &self,
        op: impl FnOnce(&mut Inner<W, O, K>, &mut Now<'_, C>) -> R,
    ) -> Result<(R, bool), Busy> {
        let interest = self.observer.interest();
        L::with(&self.inner, |b| {
            b.observer().set_interest(interest);
            let published = self.fast.lock_free();
            if let Some(lf) = published {
                // Lock-free operations read the clock too.
                b.catch_up_latest(lf.gate.latest());
            }
            let mut now = Now {
                clock: &self.clock,
                at: None,
            };
            let r = op(b, &mut now);
            if let Some(lf) = published {
                let m = b.machine();
                lf.gate
                    .publish(m, b.success_is_noop(), b.window_totals(m.latest));
            }
            let claimed = !O::INTEREST.is_empty() && b.observer().claim();
            (r, claimed)
        })
        .ok_or(Busy)
    }

    /// If `claimed`: delivers the waiting events one at a time, each taken
    /// out under the lock, until none waits (events of other threads'
    /// operations included). If an observer panics, the rest waits for the
    /// next operation.
    fn deliver(&self, claimed: bool) {
        struct Abandon<'a, W, O: Sink, L: LockKind, K>(&'a L::Lock<Inner<W, O, K>>);
        impl<W, O: Sink, L: LockKind, K> Drop for Abandon<'_, W, O, L, K> {
            fn drop(&mut self) {
                let _ = L::with(self.0, |b| b.observer().abandon());
            }
        }
        if !claimed {
            return;
        }
        let abandon = Abandon::<W, O, L, K>(&self.inner);
        // `None` from the lock: re-entered, which only the breaker's own
        // clock could do; the next operation delivers.
        while let Some(Some(event)) = L::with(&self.inner, |b| b.observer().pop()) {
            self.observer.on_event(&event);
        }
        core::mem::forget(abandon);
    }

    /// A locked operation, its events delivered.
    fn mutate<R>(
        &self,
        op: impl FnOnce(&mut Inner<W, O, K>, &mut Now<'_, C>) -> R,
    ) -> Result<R, Busy> {
        let (r, claimed) = self.locked(op)?;
        self.deliver(claimed);
        Ok(r)
    }

    /// Records `outcome` (or cancels, if `None`) for the permit in `slot`,
    /// which is emptied only once the permit has been given back.
    #[inline(always)]
    fn settle(
        &self,
        slot: &mut Option<Permit>,
        outcome: Option<Outcome>,
    ) -> Result<Recorded, Busy> {
        match self.fast.lock_free() {
            Some(lf) => self.settle_with(lf, slot, outcome, &lf.tally.local()),
            None => self.settle_locked(slot, outcome),
        }
    }

    /// [`settle`](Self::settle), lock-free if it can be, counting in `tally`.
    #[inline(always)]
    fn settle_with(
        &self,
        lf: &LockFree<TallyOf<L>>,
        slot: &mut Option<Permit>,
        outcome: Option<Outcome>,
        tally: &impl AddTo,
    ) -> Result<Recorded, Busy> {
        let Some(permit) = slot.as_ref() else {
            return Ok(Recorded::Stale);
        };
        if let Fast::Done(r) = self.fast_settle(lf, permit, outcome, tally) {
            *slot = None;
            return Ok(r);
        }
        self.settle_locked(slot, outcome)
    }

    /// [`settle`](Self::settle) under the lock: kept out of line, so the
    /// lock-free path stays small.
    #[cold]
    #[inline(never)]
    fn settle_locked(
        &self,
        slot: &mut Option<Permit>,
        outcome: Option<Outcome>,
    ) -> Result<Recorded, Busy> {
        let Some(permit) = slot.as_ref() else {
            return Ok(Recorded::Stale);
        };
        let (r, claimed) = self.locked(|b, now| match outcome {
            Some(outcome) => b.record_at(permit, outcome, now),
            None => b.cancel_at(permit, now),
        })?;
        *slot = None;
        self.deliver(claimed);
        Ok(r)
    }

    // ----- calls -----------------------------------------------------------

    /// Asks to make one call; the permit cancels itself if dropped.
    ///
    /// # Errors
    /// [`Rejected`], as [`Breaker::try_acquire`].
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::*;
    ///
    /// static CLOCK: MockClock = MockClock::new();
    /// static BUS: SharedBreaker<CountWindow<8>, &MockClock> =
    ///     SharedBreaker::new(Config::DEFAULT, CountWindow::new(), &CLOCK);
    ///
    /// let permit = BUS.try_acquire().unwrap();
    /// drop(permit); // never recorded: cancelled, not lost
    /// assert_eq!(BUS.metrics().cancelled, 1);
    /// ```
    #[inline]
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
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::*;
    ///
    /// static CLOCK: MockClock = MockClock::new();
    /// static BUS: SharedBreaker<CountWindow<8>, &MockClock> =
    ///     SharedBreaker::new(Config::DEFAULT, CountWindow::new(), &CLOCK);
    ///
    /// // Any `Deref` to the breaker works: `&'static`, `Arc`, `Rc`.
    /// let permit = SharedBreaker::try_acquire_via(&BUS).unwrap();
    /// assert_eq!(permit.record(Outcome::Success), Ok(Recorded::Counted));
    /// ```
    #[inline]
    pub fn try_acquire_via<B: Deref<Target = Self>>(
        breaker: B,
    ) -> Result<SharedPermit<B>, Rejected> {
        let fast = match breaker.fast.lock_free() {
            Some(lf) => breaker.fast_acquire(lf, &lf.tally.local()),
            None => Fast::Slow,
        };
        match fast {
            Fast::Done(result) => result.map(|p| SharedPermit::new(breaker, p)),
            Fast::Slow => Self::acquire_locked(breaker),
        }
    }

    /// [`try_acquire_via`](Self::try_acquire_via) under the lock, out of line.
    #[cold]
    #[inline(never)]
    fn acquire_locked<B: Deref<Target = Self>>(breaker: B) -> Result<SharedPermit<B>, Rejected> {
        match breaker.locked(|b, now| b.acquire_at(now)) {
            Ok((Ok(permit), claimed)) => {
                // Guarded before any observer runs: a panicking one cancels it.
                let guarded = SharedPermit::new(breaker, permit);
                guarded.breaker().deliver(claimed);
                Ok(guarded)
            }
            Ok((Err(rejected), claimed)) => {
                breaker.deliver(claimed);
                Err(rejected)
            }
            Err(Busy) => {
                breaker.fast.count_busy_rejection();
                Err(Rejected::new(RejectReason::Busy, None))
            }
        }
    }

    /// Runs `f` if admitted, counting `Err` as a failure.
    ///
    /// # Errors
    /// As [`Breaker::call`].
    #[inline]
    pub fn call<T, E>(&self, f: impl FnOnce() -> Result<T, E>) -> Result<T, CallError<E>> {
        self.call_with(f, Outcome::of)
    }

    /// Runs `f` if admitted, recording what `classify` makes of the result.
    /// The lock is not held while `f` runs.
    ///
    /// # Errors
    /// As [`Breaker::call`].
    #[inline]
    pub fn call_with<T, E>(
        &self,
        f: impl FnOnce() -> Result<T, E>,
        classify: impl FnOnce(&Result<T, E>) -> Outcome,
    ) -> Result<T, CallError<E>> {
        let Some(lf) = self.fast.lock_free() else {
            return self.call_locked(f, classify);
        };
        // A synchronous call stays on its thread: one place to count in.
        let tally = lf.tally.local();
        let permit = match self.fast_acquire(lf, &tally) {
            Fast::Done(Ok(permit)) => permit,
            Fast::Done(Err(rejected)) => return Err(CallError::Rejected(rejected)),
            Fast::Slow => return self.call_locked(f, classify),
        };
        // Cancels if `f` or `classify` unwinds.
        let mut guard = SharedPermit::new(self, permit);
        let result = f();
        let outcome = classify(&result);
        let _ = self.settle_with(lf, guard.slot(), Some(outcome), &tally);
        if guard.slot().is_none() {
            // Given back: nothing left for the guard to do.
            core::mem::forget(guard);
        }
        result.map_err(CallError::Inner)
    }

    /// [`call_with`](Self::call_with) when admission needs the lock.
    #[cold]
    #[inline(never)]
    fn call_locked<T, E>(
        &self,
        f: impl FnOnce() -> Result<T, E>,
        classify: impl FnOnce(&Result<T, E>) -> Outcome,
    ) -> Result<T, CallError<E>> {
        let permit = Self::acquire_locked(self).map_err(CallError::Rejected)?;
        let result = f();
        let _ = permit.record(classify(&result));
        result.map_err(CallError::Inner)
    }

    // ----- by hand ---------------------------------------------------------

    /// [`Breaker::transition_to`].
    ///
    /// # Errors
    /// [`Busy`] if re-entered; the inner result carries a [`TransitionError`].
    pub fn transition_to(&self, to: State) -> Result<Result<(), TransitionError>, Busy> {
        self.mutate(|b, now| b.transition_at(to, now))
    }

    /// [`Breaker::force_open`].
    ///
    /// # Errors
    /// [`Busy`] if re-entered.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::*;
    ///
    /// static CLOCK: MockClock = MockClock::new();
    /// static BUS: SharedBreaker<CountWindow<8>, &MockClock> =
    ///     SharedBreaker::new(Config::DEFAULT, CountWindow::new(), &CLOCK);
    ///
    /// BUS.force_open().unwrap();
    /// assert_eq!(BUS.state(), State::ForcedOpen);
    /// BUS.force_closed().unwrap();
    /// assert_eq!(BUS.state(), State::Closed);
    /// ```
    pub fn force_open(&self) -> Result<(), Busy> {
        self.transition_to(State::ForcedOpen).map(drop)
    }

    /// [`Breaker::force_closed`].
    ///
    /// # Errors
    /// [`Busy`] if re-entered.
    pub fn force_closed(&self) -> Result<(), Busy> {
        self.transition_to(State::Closed).map(drop)
    }

    /// [`Breaker::disable`].
    ///
    /// # Errors
    /// [`Busy`] if re-entered.
    pub fn disable(&self) -> Result<(), Busy> {
        self.transition_to(State::Disabled).map(drop)
    }

    /// [`Breaker::metrics_only`].
    ///
    /// # Errors
    /// [`Busy`] if re-entered.
    pub fn metrics_only(&self) -> Result<(), Busy> {
        self.transition_to(State::MetricsOnly).map(drop)
    }

    /// [`Breaker::reset`].
    ///
    /// # Errors
    /// [`Busy`] if re-entered.
    pub fn reset(&self) -> Result<(), Busy> {
        self.mutate(|b, now| b.reset_at(now))
    }

    /// [`Breaker::open_for`].
    ///
    /// # Errors
    /// [`Busy`] if re-entered.
    pub fn open_for(&self, duration: Duration) -> Result<(), Busy> {
        self.mutate(|b, now| b.open_for_at(duration, now))
    }

    /// [`Breaker::follow_peer`]: whether it opened.
    ///
    /// # Errors
    /// [`Busy`] if re-entered.
    pub fn follow_peer(&self, peer_open_for: Duration, cap: Duration) -> Result<bool, Busy> {
        self.mutate(|b, now| b.follow_peer_at(peer_open_for, cap, now))
    }
}
