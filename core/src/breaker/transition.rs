//! The moves between states: the automatic ones (a trip, the open time
//! passing, a half-open time-out, the probes succeeding) and the ones made by
//! hand or by a peer.

use core::time::Duration;

use super::{Breaker, Lazy, Reading};
use crate::clock::duration_to_micros;
use crate::fixed::ConfigSource;
use crate::observe::{Event, Interest, Sink};
use crate::policy::{self, RuleSet};
use crate::window::Window;
use crate::{Clock, Instant, Reason, State, TransitionError};

impl<W: Window, C: Clock, O: Sink, K: ConfigSource> Breaker<W, C, O, K> {
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
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::*;
    ///
    /// let clock = MockClock::new();
    /// let mut b = Breaker::new(Config::default(), CountWindow::<8>::new(), &clock);
    /// b.transition_to(State::ForcedOpen).unwrap();
    /// b.transition_to(State::HalfOpen).unwrap(); // probe after maintenance
    /// assert!(b.transition_to(State::HalfOpen).is_ok()); // already there: no-op
    /// ```
    pub fn transition_to(&mut self, to: State) -> Result<(), TransitionError> {
        self.transition_at(to, &mut Lazy::default())
    }

    /// Opens for exactly `duration` (at least 1 ms), whatever the state:
    /// for an operator, or for a peer that reported an outage.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::time::Duration;
    /// use tripline::*;
    ///
    /// let clock = MockClock::new();
    /// let mut b = Breaker::new(Config::default(), CountWindow::<8>::new(), &clock);
    /// b.open_for(Duration::from_secs(30)); // a peer said "Retry-After: 30"
    /// assert_eq!(b.retry_after(), Some(Duration::from_secs(30)));
    /// ```
    pub fn open_for(&mut self, duration: Duration) {
        self.open_for_at(duration, &mut Lazy::default());
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
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::time::Duration;
    /// use tripline::*;
    ///
    /// let clock = MockClock::new();
    /// let mut b = Breaker::new(Config::default(), CountWindow::<8>::new(), &clock);
    /// assert!(b.follow_peer(Duration::from_secs(60), Duration::from_secs(10)));
    /// assert_eq!(b.retry_after(), Some(Duration::from_secs(10))); // capped
    /// assert!(!b.follow_peer(Duration::from_secs(5), Duration::from_secs(10))); // already open
    /// ```
    pub fn follow_peer(&mut self, peer_open_for: Duration, cap: Duration) -> bool {
        self.follow_peer_at(peer_open_for, cap, &mut Lazy::default())
    }

    /// Rejects every call until another state is set by hand.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::*;
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
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::*;
    ///
    /// let clock = MockClock::new();
    /// let mut b = Breaker::new(Config::default(), CountWindow::<8>::new(), &clock);
    /// b.force_open();
    /// b.force_closed();
    /// assert_eq!(b.state(), State::Closed);
    /// ```
    pub fn force_closed(&mut self) {
        let _ = self.transition_to(State::Closed);
    }

    /// Admits every call and records nothing but the lifetime counters.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::*;
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
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::*;
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
    /// new generation (results of earlier permits become stale).
    ///
    /// Reports the state change (if it was not Closed), then
    /// [`Event::Reset`](crate::Event::Reset). The lifetime counters in [`Metrics`](crate::Metrics)
    /// are kept: they only ever grow, as exported counters must.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::*;
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
        self.reset_at(&mut Lazy::default());
    }
}

impl<W: Window, C, O: Sink, K: ConfigSource> Breaker<W, C, O, K> {
    /// [`transition_to`](Self::transition_to), reading the clock through `r`.
    pub(crate) fn transition_at(
        &mut self,
        to: State,
        r: &mut impl Reading<C>,
    ) -> Result<(), TransitionError> {
        let now = self.timer_now(r);
        self.catch_up(now);
        let from = self.m.state;
        if from == to {
            return Ok(());
        }
        if to == State::HalfOpen && from.admits_calls() {
            return Err(TransitionError { from, to });
        }
        let now = self.now(r);
        match to {
            State::HalfOpen => {
                self.enter(State::HalfOpen, Reason::Manual, now);
                self.m.until = now.saturating_add_micros(self.config.config().half_open_limit_us);
            }
            State::Open => self.open(Reason::Manual, None, now),
            _ => self.enter(to, Reason::Manual, now),
        }
        Ok(())
    }

    /// [`open_for`](Self::open_for), reading the clock through `r`.
    pub(crate) fn open_for_at(&mut self, duration: Duration, r: &mut impl Reading<C>) {
        let now = self.timer_now(r);
        self.catch_up(now);
        let now = self.now(r);
        self.open(Reason::Manual, Some(duration_to_micros(duration)), now);
    }

    /// [`follow_peer`](Self::follow_peer), reading the clock through `r`.
    pub(crate) fn follow_peer_at(
        &mut self,
        peer_open_for: Duration,
        cap: Duration,
        r: &mut impl Reading<C>,
    ) -> bool {
        let now = self.timer_now(r);
        self.catch_up(now);
        if self.m.state != State::Closed {
            return false;
        }
        let now = self.now(r);
        let open_us = duration_to_micros(peer_open_for).min(duration_to_micros(cap));
        self.open(Reason::Peer, Some(open_us), now);
        true
    }

    /// [`reset`](Self::reset), reading the clock through `r`.
    pub(crate) fn reset_at(&mut self, r: &mut impl Reading<C>) {
        let now = self.timer_now(r);
        self.catch_up(now);
        let now = self.now(r);
        self.enter(State::Closed, Reason::Reset, now);
        self.emit(Interest::RESET, || Event::Reset { at: now });
    }

    /// Performs the due time-driven transitions before the operation's own
    /// work: Open → HalfOpen, or a half-open time-out (Open from the
    /// deadline, and HalfOpen again if that open time has passed too). An
    /// initial Open state starts its open time here.
    pub(super) fn catch_up(&mut self, now: Option<Instant>) {
        let Some(now) = now else { return };
        match self.m.state {
            State::Open if self.m.opens_at_first_reading() => {
                // The first open duration exactly, as configured.
                let m = &mut self.m;
                m.entered_at = now;
                m.until = now.saturating_add_micros(self.config.config().open_us);
            }
            State::Open if now >= self.m.until => self.half_open_after_open(now),
            State::HalfOpen if self.m.half_open_timed_out(now) => {
                let deadline = self.m.until;
                self.open(Reason::HalfOpenTimeout, None, deadline);
                if now >= self.m.until {
                    self.half_open_after_open(now);
                }
            }
            _ => {}
        }
    }

    /// Open → HalfOpen, as of when the open time ended; the episode's time
    /// limit runs from `now`, when the first operation can use it.
    fn half_open_after_open(&mut self, now: Instant) {
        let at = self.m.until;
        self.enter(State::HalfOpen, Reason::OpenTimeElapsed, at);
        self.m.until = now.saturating_add_micros(self.config.config().half_open_limit_us);
    }

    /// Opens, for `open_for_us` if given, else for the next backoff step.
    pub(super) fn open(&mut self, reason: Reason, open_for_us: Option<u64>, now: Instant) {
        // Only a breaker that opened since it last closed moves to the next step
        // (a HalfOpen entered by hand from ForcedOpen starts at the first),
        // and a server's retry-after is its time, not a step of ours.
        let m = &mut self.m;
        if m.state == State::HalfOpen && m.open_attempts > 0 {
            if reason != Reason::RetryAfter {
                m.backoff_step_us = policy::next_step::<K>(self.config.config(), m.backoff_step_us);
            }
            m.open_attempts = m.open_attempts.saturating_add(1);
        } else {
            m.backoff_step_us = self.config.config().open_us;
            m.open_attempts = 1;
        }
        let open_us = match open_for_us {
            Some(us) => us.max(policy::MIN_OPEN_US),
            None => policy::jittered::<K>(
                self.config.config(),
                m.backoff_step_us,
                policy::nonce(m.generation),
            ),
        };
        let until = now.saturating_add_micros(open_us);
        self.enter(State::Open, reason, now);
        self.m.until = until;
    }

    /// Enters `to` as a new generation, clearing what the new state starts
    /// without, and reports the change if the state differs.
    pub(super) fn enter(&mut self, to: State, reason: Reason, at: Instant) {
        let m = &mut self.m;
        let from = m.state;
        m.state = to;
        m.generation = m.generation.wrapping_add(1);
        m.entered_at = at;
        m.probes_admitted = 0;
        m.probe_successes = 0;
        m.consecutive_failures = 0;
        m.reported = RuleSet::EMPTY;
        m.until = Instant::ZERO;
        match to {
            State::Closed => {
                m.open_attempts = 0;
                m.backoff_step_us = 0;
                self.window.clear();
            }
            State::HalfOpen | State::MetricsOnly => self.window.clear(),
            State::Open | State::ForcedOpen | State::Disabled => {}
        }
        if from != to {
            self.emit(Interest::STATE_CHANGED, || Event::StateChanged {
                from,
                to,
                reason,
                at,
            });
        }
    }
}
