//! Scenario tests of the breaker's decided semantics (DESIGN.md, "Semantics,
//! decided"), through the public API of the `tripline` facade only. Time moves
//! only through `MockClock`; nothing sleeps.

use core::time::Duration;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::vec::Vec;

use tripline::shared::SharedBreaker;
use tripline::window::{CountWindow, TimeWindow};
use tripline::*;

// ----- helpers ---------------------------------------------------------------

type Cb<'a, const N: usize = 16> = Breaker<CountWindow<N>, &'a MockClock>;

fn cfg(builder: ConfigBuilder) -> Config {
    builder.build().expect("valid configuration")
}

fn counted<const N: usize>(config: Config, clock: &MockClock) -> Cb<'_, N> {
    Breaker::new(config, CountWindow::<N>::new(), clock)
}

/// One admitted call with `outcome`; panics if it is not admitted.
fn call<W: Window, C: Clock, O: Sink>(b: &mut Breaker<W, C, O>, outcome: Outcome) -> Recorded {
    let p = b.try_acquire().expect("the call should be admitted");
    b.record(p, outcome)
}

fn fail<W: Window, C: Clock, O: Sink>(b: &mut Breaker<W, C, O>) -> Recorded {
    call(b, Outcome::Failure)
}

fn succeed<W: Window, C: Clock, O: Sink>(b: &mut Breaker<W, C, O>) -> Recorded {
    call(b, Outcome::Success)
}

/// One admitted call that takes `d` of mock time.
fn timed<W: Window, O: Sink>(
    b: &mut Breaker<W, &MockClock, O>,
    clock: &MockClock,
    d: Duration,
    outcome: Outcome,
) -> Recorded {
    let p = b.try_acquire().expect("the call should be admitted");
    clock.advance(d);
    b.record(p, outcome)
}

/// The open time just chosen, read right after the breaker opened.
fn open_time<W: Window, C: Clock, O: Sink>(b: &Breaker<W, C, O>) -> Duration {
    assert_eq!(b.state(), State::Open);
    b.retry_after()
        .expect("an open breaker knows when to retry")
}

/// Moves the clock to the end of the open time and fails the probe.
fn fail_probe<W: Window, O: Sink>(b: &mut Breaker<W, &MockClock, O>, clock: &MockClock) {
    clock.advance(open_time(b));
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(fail(b), Recorded::Counted);
    assert_eq!(b.state(), State::Open);
}

/// An observer that keeps every event.
#[derive(Default)]
struct Recorder(RefCell<Vec<Event>>);

impl Observer for Recorder {
    fn on_event(&self, event: &Event) {
        self.0.borrow_mut().push(*event);
    }
}

impl Recorder {
    fn events(&self) -> Vec<Event> {
        self.0.borrow().clone()
    }
    fn clear(&self) {
        self.0.borrow_mut().clear();
    }
}

fn rejection<W: Window, C: Clock, O: Sink>(b: &mut Breaker<W, C, O>) -> Rejected {
    b.try_acquire().expect_err("the call should be rejected")
}

// ----- trip rules ------------------------------------------------------------

#[test]
fn trips_after_consecutive_failures() {
    let clock = MockClock::new();
    let mut b = counted::<16>(cfg(Config::builder().consecutive_failures(3)), &clock);
    fail(&mut b);
    fail(&mut b);
    assert_eq!(b.state(), State::Closed);
    // A success breaks the streak.
    succeed(&mut b);
    fail(&mut b);
    fail(&mut b);
    assert_eq!(b.state(), State::Closed);
    fail(&mut b);
    assert_eq!(b.state(), State::Open);
    assert_eq!(rejection(&mut b).reason(), RejectReason::Open);
}

#[test]
fn failure_rate_threshold_is_inclusive() {
    let clock = MockClock::new();
    let config = cfg(Config::builder()
        .failure_rate(Rate::percent(50))
        .minimum_calls(4));
    let mut b = counted::<16>(config, &clock);
    fail(&mut b);
    succeed(&mut b);
    succeed(&mut b);
    assert_eq!(b.state(), State::Closed);
    fail(&mut b); // 2 of 4 = 500 permille, exactly the threshold
    assert_eq!(b.state(), State::Open);
}

#[test]
fn failure_rate_just_below_threshold_does_not_trip() {
    let clock = MockClock::new();
    let config = cfg(Config::builder()
        .failure_rate(Rate::permille(501))
        .minimum_calls(4));
    let mut b = counted::<16>(config, &clock);
    for outcome in [
        Outcome::Failure,
        Outcome::Success,
        Outcome::Success,
        Outcome::Failure,
    ] {
        call(&mut b, outcome);
    }
    assert_eq!(b.metrics().failure_rate_permille, Some(500));
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn failure_rate_is_not_checked_below_minimum_calls() {
    let clock = MockClock::new();
    let config = cfg(Config::builder()
        .failure_rate(Rate::percent(50))
        .minimum_calls(4));
    let mut b = counted::<16>(config, &clock);
    for _ in 0..3 {
        fail(&mut b); // 100 % failures, but only 3 calls
    }
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.metrics().failure_rate_permille, None);
}

#[test]
fn success_that_reaches_minimum_calls_trips_on_failure_rate() {
    let clock = MockClock::new();
    let config = cfg(Config::builder()
        .failure_rate(Rate::percent(50))
        .minimum_calls(4));
    let mut b = counted::<16>(config, &clock).with_observer(Recorder::default());
    for _ in 0..3 {
        fail(&mut b);
    }
    assert_eq!(b.state(), State::Closed);
    succeed(&mut b); // 3 of 4 = 750 permille, now counted
    assert_eq!(b.state(), State::Open);
    let tripped = b.observer().events().into_iter().any(|e| {
        matches!(
            e,
            Event::StateChanged {
                to: State::Open,
                reason: Reason::Tripped(Rule::FailureRate),
                ..
            }
        )
    });
    assert!(tripped, "{:?}", b.observer().events());
}

#[test]
fn call_lasting_exactly_the_slow_threshold_is_not_slow() {
    let clock = MockClock::new();
    let config = cfg(Config::builder()
        .slow_call_rate(Rate::permille(1), Duration::from_millis(100))
        .minimum_calls(1));
    let mut b = counted::<16>(config, &clock);
    for _ in 0..5 {
        timed(&mut b, &clock, Duration::from_millis(100), Outcome::Success);
    }
    let m = b.metrics();
    assert_eq!(m.slow_calls(), 0);
    assert_eq!(m.window.slow, 0);
    assert_eq!(b.state(), State::Closed);
    // One microsecond more is slow, and at 1 permille it trips at once.
    timed(
        &mut b,
        &clock,
        Duration::from_micros(100_001),
        Outcome::Success,
    );
    assert_eq!(b.metrics().slow_calls(), 1);
    assert_eq!(b.state(), State::Open);
}

#[test]
fn trips_by_slow_call_rate() {
    let clock = MockClock::starting_at(Instant::from_secs(1));
    let config = cfg(Config::builder()
        .slow_call_rate(Rate::percent(50), Duration::from_millis(100))
        .minimum_calls(4));
    let mut b = counted::<8>(config, &clock).with_observer(Recorder::default());
    let fast = Duration::from_millis(10);
    let slow = Duration::from_millis(101);
    timed(&mut b, &clock, fast, Outcome::Success);
    timed(&mut b, &clock, slow, Outcome::Success);
    timed(&mut b, &clock, fast, Outcome::Success);
    assert_eq!(b.state(), State::Closed); // below minimum calls
    timed(&mut b, &clock, fast, Outcome::Success); // 1 of 4 slow
    assert_eq!(b.state(), State::Closed);
    timed(&mut b, &clock, slow, Outcome::Success); // 2 of 5 slow
    assert_eq!(b.state(), State::Closed);
    timed(&mut b, &clock, slow, Outcome::Success); // 3 of 6 = 500 permille
    assert_eq!(b.state(), State::Open);
    let m = b.metrics();
    assert_eq!(m.slow_calls(), 3);
    assert_eq!(m.failures, 0);
    assert_eq!(m.duration_max_us, 101_000);
    assert!(b.observer().events().contains(&Event::Success {
        duration_us: Some(101_000),
        slow: true
    }));
}

// ----- windows ---------------------------------------------------------------

#[test]
fn count_window_evicts_old_failures() {
    let clock = MockClock::new();
    let config = cfg(Config::builder()
        .failure_rate(Rate::percent(75))
        .minimum_calls(4));
    let mut b = counted::<4>(config, &clock);
    fail(&mut b);
    fail(&mut b);
    for _ in 0..4 {
        succeed(&mut b);
    }
    let m = b.metrics();
    assert_eq!((m.window.calls, m.window.failures), (4, 0));
    fail(&mut b);
    fail(&mut b);
    // S S F F = 500 in the window.
    assert_eq!(b.state(), State::Closed);
    // S F F F = 750 in the window (5 of 9 = 555 if nothing had left it).
    fail(&mut b);
    assert_eq!(b.state(), State::Open);
}

#[test]
fn time_window_expires_after_an_idle_gap() {
    let clock = MockClock::new();
    let config = cfg(Config::builder()
        .failure_rate(Rate::percent(50))
        .minimum_calls(4));
    let window = TimeWindow::<10>::new(Duration::from_secs(10)).expect("valid window");
    let mut b = Breaker::new(config, window, &clock);
    for _ in 0..3 {
        fail(&mut b);
    }
    assert_eq!(b.metrics().window.failures, 3);
    clock.advance(Duration::from_secs(20));
    assert_eq!(b.metrics().window, tripline::window::Totals::EMPTY);
    // Had the failures stayed, this would make 3 of 4.
    succeed(&mut b);
    assert_eq!(b.state(), State::Closed);
    let m = b.metrics();
    assert_eq!((m.window.calls, m.window.failures), (1, 0));
}

// ----- open and half-open ------------------------------------------------------

#[test]
fn open_rejects_with_exact_retry_after() {
    let clock = MockClock::starting_at(Instant::from_secs(100));
    let config = cfg(Config::builder()
        .consecutive_failures(1)
        .open_duration(Duration::from_secs(10)));
    let mut b = counted::<16>(config, &clock);
    fail(&mut b);
    clock.advance(Duration::from_secs(3));
    let r = rejection(&mut b);
    assert_eq!(r.reason(), RejectReason::Open);
    assert_eq!(r.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(r.retry_after_micros(), Some(7_000_000));
    assert_eq!(b.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(b.metrics().rejected, 1);
}

#[test]
fn open_becomes_half_open_exactly_at_open_until_lazily() {
    let clock = MockClock::starting_at(Instant::from_secs(100));
    let config = cfg(Config::builder()
        .consecutive_failures(1)
        .open_duration(Duration::from_secs(10)));
    let mut b = counted::<16>(config, &clock);
    fail(&mut b);
    let generation = b.generation();
    clock.set(Instant::from_micros(110_000_000 - 1));
    assert_eq!(b.state(), State::Open);
    assert_eq!(b.retry_after(), Some(Duration::from_micros(1)));
    clock.advance(Duration::from_micros(1));
    // Inclusive, and reported without any operation having run.
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(b.metrics().state, State::HalfOpen);
    assert_eq!(b.retry_after(), Some(Duration::ZERO));
    assert_eq!(b.generation(), generation, "no operation ran yet");
    // The next operation performs the transition once.
    let probe = b.try_acquire().expect("a probe is admitted");
    assert_eq!(b.generation(), generation.wrapping_add(1));
    assert_eq!(b.record(probe, Outcome::Success), Recorded::Counted);
    assert_eq!(b.state(), State::Closed);
}

fn half_open_breaker(clock: &MockClock, permits: u16, successes: u16) -> Cb<'_> {
    let config = cfg(Config::builder()
        .consecutive_failures(1)
        .open_duration(Duration::from_secs(1))
        .half_open_permits(permits)
        .half_open_successes(successes));
    let mut b = counted::<16>(config, clock);
    fail(&mut b);
    clock.advance(Duration::from_secs(1));
    assert_eq!(b.state(), State::HalfOpen);
    b
}

#[test]
fn half_open_admits_only_the_configured_probes() {
    let clock = MockClock::new();
    let mut b = half_open_breaker(&clock, 2, 2);
    let p1 = b.try_acquire().expect("first probe");
    let p2 = b.try_acquire().expect("second probe");
    let r = rejection(&mut b);
    assert_eq!(r.reason(), RejectReason::HalfOpenFull);
    assert_eq!(r.retry_after(), None, "no half-open time limit configured");
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(b.record(p1, Outcome::Success), Recorded::Counted);
    assert_eq!(b.record(p2, Outcome::Success), Recorded::Counted);
}

#[test]
fn cancelled_probe_frees_its_slot() {
    let clock = MockClock::new();
    let mut b = half_open_breaker(&clock, 1, 1);
    let p = b.try_acquire().expect("probe");
    assert_eq!(rejection(&mut b).reason(), RejectReason::HalfOpenFull);
    assert_eq!(b.cancel(p), Recorded::Cancelled);
    assert_eq!(b.state(), State::HalfOpen);
    let p = b.try_acquire().expect("the slot came back");
    assert_eq!(b.record(p, Outcome::Success), Recorded::Counted);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.metrics().cancelled, 1);
}

#[test]
fn ignored_probe_frees_its_slot() {
    let clock = MockClock::new();
    let mut b = half_open_breaker(&clock, 1, 1);
    let p = b.try_acquire().expect("probe");
    assert_eq!(rejection(&mut b).reason(), RejectReason::HalfOpenFull);
    assert_eq!(b.record(p, Outcome::Ignored), Recorded::Ignored);
    assert_eq!(b.state(), State::HalfOpen);
    let p = b.try_acquire().expect("the slot came back");
    assert_eq!(b.record(p, Outcome::Success), Recorded::Counted);
    assert_eq!(b.state(), State::Closed);
    let m = b.metrics();
    assert_eq!((m.ignored, m.successes), (1, 1));
}

#[test]
fn configured_half_open_successes_close_the_breaker() {
    let clock = MockClock::new();
    let mut b = half_open_breaker(&clock, 3, 2);
    succeed(&mut b);
    assert_eq!(b.state(), State::HalfOpen);
    succeed(&mut b);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.metrics().open_attempts, 0);
}

#[test]
fn failed_probe_reopens_at_once() {
    let clock = MockClock::new();
    let mut b = half_open_breaker(&clock, 3, 2).with_observer(Recorder::default());
    succeed(&mut b);
    assert_eq!(fail(&mut b), Recorded::Counted);
    assert_eq!(b.state(), State::Open);
    assert_eq!(b.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(rejection(&mut b).reason(), RejectReason::Open);
    assert!(b.observer().events().iter().any(|e| matches!(
        e,
        Event::StateChanged {
            from: State::HalfOpen,
            to: State::Open,
            reason: Reason::ProbeFailed,
            ..
        }
    )));
}

// ----- stale results ---------------------------------------------------------

#[test]
fn late_result_after_trip_is_stale() {
    let clock = MockClock::new();
    let mut b = counted::<16>(cfg(Config::builder().consecutive_failures(2)), &clock);
    let late = b.try_acquire().expect("admitted while closed");
    fail(&mut b);
    fail(&mut b);
    assert_eq!(b.state(), State::Open);
    let generation = b.generation();
    let before = b.metrics();
    assert_eq!(b.record(late, Outcome::Success), Recorded::Stale);
    let after = b.metrics();
    assert_eq!(after.stale, 1);
    assert_eq!(after.successes, before.successes);
    assert_eq!(after.failures, before.failures);
    assert_eq!(b.state(), State::Open);
    assert_eq!(b.generation(), generation);
    assert_eq!(b.retry_after(), Some(Duration::from_secs(30)));
}

#[test]
fn stale_permits_cannot_free_or_steal_half_open_slots() {
    let clock = MockClock::new();
    let config = cfg(Config::builder()
        .consecutive_failures(1)
        .open_duration(Duration::from_secs(1))
        .half_open_permits(1));
    let mut b = counted::<16>(config, &clock);
    let late1 = b.try_acquire().expect("closed");
    let late2 = b.try_acquire().expect("closed");
    let late3 = b.try_acquire().expect("closed");
    fail(&mut b);
    clock.advance(Duration::from_secs(1));
    let probe = b.try_acquire().expect("probe");
    assert_eq!(b.cancel(late1), Recorded::Stale);
    assert_eq!(b.record(late2, Outcome::Ignored), Recorded::Stale);
    assert_eq!(
        rejection(&mut b).reason(),
        RejectReason::HalfOpenFull,
        "a stale permit gave back a slot it never held"
    );
    assert_eq!(b.record(late3, Outcome::Failure), Recorded::Stale);
    assert_eq!(b.state(), State::HalfOpen, "a stale failure re-opened");
    assert_eq!(b.record(probe, Outcome::Success), Recorded::Counted);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.metrics().stale, 3);
}

// ----- backoff and jitter ------------------------------------------------------

#[test]
fn exponential_backoff_doubles_up_to_the_cap() {
    let clock = MockClock::new();
    let config = cfg(Config::builder()
        .consecutive_failures(1)
        .open_duration(Duration::from_secs(1))
        .exponential_backoff(2_000, Duration::from_secs(5)));
    let mut b = counted::<16>(config, &clock);
    fail(&mut b);
    let mut seen = vec![open_time(&b)];
    for _ in 0..4 {
        fail_probe(&mut b, &clock);
        seen.push(open_time(&b));
    }
    let secs = |s| Duration::from_secs(s);
    assert_eq!(seen, [secs(1), secs(2), secs(4), secs(5), secs(5)]);
    assert_eq!(b.metrics().open_attempts, 5);
}

#[test]
fn backoff_returns_to_base_after_closing() {
    let clock = MockClock::new();
    let config = cfg(Config::builder()
        .consecutive_failures(1)
        .open_duration(Duration::from_secs(1))
        .exponential_backoff(2_000, Duration::from_secs(60)));
    let mut b = counted::<16>(config, &clock);
    fail(&mut b);
    fail_probe(&mut b, &clock);
    fail_probe(&mut b, &clock);
    assert_eq!(open_time(&b), Duration::from_secs(4));
    clock.advance(Duration::from_secs(4));
    succeed(&mut b);
    assert_eq!(b.state(), State::Closed);
    fail(&mut b);
    assert_eq!(open_time(&b), Duration::from_secs(1));
    assert_eq!(b.metrics().open_attempts, 1);
}

fn jittered_open_times(seed: u32) -> Vec<(Duration, Duration)> {
    let clock = MockClock::new();
    let config = cfg(Config::builder()
        .consecutive_failures(1)
        .open_duration(Duration::from_secs(10))
        .exponential_backoff(2_000, Duration::from_secs(1_000_000))
        .jitter(Rate::percent(20), seed));
    let mut b = counted::<16>(config, &clock);
    fail(&mut b);
    let mut step = Duration::from_secs(10);
    let mut out = vec![(step, open_time(&b))];
    for _ in 0..8 {
        fail_probe(&mut b, &clock);
        step *= 2;
        out.push((step, open_time(&b)));
    }
    out
}

#[test]
fn jitter_keeps_open_times_within_bounds() {
    for seed in [0, 1, 7, 42, 0xDEAD_BEEF] {
        let times = jittered_open_times(seed);
        for (step, d) in &times {
            let lo = *step * 4 / 5;
            let hi = *step * 6 / 5;
            assert!(
                (lo..=hi).contains(d),
                "seed {seed}: {d:?} outside {lo:?}..={hi:?}"
            );
        }
        assert!(
            times.iter().any(|(step, d)| step != d),
            "seed {seed}: jitter never moved an open time: {times:?}"
        );
    }
}

#[test]
fn jitter_is_deterministic_for_a_seed() {
    assert_eq!(jittered_open_times(1234), jittered_open_times(1234));
    assert_ne!(jittered_open_times(1234), jittered_open_times(4321));
}

#[test]
fn open_time_is_never_below_one_millisecond() {
    for seed in 0..50 {
        let clock = MockClock::new();
        let config = cfg(Config::builder()
            .consecutive_failures(1)
            .open_duration(Duration::from_millis(1))
            .jitter(Rate::percent(100), seed));
        let mut b = counted::<16>(config, &clock);
        fail(&mut b);
        for _ in 0..5 {
            assert!(open_time(&b) >= Duration::from_millis(1), "seed {seed}");
            fail_probe(&mut b, &clock);
        }
    }
    // An outcome asking for less gets 1 ms too.
    let clock = MockClock::new();
    let mut b = counted::<16>(cfg(Config::builder().consecutive_failures(1)), &clock);
    call(&mut b, Outcome::FailureRetryAfter(Duration::ZERO));
    assert_eq!(open_time(&b), Duration::from_millis(1));
}

#[test]
fn failure_retry_after_overrides_the_open_time() {
    let clock = MockClock::new();
    let config = cfg(Config::builder()
        .consecutive_failures(1)
        .open_duration(Duration::from_secs(1))
        .exponential_backoff(2_000, Duration::from_secs(60)));
    let mut b = counted::<16>(config, &clock);
    call(&mut b, Outcome::FailureRetryAfter(Duration::from_secs(30)));
    assert_eq!(open_time(&b), Duration::from_secs(30));
    assert_eq!(
        rejection(&mut b).retry_after(),
        Some(Duration::from_secs(30))
    );
    // In half-open too, instead of the next backoff step (2 s).
    clock.advance(Duration::from_secs(30));
    call(&mut b, Outcome::FailureRetryAfter(Duration::from_secs(7)));
    assert_eq!(open_time(&b), Duration::from_secs(7));
}

// ----- manual states -----------------------------------------------------------

#[test]
fn forced_open_rejects_until_released() {
    let clock = MockClock::new();
    let mut b = counted::<16>(cfg(Config::builder().consecutive_failures(1)), &clock);
    b.force_open();
    assert_eq!(b.state(), State::ForcedOpen);
    let r = rejection(&mut b);
    assert_eq!(r.reason(), RejectReason::ForcedOpen);
    assert_eq!(r.retry_after(), None);
    assert_eq!(b.retry_after(), None);
    clock.advance(Duration::from_secs(86_400));
    assert_eq!(b.state(), State::ForcedOpen);
    assert_eq!(rejection(&mut b).reason(), RejectReason::ForcedOpen);
    b.force_closed();
    assert_eq!(b.state(), State::Closed);
    assert_eq!(succeed(&mut b), Recorded::Counted);
    assert_eq!(b.metrics().rejected, 2);
}

#[test]
fn force_closed_closes_an_open_breaker_with_an_empty_window() {
    let clock = MockClock::new();
    let config = cfg(Config::builder()
        .failure_rate(Rate::percent(50))
        .minimum_calls(2));
    let mut b = counted::<16>(config, &clock);
    fail(&mut b);
    fail(&mut b);
    assert_eq!(b.state(), State::Open);
    b.force_closed();
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.metrics().window.calls, 0);
    succeed(&mut b);
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn disabled_admits_all_never_trips_and_keeps_window_empty() {
    let clock = MockClock::new();
    let config = cfg(Config::builder()
        .consecutive_failures(1)
        .failure_rate(Rate::permille(1))
        .minimum_calls(1));
    let mut b = counted::<16>(config, &clock);
    b.disable();
    for _ in 0..50 {
        assert_eq!(fail(&mut b), Recorded::Counted);
    }
    for _ in 0..20 {
        succeed(&mut b);
    }
    assert_eq!(b.state(), State::Disabled);
    let m = b.metrics();
    assert_eq!((m.failures, m.successes, m.permitted), (50, 20, 70));
    assert_eq!(m.window.calls, 0);
    assert_eq!(m.rejected, 0);
}

#[test]
fn metrics_only_never_trips_and_reports_threshold_once() {
    let clock = MockClock::new();
    let config = cfg(Config::builder().consecutive_failures(2));
    let mut b = counted::<16>(config, &clock).with_observer(Recorder::default());
    b.metrics_only();
    assert_eq!(b.state(), State::MetricsOnly);
    for _ in 0..10 {
        fail(&mut b);
    }
    assert_eq!(b.state(), State::MetricsOnly);
    let m = b.metrics();
    assert_eq!(m.window.failures, 10);
    assert_eq!(m.consecutive_failures, 10);
    let thresholds: Vec<Event> = b
        .observer()
        .events()
        .into_iter()
        .filter(|e| matches!(e, Event::ThresholdExceeded { .. }))
        .collect();
    assert_eq!(
        thresholds,
        [Event::ThresholdExceeded {
            rule: Rule::ConsecutiveFailures,
            value: 2,
            threshold: 2
        }]
    );
}

#[test]
fn transition_to_half_open_from_closed_is_an_error() {
    let clock = MockClock::new();
    let mut b = counted::<16>(cfg(Config::builder().consecutive_failures(1)), &clock);
    let generation = b.generation();
    assert_eq!(
        b.transition_to(State::HalfOpen),
        Err(TransitionError {
            from: State::Closed,
            to: State::HalfOpen
        })
    );
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.generation(), generation);
}

#[test]
fn transition_to_half_open_from_open_is_allowed() {
    let clock = MockClock::new();
    let mut b = counted::<16>(cfg(Config::builder().consecutive_failures(1)), &clock);
    fail(&mut b);
    assert_eq!(b.state(), State::Open);
    assert_eq!(b.transition_to(State::HalfOpen), Ok(()));
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(succeed(&mut b), Recorded::Counted);
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn initial_state_comes_from_the_config() {
    let clock = MockClock::new();
    let forced = cfg(Config::builder()
        .consecutive_failures(1)
        .initial_state(State::ForcedOpen));
    let mut b = counted::<16>(forced, &clock);
    assert_eq!(b.state(), State::ForcedOpen);
    assert_eq!(rejection(&mut b).reason(), RejectReason::ForcedOpen);

    let disabled = cfg(Config::builder()
        .consecutive_failures(1)
        .initial_state(State::Disabled));
    let mut b = counted::<16>(disabled, &clock);
    fail(&mut b);
    fail(&mut b);
    assert_eq!(b.state(), State::Disabled);
}

#[test]
fn reset_closes_bumps_generation_and_makes_earlier_permits_stale() {
    let clock = MockClock::new();
    let config = cfg(Config::builder()
        .consecutive_failures(2)
        .open_duration(Duration::from_secs(1))
        .exponential_backoff(2_000, Duration::from_secs(60)));
    let mut b = counted::<16>(config, &clock);
    let early = b.try_acquire().expect("closed");
    fail(&mut b);
    fail(&mut b);
    clock.advance(Duration::from_secs(1));
    fail(&mut b); // a failed probe: next open is 2 s
    assert_eq!(open_time(&b), Duration::from_secs(2));
    let generation = b.generation();
    b.reset();
    assert_eq!(b.state(), State::Closed);
    assert_ne!(b.generation(), generation);
    assert_eq!(b.metrics().window.calls, 0);
    let before_reset = b.try_acquire().expect("closed");
    b.reset();
    assert_eq!(b.record(before_reset, Outcome::Failure), Recorded::Stale);
    assert_eq!(b.record(early, Outcome::Failure), Recorded::Stale);
    assert_eq!(b.metrics().consecutive_failures, 0);
    // Back to the first backoff step too.
    fail(&mut b);
    fail(&mut b);
    assert_eq!(open_time(&b), Duration::from_secs(1));
}

// ----- events ------------------------------------------------------------------

#[test]
fn tripping_failure_emits_failure_then_threshold_then_state_change() {
    let clock = MockClock::starting_at(Instant::from_secs(5));
    let mut b = counted::<16>(cfg(Config::builder().consecutive_failures(2)), &clock)
        .with_observer(Recorder::default());
    fail(&mut b);
    b.observer().clear();
    fail(&mut b);
    assert_eq!(
        b.observer().events(),
        [
            Event::Failure {
                duration_us: None,
                slow: false
            },
            Event::ThresholdExceeded {
                rule: Rule::ConsecutiveFailures,
                value: 2,
                threshold: 2
            },
            Event::StateChanged {
                from: State::Closed,
                to: State::Open,
                reason: Reason::Tripped(Rule::ConsecutiveFailures),
                at: Instant::from_secs(5)
            },
        ]
    );
}

#[test]
fn lazy_half_open_transition_is_reported_before_the_probe_outcome() {
    let clock = MockClock::new();
    let config = cfg(Config::builder()
        .consecutive_failures(1)
        .open_duration(Duration::from_secs(10)));
    let mut b = counted::<16>(config, &clock).with_observer(Recorder::default());
    fail(&mut b);
    b.observer().clear();
    // Later than the open time: the change is stamped at the open time's end.
    clock.advance(Duration::from_secs(15));
    assert!(
        b.observer().events().is_empty(),
        "state() alone emits nothing"
    );
    succeed(&mut b);
    assert_eq!(
        b.observer().events(),
        [
            Event::StateChanged {
                from: State::Open,
                to: State::HalfOpen,
                reason: Reason::OpenTimeElapsed,
                at: Instant::from_secs(10)
            },
            Event::Success {
                duration_us: None,
                slow: false
            },
            Event::StateChanged {
                from: State::HalfOpen,
                to: State::Closed,
                reason: Reason::ProbesSucceeded,
                at: Instant::from_secs(15)
            },
        ]
    );
}

// ----- configuration errors ----------------------------------------------------

#[test]
fn builder_reports_every_config_error() {
    let b = Config::builder;
    let one = || Config::builder().consecutive_failures(1);
    let cases: [(Result<Config, ConfigError>, ConfigError); 16] = [
        (b().build(), ConfigError::NoTripRule),
        (
            b().consecutive_failures(0).build(),
            ConfigError::ZeroConsecutiveFailures,
        ),
        (
            b().failure_rate(Rate::percent(0)).build(),
            ConfigError::FailureRateOutOfRange { permille: 0 },
        ),
        (
            b().failure_rate(Rate::permille(1_001)).build(),
            ConfigError::FailureRateOutOfRange { permille: 1_001 },
        ),
        (
            b().slow_call_rate(Rate::percent(0), Duration::from_secs(1))
                .build(),
            ConfigError::SlowCallRateOutOfRange { permille: 0 },
        ),
        (
            b().slow_call_rate(Rate::permille(1_001), Duration::from_secs(1))
                .build(),
            ConfigError::SlowCallRateOutOfRange { permille: 1_001 },
        ),
        (
            b().slow_call_rate(Rate::percent(50), Duration::ZERO)
                .build(),
            ConfigError::ZeroSlowCallDuration,
        ),
        (
            one().minimum_calls(0).build(),
            ConfigError::ZeroMinimumCalls,
        ),
        (
            one().open_duration(Duration::from_micros(999)).build(),
            ConfigError::OpenDurationTooShort { open_us: 999 },
        ),
        (
            one()
                .exponential_backoff(999, Duration::from_secs(60))
                .build(),
            ConfigError::BackoffFactorOutOfRange { permille: 999 },
        ),
        (
            one()
                .open_duration(Duration::from_secs(10))
                .exponential_backoff(2_000, Duration::from_secs(5))
                .build(),
            ConfigError::BackoffCapBelowOpenDuration {
                cap_us: 5_000_000,
                open_us: 10_000_000,
            },
        ),
        (
            one().jitter(Rate::permille(1_001), 0).build(),
            ConfigError::JitterOutOfRange { permille: 1_001 },
        ),
        (
            one().half_open_permits(0).build(),
            ConfigError::ZeroHalfOpenPermits,
        ),
        (
            one().half_open_successes(0).build(),
            ConfigError::ZeroHalfOpenSuccesses,
        ),
        (
            one().half_open_permits(2).half_open_successes(3).build(),
            ConfigError::HalfOpenSuccessesExceedPermits {
                successes: 3,
                permits: 2,
            },
        ),
        (
            one().half_open_time_limit(Duration::ZERO).build(),
            ConfigError::ZeroHalfOpenTimeLimit,
        ),
    ];
    for (i, (got, want)) in cases.into_iter().enumerate() {
        assert_eq!(got, Err(want), "case {i}");
    }
    assert!(one().initial_state(State::Open).build().is_ok());
    assert_eq!(
        one().initial_state(State::HalfOpen).build(),
        Err(ConfigError::InvalidInitialState)
    );
    for state in [
        State::Closed,
        State::ForcedOpen,
        State::Disabled,
        State::MetricsOnly,
    ] {
        assert!(one().initial_state(state).build().is_ok(), "{state}");
    }
    // The edges that are allowed.
    assert!(b().failure_rate(Rate::percent(100)).build().is_ok());
    assert!(one()
        .open_duration(Duration::from_millis(1))
        .build()
        .is_ok());
    assert!(one().jitter(Rate::percent(100), 0).build().is_ok());
}

#[test]
fn time_window_rejects_bad_spans() {
    assert_eq!(
        TimeWindow::<4>::new(Duration::ZERO).err(),
        Some(ConfigError::ZeroWindowSpan)
    );
    assert_eq!(
        TimeWindow::<4>::new(Duration::from_micros(3)).err(),
        Some(ConfigError::WindowSpanTooShort {
            span_us: 3,
            buckets: 4
        })
    );
    assert!(TimeWindow::<4>::new(Duration::from_micros(4)).is_ok());
}

// ----- metrics accounting ------------------------------------------------------

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn metrics_account_for_every_call_exactly_once() {
    let clock = MockClock::new();
    let config = cfg(Config::builder()
        .consecutive_failures(3)
        .open_duration(Duration::from_millis(500))
        .half_open_permits(2)
        .half_open_successes(2));
    let mut b = counted::<8>(config, &clock);
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    let mut held: Vec<Permit> = Vec::new();
    let (mut permitted, mut rejected) = (0u64, 0u64);
    let (mut successes, mut failures, mut ignored, mut cancelled, mut stale) = (0, 0, 0, 0, 0);

    for _ in 0..5_000 {
        let action = rng.below(12);
        if action < 4 {
            match b.try_acquire() {
                Ok(p) => {
                    permitted += 1;
                    held.push(p);
                }
                Err(_) => rejected += 1,
            }
        } else if action < 9 {
            if held.is_empty() {
                continue;
            }
            let i = rng.below(held.len());
            let p = held.swap_remove(i);
            let (recorded, failed) = match action {
                4 | 5 => (b.record(p, Outcome::Success), false),
                6 => (b.record(p, Outcome::Failure), true),
                7 => (b.record(p, Outcome::Ignored), false),
                _ => (b.cancel(p), false),
            };
            match recorded {
                Recorded::Counted if failed => failures += 1,
                Recorded::Counted => successes += 1,
                Recorded::Ignored => ignored += 1,
                Recorded::Cancelled => cancelled += 1,
                Recorded::Stale => stale += 1,
            }
        } else if action < 11 {
            clock.advance(Duration::from_millis(rng.below(300) as u64));
        } else if rng.below(10) == 0 {
            b.reset();
        }
    }

    let m = b.metrics();
    assert!(
        [successes, failures, ignored, cancelled, stale, rejected]
            .iter()
            .all(|&n| n > 0),
        "the mix should reach every category: {m:?}"
    );
    assert_eq!(m.permitted, permitted);
    assert_eq!(m.rejected, rejected);
    assert_eq!(m.successes, successes);
    assert_eq!(m.failures, failures);
    assert_eq!(m.ignored, ignored);
    assert_eq!(m.cancelled, cancelled);
    assert_eq!(m.stale, stale);
    assert_eq!(m.in_flight(), held.len() as u64);
    assert_eq!(
        m.permitted,
        m.successes + m.failures + m.ignored + m.cancelled + m.stale + held.len() as u64
    );
    for p in held.drain(..) {
        let _ = b.cancel(p);
    }
    assert_eq!(b.metrics().in_flight(), 0);
}

// ----- time edge cases ---------------------------------------------------------

#[test]
fn clock_going_backwards_does_not_move_time_back() {
    let clock = MockClock::starting_at(Instant::from_secs(10));
    let config = cfg(Config::builder()
        .consecutive_failures(1)
        .open_duration(Duration::from_secs(10)));
    let mut b = counted::<16>(config, &clock);
    fail(&mut b); // open until 20 s
    clock.set(Instant::from_secs(15));
    assert_eq!(
        rejection(&mut b).retry_after(),
        Some(Duration::from_secs(5))
    );
    clock.set(Instant::ZERO);
    assert_eq!(b.state(), State::Open);
    let r = rejection(&mut b);
    assert_eq!(r.reason(), RejectReason::Open);
    assert_eq!(r.retry_after(), Some(Duration::from_secs(5)));
    assert_eq!(b.retry_after(), Some(Duration::from_secs(5)));
    clock.set(Instant::from_secs(20));
    assert_eq!(b.state(), State::HalfOpen);
}

#[test]
fn clock_going_backwards_during_a_call_gives_zero_duration() {
    let clock = MockClock::starting_at(Instant::from_secs(10));
    let config = cfg(Config::builder()
        .slow_call_rate(Rate::permille(1), Duration::from_millis(1))
        .minimum_calls(1));
    let mut b = counted::<16>(config, &clock);
    let p = b.try_acquire().expect("closed");
    clock.set(Instant::from_secs(1));
    assert_eq!(b.record(p, Outcome::Success), Recorded::Counted);
    let m = b.metrics();
    assert_eq!((m.duration_max_us, m.slow_calls()), (0, 0));
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn open_until_saturates_near_the_end_of_time() {
    let clock = MockClock::starting_at(Instant::from_micros(u64::MAX - 10));
    let config = cfg(Config::builder()
        .consecutive_failures(1)
        .open_duration(Duration::from_secs(30))
        .exponential_backoff(2_000, Duration::MAX));
    let mut b = counted::<16>(config, &clock);
    fail(&mut b);
    assert_eq!(b.state(), State::Open);
    assert_eq!(b.retry_after(), Some(Duration::from_micros(10)));
    clock.advance(Duration::from_secs(1_000)); // saturates at Instant::MAX
    assert_eq!(clock.now(), Instant::MAX);
    assert_eq!(b.state(), State::HalfOpen);
    let generation = b.generation();
    fail(&mut b); // re-opens; the deadline saturates at Instant::MAX
    assert_ne!(b.generation(), generation, "the failed probe re-opened");
    assert_eq!(b.metrics().open_attempts, 2);
    // At Instant::MAX a saturated deadline has already come (inclusive rule).
    assert_eq!(b.retry_after(), Some(Duration::ZERO));
    assert_eq!(b.state(), State::HalfOpen);
    b.open_for(Duration::MAX);
    assert_eq!(b.retry_after(), Some(Duration::ZERO));
    let _ = b.metrics();
    assert!(b.try_acquire().is_ok());
}

// ----- SharedBreaker -----------------------------------------------------------

const fn shared_config() -> Config {
    match Config::builder()
        .consecutive_failures(2)
        .open_duration(Duration::from_secs(1))
        .build()
    {
        Ok(c) => c,
        Err(_) => panic!("invalid configuration"),
    }
}

#[test]
fn shared_breaker_call_works_with_a_static_clock() {
    static CLOCK: MockClock = MockClock::new();
    static BREAKER: SharedBreaker<CountWindow<8>, &MockClock> =
        SharedBreaker::new(shared_config(), CountWindow::new(), &CLOCK);
    assert_eq!(BREAKER.call(|| Ok::<_, ()>(7)), Ok(7));
    assert_eq!(
        BREAKER.call(|| Err::<u8, _>("e1")),
        Err(CallError::Inner("e1"))
    );
    assert_eq!(
        BREAKER.call(|| Err::<u8, _>("e2")),
        Err(CallError::Inner("e2"))
    );
    assert_eq!(BREAKER.state(), State::Open);
    let mut ran = false;
    let r = BREAKER.call(|| {
        ran = true;
        Ok::<_, ()>(1)
    });
    assert!(!ran);
    assert_eq!(
        r.err().and_then(|e| e.rejected().map(Rejected::reason)),
        Some(RejectReason::Open)
    );
    CLOCK.advance(Duration::from_secs(1));
    assert_eq!(BREAKER.state(), State::HalfOpen);
    assert_eq!(BREAKER.call(|| Ok::<_, ()>(9)), Ok(9));
    assert_eq!(BREAKER.state(), State::Closed);
    let m = BREAKER.metrics();
    assert_eq!((m.successes, m.failures, m.rejected), (2, 2, 1));
}

#[test]
fn dropped_shared_permit_cancels_and_frees_the_half_open_slot() {
    static CLOCK: MockClock = MockClock::new();
    static BREAKER: SharedBreaker<CountWindow<8>, &MockClock> =
        SharedBreaker::new(shared_config(), CountWindow::new(), &CLOCK);
    let _ = BREAKER.call(|| Err::<(), _>(()));
    let _ = BREAKER.call(|| Err::<(), _>(()));
    CLOCK.advance(Duration::from_secs(1));
    let Ok(probe) = BREAKER.try_acquire() else {
        panic!("a probe should be admitted");
    };
    assert_eq!(
        BREAKER.try_acquire().err().map(|r| r.reason()),
        Some(RejectReason::HalfOpenFull)
    );
    drop(probe);
    assert_eq!(BREAKER.metrics().cancelled, 1);
    assert_eq!(BREAKER.state(), State::HalfOpen);
    let Ok(probe) = BREAKER.try_acquire() else {
        panic!("the slot should have come back");
    };
    assert_eq!(probe.record(Outcome::Success), Ok(Recorded::Counted));
    assert_eq!(BREAKER.state(), State::Closed);
}

static REENTRANT_CLOCK: MockClock = MockClock::new();
static REENTRANT: SharedBreaker<CountWindow<8>, &MockClock, CallsBack> =
    SharedBreaker::with_observer(
        shared_config(),
        CountWindow::new(),
        &REENTRANT_CLOCK,
        CallsBack,
    );
static CALLBACKS_OK: AtomicUsize = AtomicUsize::new(0);
static SAW_OPEN_IN_CALLBACK: AtomicBool = AtomicBool::new(false);

/// An observer that reads the breaker it observes.
struct CallsBack;

impl Observer for CallsBack {
    fn on_event(&self, event: &Event) {
        let (state, metrics) = (REENTRANT.state(), REENTRANT.metrics());
        CALLBACKS_OK.fetch_add(1, Ordering::SeqCst);
        if matches!(
            event,
            Event::StateChanged {
                to: State::Open,
                ..
            }
        ) && state == State::Open
            && metrics.state == State::Open
        {
            SAW_OPEN_IN_CALLBACK.store(true, Ordering::SeqCst);
        }
    }
}

#[test]
fn shared_breaker_observer_may_call_back_into_the_breaker() {
    let _ = REENTRANT.call(|| Err::<(), _>(()));
    let _ = REENTRANT.call(|| Err::<(), _>(()));
    // Failure, Failure, ThresholdExceeded, StateChanged.
    assert_eq!(CALLBACKS_OK.load(Ordering::SeqCst), 4);
    assert!(SAW_OPEN_IN_CALLBACK.load(Ordering::SeqCst));
    assert_eq!(REENTRANT.state(), State::Open);
}

// ----- half-open time limit and manual open times -----------------------------

#[test]
fn half_open_time_limit_reopens_with_a_lost_probe_and_the_next_backoff_step() {
    let clock = MockClock::new();
    let mut b: Cb = counted(
        cfg(Config::builder()
            .consecutive_failures(1)
            .open_duration(Duration::from_secs(1))
            .exponential_backoff(2_000, Duration::from_secs(60))
            .half_open_time_limit(Duration::from_secs(5))),
        &clock,
    );
    fail(&mut b);
    clock.advance(Duration::from_secs(1));
    // The only probe is taken and never given back (a lost raw permit).
    let lost = b.try_acquire().expect("probe admitted");
    assert_eq!(
        b.try_acquire().unwrap_err().reason(),
        RejectReason::HalfOpenFull
    );
    // Unknown: a slot frees only if the probe comes back, and at the time
    // limit the breaker re-opens rather than admitting.
    assert_eq!(b.try_acquire().unwrap_err().retry_after(), None);
    assert_eq!(b.retry_after(), None);

    clock.advance(Duration::from_micros(4_999_999));
    assert_eq!(b.state(), State::HalfOpen);
    clock.advance(Duration::from_micros(1));
    assert_eq!(b.state(), State::Open, "reported from the deadline on");

    // The next operation performs the re-open, with the second backoff step (2 s).
    let r = b.try_acquire().unwrap_err();
    assert_eq!(r.reason(), RejectReason::Open);
    assert_eq!(r.retry_after(), Some(Duration::from_secs(2)));
    assert_eq!(b.metrics().open_attempts, 2);
    // The lost probe, if it ever comes back, is stale.
    assert_eq!(b.record(lost, Outcome::Success), Recorded::Stale);
    assert_eq!(b.state(), State::Open);
}

#[test]
fn open_for_opens_for_exactly_the_given_time_from_any_state() {
    let clock = MockClock::new();
    let mut b: Cb = counted(cfg(Config::builder().consecutive_failures(3)), &clock);
    b.open_for(Duration::from_secs(30));
    assert_eq!(b.state(), State::Open);
    assert_eq!(b.retry_after(), Some(Duration::from_secs(30)));
    clock.advance(Duration::from_secs(30));
    assert_eq!(b.state(), State::HalfOpen);

    b.force_open();
    b.open_for(Duration::from_micros(10)); // below the 1 ms floor
    assert_eq!(b.retry_after(), Some(Duration::from_millis(1)));
}

// ----- the hot path ----------------------------------------------------------

/// A clock that counts how often it is read.
struct CountingClock {
    inner: MockClock,
    reads: AtomicUsize,
}

impl Clock for CountingClock {
    fn now(&self) -> Instant {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.now()
    }
}

#[test]
fn a_healthy_closed_path_with_a_count_window_reads_no_clock() {
    let clock = CountingClock {
        inner: MockClock::new(),
        reads: AtomicUsize::new(0),
    };
    let reads = || clock.reads.load(Ordering::SeqCst);
    let mut b = Breaker::new(
        cfg(Config::builder()
            .consecutive_failures(5)
            .failure_rate(Rate::percent(50))),
        CountWindow::<16>::new(),
        &clock,
    );
    // Until the window is full a success may change it: one read each.
    for _ in 0..16 {
        let _ = b.call(|| Ok::<_, ()>(()));
    }
    assert_eq!(reads(), 16);
    // Full of successes: a success changes nothing but its count.
    for _ in 0..1_000 {
        let _ = b.call(|| Ok::<_, ()>(()));
    }
    assert_eq!(reads(), 16);
    // A failure may trip, so it reads the clock once, before changing anything.
    let _ = b.call(|| Err::<(), _>(()));
    assert_eq!(reads(), 17);
    assert_eq!(b.state(), State::Closed);
    clock.reads.store(0, Ordering::SeqCst);

    // A slow-call rule needs durations: one read at admission, one at the result.
    let mut timed = Breaker::new(
        cfg(Config::builder().slow_call_rate(Rate::percent(50), Duration::from_secs(1))),
        CountWindow::<16>::new(),
        &clock,
    );
    let _ = timed.call(|| Ok::<_, ()>(()));
    assert_eq!(clock.reads.load(Ordering::SeqCst), 2);
}

// ----- regressions from review ------------------------------------------------

fn timed_out_half_open(clock: &MockClock) -> Cb<'_> {
    let mut b: Cb = counted(
        cfg(Config::builder()
            .consecutive_failures(1)
            .open_duration(Duration::from_secs(10))
            .half_open_time_limit(Duration::from_secs(1))),
        clock,
    );
    fail(&mut b);
    clock.advance(Duration::from_secs(10));
    // Never given back: a lost raw permit.
    let _lost = b.try_acquire().expect("probe admitted");
    clock.advance(Duration::from_secs(2));
    b
}

#[test]
fn pending_half_open_timeout_reports_the_coming_open_time() {
    let clock = MockClock::new();
    let mut b = timed_out_half_open(&clock);
    // Open from the deadline (11 s), noticed a second later.
    assert_eq!(b.state(), State::Open);
    assert_eq!(b.retry_after(), Some(Duration::from_secs(9)));
    let m = b.metrics();
    assert_eq!((m.state, m.time_in_state_us), (State::Open, 1_000_000));
    let r = b.try_acquire().unwrap_err();
    assert_eq!(r.retry_after(), Some(Duration::from_secs(9)));
}

#[test]
fn metrics_of_a_pending_half_open_show_its_empty_window() {
    let clock = MockClock::new();
    let mut b: Cb = counted(
        cfg(Config::builder()
            .failure_rate(Rate::percent(50))
            .minimum_calls(2)
            .open_duration(Duration::from_secs(1))),
        &clock,
    );
    fail(&mut b);
    fail(&mut b);
    assert_eq!(b.metrics().failure_rate_permille, Some(1000));
    clock.advance(Duration::from_millis(1_500));
    let m = b.metrics();
    assert_eq!(m.state, State::HalfOpen);
    assert_eq!(m.window.calls, 0);
    assert_eq!(m.failure_rate_permille, None);
    assert_eq!(m.time_in_state_us, 500_000);
}

#[test]
fn reset_performs_the_pending_half_open_transition_first() {
    let clock = MockClock::new();
    let events = RefCell::new(Vec::new());
    struct Rec<'a>(&'a RefCell<Vec<Event>>);
    impl Observer for Rec<'_> {
        fn on_event(&self, e: &Event) {
            self.0.borrow_mut().push(*e);
        }
    }
    let mut b = Breaker::new(
        cfg(Config::builder()
            .consecutive_failures(1)
            .open_duration(Duration::from_secs(1))),
        CountWindow::<8>::new(),
        &clock,
    )
    .with_observer(Rec(&events));
    fail(&mut b);
    clock.advance(Duration::from_secs(1));
    events.borrow_mut().clear();
    b.reset();
    let changes: Vec<(State, State)> = events
        .borrow()
        .iter()
        .filter_map(|e| match e {
            Event::StateChanged { from, to, .. } => Some((*from, *to)),
            _ => None,
        })
        .collect();
    assert_eq!(
        changes,
        [
            (State::Open, State::HalfOpen),
            (State::HalfOpen, State::Closed)
        ]
    );
}

#[test]
fn manual_half_open_from_forced_open_starts_the_backoff_at_its_first_step() {
    let clock = MockClock::new();
    let mut b: Cb = counted(
        cfg(Config::builder()
            .consecutive_failures(1)
            .open_duration(Duration::from_secs(10))
            .exponential_backoff(2_000, Duration::from_secs(100))),
        &clock,
    );
    b.force_open();
    b.transition_to(State::HalfOpen).unwrap();
    fail(&mut b);
    assert_eq!(b.metrics().open_attempts, 1);
    assert_eq!(b.retry_after(), Some(Duration::from_secs(10)));
}

/// A clock that moves 1 µs every time it is read.
struct Ticking(AtomicUsize);
impl Clock for Ticking {
    fn now(&self) -> Instant {
        Instant::from_micros(self.0.fetch_add(1, Ordering::SeqCst) as u64)
    }
}

#[test]
fn retry_after_is_exact_even_when_the_clock_moves_during_an_operation() {
    let clock = Ticking(AtomicUsize::new(0));
    let mut b = Breaker::new(
        cfg(Config::builder()
            .consecutive_failures(1)
            .open_duration(Duration::from_secs(10))
            .half_open_time_limit(Duration::from_secs(1))),
        CountWindow::<8>::new(),
        &clock,
    );
    fail(&mut b);
    clock.0.store(10_000_000, Ordering::SeqCst);
    // Never given back: a lost raw permit.
    let _lost = b.try_acquire().expect("probe admitted");
    clock.0.store(12_000_000, Ordering::SeqCst);
    // Open from the deadline (11 s) for 10 s, read once at 12 s.
    let r = b.try_acquire().unwrap_err();
    assert_eq!(r.retry_after(), Some(Duration::from_secs(9)));
}
