//! A reference model of the breaker's decided semantics, written for
//! obviousness, not speed: the window is a `VecDeque` of outcomes, rates are
//! recounted on every read, backoff is exact `u128` arithmetic. It is built
//! from DESIGN.md ("Semantics, decided"), the README's "Semantics in short"
//! and the decisions documented on `Breaker`'s operations, never from the
//! core's code.
//!
//! The same file drives the core and compares the two after every step
//! (state, admissions, rejections with their retry time, what became of
//! each outcome, metrics, generation and the exact event sequence) and checks
//! the invariants. `tests/model.rs` feeds it random sequences through
//! proptest; `fuzz/` feeds it bytes.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::time::Duration;
use std::vec::Vec;

use tripline::observe::Interest;
use tripline::shared::{LockKind, Locked, SharedBreaker};
use tripline::window::{CountWindow, TimeWindow, Totals, Window};
use tripline::{
    Breaker, CallError, Config, Event, Instant, Metrics, MockClock, Observer, OnCancel, Outcome,
    Rate, Reason, Recorded, RejectReason, Rejected, Rule, State, TransitionError,
};

const MIN_OPEN_US: u64 = 1_000;
const DEFAULT_MAX_OPEN_US: u64 = 30_000_000;
/// The longest open time a retry-after may ask for (the default).
const MAX_RETRY_AFTER_US: u64 = 600_000_000;

// ----- inputs ----------------------------------------------------------------

/// Configuration inputs, as a user would hand them to the builder.
#[derive(Clone, Debug)]
pub struct Spec {
    /// Count window size: 1, 4 or 10 (unless `time_window` is set).
    pub window: usize,
    /// A time window instead: (buckets: 1, 3 or 8; span in µs).
    pub time_window: Option<(usize, u64)>,
    pub consecutive_failures: Option<u32>,
    pub failure_rate: Option<u16>,
    /// (permille, slower than µs)
    pub slow_rate: Option<(u16, u64)>,
    pub minimum_calls: u32,
    pub open_us: u64,
    /// (factor permille, max µs)
    pub backoff: Option<(u32, u64)>,
    /// (permille, seed)
    pub jitter: Option<(u16, u32)>,
    pub half_open_permits: u16,
    pub half_open_successes: u16,
    pub half_open_limit_us: Option<u64>,
    pub count_cancel_as_failure: bool,
    pub initial_state: State,
    pub track_latency: bool,
}

impl Spec {
    /// The configuration through the public builder.
    pub fn build(&self) -> Result<Config, tripline::ConfigError> {
        let mut b = Config::builder()
            .minimum_calls(self.minimum_calls)
            .open_duration(Duration::from_micros(self.open_us))
            .half_open_permits(self.half_open_permits)
            .half_open_successes(self.half_open_successes)
            .initial_state(self.initial_state)
            .track_latency(self.track_latency);
        if let Some(n) = self.consecutive_failures {
            b = b.consecutive_failures(n);
        }
        if let Some(p) = self.failure_rate {
            b = b.failure_rate(Rate::permille(p));
        }
        if let Some((p, us)) = self.slow_rate {
            b = b.slow_call_rate(Rate::permille(p), Duration::from_micros(us));
        }
        if let Some((f, max)) = self.backoff {
            b = b.exponential_backoff(f, Duration::from_micros(max));
        }
        if let Some((p, seed)) = self.jitter {
            b = b.jitter(Rate::permille(p), seed);
        }
        if let Some(us) = self.half_open_limit_us {
            b = b.half_open_time_limit(Duration::from_micros(us));
        }
        if self.count_cancel_as_failure {
            b = b.on_cancel(OnCancel::CountAsFailure);
        }
        b.build()
    }

    /// Whether the builder must accept these inputs (the documented rules).
    pub fn is_valid(&self) -> bool {
        let rule = self.consecutive_failures.is_some()
            || self.failure_rate.is_some()
            || self.slow_rate.is_some();
        rule && self.consecutive_failures != Some(0)
            && self.failure_rate.is_none_or(|p| (1..=1000).contains(&p))
            && self
                .slow_rate
                .is_none_or(|(p, us)| (1..=1000).contains(&p) && us > 0)
            && self.minimum_calls > 0
            && self.open_us >= 1_000
            && self
                .backoff
                .is_none_or(|(f, max)| f >= 1_000 && max >= self.open_us)
            && self.jitter.is_none_or(|(p, _)| p <= 1_000)
            && self.half_open_permits > 0
            && self.half_open_successes > 0
            && self.half_open_successes <= self.half_open_permits
            && self.half_open_limit_us != Some(0)
            && self.initial_state != State::HalfOpen
    }

    fn max_open_us(&self) -> u64 {
        match self.backoff {
            Some((_, max)) => max,
            None => self.open_us.max(DEFAULT_MAX_OPEN_US),
        }
    }

    fn factor(&self) -> u32 {
        self.backoff.map_or(1_000, |(f, _)| f)
    }

    fn measures_durations(&self) -> bool {
        self.slow_rate.is_some() || self.track_latency
    }
}

/// What a call's result is classified as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Success,
    Failure,
    /// A failure naming its own open time, in µs.
    RetryAfter(u64),
    Ignored,
}

impl Kind {
    fn outcome(self) -> Outcome {
        match self {
            Kind::Success => Outcome::Success,
            Kind::Failure => Outcome::Failure,
            Kind::RetryAfter(us) => Outcome::FailureRetryAfter(Duration::from_micros(us)),
            Kind::Ignored => Outcome::Ignored,
        }
    }
}

/// One step of a sequence.
#[derive(Clone, Debug)]
pub enum Op {
    Acquire,
    /// Record the outcome of the held permit at this index (modulo their number).
    Record(usize, Kind),
    /// Give the held permit at this index back unfinished (drop it, for the shared breaker).
    Cancel(usize),
    /// `call_with`: admitted calls take this many µs of mock time.
    Call(Kind, u64),
    Advance(u64),
    /// Set the clock to an absolute instant: backwards, forwards, near `u64::MAX`.
    SetClock(u64),
    Transition(State),
    OpenFor(u64),
    Reset,
}

// ----- the model ---------------------------------------------------------------

/// The reference model.
#[derive(Clone, Debug)]
pub struct Model {
    spec: Spec,
    /// The stored state; time-driven transitions are performed by the next
    /// operation that changes the breaker, and shown by reads before that.
    state: State,
    generation: u64,
    /// An initial Open state whose open time starts at the first operation.
    unanchored: bool,
    entered_at: u64,
    open_until: u64,
    /// When a half-open episode times out; `None`: never.
    deadline: Option<u64>,
    /// The current un-jittered backoff step and how many times it opened
    /// since it last closed.
    step: u64,
    attempts: u32,
    probes_out: u32,
    probe_successes: u32,
    streak_failures: u32,
    /// MetricsOnly: rules reached at the last counted outcome.
    reported: Vec<Rule>,
    /// The latest time the breaker has read.
    latest: u64,
    window: MWindow,
    pub permitted: u64,
    pub rejected: u64,
    successes: u64,
    failures: u64,
    slow_successes: u64,
    slow_failures: u64,
    ignored: u64,
    cancelled: u64,
    stale: u64,
    dur_sum: u64,
    dur_max: u64,
    pub events: Vec<Ev>,
    /// Set when the model opened with a jittered time it cannot predict: the
    /// harness reads it off the subject (after checking its bounds).
    pub jitter_unknown: Option<(u64, u64)>,
    /// The jittered open time of a due half-open time-out, read off the
    /// subject before the operation that performs it.
    pub jitter_hint: Option<u64>,
    /// A half-open time-out noticed inside an operation opened with a
    /// jittered time the model could not learn beforehand, late enough that
    /// the open time may have passed already: the model cannot say what
    /// follows, so the harness stops comparing the sequence there.
    pub undecidable: bool,
}

/// The window, both kinds: a count window keeps the last N calls; a time
/// window keeps the calls whose bucket is among the last B, buckets being
/// `span / B` long and counted from the first call after it was empty. An
/// edge past the end of time is reached at `u64::MAX` (deadlines saturate).
#[derive(Clone, Debug)]
struct MWindow {
    /// Count window: its size. Time window: `None`.
    cap: Option<usize>,
    buckets: u64,
    bucket_us: u64,
    /// Time window: the newest bucket's start and number.
    head: Option<(u64, u64)>,
    /// (bucket number, failed, slow), oldest first.
    calls: VecDeque<(u64, bool, bool)>,
}

impl MWindow {
    fn new(spec: &Spec) -> Self {
        let (cap, buckets, span) = match spec.time_window {
            Some((b, span)) => (None, b as u64, span),
            None => (Some(spec.window), 1, 1),
        };
        MWindow {
            cap,
            buckets,
            bucket_us: span / buckets,
            head: None,
            calls: VecDeque::new(),
        }
    }

    /// Bucket edges between the newest bucket's start and `now`, at most B.
    fn crossed(&self, now: u64) -> u64 {
        match self.head {
            None => 0,
            Some(_) if now == u64::MAX => self.buckets,
            Some((start, _)) => (now.saturating_sub(start) / self.bucket_us).min(self.buckets),
        }
    }

    fn record(&mut self, now: u64, failed: bool, slow: bool) {
        let bucket = match self.cap {
            Some(n) => {
                if self.calls.len() == n {
                    self.calls.pop_front();
                }
                0
            }
            None => {
                let crossed = self.crossed(now);
                let head = match self.head {
                    Some((start, k)) if crossed < self.buckets => {
                        (start + crossed * self.bucket_us, k + crossed)
                    }
                    // Empty, or everything expired: start again from now.
                    _ => {
                        self.calls.clear();
                        (now, 0)
                    }
                };
                self.head = Some(head);
                head.1
            }
        };
        self.calls.push_back((bucket, failed, slow));
    }

    fn totals(&self, now: u64) -> Totals {
        let live = |k: u64| match (self.cap, self.head) {
            (Some(_), _) => true,
            (None, None) => false,
            (None, Some((_, head))) => {
                let crossed = self.crossed(now);
                crossed < self.buckets && k + self.buckets > head + crossed
            }
        };
        let mut t = Totals::EMPTY;
        for &(_, failed, slow) in self.calls.iter().filter(|c| live(c.0)) {
            t.calls += 1;
            t.failures += failed as u32;
            t.slow += slow as u32;
            t.slow_failures += (slow && failed) as u32;
        }
        t
    }

    fn clear(&mut self) {
        self.calls.clear();
        self.head = None;
    }
}

/// A rejection as the model sees it: the reason and the retry time in µs.
pub type Rej = (RejectReason, Option<u64>);

/// An event as the model sees it (`Rejected` has no public constructor, so
/// rejections are compared by their parts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ev {
    Rejected(RejectReason, Option<u64>),
    E(Event),
}

impl Ev {
    pub fn of(e: &Event) -> Ev {
        match e {
            Event::Rejected(r) => Ev::Rejected(r.reason(), r.retry_after_micros()),
            e => Ev::E(*e),
        }
    }
}

fn parts(r: &Rejected) -> Rej {
    (r.reason(), r.retry_after_micros())
}

/// A permit as the model sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MPermit {
    pub generation: u64,
    pub started: u64,
}

impl Model {
    pub fn new(spec: &Spec) -> Self {
        Model {
            spec: spec.clone(),
            state: spec.initial_state,
            generation: 0,
            unanchored: spec.initial_state == State::Open,
            entered_at: 0,
            open_until: 0,
            deadline: None,
            step: spec.open_us,
            attempts: (spec.initial_state == State::Open) as u32,
            probes_out: 0,
            probe_successes: 0,
            streak_failures: 0,
            reported: Vec::new(),
            latest: 0,
            window: MWindow::new(spec),
            permitted: 0,
            rejected: 0,
            successes: 0,
            failures: 0,
            slow_successes: 0,
            slow_failures: 0,
            ignored: 0,
            cancelled: 0,
            stale: 0,
            dur_sum: 0,
            dur_max: 0,
            events: Vec::new(),
            jitter_unknown: None,
            jitter_hint: None,
            undecidable: false,
        }
    }

    fn min_calls(&self) -> u32 {
        match self.window.cap {
            // A count window lowers the minimum to its size.
            Some(n) => self.spec.minimum_calls.min(n as u32),
            None => self.spec.minimum_calls,
        }
    }

    /// The breaker reads the clock: time never goes back.
    fn read(&mut self, clock: u64) -> u64 {
        self.latest = self.latest.max(clock);
        self.latest
    }

    fn peek(&self, clock: u64) -> u64 {
        self.latest.max(clock)
    }

    /// The state the time-driven transitions due at `now` lead to, if any:
    /// a half-open time-out opens from its deadline, and if that open time
    /// has passed too, the breaker is half-open again.
    fn due(&self, now: u64) -> Option<State> {
        match self.state {
            State::Open if !self.unanchored && now >= self.open_until => Some(State::HalfOpen),
            State::HalfOpen if self.deadline.is_some_and(|d| now >= d) => {
                match self.timeout_until() {
                    Ok(until) if now >= until => Some(State::HalfOpen),
                    _ => Some(State::Open),
                }
            }
            _ => None,
        }
    }

    /// When the open time after the pending half-open time-out ends; with
    /// jitter, the bounds (the harness supplies the subject's value as
    /// `jitter_hint`).
    fn timeout_until(&self) -> Result<u64, (u64, u64)> {
        let deadline = self.deadline.unwrap_or(u64::MAX);
        let step = if self.attempts > 0 {
            self.next_step(self.step)
        } else {
            self.spec.open_us
        };
        match (self.open_time(step), self.jitter_hint) {
            ((lo, hi), _) if lo == hi => Ok(deadline.saturating_add(lo)),
            (_, Some(d)) => Ok(deadline.saturating_add(d)),
            ((lo, hi), None) => Err((deadline.saturating_add(lo), deadline.saturating_add(hi))),
        }
    }

    /// Exact backoff: step × factor / 1000, between the open time and the cap.
    fn next_step(&self, step: u64) -> u64 {
        let grown = step as u128 * self.spec.factor() as u128 / 1_000;
        let grown = u64::try_from(grown).unwrap_or(u64::MAX);
        grown.min(self.spec.max_open_us()).max(self.spec.open_us)
    }

    /// The open time of `step`: exact without jitter; with jitter, the
    /// bounds it must fall in.
    fn open_time(&self, step: u64) -> (u64, u64) {
        let fix = |d: u64| d.min(self.spec.max_open_us()).max(MIN_OPEN_US);
        match self.spec.jitter {
            Some((p, _)) if p > 0 => {
                let spread = (step as u128 * p as u128 / 1_000) as u64;
                (
                    fix(step.saturating_sub(spread)),
                    fix(step.saturating_add(spread)),
                )
            }
            _ => (fix(step), fix(step)),
        }
    }

    fn enter(&mut self, to: State, reason: Reason, at: u64) {
        let from = self.state;
        self.state = to;
        self.unanchored = false;
        self.generation = self.generation.wrapping_add(1);
        self.entered_at = at;
        self.probes_out = 0;
        self.probe_successes = 0;
        self.streak_failures = 0;
        self.reported.clear();
        self.deadline = None;
        match to {
            State::Closed => {
                self.attempts = 0;
                self.step = self.spec.open_us;
                self.window.clear();
            }
            State::HalfOpen | State::MetricsOnly => self.window.clear(),
            _ => {}
        }
        if from != to {
            self.events.push(Ev::E(Event::StateChanged {
                from,
                to,
                reason,
                at: Instant::from_micros(at),
            }));
        }
    }

    fn enter_half_open(&mut self, reason: Reason, at: u64, now: u64) {
        self.enter(State::HalfOpen, reason, at);
        self.deadline = self
            .spec
            .half_open_limit_us
            .map(|l| now.saturating_add(l))
            .filter(|d| *d != u64::MAX);
    }

    fn open(&mut self, reason: Reason, open_for: Option<u64>, now: u64) {
        if self.state == State::HalfOpen && self.attempts > 0 {
            // A server's retry-after is not a step of the backoff.
            if reason != Reason::RetryAfter {
                self.step = self.next_step(self.step);
            }
            self.attempts = self.attempts.saturating_add(1);
        } else {
            self.step = self.spec.open_us;
            self.attempts = 1;
        }
        self.jitter_unknown = None;
        let d = match open_for {
            Some(us) => us.max(MIN_OPEN_US),
            None => {
                let (lo, hi) = self.open_time(self.step);
                match self.jitter_hint.take() {
                    _ if lo == hi => lo,
                    Some(d) => d,
                    None => {
                        self.jitter_unknown =
                            Some((now.saturating_add(lo), now.saturating_add(hi)));
                        lo
                    }
                }
            }
        };
        self.open_until = now.saturating_add(d);
        self.enter(State::Open, reason, now);
    }

    /// The lazy transition, performed at the start of every changing operation.
    fn catch_up(&mut self, clock: u64) -> Option<u64> {
        match self.state {
            State::Open | State::HalfOpen => {
                let now = self.read(clock);
                if self.unanchored {
                    // The initial open time starts now: the open duration as
                    // configured, without jitter.
                    self.unanchored = false;
                    self.entered_at = now;
                    let d = self.spec.open_us;
                    self.open_until = now.saturating_add(d);
                    return Some(now);
                }
                match self.state {
                    State::Open if now >= self.open_until => {
                        self.enter_half_open(Reason::OpenTimeElapsed, self.open_until, now)
                    }
                    State::HalfOpen if self.deadline.is_some_and(|d| now >= d) => {
                        let deadline = self.deadline.unwrap_or(u64::MAX);
                        self.open(Reason::HalfOpenTimeout, None, deadline);
                        match self.jitter_unknown {
                            Some((lo, _)) if now >= lo => self.undecidable = true,
                            Some(_) => {}
                            None if now >= self.open_until => {
                                self.enter_half_open(Reason::OpenTimeElapsed, self.open_until, now)
                            }
                            None => {}
                        }
                    }
                    _ => {}
                }
                Some(now)
            }
            _ => None,
        }
    }

    /// How long until a call may be admitted: unknown when forced open or
    /// half-open with every probe out.
    fn retry_at(&self, now: u64) -> Option<u64> {
        match self.state {
            State::Open if self.unanchored => Some(self.step),
            State::Open => Some(self.open_until.saturating_sub(now)),
            State::ForcedOpen => None,
            State::HalfOpen if self.probes_out >= u32::from(self.spec.half_open_permits) => None,
            _ => Some(0),
        }
    }

    /// Disabled reports no outcome, only that it was entered and left.
    fn outcome_event(&mut self, e: Event) {
        if self.state != State::Disabled {
            self.events.push(Ev::E(e));
        }
    }

    pub fn acquire(&mut self, clock: u64) -> Result<MPermit, Rej> {
        let now = self.catch_up(clock);
        let reason = match self.state {
            State::Closed | State::MetricsOnly | State::Disabled => None,
            State::HalfOpen if self.probes_out < u32::from(self.spec.half_open_permits) => {
                self.probes_out += 1;
                None
            }
            State::HalfOpen => Some(RejectReason::HalfOpenFull),
            State::Open => Some(RejectReason::Open),
            State::ForcedOpen => Some(RejectReason::ForcedOpen),
        };
        match reason {
            None => {
                self.permitted += 1;
                let started = if self.spec.measures_durations() {
                    self.read(clock)
                } else {
                    0
                };
                Ok(MPermit {
                    generation: self.generation,
                    started,
                })
            }
            Some(reason) => {
                self.rejected += 1;
                let r = (reason, self.retry_at(now.unwrap_or(self.latest)));
                self.events.push(Ev::Rejected(r.0, r.1));
                Err(r)
            }
        }
    }

    fn stale(&mut self) -> Recorded {
        self.stale += 1;
        self.outcome_event(Event::Stale);
        Recorded::Stale
    }

    fn release_probe(&mut self) {
        if self.state == State::HalfOpen {
            self.probes_out = self.probes_out.saturating_sub(1);
        }
    }

    pub fn record(&mut self, p: MPermit, kind: Kind, clock: u64) -> Recorded {
        self.catch_up(clock);
        if p.generation != self.generation {
            return self.stale();
        }
        match kind {
            Kind::Ignored => {
                self.ignored += 1;
                self.release_probe();
                self.outcome_event(Event::Ignored);
                Recorded::Ignored
            }
            Kind::Success => self.count(p, false, None, clock),
            Kind::Failure => self.count(p, true, None, clock),
            Kind::RetryAfter(us) => self.count(p, true, Some(us), clock),
        }
    }

    pub fn cancel(&mut self, p: MPermit, clock: u64) -> Recorded {
        self.catch_up(clock);
        if p.generation != self.generation {
            return self.stale();
        }
        if self.spec.count_cancel_as_failure {
            return self.count(p, true, None, clock);
        }
        self.cancelled += 1;
        self.release_probe();
        self.outcome_event(Event::Cancelled);
        Recorded::Cancelled
    }

    /// What the window holds at the breaker's latest time.
    fn totals(&self) -> Totals {
        self.window.totals(self.latest)
    }

    /// The rules reached now, in the documented order.
    fn reached(&self) -> Vec<(Rule, u32, u32)> {
        let t = self.totals();
        let mut out = Vec::new();
        if let Some(n) = self.spec.consecutive_failures {
            if self.streak_failures >= n {
                out.push((Rule::ConsecutiveFailures, self.streak_failures, n));
            }
        }
        if t.calls >= self.min_calls() {
            // Inclusive thresholds: rate >= threshold, as exact fractions.
            if let Some(p) = self.spec.failure_rate {
                if t.failures as u64 * 1000 >= p as u64 * t.calls as u64 {
                    out.push((Rule::FailureRate, t.failures * 1000 / t.calls, p as u32));
                }
            }
            if let Some((p, _)) = self.spec.slow_rate {
                if t.slow as u64 * 1000 >= p as u64 * t.calls as u64 {
                    out.push((Rule::SlowCallRate, t.slow * 1000 / t.calls, p as u32));
                }
            }
        }
        out
    }

    /// A success that would change nothing but the success count: a full
    /// count window without failures or slow calls, no failure streak, no
    /// rule reported.
    fn success_is_noop(&self) -> bool {
        matches!(self.state, State::Closed | State::MetricsOnly)
            && self.window.cap == Some(self.window.calls.len())
            && self.window.calls.iter().all(|&(_, f, s)| !f && !s)
            && self.streak_failures == 0
            && self.reported.is_empty()
    }

    fn count(&mut self, p: MPermit, failed: bool, open_for: Option<u64>, clock: u64) -> Recorded {
        // An outcome that may change the state reads the clock first, so a
        // panicking clock changes nothing.
        if matches!(self.state, State::Closed | State::MetricsOnly)
            && (failed || !self.success_is_noop())
        {
            self.read(clock);
        }
        let duration = if self.spec.measures_durations() {
            let d = self.read(clock).saturating_sub(p.started);
            self.dur_sum = self.dur_sum.saturating_add(d);
            self.dur_max = self.dur_max.max(d);
            Some(d)
        } else {
            None
        };
        // Slow: strictly longer than the threshold.
        let slow = match (self.spec.slow_rate, duration) {
            (Some((_, limit)), Some(d)) => d > limit,
            _ => false,
        };
        if failed {
            self.failures += 1;
        } else {
            self.successes += 1;
        }
        if slow && failed {
            self.slow_failures += 1;
        } else if slow {
            self.slow_successes += 1;
        }
        if self.state != State::Disabled {
            if failed {
                self.streak_failures += 1;
            } else {
                self.streak_failures = 0;
            }
        }
        self.outcome_event(if failed {
            Event::Failure {
                duration_us: duration,
                slow,
            }
        } else {
            Event::Success {
                duration_us: duration,
                slow,
            }
        });
        // A server's retry-after opens at once, for at most the cap.
        let open_for = open_for.map(|us| us.min(MAX_RETRY_AFTER_US));
        match self.state {
            State::Closed | State::MetricsOnly => {
                // A time window needs the time; a count window reads none.
                let t = if self.window.cap.is_none() {
                    self.read(clock)
                } else {
                    self.latest
                };
                self.window.record(t, failed, slow);
                let reached = self.reached();
                for (rule, value, threshold) in &reached {
                    if !self.reported.contains(rule) {
                        self.events.push(Ev::E(Event::ThresholdExceeded {
                            rule: *rule,
                            value: *value,
                            threshold: *threshold,
                        }));
                    }
                }
                if self.state == State::Closed && open_for.is_some() {
                    let now = self.read(clock);
                    self.open(Reason::RetryAfter, open_for, now);
                } else if self.state == State::Closed && !reached.is_empty() {
                    let now = self.read(clock);
                    self.open(Reason::Tripped(reached[0].0), None, now);
                } else {
                    self.reported = reached.iter().map(|r| r.0).collect();
                }
            }
            State::HalfOpen if failed || slow => {
                let reason = match open_for {
                    Some(_) => Reason::RetryAfter,
                    None if failed => Reason::ProbeFailed,
                    None => Reason::ProbeSlow,
                };
                let now = self.read(clock);
                self.open(reason, open_for, now);
            }
            State::HalfOpen => {
                self.probe_successes += 1;
                if self.probe_successes >= u32::from(self.spec.half_open_successes) {
                    let now = self.read(clock);
                    self.enter(State::Closed, Reason::ProbesSucceeded, now);
                }
            }
            _ => {}
        }
        Recorded::Counted
    }

    pub fn transition(&mut self, to: State, clock: u64) -> Result<(), TransitionError> {
        self.catch_up(clock);
        let from = self.state;
        if from == to {
            return Ok(());
        }
        match to {
            State::HalfOpen if from.admits_calls() => return Err(TransitionError { from, to }),
            State::HalfOpen => {
                let now = self.read(clock);
                self.enter_half_open(Reason::Manual, now, now);
            }
            State::Open => {
                let now = self.read(clock);
                self.open(Reason::Manual, None, now);
            }
            _ => {
                let now = self.read(clock);
                self.enter(to, Reason::Manual, now);
            }
        }
        Ok(())
    }

    pub fn open_for(&mut self, us: u64, clock: u64) {
        self.catch_up(clock);
        let now = self.read(clock);
        self.open(Reason::Manual, Some(us), now);
    }

    pub fn reset(&mut self, clock: u64) {
        self.catch_up(clock);
        let now = self.read(clock);
        // The state change first, then the reset.
        self.enter(State::Closed, Reason::Reset, now);
        self.events.push(Ev::E(Event::Reset {
            at: Instant::from_micros(now),
        }));
    }

    /// A due half-open time-out whose jittered open time the model does not
    /// know yet: the deadline and the bounds of the open time.
    pub fn pending_jitter(&self, clock: u64) -> Option<(u64, u64, u64)> {
        let now = self.peek(clock);
        let deadline = self.deadline.filter(|d| now >= *d)?;
        if self.state != State::HalfOpen || self.jitter_hint.is_some() {
            return None;
        }
        let step = if self.attempts > 0 {
            self.next_step(self.step)
        } else {
            self.spec.open_us
        };
        let (lo, hi) = self.open_time(step);
        (lo != hi).then_some((deadline, lo, hi))
    }

    /// The harness learned the jittered open time from the subject.
    pub fn set_open_until(&mut self, open_until: u64) {
        self.open_until = open_until;
        self.jitter_unknown = None;
    }

    pub fn latest(&self) -> u64 {
        self.latest
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn stored_state(&self) -> State {
        self.state
    }

    pub fn state(&self, clock: u64) -> State {
        self.due(self.peek(clock)).unwrap_or(self.state)
    }

    /// `Ok(exact)`, or `Err((lo, hi))` when it is a jittered open time the
    /// model only knows the bounds of.
    pub fn retry_after(&self, clock: u64) -> Result<Option<u64>, (u64, u64)> {
        let now = self.peek(clock);
        match self.due(now) {
            Some(State::HalfOpen) => Ok(Some(0)),
            Some(_) => match self.timeout_until() {
                Ok(until) => Ok(Some(until.saturating_sub(now))),
                Err((lo, hi)) => Err((lo.saturating_sub(now), hi.saturating_sub(now))),
            },
            None => Ok(self.retry_at(now)),
        }
    }

    pub fn metrics(&self, clock: u64) -> Metrics {
        let now = self.peek(clock);
        let reopened = self.attempts.saturating_add(1).max(1);
        let (state, entered, window, streaks, attempts) = match self.due(now) {
            Some(State::HalfOpen) if self.state == State::Open => (
                State::HalfOpen,
                self.open_until,
                Totals::EMPTY,
                (0, 0),
                self.attempts,
            ),
            Some(State::HalfOpen) => (
                State::HalfOpen,
                self.timeout_until().unwrap_or(u64::MAX),
                Totals::EMPTY,
                (0, 0),
                reopened,
            ),
            Some(to) => (
                to,
                self.deadline.unwrap_or(u64::MAX),
                Totals::EMPTY,
                (0, 0),
                reopened,
            ),
            None if self.unanchored => (self.state, now, Totals::EMPTY, (0, 0), self.attempts),
            None => (
                self.state,
                self.entered_at,
                self.window.totals(now),
                (self.streak_failures, self.probe_successes),
                self.attempts,
            ),
        };
        let gated = window.calls >= self.min_calls() && window.calls > 0;
        Metrics {
            state,
            generation: self.generation,
            time_in_state_us: now.saturating_sub(entered),
            permitted: self.permitted,
            rejected: self.rejected,
            successes: self.successes,
            failures: self.failures,
            slow_successes: self.slow_successes,
            slow_failures: self.slow_failures,
            ignored: self.ignored,
            cancelled: self.cancelled,
            stale: self.stale,
            clock_glitches: 0,
            window,
            failure_rate_permille: gated
                .then(|| (window.failures as u64 * 1000 / window.calls as u64) as u16),
            slow_call_rate_permille: gated
                .then(|| (window.slow as u64 * 1000 / window.calls as u64) as u16),
            consecutive_failures: streaks.0,
            probe_successes: streaks.1,
            open_attempts: attempts,
            duration_sum_us: self.dur_sum,
            duration_max_us: self.dur_max,
        }
    }
}

// ----- the subjects ------------------------------------------------------------

/// An observer that keeps every event it wants: all of them by default, or
/// only the breaker's changes, which leaves a shared breaker its lock-free
/// paths for every other operation.
pub struct Recorder(pub RefCell<Vec<Event>>, pub Interest);

impl Default for Recorder {
    fn default() -> Self {
        Recorder(RefCell::default(), Interest::ALL)
    }
}

impl Observer for Recorder {
    fn interest(&self) -> Interest {
        self.1
    }

    fn on_event(&self, event: &Event) {
        self.0.borrow_mut().push(*event);
    }
}

/// The two forms of the breaker the model is compared with.
pub trait Subject {
    type Permit;
    fn acquire(&mut self) -> Result<Self::Permit, Rejected>;
    fn record(&mut self, p: Self::Permit, o: Outcome) -> Recorded;
    /// Cancels; the shared form's guard reports nothing, hence `Option`.
    fn cancel(&mut self, p: Self::Permit) -> Option<Recorded>;
    fn call(&mut self, clock: &MockClock, kind: Kind, takes: u64) -> Result<u8, CallError<u8>>;
    fn transition(&mut self, to: State) -> Result<(), TransitionError>;
    fn open_for(&mut self, us: u64);
    fn reset(&mut self);
    fn state(&self) -> State;
    fn metrics(&self) -> Metrics;
    fn retry_after(&self) -> Option<u64>;
    fn generation(&self) -> u64;
    fn take_events(&self) -> Vec<Event>;
    /// The events the subject's observer wants.
    fn wants(&self) -> Interest;
}

fn run_call(clock: &MockClock, kind: Kind, takes: u64) -> Result<u8, u8> {
    clock.advance(Duration::from_micros(takes));
    match kind {
        Kind::Success => Ok(1),
        _ => Err(2),
    }
}

fn classify(kind: Kind) -> impl FnOnce(&Result<u8, u8>) -> Outcome {
    move |_| kind.outcome()
}

/// The `&mut` breaker.
pub type Plain<'a, W> = Breaker<W, &'a MockClock, &'a Recorder>;

impl<W: Window> Subject for Plain<'_, W> {
    type Permit = tripline::Permit;
    fn acquire(&mut self) -> Result<Self::Permit, Rejected> {
        self.try_acquire()
    }
    fn record(&mut self, p: Self::Permit, o: Outcome) -> Recorded {
        Breaker::record(self, p, o)
    }
    fn cancel(&mut self, p: Self::Permit) -> Option<Recorded> {
        Some(Breaker::cancel(self, p))
    }
    fn call(&mut self, clock: &MockClock, kind: Kind, takes: u64) -> Result<u8, CallError<u8>> {
        self.call_with(|| run_call(clock, kind, takes), classify(kind))
    }
    fn transition(&mut self, to: State) -> Result<(), TransitionError> {
        self.transition_to(to)
    }
    fn open_for(&mut self, us: u64) {
        Breaker::open_for(self, Duration::from_micros(us));
    }
    fn reset(&mut self) {
        Breaker::reset(self);
    }
    fn state(&self) -> State {
        Breaker::state(self)
    }
    fn metrics(&self) -> Metrics {
        Breaker::metrics(self)
    }
    fn retry_after(&self) -> Option<u64> {
        self.retry_after_micros()
    }
    fn generation(&self) -> u64 {
        Breaker::generation(self)
    }
    fn take_events(&self) -> Vec<Event> {
        std::mem::take(&mut *self.observer().0.borrow_mut())
    }
    fn wants(&self) -> Interest {
        self.observer().1
    }
}

/// The shared breaker over a critical section, with guards that cancel on
/// drop; `L` chooses whether it has lock-free paths.
pub type Shared<'a, W, L = tripline::shared::CriticalSectionLock> =
    SharedBreaker<W, &'a MockClock, &'a Recorder, L>;

/// The critical-section lock without lock-free paths, as on a Cortex-M0:
/// every operation, reads included, takes the lock.
pub struct LockedCs;

impl LockKind for LockedCs {
    type Lock<T> = critical_section::Mutex<RefCell<T>>;
    type Fast = Locked;

    fn new<T>(value: T) -> Self::Lock<T> {
        critical_section::Mutex::new(RefCell::new(value))
    }

    fn with<T, R>(lock: &Self::Lock<T>, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        critical_section::with(|cs| Some(f(&mut *lock.borrow(cs).try_borrow_mut().ok()?)))
    }
}

impl<'a, W: Window, L: LockKind> Subject for &'a Shared<'a, W, L> {
    type Permit = tripline::SharedPermit<&'a Shared<'a, W, L>>;
    fn acquire(&mut self) -> Result<Self::Permit, Rejected> {
        SharedBreaker::try_acquire_via(*self)
    }
    fn record(&mut self, p: Self::Permit, o: Outcome) -> Recorded {
        p.record(o).expect("not re-entered")
    }
    fn cancel(&mut self, p: Self::Permit) -> Option<Recorded> {
        drop(p);
        None
    }
    fn call(&mut self, clock: &MockClock, kind: Kind, takes: u64) -> Result<u8, CallError<u8>> {
        self.call_with(|| run_call(clock, kind, takes), classify(kind))
    }
    fn transition(&mut self, to: State) -> Result<(), TransitionError> {
        self.transition_to(to).expect("not re-entered")
    }
    fn open_for(&mut self, us: u64) {
        SharedBreaker::open_for(self, Duration::from_micros(us)).expect("not re-entered");
    }
    fn reset(&mut self) {
        SharedBreaker::reset(self).expect("not re-entered");
    }
    fn state(&self) -> State {
        SharedBreaker::state(self)
    }
    fn metrics(&self) -> Metrics {
        SharedBreaker::metrics(self)
    }
    fn retry_after(&self) -> Option<u64> {
        SharedBreaker::retry_after_micros(self)
    }
    fn generation(&self) -> u64 {
        SharedBreaker::generation(self)
    }
    fn take_events(&self) -> Vec<Event> {
        std::mem::take(&mut *self.observer().0.borrow_mut())
    }
    fn wants(&self) -> Interest {
        self.observer().1
    }
}

// ----- the harness -------------------------------------------------------------

/// Drives `subject` and the model through `ops`, comparing after every step.
/// Returns the number of steps taken, or a description of the first difference.
pub fn check<S: Subject>(
    spec: &Spec,
    clock: &MockClock,
    subject: &mut S,
    ops: &[Op],
) -> Result<usize, String> {
    let mut model = Model::new(spec);
    let mut held: Vec<(S::Permit, MPermit)> = Vec::new();
    // Every call the test made: admitted or rejected.
    let mut attempts: u64 = 0;
    compare(spec, clock, subject, &mut model, &held, "start", attempts)?;
    for (i, op) in ops.iter().enumerate() {
        let at = || format!("step {i}: {op:?}");
        let c = || clock.now_micros();
        model.jitter_hint = None;
        learn_jitter(subject, &mut model, c()).map_err(|e| format!("{}: {e}", at()))?;
        match *op {
            Op::Acquire => {
                attempts += 1;
                let got = subject.acquire();
                let want = model.acquire(c());
                match (got, want) {
                    (Ok(p), Ok(mp)) => held.push((p, mp)),
                    (Err(g), Err(w)) if parts(&g) == w => {}
                    (g, w) => {
                        return Err(format!(
                            "{}: acquire gave {:?}, model {:?}",
                            at(),
                            g.err(),
                            w.err()
                        ))
                    }
                }
            }
            Op::Record(k, kind) if !held.is_empty() => {
                let (p, mp) = held.remove(k % held.len());
                let got = subject.record(p, kind.outcome());
                let want = model.record(mp, kind, c());
                if got != want {
                    return Err(format!("{}: record gave {got:?}, model {want:?}", at()));
                }
            }
            Op::Cancel(k) if !held.is_empty() => {
                let (p, mp) = held.remove(k % held.len());
                let got = subject.cancel(p);
                let want = model.cancel(mp, c());
                if got.is_some_and(|g| g != want) {
                    return Err(format!("{}: cancel gave {got:?}, model {want:?}", at()));
                }
            }
            Op::Record(..) | Op::Cancel(_) => continue,
            Op::Call(kind, takes) => {
                attempts += 1;
                let start = c();
                let got = subject.call(clock, kind, takes);
                let got = got.map_err(|e| match e {
                    CallError::Rejected(r) => Err(parts(&r)),
                    CallError::Inner(e) => Ok(e),
                });
                // The subject's call moved the clock if it ran.
                let want = match model.acquire(start) {
                    Err(r) => Err(Err(r)),
                    Ok(mp) => {
                        model.record(mp, kind, c());
                        if kind == Kind::Success {
                            Ok(1)
                        } else {
                            Err(Ok(2))
                        }
                    }
                };
                if got != want {
                    return Err(format!("{}: call gave {got:?}, model {want:?}", at()));
                }
            }
            Op::Advance(us) => clock.advance(Duration::from_micros(us)),
            Op::SetClock(t) => clock.set(Instant::from_micros(t)),
            Op::Transition(to) => {
                let got = subject.transition(to);
                let want = model.transition(to, c());
                if got != want {
                    return Err(format!("{}: transition gave {got:?}, model {want:?}", at()));
                }
            }
            Op::OpenFor(us) => {
                subject.open_for(us);
                model.open_for(us, c());
            }
            Op::Reset => {
                subject.reset();
                model.reset(c());
            }
        }
        if model.undecidable {
            return Ok(i);
        }
        // A jittered open time: check its bounds, then adopt it.
        if let Some((lo, hi)) = model.jitter_unknown {
            let now = model.latest().max(c());
            let got = subject
                .retry_after()
                .ok_or_else(|| format!("{}: open without retry", at()))?;
            let until = now.saturating_add(got);
            if until != u64::MAX && !(lo..=hi).contains(&until) {
                return Err(format!(
                    "{}: jittered open until {until} outside {lo}..={hi}",
                    at()
                ));
            }
            model.set_open_until(until);
        }
        compare(spec, clock, subject, &mut model, &held, &at(), attempts)?;
    }
    Ok(ops.len())
}

/// A due half-open time-out with jitter: learns from the subject when the
/// open time it will start at the deadline ends (checked against the
/// model's bounds), so that the model can follow.
fn learn_jitter<S: Subject>(subject: &S, model: &mut Model, c: u64) -> Result<(), String> {
    let Some((deadline, lo, hi)) = model.pending_jitter(c) else {
        return Ok(());
    };
    let now = model.latest().max(c);
    let until = if subject.state() == State::HalfOpen {
        // The open time has passed too: it ended when this half-open began.
        now.saturating_sub(subject.metrics().time_in_state_us)
    } else {
        now.saturating_add(subject.retry_after().ok_or("pending open without retry")?)
    };
    let d = until.saturating_sub(deadline);
    if until != u64::MAX && !(lo..=hi).contains(&d) {
        return Err(format!("pending open time {d} outside {lo}..={hi}"));
    }
    model.jitter_hint = Some(d);
    Ok(())
}

fn compare<S: Subject>(
    spec: &Spec,
    clock: &MockClock,
    subject: &S,
    model: &mut Model,
    held: &[(S::Permit, MPermit)],
    at: &str,
    attempts: u64,
) -> Result<(), String> {
    let c = clock.now_micros();
    learn_jitter(subject, model, c).map_err(|e| format!("{at}: {e}"))?;
    let events: Vec<Ev> = subject.take_events().iter().map(Ev::of).collect();
    let wants = subject.wants();
    let want_events: Vec<Ev> = std::mem::take(&mut model.events)
        .into_iter()
        .filter(|e| match e {
            Ev::Rejected(..) => wants.contains(Interest::REJECTED),
            Ev::E(e) => wants.contains(e.kind()),
        })
        .collect();
    if events != want_events {
        return Err(format!(
            "{at}: events\n  got   {events:?}\n  model {want_events:?}"
        ));
    }
    let (state, want_state) = (subject.state(), model.state(c));
    if state != want_state {
        return Err(format!("{at}: state {state:?}, model {want_state:?}"));
    }
    if subject.generation() != model.generation() {
        return Err(format!(
            "{at}: generation {}, model {}",
            subject.generation(),
            model.generation()
        ));
    }
    let m = subject.metrics();
    let want = model.metrics(c);
    if m != want {
        return Err(format!("{at}: metrics\n  got   {m:?}\n  model {want:?}"));
    }
    let retry = subject.retry_after();
    match model.retry_after(c) {
        Ok(w) if w != retry => return Err(format!("{at}: retry_after {retry:?}, model {w:?}")),
        Err((lo, hi)) if !retry.is_some_and(|r| (lo..=hi).contains(&r)) => {
            return Err(format!("{at}: retry_after {retry:?}, model {lo}..={hi}"))
        }
        _ => {}
    }
    // Invariants, on the subject's own numbers.
    let current = held
        .iter()
        .filter(|(_, p)| p.generation == subject.generation())
        .count() as u32;
    if model.stored_state() == State::HalfOpen && current > u32::from(spec.half_open_permits) {
        return Err(format!(
            "{at}: {current} probes out, {} permitted",
            spec.half_open_permits
        ));
    }
    let settled = m.successes + m.failures + m.ignored + m.cancelled + m.stale;
    if m.permitted != settled + held.len() as u64 {
        return Err(format!(
            "{at}: {m:?} does not account for {} held permits",
            held.len()
        ));
    }
    if m.permitted + m.rejected != attempts {
        return Err(format!("{at}: {attempts} calls, {m:?}"));
    }
    if m.in_flight() != held.len() as u64 {
        return Err(format!(
            "{at}: in_flight {} != {}",
            m.in_flight(),
            held.len()
        ));
    }
    let rates = [m.failure_rate_permille, m.slow_call_rate_permille];
    if rates.iter().flatten().any(|r| *r > 1000) {
        return Err(format!("{at}: rate out of range {m:?}"));
    }
    let cap = if spec.time_window.is_some() {
        u32::MAX as usize
    } else {
        spec.window
    };
    if m.window.calls as usize > cap
        || m.window.failures > m.window.calls
        || m.window.slow > m.window.calls
    {
        return Err(format!("{at}: window {:?} over {cap}", m.window));
    }
    if m.slow_calls() > m.successes + m.failures {
        return Err(format!("{at}: more slow calls than counted ones {m:?}"));
    }
    Ok(())
}

trait NowMicros {
    fn now_micros(&self) -> u64;
}

impl NowMicros for MockClock {
    fn now_micros(&self) -> u64 {
        tripline::Clock::now(self).as_micros()
    }
}

/// Runs `ops` against both forms of the breaker.
pub fn check_both(spec: &Spec, ops: &[Op]) -> Result<(), String> {
    fn time<const B: usize>(spec: &Spec, span: u64, ops: &[Op]) -> Result<(), String> {
        match TimeWindow::<B>::new(Duration::from_micros(span)) {
            Ok(w) => check_with(spec, w, ops),
            // The window refuses a span under 1 µs per bucket; so does the model.
            Err(_) if span < B as u64 => Ok(()),
            Err(e) => Err(format!("TimeWindow::<{B}>::new({span} µs): {e:?}")),
        }
    }
    match (spec.time_window, spec.window) {
        (Some((1, span)), _) => time::<1>(spec, span, ops),
        (Some((3, span)), _) => time::<3>(spec, span, ops),
        (Some((_, span)), _) => {
            let spec = Spec {
                time_window: Some((8, span)),
                ..spec.clone()
            };
            time::<8>(&spec, span, ops)
        }
        (None, 1) => check_with(spec, CountWindow::<1>::new(), ops),
        (None, 4) => check_with(spec, CountWindow::<4>::new(), ops),
        (None, _) => {
            let spec = Spec {
                window: 10,
                ..spec.clone()
            };
            check_with(&spec, CountWindow::<10>::new(), ops)
        }
    }
}

fn check_with<W: Window + Clone>(spec: &Spec, window: W, ops: &[Op]) -> Result<(), String> {
    let config = match (spec.build(), spec.is_valid()) {
        (Ok(c), true) => c,
        (Err(_), false) => return Ok(()),
        (got, _) => return Err(format!("builder said {got:?} for {spec:?}")),
    };
    let clock = MockClock::new();
    let recorder = Recorder::default();
    let mut plain: Plain<'_, W> =
        Breaker::new(config, window.clone(), &clock).with_observer(&recorder);
    check(spec, &clock, &mut plain, ops).map_err(|e| format!("Breaker: {e}"))?;

    let clock = MockClock::new();
    let recorder = Recorder::default();
    let shared: Shared<'_, W> =
        SharedBreaker::with_observer(config, window.clone(), &clock, &recorder);
    check(spec, &clock, &mut &shared, ops).map_err(|e| format!("SharedBreaker: {e}"))?;

    // Watching only the changes: the lock-free paths run wherever they can.
    let clock = MockClock::new();
    let recorder = Recorder(RefCell::default(), Interest::CHANGES);
    let shared: Shared<'_, W> =
        SharedBreaker::with_observer(config, window.clone(), &clock, &recorder);
    check(spec, &clock, &mut &shared, ops)
        .map_err(|e| format!("SharedBreaker, lock-free paths: {e}"))?;

    // No lock-free path at all, as on a chip without 64-bit atomics.
    let clock = MockClock::new();
    let recorder = Recorder::default();
    let shared: Shared<'_, W, LockedCs> =
        SharedBreaker::with_lock(config, window, &clock, &recorder);
    check(spec, &clock, &mut &shared, ops).map_err(|e| format!("SharedBreaker, locked: {e}"))?;
    Ok(())
}
