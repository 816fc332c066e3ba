//! The semantics a user relies on where resilience4j, Polly and gobreaker
//! differ or are silent: a server's retry-after, what `retry_after` answers,
//! Disabled, reset, an initial Open state, slow calls, late time-outs, the
//! generation, and a clock that misbehaves once. Through the facade only;
//! time moves only through `MockClock` (or a clock the test scripts).

use core::time::Duration;
use std::cell::{Cell, RefCell};

use tripline::shared::SharedBreaker;
use tripline::window::{CountWindow, TimeWindow};
use tripline::*;

// ----- helpers ---------------------------------------------------------------

/// Keeps every event.
#[derive(Default)]
struct Recorder(RefCell<Vec<Event>>);

impl Observer for Recorder {
    fn on_event(&self, event: &Event) {
        self.0.borrow_mut().push(*event);
    }
}

impl Recorder {
    fn take(&self) -> Vec<Event> {
        std::mem::take(&mut *self.0.borrow_mut())
    }

    /// The state changes seen, as (from, to, reason).
    fn changes(&self) -> Vec<(State, State, Reason)> {
        self.take()
            .into_iter()
            .filter_map(|e| match e {
                Event::StateChanged {
                    from, to, reason, ..
                } => Some((from, to, reason)),
                _ => None,
            })
            .collect()
    }
}

fn build(b: ConfigBuilder) -> Config {
    b.build().expect("a valid configuration")
}

fn call<W: Window, C: Clock, O: Sink>(b: &mut Breaker<W, C, O>, outcome: Outcome) -> Recorded {
    let p = b.try_acquire().expect("admitted");
    b.record(p, outcome)
}

const SECOND: Duration = Duration::from_secs(1);

// ----- 1. a server's retry-after ---------------------------------------------

#[test]
fn a_retry_after_opens_at_once_from_closed_without_a_rule_reached() {
    let clock = MockClock::new();
    let rec = Recorder::default();
    let mut b = Breaker::new(
        build(Config::builder().consecutive_failures(5)),
        CountWindow::<8>::new(),
        &clock,
    )
    .with_observer(&rec);
    call(&mut b, Outcome::FailureRetryAfter(30 * SECOND));
    assert_eq!(b.state(), State::Open);
    assert_eq!(b.retry_after(), Some(30 * SECOND));
    assert_eq!(
        rec.changes(),
        vec![(State::Closed, State::Open, Reason::RetryAfter)]
    );
    assert_eq!(b.metrics().failures, 1);
    clock.advance(30 * SECOND);
    assert_eq!(b.state(), State::HalfOpen);
}

#[test]
fn a_retry_after_from_half_open_does_not_advance_the_backoff() {
    let clock = MockClock::new();
    let mut b = Breaker::new(
        build(
            Config::builder()
                .consecutive_failures(1)
                .open_duration(SECOND)
                .exponential_backoff(2_000, Duration::from_secs(60)),
        ),
        CountWindow::<8>::new(),
        &clock,
    );
    call(&mut b, Outcome::Failure); // opens for 1 s (step 1)
    clock.advance(SECOND);
    call(&mut b, Outcome::FailureRetryAfter(5 * SECOND)); // the server's 5 s
    assert_eq!(b.retry_after(), Some(5 * SECOND));
    clock.advance(5 * SECOND);
    call(&mut b, Outcome::Failure); // step 2, not 3
    assert_eq!(b.retry_after(), Some(2 * SECOND));
    assert_eq!(b.metrics().open_attempts, 3);
}

#[test]
fn a_retry_after_is_capped_by_max_retry_after() {
    let clock = MockClock::new();
    let mut b = Breaker::new(
        build(
            Config::builder()
                .consecutive_failures(1)
                .exponential_backoff(1_000, Duration::from_secs(60)),
        ),
        CountWindow::<8>::new(),
        &clock,
    );
    let ten_years = Duration::from_secs(10 * 365 * 24 * 3600);
    call(&mut b, Outcome::FailureRetryAfter(ten_years));
    // The default cap: 10 minutes.
    assert_eq!(b.retry_after(), Some(Duration::from_secs(600)));
}

#[test]
fn metrics_only_counts_a_retry_after_but_never_opens() {
    let clock = MockClock::new();
    let mut b = Breaker::new(
        build(
            Config::builder()
                .consecutive_failures(1)
                .initial_state(State::MetricsOnly),
        ),
        CountWindow::<8>::new(),
        &clock,
    );
    call(&mut b, Outcome::FailureRetryAfter(30 * SECOND));
    assert_eq!(b.state(), State::MetricsOnly);
    assert_eq!(b.metrics().failures, 1);
}

// ----- 2. retry_after never lies ---------------------------------------------

#[test]
fn retry_after_is_unknown_while_every_probe_is_out() {
    let clock = MockClock::new();
    let config = build(
        Config::builder()
            .consecutive_failures(1)
            .open_duration(SECOND)
            .half_open_time_limit(5 * SECOND),
    );
    let mut b = Breaker::new(config, CountWindow::<8>::new(), &clock);
    call(&mut b, Outcome::Failure);
    clock.advance(SECOND);
    let _probe = b.try_acquire().expect("the probe");
    assert_eq!(b.retry_after(), None);
    let r = b.try_acquire().unwrap_err();
    assert_eq!(
        (r.reason(), r.retry_after()),
        (RejectReason::HalfOpenFull, None)
    );

    let shared = SharedBreaker::new(config, CountWindow::<8>::new(), &clock);
    let _ = shared.call(|| Err::<(), _>(()));
    clock.advance(SECOND);
    let _probe = shared.try_acquire().expect("the probe");
    assert_eq!(shared.retry_after(), None);
    assert_eq!(shared.try_acquire().unwrap_err().retry_after(), None);
}

// ----- 3. Disabled records nothing -------------------------------------------

#[test]
fn disabled_reports_only_that_it_was_entered_and_left() {
    let clock = MockClock::new();
    let config = build(Config::builder().consecutive_failures(1));
    let rec = Recorder::default();
    let mut b = Breaker::new(config, CountWindow::<8>::new(), &clock).with_observer(&rec);
    let early = b.try_acquire().unwrap();
    b.disable();
    call(&mut b, Outcome::Success);
    call(&mut b, Outcome::Failure);
    call(&mut b, Outcome::Ignored);
    let p = b.try_acquire().unwrap();
    b.cancel(p);
    assert_eq!(b.record(early, Outcome::Failure), Recorded::Stale);
    b.force_closed();
    let events = rec.take();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events
        .iter()
        .all(|e| matches!(e, Event::StateChanged { .. })));
    // Every call is still counted, once.
    let m = b.metrics();
    assert_eq!(
        (m.successes, m.failures, m.ignored, m.cancelled, m.stale),
        (1, 1, 1, 1, 1)
    );

    // The same through a shared breaker, whose Disabled paths take no lock.
    let rec = Recorder::default();
    let shared = SharedBreaker::with_observer(config, CountWindow::<8>::new(), &clock, &rec);
    shared.disable().unwrap();
    for _ in 0..3 {
        let _ = shared.call(|| Err::<(), _>(()));
        let _ = shared.call(|| Ok::<_, ()>(()));
    }
    assert_eq!(rec.take().len(), 1);
    assert_eq!(shared.metrics().failures, 3);
}

// ----- 4. reset --------------------------------------------------------------

#[test]
fn reset_reports_the_state_change_then_the_reset_and_keeps_lifetime_counts() {
    let clock = MockClock::new();
    let rec = Recorder::default();
    let mut b = Breaker::new(
        build(Config::builder().consecutive_failures(1)),
        CountWindow::<8>::new(),
        &clock,
    )
    .with_observer(&rec);
    call(&mut b, Outcome::Failure);
    rec.take();
    b.reset();
    let events = rec.take();
    assert!(
        matches!(
            events.as_slice(),
            [
                Event::StateChanged {
                    to: State::Closed,
                    reason: Reason::Reset,
                    ..
                },
                Event::Reset { .. }
            ]
        ),
        "{events:?}"
    );
    let m = b.metrics();
    assert_eq!((m.permitted, m.failures), (1, 1));
}

// ----- 5. an initial Open state ----------------------------------------------

#[test]
fn an_initial_open_state_opens_from_the_first_operation_at_backoff_step_one() {
    let clock = MockClock::new();
    clock.advance(Duration::from_secs(100)); // time before the first operation does not count
    let rec = Recorder::default();
    let mut b = Breaker::new(
        build(
            Config::builder()
                .consecutive_failures(1)
                .open_duration(2 * SECOND)
                .exponential_backoff(2_000, Duration::from_secs(60))
                .initial_state(State::Open),
        ),
        CountWindow::<8>::new(),
        &clock,
    )
    .with_observer(&rec);
    assert_eq!(b.state(), State::Open);
    assert_eq!(b.retry_after(), Some(2 * SECOND));
    let r = b.try_acquire().unwrap_err();
    assert_eq!(
        (r.reason(), r.retry_after()),
        (RejectReason::Open, Some(2 * SECOND))
    );
    assert!(rec.changes().is_empty(), "no event until something changes");
    clock.advance(2 * SECOND);
    assert_eq!(b.state(), State::HalfOpen);
    call(&mut b, Outcome::Failure); // the second step: 4 s
    assert_eq!(b.retry_after(), Some(4 * SECOND));
    assert_eq!(
        rec.changes(),
        vec![
            (State::Open, State::HalfOpen, Reason::OpenTimeElapsed),
            (State::HalfOpen, State::Open, Reason::ProbeFailed)
        ]
    );
}

// ----- 6. slow successes and slow failures -----------------------------------

#[test]
fn slow_successes_and_slow_failures_are_counted_apart() {
    let clock = MockClock::new();
    let mut b = Breaker::new(
        build(
            Config::builder()
                .consecutive_failures(10)
                .slow_call_rate(Rate::percent(100), Duration::from_millis(100)),
        ),
        CountWindow::<8>::new(),
        &clock,
    );
    for outcome in [Outcome::Success, Outcome::Failure, Outcome::Failure] {
        let p = b.try_acquire().unwrap();
        clock.advance(Duration::from_millis(150));
        b.record(p, outcome);
    }
    let m = b.metrics();
    assert_eq!(
        (m.slow_successes, m.slow_failures, m.slow_calls()),
        (1, 2, 3)
    );
    assert_eq!((m.window.slow, m.window.slow_failures), (3, 2));
    assert_eq!(m.window.slow_successes(), 1);
}

// ----- 7. a half-open time limit noticed late --------------------------------

#[test]
fn a_half_open_time_out_noticed_late_opens_from_its_deadline() {
    let clock = MockClock::new();
    let rec = Recorder::default();
    let mut b = Breaker::new(
        build(
            Config::builder()
                .consecutive_failures(1)
                .open_duration(10 * SECOND)
                .half_open_time_limit(SECOND),
        ),
        CountWindow::<8>::new(),
        &clock,
    )
    .with_observer(&rec);
    call(&mut b, Outcome::Failure);
    clock.advance(10 * SECOND);
    let lost = b.try_acquire().expect("the probe, never given back");
    // Idle past the deadline (11 s) and past the open time after it (21 s).
    clock.advance(15 * SECOND);
    assert_eq!(b.state(), State::HalfOpen);
    let probe = b.try_acquire().expect("the next caller probes at once");
    assert_eq!(b.record(probe, Outcome::Success), Recorded::Counted);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.record(lost, Outcome::Success), Recorded::Stale);
    let changes = rec.changes();
    assert_eq!(
        changes[1..],
        [
            (State::Open, State::HalfOpen, Reason::OpenTimeElapsed),
            (State::HalfOpen, State::Open, Reason::HalfOpenTimeout),
            (State::Open, State::HalfOpen, Reason::OpenTimeElapsed),
            (State::HalfOpen, State::Closed, Reason::ProbesSucceeded),
        ]
    );
}

#[test]
fn a_half_open_time_out_noticed_within_the_open_time_waits_only_its_rest() {
    let clock = MockClock::new();
    let mut b = Breaker::new(
        build(
            Config::builder()
                .consecutive_failures(1)
                .open_duration(10 * SECOND)
                .half_open_time_limit(SECOND),
        ),
        CountWindow::<8>::new(),
        &clock,
    );
    call(&mut b, Outcome::Failure);
    clock.advance(10 * SECOND);
    let _lost = b.try_acquire().unwrap();
    clock.advance(5 * SECOND); // 4 s past the deadline
    let r = b.try_acquire().unwrap_err();
    assert_eq!(
        (r.reason(), r.retry_after()),
        (RejectReason::Open, Some(6 * SECOND))
    );
}

// ----- 9. a clock that misbehaves once ---------------------------------------

/// A clock the test scripts: `now` plus a one-off reading to return next.
#[derive(Default)]
struct Scripted {
    now: Cell<u64>,
    glitch: Cell<Option<u64>>,
}

impl Clock for Scripted {
    fn now(&self) -> Instant {
        Instant::from_micros(self.glitch.take().unwrap_or(self.now.get()))
    }
}

impl Scripted {
    fn advance(&self, d: Duration) {
        self.now.set(self.now.get() + d.as_micros() as u64);
    }
}

fn glitch_config() -> Config {
    build(
        Config::builder()
            .consecutive_failures(1)
            .open_duration(10 * SECOND)
            .half_open_time_limit(SECOND),
    )
}

#[test]
fn one_reading_at_the_end_of_time_does_not_latch_time_there() {
    for glitch in [u64::MAX, u64::MAX - 1_000] {
        let clock = Scripted::default();
        clock.advance(SECOND);
        let mut b = Breaker::new(glitch_config(), CountWindow::<8>::new(), &clock);
        call(&mut b, Outcome::Failure);
        clock.advance(10 * SECOND);
        clock.glitch.set(Some(glitch));
        let probe = b.try_acquire().expect("half-open: the probe");
        assert_eq!(b.metrics().clock_glitches, 1);
        b.record(probe, Outcome::Failure);
        // Open for the whole open time, which ends.
        assert_eq!(b.retry_after(), Some(10 * SECOND));
        clock.advance(10 * SECOND - Duration::from_micros(1));
        assert_eq!(b.state(), State::Open);
        clock.advance(Duration::from_micros(1));
        assert_eq!(b.state(), State::HalfOpen);
    }
}

#[test]
fn a_shared_breaker_sets_a_glitch_aside_too() {
    let clock = Scripted::default();
    clock.advance(SECOND);
    let b = SharedBreaker::new(glitch_config(), CountWindow::<8>::new(), &clock);
    let _ = b.call(|| Err::<(), _>(()));
    clock.advance(10 * SECOND);
    clock.glitch.set(Some(u64::MAX));
    // Whether the lock-free path or the lock met the glitch, time stands.
    let probe = b.try_acquire().expect("half-open: the probe");
    probe.record(Outcome::Failure).unwrap();
    assert_eq!(b.retry_after(), Some(10 * SECOND));
    clock.advance(10 * SECOND);
    assert_eq!(b.state(), State::HalfOpen);
}

#[test]
fn a_jump_the_clock_stands_by_is_time_passing() {
    let clock = Scripted::default();
    let mut b = Breaker::new(glitch_config(), CountWindow::<8>::new(), &clock);
    call(&mut b, Outcome::Failure);
    // A day without a call: far past the horizon, read the same twice.
    clock.advance(Duration::from_secs(86_400));
    let probe = b.try_acquire().expect("the open time has long passed");
    b.record(probe, Outcome::Success);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.metrics().clock_glitches, 0);
}

#[test]
fn a_time_window_still_trips_on_rate_after_one_reading_of_instant_max() {
    let clock = Scripted::default();
    clock.advance(SECOND);
    let config = build(
        Config::builder()
            .failure_rate(Rate::percent(50))
            .minimum_calls(4)
            .track_latency(true),
    );
    let mut b = Breaker::new(
        config,
        TimeWindow::<4>::new(Duration::from_secs(60)).unwrap(),
        &clock,
    );
    call(&mut b, Outcome::Success);
    clock.glitch.set(Some(u64::MAX));
    call(&mut b, Outcome::Success);
    call(&mut b, Outcome::Failure);
    assert_eq!(b.state(), State::Closed);
    call(&mut b, Outcome::Failure);
    assert_eq!(b.state(), State::Open, "2 of 4 failed: 50 %");
    assert_eq!(b.metrics().clock_glitches, 1);
}
