//! [`Machine`]: everything a breaker decides with, except its window — the
//! state, its timers, the backoff step, the probes and the streak — and the
//! reads computed from it (state, retry-after, metrics).
//!
//! It is plain data, `Copy`, so a [`SharedBreaker`](crate::SharedBreaker)
//! can publish it after each locked operation and answer reads without the
//! lock from the published copy.

use crate::fixed::{fixed_or, ConfigSource};
use crate::policy::{self, RuleSet};
use crate::tally::{Count, Counts};
use crate::window::Totals;
use crate::{Config, Instant, Metrics, State};

/// The decision state of a breaker, and its lifetime counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Machine {
    pub(crate) state: State,
    /// Bumped by every state change and reset. 64 bits: it cannot wrap
    /// into the generation of a permit still held.
    pub(crate) generation: u64,
    /// When the current state began.
    pub(crate) entered_at: Instant,
    /// Open: when it may go half-open (`ZERO`: the open time starts at the
    /// first clock reading, see [`Machine::opens_at_first_reading`]).
    /// HalfOpen: when the episode times out (`MAX`: never). Other states:
    /// `ZERO`, unused.
    pub(crate) until: Instant,
    /// The un-jittered open time of the current backoff step; 0 (unused)
    /// while `open_attempts` is 0.
    pub(crate) backoff_step_us: u64,
    pub(crate) open_attempts: u32,
    /// At most the configuration's `half_open_permits`, a `u16`.
    pub(crate) probes_admitted: u16,
    pub(crate) probe_successes: u16,
    pub(crate) consecutive_failures: u32,
    /// Clock readings set aside as glitches (saturating at 65,535: they are rare).
    pub(crate) clock_glitches: u16,
    /// MetricsOnly: rules already reported, so each is reported when first reached.
    pub(crate) reported: RuleSet,
    /// The latest instant seen: time never goes backwards here.
    pub(crate) latest: Instant,
    pub(crate) counts: Counts,
}

impl Machine {
    /// A machine in the configuration's initial state. Starting closed,
    /// every byte of it is zero, so a `static` breaker costs no flash for
    /// its initial image (it is placed in `.bss`).
    pub(crate) const fn new(config: &Config) -> Machine {
        let starts_open = matches!(config.initial_state, State::Open);
        Machine {
            state: config.initial_state,
            generation: 0,
            entered_at: Instant::ZERO,
            until: Instant::ZERO,
            backoff_step_us: if starts_open { config.open_us } else { 0 },
            open_attempts: if starts_open { 1 } else { 0 },
            probes_admitted: 0,
            probe_successes: 0,
            consecutive_failures: 0,
            clock_glitches: 0,
            reported: RuleSet::EMPTY,
            latest: Instant::ZERO,
            counts: Counts::ZERO,
        }
    }

    /// Open from the configuration's initial state, before any clock
    /// reading: the first operation starts the open time. Every open time
    /// that has started ends at least 1 ms after some reading, so an end
    /// of `ZERO` marks this case alone.
    pub(crate) const fn opens_at_first_reading(&self) -> bool {
        matches!(self.state, State::Open) && self.until.as_micros() == 0
    }

    /// The state the due time-driven transitions would leave at `now`, if
    /// one is due: Open → HalfOpen once the open time has passed; HalfOpen →
    /// Open at its deadline, and on to HalfOpen if that open time has passed
    /// too (see [`Machine::timeout_until`]).
    pub(crate) fn pending<K: ConfigSource>(&self, config: &Config, now: Instant) -> Option<State> {
        let config = fixed_or::<K>(config);
        match self.state {
            State::Open if !self.opens_at_first_reading() && now >= self.until => {
                Some(State::HalfOpen)
            }
            State::HalfOpen if self.half_open_timed_out(now) => {
                if now >= self.timeout_until::<K>(config) {
                    Some(State::HalfOpen)
                } else {
                    Some(State::Open)
                }
            }
            _ => None,
        }
    }

    /// When the open time after a half-open time-out ends: it runs from the
    /// deadline, not from when an operation notices it, so a breaker left
    /// idle past its deadline does not reject the next caller for a whole
    /// fresh open period.
    #[inline(never)]
    pub(crate) fn timeout_until<K: ConfigSource>(&self, config: &Config) -> Instant {
        self.until
            .saturating_add_micros(self.pending_open_us::<K>(config))
    }

    /// Whether the half-open episode has outlasted its time limit at `now`.
    /// `Instant::MAX` means no limit (none configured, or one that saturated):
    /// a clock reaching `u64::MAX` must not time out an episode without one.
    pub(crate) fn half_open_timed_out(&self, now: Instant) -> bool {
        self.until != Instant::MAX && now >= self.until
    }

    /// Whether every probe slot of the half-open episode is taken.
    pub(crate) fn probes_full(&self, config: &Config) -> bool {
        self.probes_admitted >= config.half_open_permits
    }

    /// How long from `now` until a call may be admitted, if known: the
    /// rest of the open time; nothing when forced open, or half-open with
    /// every probe out (the next caller is admitted only if a probe comes
    /// back, and at the time limit the breaker re-opens).
    pub(crate) fn wait_at(&self, config: &Config, now: Instant) -> Option<u64> {
        match self.state {
            State::Open if self.opens_at_first_reading() => Some(config.open_us),
            State::Open => Some(self.until.saturating_micros_since(now)),
            State::ForcedOpen => None,
            State::HalfOpen if self.probes_full(config) => None,
            _ => Some(0),
        }
    }

    /// The open time the pending half-open time-out will use.
    fn pending_open_us<K: ConfigSource>(&self, config: &Config) -> u64 {
        let step = if self.open_attempts > 0 {
            policy::next_step::<K>(config, self.backoff_step_us)
        } else {
            config.open_us
        };
        policy::jittered::<K>(config, step, policy::nonce(self.generation))
    }

    /// The state at `now`, due transitions counted as done.
    pub(crate) fn state_at<K: ConfigSource>(&self, config: &Config, now: Instant) -> State {
        self.pending::<K>(config, now).unwrap_or(self.state)
    }

    /// Microseconds until a call may be admitted at `now`, if known.
    pub(crate) fn retry_after_at<K: ConfigSource>(
        &self,
        config: &Config,
        now: Instant,
    ) -> Option<u64> {
        match self.pending::<K>(config, now) {
            Some(State::HalfOpen) => Some(0),
            Some(_) => Some(self.timeout_until::<K>(config).saturating_micros_since(now)),
            None => self.wait_at(config, now),
        }
    }

    /// The metrics at `now`, with `window` the window's totals and
    /// `outside` what a shared breaker counted outside the machine (its
    /// tally; `()` for none). Built in one expression, so that a caller's
    /// `Metrics` is written in place, not copied.
    pub(crate) fn metrics_at<K: ConfigSource>(
        &self,
        config: &Config,
        min_calls: u32,
        window: Totals,
        now: Instant,
        outside: &impl Outside,
    ) -> Metrics {
        // A due transition is reported as done: the state entered, its start,
        // and the empty window and streak it starts with.
        let reopened = self.open_attempts.saturating_add(1).max(1);
        let pending = self.pending::<K>(config, now);
        let (state, entered_at, window, streak, probes, open_attempts) = match pending {
            Some(State::HalfOpen) if self.state == State::Open => (
                State::HalfOpen,
                self.until,
                Totals::EMPTY,
                0,
                0,
                self.open_attempts,
            ),
            Some(State::HalfOpen) => (
                State::HalfOpen,
                self.timeout_until::<K>(config),
                Totals::EMPTY,
                0,
                0,
                reopened,
            ),
            Some(to) => (to, self.until, Totals::EMPTY, 0, 0, reopened),
            None if self.opens_at_first_reading() => {
                (self.state, now, window, 0, 0, self.open_attempts)
            }
            None => (
                self.state,
                self.entered_at,
                window,
                self.consecutive_failures,
                self.probe_successes,
                self.open_attempts,
            ),
        };
        // The rates first: they are calls, and everything read before one
        // would have to be kept across it.
        let gated = window.calls >= min_calls;
        let failure_rate_permille = if gated {
            window.failure_rate_permille()
        } else {
            None
        };
        let slow_call_rate_permille = if gated {
            window.slow_rate_permille()
        } else {
            None
        };
        let c = &self.counts;
        let plus = |inside: u64, count: Count| inside.wrapping_add(outside.count(count));
        Metrics {
            state,
            generation: self.generation,
            time_in_state_us: now.saturating_micros_since(entered_at),
            permitted: plus(c.permitted, Count::Permitted),
            rejected: plus(c.rejected, Count::Rejected),
            successes: plus(c.successes, Count::Success),
            failures: plus(c.failures, Count::Failure),
            slow_successes: c.slow_successes,
            slow_failures: c.slow_failures,
            ignored: plus(c.ignored, Count::Ignored),
            cancelled: plus(c.cancelled, Count::Cancelled),
            stale: plus(c.stale, Count::Stale),
            clock_glitches: u64::from(self.clock_glitches),
            window,
            failure_rate_permille,
            slow_call_rate_permille,
            consecutive_failures: streak,
            probe_successes: u32::from(probes),
            open_attempts,
            duration_sum_us: c.duration_sum_us.saturating_add(outside.duration_sum_us()),
            duration_max_us: c.duration_max_us.max(outside.duration_max_us()),
        }
    }
}

/// Counts a shared breaker keeps outside its machine, which its metrics
/// include: the lock-free paths' tally, or refused re-entries.
pub(crate) trait Outside {
    /// The calls of `count` counted outside.
    fn count(&self, count: Count) -> u64;
    /// The sum of the durations counted outside.
    fn duration_sum_us(&self) -> u64 {
        0
    }
    /// The longest duration counted outside.
    fn duration_max_us(&self) -> u64 {
        0
    }
}

/// Nothing outside: a breaker used through `&mut`.
impl Outside for () {
    fn count(&self, _: Count) -> u64 {
        0
    }
}

/// A tally read.
impl Outside for Counts {
    fn count(&self, count: Count) -> u64 {
        match count {
            Count::Permitted => self.permitted,
            Count::Rejected => self.rejected,
            Count::Success => self.successes,
            Count::Failure => self.failures,
            Count::Ignored => self.ignored,
            Count::Cancelled => self.cancelled,
            Count::Stale => self.stale,
        }
    }
    fn duration_sum_us(&self) -> u64 {
        self.duration_sum_us
    }
    fn duration_max_us(&self) -> u64 {
        self.duration_max_us
    }
}
