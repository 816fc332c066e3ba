//! The state machine: [`Breaker`], owned and driven through `&mut self`.
//!
//! This file holds admission, outcomes and reads; `transition` holds the
//! moves between states, automatic and by hand.

mod transition;

use core::time::Duration;

use crate::fixed::{ConfigSource, FixedConfig};
use crate::machine::Machine;
use crate::observe::{Event, Interest, Sink};
use crate::policy::{self, RuleSet};
use crate::tally::Count;
use crate::window::{Sample, Window};
use crate::{
    CallError, Clock, Config, Instant, Metrics, OnCancel, Outcome, Permit, Reason, Recorded,
    RejectReason, Rejected, State,
};

/// A circuit breaker over a [`Window`] `W` and a [`Clock`] `C`, reporting to
/// an [`Observer`](crate::Observer) `O` (or `()`, none).
///
/// No lock, no allocation, no float: for one owner (a task, a driver, a
/// `RefCell`). Share it between contexts with
/// [`SharedBreaker`](crate::SharedBreaker).
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use core::time::Duration;
/// use tripline::{Breaker, CallError, Config, CountWindow, MockClock, State};
///
/// let clock = MockClock::new();
/// let config = Config::builder()
///     .consecutive_failures(3)
///     .open_duration(Duration::from_secs(10))
///     .build()
///     .unwrap();
/// let mut breaker = Breaker::new(config, CountWindow::<16>::new(), &clock);
///
/// for _ in 0..3 {
///     let _ = breaker.call(|| Err::<(), _>("sensor NAK"));
/// }
/// assert_eq!(breaker.state(), State::Open);
/// // Rejected without running the closure.
/// assert!(matches!(breaker.call(|| Ok::<_, ()>(42)), Err(CallError::Rejected(_))));
///
/// clock.advance(Duration::from_secs(10));
/// assert_eq!(breaker.state(), State::HalfOpen);
/// assert_eq!(breaker.call(|| Ok::<_, ()>(42)), Ok(42)); // the probe closes it
/// assert_eq!(breaker.state(), State::Closed);
/// ```
#[derive(Debug)]
pub struct Breaker<W, C, O = (), K = Config> {
    /// The configuration, or the [`FixedConfig`] type that names it.
    config: K,
    window: W,
    clock: C,
    observer: O,
    m: Machine,
}

/// The minimum calls before rates count, lowered to the window's capacity
/// (or a rate rule could never fire).
pub(crate) const fn min_calls<W: Window>(config: &Config) -> u32 {
    match W::CAPACITY {
        Some(cap) if cap < config.minimum_calls => cap,
        _ => config.minimum_calls,
    }
}

impl<W: Window, C: Clock> Breaker<W, C> {
    /// A breaker in the configuration's initial state, with no observer.
    ///
    /// Reads no clock: time starts counting at the first operation that needs it.
    pub const fn new(config: Config, window: W, clock: C) -> Self {
        Breaker::assemble(Machine::new(&config), config, window, clock, ())
    }
}

impl<W: Window, C: Clock, K: FixedConfig> Breaker<W, C, (), K> {
    /// A breaker whose configuration is `K::CONFIG`, fixed at compile
    /// time: none is kept in RAM, and the code of what it leaves unused is
    /// not linked (see [`FixedConfig`]).
    pub const fn fixed(config: K, window: W, clock: C) -> Self {
        Breaker::assemble(Machine::new(&K::CONFIG), config, window, clock, ())
    }
}

impl<W, C, O, K> Breaker<W, C, O, K> {
    /// The one constructor, `const` so that breakers can live in statics;
    /// `m` is the machine for the configuration `config` names.
    pub(crate) const fn assemble(m: Machine, config: K, window: W, clock: C, observer: O) -> Self {
        Breaker {
            m,
            config,
            window,
            clock,
            observer,
        }
    }
}

impl<W, C, O, K: ConfigSource> Breaker<W, C, O, K> {
    /// The configuration.
    pub fn config(&self) -> &Config {
        self.config.config()
    }
}

impl<W, C, O, K> Breaker<W, C, O, K> {
    /// The same breaker, reporting its events to `observer`.
    pub fn with_observer<O2: Sink>(self, observer: O2) -> Breaker<W, C, O2, K> {
        Breaker {
            config: self.config,
            window: self.window,
            clock: self.clock,
            observer,
            m: self.m,
        }
    }

    /// The observer.
    pub const fn observer(&self) -> &O {
        &self.observer
    }

    /// The clock.
    pub const fn clock(&self) -> &C {
        &self.clock
    }

    /// The current generation: bumped by every state change and reset.
    pub const fn generation(&self) -> u64 {
        self.m.generation
    }

    pub(crate) const fn machine(&self) -> &Machine {
        &self.m
    }
}

impl<W: Window, C: Clock, O: Sink, K: ConfigSource> Breaker<W, C, O, K> {
    // ----- admission -------------------------------------------------------

    /// Asks to make one call.
    ///
    /// Closed, Disabled and MetricsOnly admit; HalfOpen admits while probe
    /// slots are free; Open and ForcedOpen reject, saying when to retry.
    /// Reads the clock only when the state or the configuration needs time.
    ///
    /// # Errors
    /// [`Rejected`] when the call may not go ahead; it is counted in `rejected`.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::*;
    ///
    /// let clock = MockClock::new();
    /// let mut b = Breaker::new(Config::default(), CountWindow::<8>::new(), &clock);
    /// let permit = b.try_acquire().expect("closed admits");
    /// let result: Result<u16, ()> = Ok(20); // the protected call
    /// assert_eq!(b.record(permit, Outcome::of(&result)), Recorded::Counted);
    /// ```
    #[inline]
    pub fn try_acquire(&mut self) -> Result<Permit, Rejected> {
        match self.admit_untimed() {
            Some(permit) => Ok(permit),
            None => self.acquire_at(&mut Lazy::default()),
        }
    }

    /// Gives a permit back with the call's outcome, and says what became of it.
    ///
    /// In Closed (and MetricsOnly) the outcome goes into the window and the
    /// trip rules are checked, successes included. In HalfOpen a failure (or
    /// a slow success) re-opens at once and enough successes close.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::*;
    ///
    /// let clock = MockClock::new();
    /// let cfg = Config::builder().consecutive_failures(1).build().unwrap();
    /// let mut b = Breaker::new(cfg, CountWindow::<8>::new(), &clock);
    /// let early = b.try_acquire().unwrap();
    /// let late = b.try_acquire().unwrap();
    /// assert_eq!(b.record(early, Outcome::Failure), Recorded::Counted); // trips
    /// // A result from before the trip changes nothing but the `stale` count.
    /// assert_eq!(b.record(late, Outcome::Success), Recorded::Stale);
    /// assert_eq!(b.state(), State::Open);
    /// ```
    #[inline]
    pub fn record(&mut self, permit: Permit, outcome: Outcome) -> Recorded {
        if outcome == Outcome::Success
            && permit.generation == self.m.generation
            && !self.config.config().measures_durations()
            && self.success_is_noop()
        {
            // The window and the streak would stay as they are.
            self.m.counts.bump(Count::Success);
            self.emit(Interest::SUCCESS, || Event::Success {
                duration_us: None,
                slow: false,
            });
            return Recorded::Counted;
        }
        self.record_slow(&permit, outcome)
    }

    /// [`record`](Self::record) when the outcome may change more than a count.
    #[inline(never)]
    fn record_slow(&mut self, permit: &Permit, outcome: Outcome) -> Recorded {
        self.record_at(permit, outcome, &mut Lazy::default())
    }

    /// Gives back a permit whose call never finished (timed out by the
    /// caller, dropped, aborted).
    ///
    /// By default only the `cancelled` metric counts it and a half-open probe
    /// slot is freed; under [`OnCancel::CountAsFailure`] it counts as a failure.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::time::Duration;
    /// use tripline::*;
    ///
    /// let clock = MockClock::new();
    /// let cfg = Config::builder().consecutive_failures(1).build().unwrap();
    /// let mut b = Breaker::new(cfg, CountWindow::<8>::new(), &clock);
    /// let _ = b.call(|| Err::<(), _>(()));
    /// clock.advance(Duration::from_secs(30));
    /// let probe = b.try_acquire().unwrap();
    /// assert!(b.try_acquire().is_err()); // the one probe slot is taken
    /// assert_eq!(b.cancel(probe), Recorded::Cancelled);
    /// assert!(b.try_acquire().is_ok()); // and given back
    /// ```
    pub fn cancel(&mut self, permit: Permit) -> Recorded {
        self.cancel_at(&permit, &mut Lazy::default())
    }

    // ----- calls -----------------------------------------------------------

    /// Runs `f` if the breaker admits it, counting `Err` as a failure.
    ///
    /// # Errors
    /// [`CallError::Rejected`] without running `f`, or [`CallError::Inner`]
    /// with `f`'s error.
    pub fn call<T, E>(&mut self, f: impl FnOnce() -> Result<T, E>) -> Result<T, CallError<E>> {
        self.call_with(f, Outcome::of)
    }

    /// Runs `f` if the breaker admits it, and records what `classify` makes of
    /// its result: the way to say "a 404 is not an outage" ([`Outcome::Ignored`])
    /// or "this 200 carries an error" ([`Outcome::Failure`]).
    ///
    /// If `f` or `classify` panics (with unwinding), the permit is cancelled.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::{Breaker, Config, CountWindow, MockClock, Outcome, State};
    ///
    /// #[derive(Debug)]
    /// enum HttpError { NotFound, Unavailable }
    ///
    /// let clock = MockClock::new();
    /// let cfg = Config::builder().consecutive_failures(2).build().unwrap();
    /// let mut b = Breaker::new(cfg, CountWindow::<8>::new(), &clock);
    /// let classify = |r: &Result<(), HttpError>| match r {
    ///     Ok(()) => Outcome::Success,
    ///     Err(HttpError::NotFound) => Outcome::Ignored,
    ///     Err(HttpError::Unavailable) => Outcome::Failure,
    /// };
    /// for _ in 0..5 {
    ///     let _ = b.call_with(|| Err(HttpError::NotFound), classify);
    /// }
    /// assert_eq!(b.state(), State::Closed);
    /// assert_eq!(b.metrics().ignored, 5);
    /// ```
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub fn call_with<T, E>(
        &mut self,
        f: impl FnOnce() -> Result<T, E>,
        classify: impl FnOnce(&Result<T, E>) -> Outcome,
    ) -> Result<T, CallError<E>> {
        let permit = self.try_acquire().map_err(CallError::Rejected)?;
        let mut guard = CancelOnDrop {
            breaker: self,
            permit: Some(permit),
        };
        let result = f();
        let outcome = classify(&result);
        if let Some(permit) = guard.permit.take() {
            guard.breaker.record(permit, outcome);
        }
        // Given back: nothing left for the guard to do.
        core::mem::forget(guard);
        result.map_err(CallError::Inner)
    }

    // ----- reads -----------------------------------------------------------

    /// The state now. Open reads as HalfOpen from the moment the open time
    /// has passed, and HalfOpen as Open once its time limit has, even before
    /// an operation performs the transition.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::time::Duration;
    /// use tripline::*;
    ///
    /// let clock = MockClock::new();
    /// let cfg = Config::builder().consecutive_failures(1).open_duration(Duration::from_secs(1)).build().unwrap();
    /// let mut b = Breaker::new(cfg, CountWindow::<8>::new(), &clock);
    /// let _ = b.call(|| Err::<(), _>(()));
    /// clock.advance(Duration::from_millis(999));
    /// assert_eq!(b.state(), State::Open);
    /// clock.advance(Duration::from_millis(1));
    /// assert_eq!(b.state(), State::HalfOpen); // inclusive, no operation needed
    /// ```
    pub fn state(&self) -> State {
        match self.m.state {
            State::Open | State::HalfOpen => {
                self.m.state_at::<K>(self.config.config(), self.peek_now())
            }
            s => s,
        }
    }

    /// How long until a call may be admitted: zero when it would be now,
    /// the rest of the open time when open, `None` when unknown: forced open,
    /// or half-open with every probe out (a slot frees only when a probe
    /// comes back, and at the half-open time limit the breaker re-opens).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::time::Duration;
    /// use tripline::*;
    ///
    /// let clock = MockClock::new();
    /// let mut b = Breaker::new(Config::default(), CountWindow::<8>::new(), &clock);
    /// assert_eq!(b.retry_after(), Some(Duration::ZERO));
    /// b.force_open();
    /// assert_eq!(b.retry_after(), None);
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after_micros().map(Duration::from_micros)
    }

    /// [`retry_after`](Self::retry_after) in microseconds.
    pub fn retry_after_micros(&self) -> Option<u64> {
        self.m
            .retry_after_at::<K>(self.config.config(), self.peek_now())
    }

    /// A snapshot of state and counters.
    pub fn metrics(&self) -> Metrics {
        let now = self.peek_now();
        let window = self.window.totals(now);
        self.m.metrics_at::<K>(
            self.config.config(),
            min_calls::<W>(self.config.config()),
            window,
            now,
            &(),
        )
    }

    /// The current time for `&self` reads, without remembering it.
    fn peek_now(&self) -> Instant {
        crate::clock::read(&self.clock).max(self.m.latest)
    }
}

/// Where an operation gets the time: read from the breaker's clock `C` once,
/// when first needed (twice when the first reading looks like a glitch).
pub(crate) trait Reading<C> {
    /// The clock's reading (the same one for the rest of the operation).
    fn read(&mut self, clock: &C) -> Instant;
    /// A fresh reading, which the rest of the operation then uses.
    fn read_again(&mut self, clock: &C) -> Instant;
    /// Makes `t` the reading the rest of the operation uses.
    fn settle(&mut self, t: Instant);
}

/// The [`Reading`] of a breaker that owns its clock.
#[derive(Default)]
pub(crate) struct Lazy(Option<Instant>);

impl<C: Clock> Reading<C> for Lazy {
    fn read(&mut self, clock: &C) -> Instant {
        *self.0.get_or_insert_with(|| crate::clock::read(clock))
    }

    fn read_again(&mut self, clock: &C) -> Instant {
        *self.0.insert(crate::clock::read(clock))
    }

    fn settle(&mut self, t: Instant) {
        self.0 = Some(t);
    }
}

impl<W: Window, C, O: Sink, K: ConfigSource> Breaker<W, C, O, K> {
    /// Whether a current success, not slow, would change nothing but the
    /// success count: Closed or MetricsOnly, no failure in the streak, no
    /// rule reported, and a window that a success leaves as it is (a full
    /// count window without a failure or a slow call). What lets a shared
    /// breaker count such a success without its lock.
    #[inline]
    pub(crate) fn success_is_noop(&self) -> bool {
        matches!(self.m.state, State::Closed | State::MetricsOnly)
            && self.m.consecutive_failures == 0
            && self.m.reported == RuleSet::EMPTY
            && self.window.absorbs_success()
    }

    /// Admits without reading the clock where that changes nothing but the
    /// count: Closed, MetricsOnly or Disabled, not timing calls.
    #[inline]
    fn admit_untimed(&mut self) -> Option<Permit> {
        let untimed = matches!(
            self.m.state,
            State::Closed | State::MetricsOnly | State::Disabled
        ) && !self.config.config().measures_durations();
        untimed.then(|| {
            self.m.counts.bump(Count::Permitted);
            Permit {
                generation: self.m.generation,
                started: Instant::ZERO,
            }
        })
    }

    /// The time now, never earlier than any time seen before, read through
    /// `r` once per operation.
    ///
    /// A reading further ahead of the latest one than the longest time the
    /// breaker can be open ([`Config::clock_horizon_us`]) is checked with a
    /// second reading: if the clock stands by it (the breaker was idle, or
    /// the clock was set forward), it is the time; if not, it was a glitch,
    /// counted in `clock_glitches`, and the latest sane reading stands. One
    /// bad reading can so neither latch time at the end of the range nor
    /// make a later open time never end.
    fn now(&mut self, r: &mut impl Reading<C>) -> Instant {
        let t = r.read(&self.clock);
        let latest = self.m.latest;
        if t <= latest {
            return latest;
        }
        let horizon = self.config.config().clock_horizon_us();
        if t.saturating_micros_since(latest) <= horizon {
            self.m.latest = t;
            return t;
        }
        self.confirm_jump(t, r)
    }

    /// [`now`](Self::now) for a reading `t` past the horizon: a second
    /// reading decides whether it is time or a glitch. Rare, so out of line.
    #[cold]
    #[inline(never)]
    fn confirm_jump(&mut self, t: Instant, r: &mut impl Reading<C>) -> Instant {
        let latest = self.m.latest;
        let horizon = self.config.config().clock_horizon_us();
        let again = r.read_again(&self.clock);
        let accepted = if again >= t && again.saturating_micros_since(t) <= horizon {
            again
        } else {
            self.m.clock_glitches = self.m.clock_glitches.saturating_add(1);
            if again > latest && again.saturating_micros_since(latest) <= horizon {
                again
            } else {
                latest
            }
        };
        r.settle(accepted);
        self.m.latest = accepted;
        accepted
    }

    /// Moves the latest time seen up to `t`, a reading another context
    /// already made (a shared breaker's lock-free operations).
    pub(crate) fn catch_up_latest(&mut self, t: Instant) {
        if t > self.m.latest {
            self.m.latest = t;
        }
    }

    /// The time now if the state has a timer (Open, HalfOpen), which the
    /// operation must first catch up with.
    fn timer_now(&mut self, r: &mut impl Reading<C>) -> Option<Instant> {
        matches!(self.m.state, State::Open | State::HalfOpen).then(|| self.now(r))
    }

    /// [`try_acquire`](Self::try_acquire), reading the clock through `r`.
    pub(crate) fn acquire_at(&mut self, r: &mut impl Reading<C>) -> Result<Permit, Rejected> {
        let now = self.timer_now(r);
        self.catch_up(now);
        let now = now.unwrap_or(self.m.latest);
        match self.m.state {
            State::Closed | State::MetricsOnly | State::Disabled => Ok(self.admit(r)),
            State::HalfOpen if !self.m.probes_full(self.config.config()) => {
                let permit = self.admit(r);
                // Below `half_open_permits` (the guard), so never saturates.
                self.m.probes_admitted = self.m.probes_admitted.saturating_add(1);
                Ok(permit)
            }
            State::HalfOpen => Err(self.reject(RejectReason::HalfOpenFull, now)),
            State::Open => Err(self.reject(RejectReason::Open, now)),
            State::ForcedOpen => Err(self.reject(RejectReason::ForcedOpen, now)),
        }
    }

    fn admit(&mut self, r: &mut impl Reading<C>) -> Permit {
        let started = if self.config.config().measures_durations() {
            self.now(r)
        } else {
            Instant::ZERO
        };
        self.m.counts.bump(Count::Permitted);
        Permit {
            generation: self.m.generation,
            started,
        }
    }

    fn reject(&mut self, reason: RejectReason, now: Instant) -> Rejected {
        self.m.counts.bump(Count::Rejected);
        let rejected = Rejected::new(reason, self.m.wait_at(self.config.config(), now));
        self.emit(Interest::REJECTED, || Event::Rejected(rejected));
        rejected
    }

    // ----- outcomes --------------------------------------------------------

    /// [`record`](Self::record), reading the clock through `r`.
    pub(crate) fn record_at(
        &mut self,
        permit: &Permit,
        outcome: Outcome,
        r: &mut impl Reading<C>,
    ) -> Recorded {
        let now = self.timer_now(r);
        self.catch_up(now);
        if permit.generation != self.m.generation {
            return self.stale();
        }
        match outcome {
            Outcome::Ignored => {
                self.m.counts.bump(Count::Ignored);
                self.release_probe();
                self.emit_outcome(Interest::IGNORED, || Event::Ignored);
                Recorded::Ignored
            }
            Outcome::Success => self.count(permit, false, None, r),
            Outcome::Failure | Outcome::FailureRetryAfter(_) => {
                self.count(permit, true, outcome.retry_after_us(), r)
            }
        }
    }

    /// [`cancel`](Self::cancel), reading the clock through `r`.
    pub(crate) fn cancel_at(&mut self, permit: &Permit, r: &mut impl Reading<C>) -> Recorded {
        let now = self.timer_now(r);
        self.catch_up(now);
        if permit.generation != self.m.generation {
            return self.stale();
        }
        match self.config.config().on_cancel {
            OnCancel::CountAsFailure => self.count(permit, true, None, r),
            OnCancel::Release => {
                self.m.counts.bump(Count::Cancelled);
                self.release_probe();
                self.emit_outcome(Interest::CANCELLED, || Event::Cancelled);
                Recorded::Cancelled
            }
        }
    }

    fn stale(&mut self) -> Recorded {
        self.m.counts.bump(Count::Stale);
        self.emit_outcome(Interest::STALE, || Event::Stale);
        Recorded::Stale
    }

    fn release_probe(&mut self) {
        if self.m.state == State::HalfOpen {
            self.m.probes_admitted = self.m.probes_admitted.saturating_sub(1);
        }
    }

    /// Counts a success or a failure. The clock is read first, before
    /// anything changes, whenever the outcome may need the time: a clock
    /// that panics leaves the breaker as it was.
    fn count(
        &mut self,
        permit: &Permit,
        failed: bool,
        open_for_us: Option<u64>,
        r: &mut impl Reading<C>,
    ) -> Recorded {
        let changes_state = match self.m.state {
            State::Closed | State::MetricsOnly => failed || !self.success_is_noop(),
            State::HalfOpen => true,
            State::Disabled | State::Open | State::ForcedOpen => false,
        };
        let now = if changes_state || self.config.config().measures_durations() {
            self.now(r)
        } else {
            self.m.latest
        };
        let duration_us = if self.config.config().measures_durations() {
            let d = now.saturating_micros_since(permit.started);
            self.m.counts.time(d);
            Some(d)
        } else {
            None
        };
        let slow = self.config.config().slow_rate_permille > 0
            && duration_us.is_some_and(|d| d > self.config.config().slow_call_us);
        let c = &mut self.m.counts;
        if failed {
            c.bump(Count::Failure);
            c.slow_failures = c.slow_failures.wrapping_add(u64::from(slow));
        } else {
            c.bump(Count::Success);
            c.slow_successes = c.slow_successes.wrapping_add(u64::from(slow));
        }
        if self.m.state != State::Disabled {
            self.m.consecutive_failures = if failed {
                self.m.consecutive_failures.saturating_add(1)
            } else {
                0
            };
        }
        if failed {
            self.emit_outcome(Interest::FAILURE, || Event::Failure { duration_us, slow });
        } else {
            self.emit_outcome(Interest::SUCCESS, || Event::Success { duration_us, slow });
        }

        // A server's retry-after, capped by the configuration.
        let retry_after_us = open_for_us.map(|us| us.min(self.config.config().max_retry_after_us));
        match self.m.state {
            State::Closed | State::MetricsOnly => {
                self.window.record(now, Sample { failed, slow });
                self.check_rules(now, retry_after_us);
            }
            State::HalfOpen if failed || slow => {
                let reason = match retry_after_us {
                    Some(_) => Reason::RetryAfter,
                    None if failed => Reason::ProbeFailed,
                    None => Reason::ProbeSlow,
                };
                self.open(reason, retry_after_us, now);
            }
            State::HalfOpen => {
                // Below `half_open_successes` until it closes: never saturates.
                self.m.probe_successes = self.m.probe_successes.saturating_add(1);
                if self.m.probe_successes >= self.config.config().half_open_successes {
                    self.enter(State::Closed, Reason::ProbesSucceeded, now);
                }
            }
            // Disabled counts totals only; Open and ForcedOpen issue no permits
            // of their own generation, so nothing arrives here.
            State::Disabled | State::Open | State::ForcedOpen => {}
        }
        Recorded::Counted
    }

    /// After a counted outcome in Closed or MetricsOnly: report the rules
    /// reached, and trip if Closed. An outcome carrying a retry-after opens
    /// a Closed breaker for that long whether a rule is reached or not.
    fn check_rules(&mut self, now: Instant, retry_after_us: Option<u64>) {
        let totals = self.window.totals(now);
        let streak = self.m.consecutive_failures;
        let reached = policy::reached(
            self.config.config(),
            totals,
            streak,
            min_calls::<W>(self.config.config()),
        );
        let new = reached.without(self.m.reported);
        for rule in RuleSet::ALL {
            if new.contains(rule) {
                self.emit(Interest::THRESHOLD, || {
                    let (value, threshold) =
                        policy::measure(self.config.config(), rule, totals, streak);
                    Event::ThresholdExceeded {
                        rule,
                        value,
                        threshold,
                    }
                });
            }
        }
        match (self.m.state, retry_after_us, reached.first()) {
            (State::Closed, Some(us), _) => self.open(Reason::RetryAfter, Some(us), now),
            (State::Closed, None, Some(rule)) => self.open(Reason::Tripped(rule), None, now),
            _ => self.m.reported = reached,
        }
    }

    /// The window's totals at `now`, for publishing.
    pub(crate) fn window_totals(&self, now: Instant) -> crate::window::Totals {
        self.window.totals(now)
    }

    /// Reports a call's outcome, unless Disabled, which reports only that
    /// it was entered and left.
    fn emit_outcome(&self, kind: Interest, event: impl FnOnce() -> Event) {
        if self.m.state != State::Disabled {
            self.emit(kind, event);
        }
    }

    /// Builds and reports an event of `kind`, if the observer wants it.
    fn emit(&self, kind: Interest, event: impl FnOnce() -> Event) {
        if O::INTEREST.intersects(kind) && self.observer.interest().intersects(kind) {
            self.observer.on_event(&event());
        }
    }
}

/// Cancels the permit of a [`Breaker::call_with`] if `f` unwinds.
struct CancelOnDrop<'a, W: Window, C: Clock, O: Sink, K: ConfigSource> {
    breaker: &'a mut Breaker<W, C, O, K>,
    permit: Option<Permit>,
}

impl<W: Window, C: Clock, O: Sink, K: ConfigSource> Drop for CancelOnDrop<'_, W, C, O, K> {
    fn drop(&mut self) {
        if let Some(permit) = self.permit.take() {
            self.breaker.cancel(permit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CountWindow, MockClock};

    /// A permit held across 2³² state changes must not pass for one of the
    /// new episode's: cancelling it would free a probe slot it never took.
    #[test]
    fn a_permit_from_two_to_the_32_generations_ago_is_stale() {
        let clock = MockClock::new();
        let config = match Config::builder().consecutive_failures(1).build() {
            Ok(c) => c,
            Err(e) => panic!("{e:?}"),
        };
        let mut b = Breaker::new(config, CountWindow::<4>::new(), &clock);
        let _ = b.transition_to(State::ForcedOpen);
        let _ = b.transition_to(State::HalfOpen);
        let old = b.try_acquire().ok();
        // As if 2³² transitions later, in a new episode whose probe is out.
        b.m.generation = b.m.generation.wrapping_add(1 << 32);
        let probe = b.try_acquire();
        assert!(probe.is_err(), "the slot is still the old permit's");
        b.m.probes_admitted = 0;
        let probe = b.try_acquire().ok();
        assert!(probe.is_some());
        if let Some(old) = old {
            assert_eq!(b.cancel(old), Recorded::Stale);
        }
        assert!(b.try_acquire().is_err(), "no second probe");
    }
}
