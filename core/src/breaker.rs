//! The state machine: [`Breaker`], owned and driven through `&mut self`.

use core::time::Duration;

use crate::observe::{Event, Observer};
use crate::policy::{self, RuleSet};
use crate::window::{Sample, Totals, Window};
use crate::{
    CallError, Clock, Config, Instant, Metrics, OnCancel, Outcome, Permit, Reason, Recorded,
    RejectReason, Rejected, State, TransitionError,
};

/// Lifetime counters; never reset, so that every call is counted once.
#[derive(Clone, Copy, Debug)]
struct Counters {
    permitted: u64,
    rejected: u64,
    successes: u64,
    failures: u64,
    slow: u64,
    ignored: u64,
    cancelled: u64,
    stale: u64,
    duration_sum_us: u64,
    duration_max_us: u64,
}

impl Counters {
    const ZERO: Counters = Counters {
        permitted: 0,
        rejected: 0,
        successes: 0,
        failures: 0,
        slow: 0,
        ignored: 0,
        cancelled: 0,
        stale: 0,
        duration_sum_us: 0,
        duration_max_us: 0,
    };
}

/// A circuit breaker over a [`Window`] `W` and a [`Clock`] `C`, reporting to
/// an [`Observer`] `O`.
///
/// No lock, no allocation, no float: for one owner (a task, a driver, a
/// `RefCell`). Share it between contexts with
/// [`SharedBreaker`](crate::SharedBreaker).
///
/// ```
/// use core::time::Duration;
/// use tripline_core::{Breaker, CallError, Config, CountWindow, MockClock, State};
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
pub struct Breaker<W, C, O = ()> {
    config: Config,
    window: W,
    clock: C,
    observer: O,
    state: State,
    generation: u32,
    /// When the current state began.
    entered_at: Instant,
    /// Open: when it may go half-open.
    open_until: Instant,
    /// HalfOpen: when the episode times out (`MAX`: never).
    half_open_deadline: Instant,
    /// The un-jittered open time of the current backoff step.
    backoff_step_us: u64,
    open_attempts: u32,
    probes_admitted: u32,
    probe_successes: u32,
    consecutive_failures: u32,
    consecutive_successes: u32,
    /// MetricsOnly: rules already reported, so each is reported when first reached.
    reported: RuleSet,
    /// The latest instant seen: time never goes backwards here.
    latest: Instant,
    /// The minimum calls, lowered to the window's capacity.
    min_calls: u32,
    counters: Counters,
}

impl<W: Window, C: Clock> Breaker<W, C> {
    /// A breaker in the configuration's initial state, with no observer.
    ///
    /// Reads no clock: time starts counting at the first operation that needs it.
    pub const fn new(config: Config, window: W, clock: C) -> Self {
        Breaker::assemble(config, window, clock, ())
    }
}

impl<W: Window, C: Clock, O: Observer> Breaker<W, C, O> {
    /// The one constructor, `const` so that breakers can live in statics.
    pub(crate) const fn assemble(config: Config, window: W, clock: C, observer: O) -> Self {
        let min_calls = match W::CAPACITY {
            Some(cap) if cap < config.minimum_calls => cap,
            _ => config.minimum_calls,
        };
        let state = config.initial_state;
        let backoff_step_us = config.open_us;
        Breaker {
            state,
            backoff_step_us,
            config,
            window,
            clock,
            observer,
            generation: 0,
            entered_at: Instant::ZERO,
            open_until: Instant::ZERO,
            half_open_deadline: Instant::MAX,
            open_attempts: 0,
            probes_admitted: 0,
            probe_successes: 0,
            consecutive_failures: 0,
            consecutive_successes: 0,
            reported: RuleSet::EMPTY,
            latest: Instant::ZERO,
            min_calls,
            counters: Counters::ZERO,
        }
    }
}

impl<W: Window, C: Clock, O: Observer> Breaker<W, C, O> {
    /// The same breaker, reporting its events to `observer`.
    pub fn with_observer<O2: Observer>(self, observer: O2) -> Breaker<W, C, O2> {
        Breaker {
            config: self.config,
            window: self.window,
            clock: self.clock,
            observer,
            state: self.state,
            generation: self.generation,
            entered_at: self.entered_at,
            open_until: self.open_until,
            half_open_deadline: self.half_open_deadline,
            backoff_step_us: self.backoff_step_us,
            open_attempts: self.open_attempts,
            probes_admitted: self.probes_admitted,
            probe_successes: self.probe_successes,
            consecutive_failures: self.consecutive_failures,
            consecutive_successes: self.consecutive_successes,
            reported: self.reported,
            latest: self.latest,
            min_calls: self.min_calls,
            counters: self.counters,
        }
    }

    /// The observer.
    pub fn observer(&self) -> &O {
        &self.observer
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }

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
    /// use tripline_core::*;
    ///
    /// let clock = MockClock::new();
    /// let mut b = Breaker::new(Config::default(), CountWindow::<8>::new(), &clock);
    /// let permit = b.try_acquire().expect("closed admits");
    /// let result: Result<u16, ()> = Ok(20); // the protected call
    /// assert_eq!(b.record(permit, Outcome::of(&result)), Recorded::Counted);
    /// ```
    pub fn try_acquire(&mut self) -> Result<Permit, Rejected> {
        let now = self.catch_up();
        match self.state {
            State::Closed | State::MetricsOnly | State::Disabled => Ok(self.admit(now)),
            State::HalfOpen if self.probes_admitted < self.config.half_open_permits => {
                // Below `half_open_permits` (the guard), so never saturates.
                self.probes_admitted = self.probes_admitted.saturating_add(1);
                Ok(self.admit(now))
            }
            State::HalfOpen => Err(self.reject(RejectReason::HalfOpenFull, now)),
            State::Open => Err(self.reject(RejectReason::Open, now)),
            State::ForcedOpen => Err(self.reject(RejectReason::ForcedOpen, now)),
        }
    }

    fn admit(&mut self, now: Option<Instant>) -> Permit {
        self.counters.permitted = self.counters.permitted.wrapping_add(1);
        let started = if self.config.measures_durations() {
            now.unwrap_or_else(|| self.now())
        } else {
            Instant::ZERO
        };
        Permit {
            generation: self.generation,
            started,
        }
    }

    fn reject(&mut self, reason: RejectReason, now: Option<Instant>) -> Rejected {
        self.counters.rejected = self.counters.rejected.wrapping_add(1);
        let now = now.unwrap_or(self.latest);
        let rejected = Rejected::new(reason, self.wait_at(now));
        self.emit(Event::Rejected(rejected));
        rejected
    }

    /// How long from `now` until a call may be admitted, if known.
    fn wait_at(&self, now: Instant) -> Option<u64> {
        match self.state {
            State::Open => Some(self.open_until.saturating_micros_since(now)),
            State::ForcedOpen => None,
            State::HalfOpen if self.probes_admitted >= self.config.half_open_permits => {
                (self.half_open_deadline != Instant::MAX)
                    .then(|| self.half_open_deadline.saturating_micros_since(now))
            }
            _ => Some(0),
        }
    }

    // ----- outcomes --------------------------------------------------------

    /// Gives a permit back with the call's outcome, and says what became of it.
    ///
    /// In Closed (and MetricsOnly) the outcome goes into the window and the
    /// trip rules are checked, successes included. In HalfOpen a failure (or
    /// a slow success) re-opens at once and enough successes close.
    ///
    /// ```
    /// use tripline_core::*;
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
    pub fn record(&mut self, permit: Permit, outcome: Outcome) -> Recorded {
        let now = self.catch_up();
        if permit.generation != self.generation {
            return self.stale();
        }
        match outcome {
            Outcome::Ignored => {
                self.counters.ignored = self.counters.ignored.wrapping_add(1);
                self.release_probe();
                self.emit(Event::Ignored);
                Recorded::Ignored
            }
            Outcome::Success => self.count(&permit, false, None, now),
            Outcome::Failure | Outcome::FailureRetryAfter(_) => {
                self.count(&permit, true, outcome.retry_after_us(), now)
            }
        }
    }

    /// Gives back a permit whose call never finished (timed out by the
    /// caller, dropped, aborted).
    ///
    /// By default only the `cancelled` metric counts it and a half-open probe
    /// slot is freed; under [`OnCancel::CountAsFailure`] it counts as a failure.
    ///
    /// ```
    /// use core::time::Duration;
    /// use tripline_core::*;
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
        let now = self.catch_up();
        if permit.generation != self.generation {
            return self.stale();
        }
        match self.config.on_cancel {
            OnCancel::CountAsFailure => self.count(&permit, true, None, now),
            OnCancel::Release => {
                self.counters.cancelled = self.counters.cancelled.wrapping_add(1);
                self.release_probe();
                self.emit(Event::Cancelled);
                Recorded::Cancelled
            }
        }
    }

    fn stale(&mut self) -> Recorded {
        self.counters.stale = self.counters.stale.wrapping_add(1);
        self.emit(Event::Stale);
        Recorded::Stale
    }

    fn release_probe(&mut self) {
        if self.state == State::HalfOpen {
            self.probes_admitted = self.probes_admitted.saturating_sub(1);
        }
    }

    fn count(
        &mut self,
        permit: &Permit,
        failed: bool,
        open_for_us: Option<u64>,
        mut now: Option<Instant>,
    ) -> Recorded {
        let duration_us = if self.config.measures_durations() {
            let t = *now.get_or_insert_with(|| self.now());
            let d = t.saturating_micros_since(permit.started);
            self.counters.duration_sum_us = self.counters.duration_sum_us.saturating_add(d);
            self.counters.duration_max_us = self.counters.duration_max_us.max(d);
            Some(d)
        } else {
            None
        };
        let slow = self.config.slow_rate_permille > 0
            && duration_us.is_some_and(|d| d > self.config.slow_call_us);
        let c = &mut self.counters;
        if failed {
            c.failures = c.failures.wrapping_add(1);
        } else {
            c.successes = c.successes.wrapping_add(1);
        }
        if self.state != State::Disabled {
            if failed {
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                self.consecutive_successes = 0;
            } else {
                self.consecutive_successes = self.consecutive_successes.saturating_add(1);
                self.consecutive_failures = 0;
            }
        }
        if slow {
            c.slow = c.slow.wrapping_add(1);
        }
        self.emit(if failed {
            Event::Failure { duration_us, slow }
        } else {
            Event::Success { duration_us, slow }
        });

        match self.state {
            State::Closed | State::MetricsOnly => {
                let t = if W::NEEDS_CLOCK {
                    *now.get_or_insert_with(|| self.now())
                } else {
                    now.unwrap_or(Instant::ZERO)
                };
                self.window.record(t, Sample { failed, slow });
                self.check_rules(t, open_for_us, now);
            }
            State::HalfOpen if failed || slow => {
                let reason = if failed {
                    Reason::ProbeFailed
                } else {
                    Reason::ProbeSlow
                };
                self.open(reason, open_for_us, now);
            }
            State::HalfOpen => {
                // Below `half_open_successes` until it closes: never saturates.
                self.probe_successes = self.probe_successes.saturating_add(1);
                if self.probe_successes >= self.config.half_open_successes {
                    let at = self.now();
                    self.enter(State::Closed, Reason::ProbesSucceeded, at);
                }
            }
            // Disabled counts totals only; Open and ForcedOpen issue no permits
            // of their own generation, so nothing arrives here.
            State::Disabled | State::Open | State::ForcedOpen => {}
        }
        Recorded::Counted
    }

    /// After a counted outcome in Closed or MetricsOnly: report the rules
    /// reached, and trip if Closed.
    fn check_rules(&mut self, t: Instant, open_for_us: Option<u64>, now: Option<Instant>) {
        let totals = self.window.totals(t);
        let reached = policy::reached(
            &self.config,
            totals,
            self.consecutive_failures,
            self.min_calls,
        );
        let new = reached.without(self.reported);
        for rule in RuleSet::ALL {
            if new.contains(rule) {
                let (value, threshold) =
                    policy::measure(&self.config, rule, totals, self.consecutive_failures);
                self.emit(Event::ThresholdExceeded {
                    rule,
                    value,
                    threshold,
                });
            }
        }
        match (self.state, reached.first()) {
            (State::Closed, Some(rule)) => self.open(Reason::Tripped(rule), open_for_us, now),
            _ => self.reported = reached,
        }
    }

    // ----- transitions -----------------------------------------------------

    /// The current time, never earlier than any time seen before.
    fn now(&mut self) -> Instant {
        let t = self.clock.now();
        if t > self.latest {
            self.latest = t;
        }
        self.latest
    }

    /// `now()` without remembering it, for `&self` reads.
    fn peek_now(&self) -> Instant {
        self.clock.now().max(self.latest)
    }

    /// Performs a due time-driven transition (Open → HalfOpen, or a half-open
    /// time-out), once, before the operation's own work. Reads the clock
    /// only in the states that have a timer, and returns what it read.
    fn catch_up(&mut self) -> Option<Instant> {
        match self.state {
            State::Open => {
                let now = self.now();
                if now >= self.open_until {
                    let at = self.open_until;
                    self.enter(State::HalfOpen, Reason::OpenTimeElapsed, at);
                    self.half_open_deadline =
                        now.saturating_add_micros(self.config.half_open_limit_us);
                }
                Some(now)
            }
            State::HalfOpen => {
                let now = self.now();
                if self.half_open_timed_out(now) {
                    self.open(Reason::HalfOpenTimeout, None, Some(now));
                }
                Some(now)
            }
            _ => None,
        }
    }

    /// Opens, for `open_for_us` if given, else for the next backoff step.
    fn open(&mut self, reason: Reason, open_for_us: Option<u64>, now: Option<Instant>) {
        // Only a breaker that opened since it last closed moves to the next step
        // (a HalfOpen entered by hand from ForcedOpen starts at the first).
        if self.state == State::HalfOpen && self.open_attempts > 0 {
            self.backoff_step_us = policy::next_step(&self.config, self.backoff_step_us);
            self.open_attempts = self.open_attempts.saturating_add(1);
        } else {
            self.backoff_step_us = self.config.open_us;
            self.open_attempts = 1;
        }
        let open_us = match open_for_us {
            Some(us) => us.max(policy::MIN_OPEN_US),
            None => policy::jittered(&self.config, self.backoff_step_us, self.generation),
        };
        let now = match now {
            Some(t) => t,
            None => self.now(),
        };
        self.open_until = now.saturating_add_micros(open_us);
        self.enter(State::Open, reason, now);
    }

    /// Enters `to` as a new generation, clearing what the new state starts
    /// without, and reports the change if the state differs.
    fn enter(&mut self, to: State, reason: Reason, at: Instant) {
        let from = self.state;
        self.state = to;
        self.generation = self.generation.wrapping_add(1);
        self.entered_at = at;
        self.probes_admitted = 0;
        self.probe_successes = 0;
        self.consecutive_failures = 0;
        self.consecutive_successes = 0;
        self.reported = RuleSet::EMPTY;
        self.half_open_deadline = Instant::MAX;
        match to {
            State::Closed => {
                self.open_attempts = 0;
                self.backoff_step_us = self.config.open_us;
                self.window.clear();
            }
            State::HalfOpen | State::MetricsOnly => self.window.clear(),
            State::Open | State::ForcedOpen | State::Disabled => {}
        }
        if from != to {
            self.emit(Event::StateChanged {
                from,
                to,
                reason,
                at,
            });
        }
    }

    /// Moves the breaker to `to` by hand.
    ///
    /// Any state may be entered from any other, except HalfOpen, which only
    /// an Open or ForcedOpen breaker can enter (there is nothing to probe
    /// otherwise). Asking for the current state changes nothing. Open uses
    /// the backoff like an automatic trip.
    ///
    /// # Errors
    /// [`TransitionError`] for a transition into HalfOpen from a state that
    /// admits calls; the breaker is unchanged.
    ///
    /// ```
    /// use tripline_core::*;
    ///
    /// let clock = MockClock::new();
    /// let mut b = Breaker::new(Config::default(), CountWindow::<8>::new(), &clock);
    /// b.transition_to(State::ForcedOpen).unwrap();
    /// b.transition_to(State::HalfOpen).unwrap(); // probe after maintenance
    /// assert!(b.transition_to(State::HalfOpen).is_ok()); // already there: no-op
    /// ```
    pub fn transition_to(&mut self, to: State) -> Result<(), TransitionError> {
        self.catch_up();
        let from = self.state;
        if from == to {
            return Ok(());
        }
        match to {
            State::HalfOpen if from.admits_calls() => return Err(TransitionError { from, to }),
            State::HalfOpen => {
                let now = self.now();
                self.enter(State::HalfOpen, Reason::Manual, now);
                self.half_open_deadline = now.saturating_add_micros(self.config.half_open_limit_us);
            }
            State::Open => self.open(Reason::Manual, None, None),
            _ => {
                let now = self.now();
                self.enter(to, Reason::Manual, now);
            }
        }
        Ok(())
    }

    /// Opens for exactly `duration` (at least 1 ms), whatever the state:
    /// for an operator, or for a peer that reported an outage.
    ///
    /// ```
    /// use core::time::Duration;
    /// use tripline_core::*;
    ///
    /// let clock = MockClock::new();
    /// let mut b = Breaker::new(Config::default(), CountWindow::<8>::new(), &clock);
    /// b.open_for(Duration::from_secs(30)); // a peer said "Retry-After: 30"
    /// assert_eq!(b.retry_after(), Some(Duration::from_secs(30)));
    /// ```
    pub fn open_for(&mut self, duration: Duration) {
        let now = self.catch_up();
        self.open(
            Reason::Manual,
            Some(crate::clock::duration_to_micros(duration)),
            now,
        );
    }

    /// Opens because a peer guarding the same backend (another replica)
    /// reported that its breaker opened for `peer_open_for`: this breaker
    /// skips paying the failures itself, opens for that long but at most
    /// `cap` (and at least 1 ms), then probes on its own as usual.
    ///
    /// Only a Closed breaker follows. Open and HalfOpen keep their own
    /// episode, and the states set by hand (ForcedOpen, Disabled,
    /// MetricsOnly) are an operator's choice a peer does not override.
    /// Returns whether the breaker opened.
    ///
    /// ```
    /// use core::time::Duration;
    /// use tripline_core::*;
    ///
    /// let clock = MockClock::new();
    /// let mut b = Breaker::new(Config::default(), CountWindow::<8>::new(), &clock);
    /// assert!(b.follow_peer(Duration::from_secs(60), Duration::from_secs(10)));
    /// assert_eq!(b.retry_after(), Some(Duration::from_secs(10))); // capped
    /// assert!(!b.follow_peer(Duration::from_secs(5), Duration::from_secs(10))); // already open
    /// ```
    pub fn follow_peer(&mut self, peer_open_for: Duration, cap: Duration) -> bool {
        let now = self.catch_up();
        if self.state != State::Closed {
            return false;
        }
        let open_us = crate::clock::duration_to_micros(peer_open_for)
            .min(crate::clock::duration_to_micros(cap));
        self.open(Reason::Peer, Some(open_us), now);
        true
    }

    /// Rejects every call until another state is set by hand.
    ///
    /// ```
    /// use tripline_core::*;
    ///
    /// let clock = MockClock::new();
    /// let mut b = Breaker::new(Config::default(), CountWindow::<8>::new(), &clock);
    /// b.force_open();
    /// assert_eq!(b.try_acquire().unwrap_err().reason(), RejectReason::ForcedOpen);
    /// b.force_closed();
    /// assert!(b.try_acquire().is_ok());
    /// ```
    pub fn force_open(&mut self) {
        let _ = self.transition_to(State::ForcedOpen);
    }

    /// Closes by hand, with an empty window, whatever the state.
    pub fn force_closed(&mut self) {
        let _ = self.transition_to(State::Closed);
    }

    /// Admits every call and records nothing but the lifetime counters.
    ///
    /// ```
    /// use tripline_core::*;
    ///
    /// let clock = MockClock::new();
    /// let mut b = Breaker::new(Config::default(), CountWindow::<8>::new(), &clock);
    /// b.disable();
    /// for _ in 0..100 {
    ///     let _ = b.call(|| Err::<(), _>(()));
    /// }
    /// assert_eq!(b.state(), State::Disabled);
    /// assert_eq!(b.metrics().failures, 100);
    /// ```
    pub fn disable(&mut self) {
        let _ = self.transition_to(State::Disabled);
    }

    /// Admits every call, records it, and reports thresholds without tripping.
    ///
    /// ```
    /// use tripline_core::*;
    ///
    /// let clock = MockClock::new();
    /// let mut b = Breaker::new(Config::default(), CountWindow::<8>::new(), &clock);
    /// b.metrics_only();
    /// for _ in 0..10 {
    ///     let _ = b.call(|| Err::<(), _>(()));
    /// }
    /// assert_eq!(b.state(), State::MetricsOnly); // would have tripped at 5
    /// ```
    pub fn metrics_only(&mut self) {
        let _ = self.transition_to(State::MetricsOnly);
    }

    /// Back to Closed with an empty window and the first backoff step, as a
    /// new generation (results of earlier permits become stale). The
    /// lifetime counters in [`Metrics`] are kept.
    ///
    /// ```
    /// use tripline_core::*;
    ///
    /// let clock = MockClock::new();
    /// let mut b = Breaker::new(Config::default(), CountWindow::<8>::new(), &clock);
    /// b.force_open();
    /// let generation = b.generation();
    /// b.reset();
    /// assert_eq!(b.state(), State::Closed);
    /// assert!(b.generation() > generation);
    /// ```
    pub fn reset(&mut self) {
        self.catch_up();
        let now = self.now();
        self.emit(Event::Reset { at: now });
        self.enter(State::Closed, Reason::Reset, now);
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
    /// use tripline_core::{Breaker, Config, CountWindow, MockClock, Outcome, State};
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
        result.map_err(CallError::Inner)
    }

    // ----- reads -----------------------------------------------------------

    /// The state now. Open reads as HalfOpen from the moment the open time
    /// has passed, and HalfOpen as Open once its time limit has, even before
    /// an operation performs the transition.
    ///
    /// ```
    /// use core::time::Duration;
    /// use tripline_core::*;
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
        match self.state {
            State::Open | State::HalfOpen => self.pending(self.peek_now()).unwrap_or(self.state),
            s => s,
        }
    }

    /// The state a due time-driven transition would enter at `now`, if one is due.
    fn pending(&self, now: Instant) -> Option<State> {
        match self.state {
            State::Open if now >= self.open_until => Some(State::HalfOpen),
            State::HalfOpen if self.half_open_timed_out(now) => Some(State::Open),
            _ => None,
        }
    }

    /// Whether the half-open episode has outlasted its time limit at `now`.
    /// `Instant::MAX` means no limit (none configured, or one that saturated):
    /// a clock reaching `u64::MAX` must not time out an episode without one.
    fn half_open_timed_out(&self, now: Instant) -> bool {
        self.half_open_deadline != Instant::MAX && now >= self.half_open_deadline
    }

    /// The open time the pending half-open time-out will use.
    fn pending_open_us(&self) -> u64 {
        let step = if self.open_attempts > 0 {
            policy::next_step(&self.config, self.backoff_step_us)
        } else {
            self.config.open_us
        };
        policy::jittered(&self.config, step, self.generation)
    }

    /// How long until a call may be admitted: zero when it would be now,
    /// `None` when unknown (forced open; half-open, full and without a time limit).
    ///
    /// ```
    /// use core::time::Duration;
    /// use tripline_core::*;
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
        let now = self.peek_now();
        match self.pending(now) {
            Some(State::HalfOpen) => Some(0),
            Some(_) => Some(self.pending_open_us()),
            None => self.wait_at(now),
        }
    }

    /// The current generation: bumped by every state change and reset.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// A snapshot of state and counters.
    pub fn metrics(&self) -> Metrics {
        let now = self.peek_now();
        // A due transition is reported as done: the state entered, its start,
        // and the empty window and streaks it starts with.
        let (state, entered_at, window, streaks, open_attempts) = match self.pending(now) {
            Some(State::HalfOpen) => (
                State::HalfOpen,
                self.open_until,
                Totals::EMPTY,
                (0, 0),
                self.open_attempts,
            ),
            Some(to) => (
                to,
                now,
                Totals::EMPTY,
                (0, 0),
                self.open_attempts.saturating_add(1).max(1),
            ),
            None => (
                self.state,
                self.entered_at,
                self.window.totals(now),
                (self.consecutive_failures, self.consecutive_successes),
                self.open_attempts,
            ),
        };
        let gated = window.calls >= self.min_calls;
        let c = self.counters;
        Metrics {
            state,
            generation: self.generation,
            time_in_state_us: now.saturating_micros_since(entered_at),
            permitted: c.permitted,
            rejected: c.rejected,
            successes: c.successes,
            failures: c.failures,
            slow_calls: c.slow,
            ignored: c.ignored,
            cancelled: c.cancelled,
            stale: c.stale,
            window,
            failure_rate_permille: if gated {
                window.failure_rate_permille()
            } else {
                None
            },
            slow_call_rate_permille: if gated {
                window.slow_rate_permille()
            } else {
                None
            },
            consecutive_failures: streaks.0,
            consecutive_successes: streaks.1,
            open_attempts,
            duration_sum_us: c.duration_sum_us,
            duration_max_us: c.duration_max_us,
        }
    }

    fn emit(&self, event: Event) {
        if O::ENABLED {
            self.observer.on_event(&event);
        }
    }
}

/// Cancels the permit of a [`Breaker::call_with`] if `f` unwinds.
struct CancelOnDrop<'a, W: Window, C: Clock, O: Observer> {
    breaker: &'a mut Breaker<W, C, O>,
    permit: Option<Permit>,
}

impl<W: Window, C: Clock, O: Observer> Drop for CancelOnDrop<'_, W, C, O> {
    fn drop(&mut self) {
        if let Some(permit) = self.permit.take() {
            self.breaker.cancel(permit);
        }
    }
}
