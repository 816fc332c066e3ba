//! Tests of the resilience companions (issue 7): backoff, retry, bulkhead,
//! fallbacks, the firmware registry and the presets, through the `tripline`
//! facade only. Time moves only through `MockClock`; nothing sleeps.

use core::time::Duration;
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Barrier;
use std::vec::Vec;

use tripline::backoff::Delays;
use tripline::registry::{ManagedBreaker, Registry};
use tripline::retry::Retryable;
use tripline::*;

// ----- helpers ---------------------------------------------------------------

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn built(b: backoff::BackoffBuilder) -> Backoff {
    b.build().expect("valid backoff")
}

fn micros(delays: Delays, n: usize) -> Vec<u64> {
    delays.take(n).map(|d| d.as_micros() as u64).collect()
}

/// A sleep hook that records every wait and moves the mock clock by it.
struct Sleeper<'a> {
    clock: &'a MockClock,
    slept: RefCell<Vec<Duration>>,
}

impl<'a> Sleeper<'a> {
    fn new(clock: &'a MockClock) -> Self {
        Sleeper {
            clock,
            slept: RefCell::new(Vec::new()),
        }
    }
    fn hook(&self) -> impl FnMut(Duration) + '_ {
        |d| {
            self.slept.borrow_mut().push(d);
            self.clock.advance(d);
        }
    }
    fn slept(&self) -> Vec<Duration> {
        self.slept.borrow().clone()
    }
}

fn policy(attempts: u32, backoff: Backoff) -> RetryPolicy {
    RetryPolicy::new(attempts, backoff).expect("at least one attempt")
}

type Cb<'a> = Breaker<CountWindow<16>, &'a MockClock>;

fn breaker(config: Config, clock: &MockClock) -> Cb<'_> {
    Breaker::new(config, CountWindow::new(), clock)
}

fn trip_after(n: u32, open: Duration) -> Config {
    Config::builder()
        .consecutive_failures(n)
        .open_duration(open)
        .build()
        .expect("valid configuration")
}

// ----- backoff ---------------------------------------------------------------

#[test]
fn fixed_backoff_repeats_its_delay() {
    let b = built(Backoff::fixed(ms(250)));
    assert_eq!(micros(b.delays(0), 4), [250_000; 4]);
}

#[test]
fn linear_backoff_adds_its_step_up_to_the_cap() {
    let b = built(Backoff::linear(ms(100), ms(50)).max_delay(ms(260)));
    assert_eq!(
        micros(b.delays(0), 6),
        [100_000, 150_000, 200_000, 250_000, 260_000, 260_000]
    );
}

#[test]
fn exponential_backoff_doubles_up_to_the_cap() {
    let b = built(Backoff::exponential(ms(100), 2_000).max_delay(Duration::from_secs(1)));
    assert_eq!(
        micros(b.delays(0), 7),
        [100_000, 200_000, 400_000, 800_000, 1_000_000, 1_000_000, 1_000_000]
    );
}

#[test]
fn exponential_backoff_with_a_fractional_factor_rounds_each_step_down() {
    // 1.1×: 100 ms, 110 ms, 121 ms, 133.1 ms, 146.41 ms, 161.051 ms, 177.1561 ms → µs floor.
    let b = built(Backoff::exponential(ms(100), 1_100));
    assert_eq!(
        micros(b.delays(0), 7),
        [100_000, 110_000, 121_000, 133_100, 146_410, 161_051, 177_156]
    );
}

#[test]
fn exponential_backoff_saturates_without_a_cap() {
    let b = built(Backoff::exponential(Duration::from_secs(1), 1_000_000));
    let mut d = b.delays(0);
    let mut last = 0;
    for _ in 0..20 {
        let next = d.next_micros();
        assert!(next >= last, "never shrinks: {last} then {next}");
        last = next;
    }
    assert_eq!(last, u64::MAX);
}

#[test]
fn invalid_backoffs_are_typed_errors() {
    assert_eq!(
        Backoff::exponential(ms(1), 999).build(),
        Err(BackoffError::FactorOutOfRange)
    );
    assert_eq!(
        Backoff::exponential(ms(1), 1_000_001).build(),
        Err(BackoffError::FactorOutOfRange)
    );
    assert_eq!(
        Backoff::linear(ms(10), ms(1)).max_delay(ms(9)).build(),
        Err(BackoffError::MaxBelowInitial)
    );
    assert_eq!(
        Backoff::fixed(ms(10))
            .jitter(Jitter::Bounded(Rate::permille(1_001)))
            .build(),
        Err(BackoffError::JitterOutOfRange)
    );
    assert!(Backoff::fixed(ms(10))
        .jitter(Jitter::Bounded(Rate::percent(100)))
        .build()
        .is_ok());
    assert!(Backoff::exponential(ms(1), 1_000).build().is_ok());
    assert_eq!(
        Backoff::exponential(Duration::ZERO, 2_000).build(),
        Err(BackoffError::ZeroExponentialStart)
    );
    assert_eq!(
        RetryPolicy::new(0, Backoff::NONE).unwrap_err(),
        BackoffError::ZeroAttempts
    );
}

#[test]
fn a_backoff_builds_in_const_context() {
    const B: Backoff = match Backoff::exponential(Duration::from_millis(1), 2_000)
        .max_delay(Duration::from_millis(8))
        .jitter(Jitter::None)
        .build()
    {
        Ok(b) => b,
        Err(_) => Backoff::NONE,
    };
    assert_eq!(micros(B.delays(0), 5), [1_000, 2_000, 4_000, 8_000, 8_000]);
}

#[test]
fn full_jitter_stays_between_zero_and_the_step_for_many_seeds() {
    let plain = built(Backoff::exponential(ms(10), 2_000).max_delay(ms(500)));
    let jittered = built(
        Backoff::exponential(ms(10), 2_000)
            .max_delay(ms(500))
            .jitter(Jitter::Full),
    );
    let steps = micros(plain.delays(0), 10);
    let (mut low, mut high) = (u64::MAX, 0u64);
    for seed in 0..2_000 {
        for (d, step) in micros(jittered.delays(seed), 10).into_iter().zip(&steps) {
            assert!(d <= *step, "seed {seed}: {d} > {step}");
            if *step == 500_000 {
                low = low.min(d);
                high = high.max(d);
            }
        }
    }
    // Thousands of picks at the cap reach both ends of 0 ..= 500 ms.
    assert!(low < 5_000 && high > 495_000, "{low}..{high}");
}

#[test]
fn bounded_jitter_stays_within_its_band_and_under_the_cap() {
    let b = built(
        Backoff::linear(ms(100), ms(100))
            .max_delay(ms(450))
            .jitter(Jitter::Bounded(Rate::percent(20))),
    );
    let steps = [100_000u64, 200_000, 300_000, 400_000, 450_000, 450_000];
    let (mut low, mut high) = (u64::MAX, 0u64);
    for seed in 0..2_000 {
        for (d, step) in micros(b.delays(seed), 6).into_iter().zip(steps) {
            let lo = step - step / 5;
            let hi = (step + step / 5).min(450_000);
            assert!(
                (lo..=hi).contains(&d),
                "seed {seed}: {d} not in {lo}..={hi}"
            );
            if step == 300_000 {
                low = low.min(d);
                high = high.max(d);
            }
        }
    }
    assert!(low < 241_000 && high > 359_000, "{low}..{high}");
}

#[test]
fn jitter_is_deterministic_for_a_seed_and_differs_between_seeds() {
    let b = built(Backoff::fixed(Duration::from_secs(1)).jitter(Jitter::Full));
    let a = micros(b.delays(7), 16);
    assert_eq!(a, micros(b.delays(7), 16));
    assert_ne!(a, micros(b.delays(8), 16));
    // Not a constant sequence either.
    assert!(a.iter().any(|d| *d != a[0]));
}

// ----- retry -----------------------------------------------------------------

#[test]
fn retry_returns_the_first_success_after_backoff_sleeps() {
    let clock = MockClock::new();
    let sleeper = Sleeper::new(&clock);
    let p = policy(5, built(Backoff::exponential(ms(10), 2_000)));
    let tries = Cell::new(0u32);
    let r = p.retry(
        || {
            tries.set(tries.get() + 1);
            if tries.get() < 4 {
                Err("nak")
            } else {
                Ok(tries.get())
            }
        },
        sleeper.hook(),
    );
    assert_eq!(r, Ok(4));
    assert_eq!(sleeper.slept(), [ms(10), ms(20), ms(40)]);
    assert_eq!(clock.now(), Instant::from_millis(70));
}

#[test]
fn retry_stops_on_a_non_retryable_error() {
    let clock = MockClock::new();
    let sleeper = Sleeper::new(&clock);
    let p = policy(5, built(Backoff::fixed(ms(1)))).retry_if(|e: &u16| *e >= 500);
    let codes = RefCell::new(vec![503u16, 502, 404, 200].into_iter());
    let r = p.retry(
        || match codes.borrow_mut().next() {
            Some(200) | None => Ok(()),
            Some(code) => Err(code),
        },
        sleeper.hook(),
    );
    assert_eq!(
        r,
        Err(RetryError::NotRetryable {
            attempts: 3,
            error: 404
        })
    );
    assert_eq!(sleeper.slept(), [ms(1), ms(1)]);
}

#[test]
fn retry_stops_when_attempts_are_exhausted_with_the_last_error() {
    let clock = MockClock::new();
    let sleeper = Sleeper::new(&clock);
    let p = policy(3, built(Backoff::linear(ms(5), ms(5))));
    let n = Cell::new(0u32);
    let r = p.retry(
        || -> Result<(), u32> {
            n.set(n.get() + 1);
            Err(n.get())
        },
        sleeper.hook(),
    );
    assert_eq!(
        r,
        Err(RetryError::Exhausted {
            attempts: 3,
            last: 3
        })
    );
    assert_eq!(r.unwrap_err().into_inner(), Some(3));
    assert_eq!(sleeper.slept(), [ms(5), ms(10)], "no sleep after the last");
}

#[test]
fn a_single_attempt_policy_never_sleeps() {
    let p = policy(1, built(Backoff::fixed(ms(5))));
    let mut sleeps = 0;
    let r = p.retry(|| Err::<(), _>("x"), |_| sleeps += 1);
    assert_eq!(r.unwrap_err().attempts(), 1);
    assert_eq!(sleeps, 0);
}

#[test]
fn retry_gives_up_at_once_on_an_open_breaker() {
    let clock = MockClock::new();
    let sleeper = Sleeper::new(&clock);
    let mut b = breaker(trip_after(2, Duration::from_secs(1)), &clock);
    let p = policy(10, built(Backoff::fixed(ms(10))));
    let ran = Cell::new(0u32);
    let r = p.retry_call(
        || {
            b.call(|| {
                ran.set(ran.get() + 1);
                Err::<(), _>("timeout")
            })
        },
        sleeper.hook(),
    );
    match r {
        Err(RetryError::Rejected { attempts, rejected }) => {
            assert_eq!(attempts, 3);
            assert_eq!(rejected.reason(), RejectReason::Open);
            assert_eq!(rejected.retry_after(), Some(ms(990)), "opened at 10 ms");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(ran.get(), 2, "the rejected attempt did not run");
    assert_eq!(sleeper.slept(), [ms(10), ms(10)]);
}

#[test]
fn retry_waits_the_breakers_retry_after_then_probes() {
    let clock = MockClock::new();
    let sleeper = Sleeper::new(&clock);
    let mut b = breaker(trip_after(2, Duration::from_secs(1)), &clock);
    let p = policy(5, built(Backoff::fixed(ms(10)))).on_rejected(OnRejected::WaitRetryAfter {
        max_wait: Duration::from_secs(2),
    });
    let ran = Cell::new(0u32);
    let r = p.retry_call(
        || {
            b.call(|| {
                ran.set(ran.get() + 1);
                if ran.get() <= 2 {
                    Err("timeout")
                } else {
                    Ok("reading")
                }
            })
        },
        sleeper.hook(),
    );
    assert_eq!(r, Ok("reading"));
    // A backoff sleep after the first failure; after the second the breaker
    // opened (at 10 ms, for 1 s), rejected the third try, and the policy
    // waited exactly the retry_after before the fourth, the probe.
    assert_eq!(sleeper.slept(), [ms(10), ms(10), ms(990)]);
    assert_eq!(ran.get(), 3);
    assert_eq!(b.state(), State::Closed, "the probe closed it");
}

#[test]
fn retry_gives_up_when_retry_after_is_longer_than_max_wait() {
    let clock = MockClock::new();
    let sleeper = Sleeper::new(&clock);
    let mut b = breaker(trip_after(1, Duration::from_secs(30)), &clock);
    let p = policy(5, Backoff::NONE).on_rejected(OnRejected::WaitRetryAfter {
        max_wait: Duration::from_secs(29),
    });
    let r = p.retry_call(|| b.call(|| Err::<(), _>("down")), sleeper.hook());
    assert!(matches!(r, Err(RetryError::Rejected { attempts: 2, .. })));
    assert_eq!(sleeper.slept(), [Duration::ZERO]);
}

#[test]
fn retry_gives_up_when_the_breaker_cannot_say_when() {
    let clock = MockClock::new();
    let sleeper = Sleeper::new(&clock);
    let mut b = breaker(Config::default(), &clock);
    b.force_open();
    let p = policy(5, Backoff::NONE).on_rejected(OnRejected::WaitRetryAfter {
        max_wait: Duration::MAX,
    });
    let r = p.retry_call(|| b.call(|| Ok::<_, ()>(1)), sleeper.hook());
    let err = r.unwrap_err();
    assert_eq!(err.attempts(), 1);
    assert_eq!(
        err.rejected().map(|r| r.reason()),
        Some(RejectReason::ForcedOpen)
    );
    assert!(sleeper.slept().is_empty());
}

#[test]
fn a_rejection_on_the_last_attempt_is_reported_as_a_rejection() {
    let clock = MockClock::new();
    let sleeper = Sleeper::new(&clock);
    let mut b = breaker(trip_after(1, Duration::from_secs(1)), &clock);
    let p = policy(2, Backoff::NONE).on_rejected(OnRejected::WaitRetryAfter {
        max_wait: Duration::from_secs(5),
    });
    let r = p.retry_call(|| b.call(|| Err::<(), _>("down")), sleeper.hook());
    assert!(matches!(r, Err(RetryError::Rejected { attempts: 2, .. })));
}

#[test]
fn retry_through_a_shared_breaker() {
    let clock = MockClock::new();
    let sleeper = Sleeper::new(&clock);
    let shared: SharedBreaker<CountWindow<8>, &MockClock> =
        SharedBreaker::new(trip_after(3, ms(500)), CountWindow::new(), &clock);
    let p = policy(4, built(Backoff::fixed(ms(1)))).on_rejected(OnRejected::WaitRetryAfter {
        max_wait: Duration::from_secs(1),
    });
    let n = Cell::new(0);
    let r = p.retry_call(
        || {
            shared.call(|| {
                n.set(n.get() + 1);
                Err::<(), _>(n.get())
            })
        },
        sleeper.hook(),
    );
    // Three failures trip it; the fourth and last try is rejected.
    assert!(matches!(r, Err(RetryError::Rejected { attempts: 4, .. })));
    assert_eq!(shared.state(), State::Open);
}

#[test]
fn retry_sleeps_are_jittered_and_deterministic_for_a_seed() {
    let b = built(
        Backoff::exponential(ms(100), 2_000)
            .max_delay(Duration::from_secs(1))
            .jitter(Jitter::Full),
    );
    let run = |seed: u32| {
        let mut slept = Vec::new();
        let _ = policy(6, b)
            .seed(seed)
            .retry(|| Err::<(), _>(()), |d| slept.push(d));
        slept
    };
    let expected: Vec<Duration> = b.delays(99).take(5).collect();
    assert_eq!(run(99), expected);
    assert_eq!(run(99), run(99));
    assert_ne!(run(99), run(100));
}

#[test]
fn predicates_and_retry_all_classify_errors() {
    let transient = |e: &&str| *e == "timeout";
    assert!(transient.is_retryable(&"timeout"));
    assert!(!transient.is_retryable(&"bad request"));
    assert!(Retryable::<&str>::is_retryable(
        &retry::RetryAll,
        &"bad request"
    ));
}

// ----- bulkhead --------------------------------------------------------------

#[test]
fn bulkhead_never_exceeds_its_limit_under_many_threads() {
    const LIMIT: u32 = 4;
    const THREADS: usize = 16;
    const ROUNDS: usize = 2_000;
    let bulkhead = Bulkhead::new(LIMIT).unwrap();
    let held = AtomicU32::new(0);
    let most_held = AtomicU32::new(0);
    let start = Barrier::new(THREADS);
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                start.wait();
                for _ in 0..ROUNDS {
                    if let Ok(permit) = bulkhead.try_acquire() {
                        let now = held.fetch_add(1, Ordering::SeqCst) + 1;
                        most_held.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        held.fetch_sub(1, Ordering::SeqCst);
                        drop(permit);
                    }
                }
            });
        }
    });
    let m = bulkhead.metrics();
    assert!(most_held.load(Ordering::SeqCst) <= LIMIT);
    assert!(m.max_in_use <= LIMIT && m.max_in_use >= 1);
    assert_eq!(m.in_use, 0);
    assert_eq!(m.admitted + m.rejected, (THREADS * ROUNDS) as u64);
}

#[test]
fn bulkhead_permits_release_on_drop() {
    let b = Bulkhead::new(2).unwrap();
    let p1 = b.try_acquire().unwrap();
    let p2 = b.try_acquire().unwrap();
    assert_eq!(b.try_acquire().unwrap_err(), BulkheadFull { limit: 2 });
    assert_eq!((b.in_use(), b.available()), (2, 0));
    drop(p1);
    assert_eq!(b.in_use(), 1);
    let p3 = b.try_acquire().expect("the dropped slot is free again");
    drop((p2, p3));
    let m = b.metrics();
    assert_eq!(
        (m.limit, m.in_use, m.max_in_use, m.admitted, m.rejected),
        (2, 0, 2, 3, 1)
    );
}

#[test]
fn bulkhead_permits_release_on_panic() {
    let b = Bulkhead::new(1).unwrap();
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _permit = b.try_acquire().unwrap();
        panic!("the call panicked");
    }));
    assert!(unwound.is_err());
    assert_eq!(b.in_use(), 0);
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        b.call(|| panic!("inside call"))
    }));
    assert!(unwound.is_err());
    assert_eq!(b.in_use(), 0);
    assert_eq!(b.call(|| 1), Ok(1));
}

#[test]
fn a_zero_bulkhead_is_an_error() {
    assert_eq!(
        Bulkhead::new(0).unwrap_err(),
        tripline::bulkhead::BulkheadError::ZeroLimit
    );
}

#[test]
fn bulkhead_is_a_static() {
    static STATIC: Bulkhead = match Bulkhead::new(1) {
        Ok(b) => b,
        Err(e) => panic!("{}", e.as_str()),
    };
    let p = STATIC.try_acquire().unwrap();
    assert!(STATIC.try_acquire().is_err());
    drop(p);
    assert_eq!(STATIC.in_use(), 0);
}

// ----- fallback --------------------------------------------------------------

#[test]
fn call_or_falls_back_on_errors_and_rejections_and_still_counts() {
    let clock = MockClock::new();
    let mut b = breaker(trip_after(2, Duration::from_secs(1)), &clock);
    assert_eq!(b.call_or(|| Ok::<_, ()>(5), 0), 5);
    assert_eq!(b.call_or(|| Err::<i32, _>(()), -1), -1);
    assert_eq!(b.call_or_default(|| Err::<i32, _>(())), 0);
    assert_eq!(b.state(), State::Open, "fallback failures are counted");
    let ran = Cell::new(false);
    let why = b.call_or_else(
        || {
            ran.set(true);
            Ok::<_, ()>("fresh")
        },
        |e| match e {
            CallError::Rejected(_) => "rejected",
            CallError::Inner(()) => "failed",
        },
    );
    assert_eq!(why, "rejected");
    assert!(!ran.get());
    assert_eq!(b.metrics().failures, 2);
}

#[test]
fn shared_call_or_falls_back_too() {
    let clock = MockClock::new();
    let shared: SharedBreaker<CountWindow<8>, &MockClock> = SharedBreaker::new(
        trip_after(1, Duration::from_secs(1)),
        CountWindow::new(),
        &clock,
    );
    assert_eq!(shared.call_or(|| Ok::<_, ()>(7), 0), 7);
    assert_eq!(
        shared.call_or_else(|| Err::<u8, _>("e"), |e| u8::from(e.rejected().is_some())),
        0
    );
    assert_eq!(
        shared.call_or_else(|| Ok::<u8, &str>(9), |e| u8::from(e.rejected().is_some())),
        1
    );
    assert_eq!(shared.call_or_default(|| Ok::<u8, ()>(3)), 0);
}

// ----- registry --------------------------------------------------------------

type Shared<'c> = SharedBreaker<CountWindow<8>, &'c MockClock>;

fn shared(clock: &MockClock) -> Shared<'_> {
    SharedBreaker::new(
        trip_after(2, Duration::from_secs(1)),
        CountWindow::new(),
        clock,
    )
}

#[test]
fn registry_registers_and_finds_breakers_by_name() {
    let clock = MockClock::new();
    let (imu, baro) = (shared(&clock), shared(&clock));
    let mut r: Registry<'_, Shared<'_>, 4> = Registry::new();
    assert!(r.is_empty());
    r.register("imu", &imu).unwrap();
    r.register("baro", &baro).unwrap();
    assert_eq!((r.len(), r.capacity()), (2, 4));
    assert!(core::ptr::eq(r.get("imu").unwrap(), &imu));
    assert!(core::ptr::eq(r.get("baro").unwrap(), &baro));
    assert!(r.get("gps").is_none());
    assert_eq!(r.get("imu").unwrap().call(|| Ok::<_, ()>(3)), Ok(3));
    assert!(r.iter().map(|(n, _)| n).eq(["imu", "baro"]));
}

#[test]
fn registry_refuses_duplicates_and_overflow() {
    let clock = MockClock::new();
    let (a, b, c) = (shared(&clock), shared(&clock), shared(&clock));
    let mut r: Registry<'_, Shared<'_>, 2> = Registry::new();
    r.register("a", &a).unwrap();
    assert_eq!(r.register("a", &b), Err(RegisterError::DuplicateName));
    r.register("b", &b).unwrap();
    assert_eq!(r.register("c", &c), Err(RegisterError::Full));
    assert_eq!(r.register("a", &c), Err(RegisterError::DuplicateName));
    assert_eq!(r.len(), 2);
    assert!(core::ptr::eq(r.get("a").unwrap(), &a), "unchanged");
}

#[test]
fn registry_snapshot_open_list_reset_and_health() {
    let clock = MockClock::new();
    let (tripped, forced, half, fine) = (
        shared(&clock),
        shared(&clock),
        shared(&clock),
        shared(&clock),
    );
    let mut r: Registry<'_, Shared<'_>, 4> = Registry::new();
    r.register("tripped", &tripped).unwrap();
    r.register("forced", &forced).unwrap();
    r.register("half", &half).unwrap();
    r.register("fine", &fine).unwrap();

    for _ in 0..2 {
        let _ = half.call(|| Err::<(), _>(()));
    }
    clock.advance(Duration::from_secs(1)); // `half` is half-open now
    for _ in 0..2 {
        let _ = tripped.call(|| Err::<(), _>(()));
    }
    forced.force_open().unwrap();
    let _ = fine.call(|| Ok::<_, ()>(()));

    let snap = r.snapshot();
    let rows: Vec<(&str, State, u64)> = snap
        .iter()
        .map(|s| (s.name, s.metrics.state, s.metrics.failures))
        .collect();
    assert_eq!(
        rows,
        [
            ("tripped", State::Open, 2),
            ("forced", State::ForcedOpen, 0),
            ("half", State::HalfOpen, 2),
            ("fine", State::Closed, 0),
        ]
    );
    assert_eq!(r.open().as_slice(), ["tripped", "forced"]);
    let h = r.health();
    assert_eq!(
        (h.closed, h.open, h.half_open, h.forced_open, h.total()),
        (1, 1, 1, 1, 4)
    );
    assert_eq!(h.rejecting(), 2);

    r.reset_all().unwrap();
    assert!(r.open().is_empty());
    assert!(r.health().all_closed());
    for s in r.snapshot() {
        assert_eq!(s.metrics.state, State::Closed, "{}", s.name);
    }
}

#[test]
fn registry_of_dyn_breakers_mixes_window_types() {
    let clock = MockClock::new();
    let counted = shared(&clock);
    let timed: SharedBreaker<TimeWindow<4>, &MockClock> = SharedBreaker::new(
        trip_after(1, Duration::from_secs(1)),
        TimeWindow::new(Duration::from_secs(4)).unwrap(),
        &clock,
    );
    let mut r: Registry<'_, dyn ManagedBreaker + '_, 2> = Registry::new();
    r.register("counted", &counted).unwrap();
    r.register("timed", &timed).unwrap();
    let _ = timed.call(|| Err::<(), _>(()));
    assert_eq!(r.open().as_slice(), ["timed"]);
    assert_eq!(r.get("timed").unwrap().state(), State::Open);
    r.reset_all().unwrap();
    assert_eq!(timed.state(), State::Closed);
}

#[test]
fn an_empty_registry_is_healthy() {
    let r: Registry<'_, dyn ManagedBreaker, 0> = Registry::new();
    assert_eq!(r.health(), Health::EMPTY);
    assert!(r.snapshot().is_empty());
    assert_eq!(r.reset_all(), Ok(()));
}

// ----- presets ---------------------------------------------------------------

const PRESETS: [Preset; 4] = [
    Preset::Network,
    Preset::Database,
    Preset::Peripheral,
    Preset::SlowService,
];
const STRICTNESSES: [Strictness; 4] = [
    Strictness::Standard,
    Strictness::Strict,
    Strictness::Lenient,
    Strictness::FastRecovery,
];

#[test]
fn every_preset_builds_and_none_falls_back_to_the_default() {
    let mut seen = Vec::new();
    for p in PRESETS {
        for s in STRICTNESSES {
            let built = p.builder(s).build().expect("every preset builds");
            assert_eq!(p.config(s), built);
            assert_eq!(Config::preset(p, s), built);
            assert_ne!(built, Config::DEFAULT, "{p:?} {s:?}");
            assert!(!seen.contains(&built), "{p:?} {s:?} repeats another");
            seen.push(built);
        }
    }
    assert_eq!(
        Config::network(),
        Preset::Network.config(Strictness::Standard)
    );
    assert_eq!(
        Config::database(),
        Preset::Database.config(Strictness::Standard)
    );
    assert_eq!(
        Config::peripheral(),
        Preset::Peripheral.config(Strictness::Standard)
    );
    assert_eq!(
        Config::slow_service(),
        Preset::SlowService.config(Strictness::Standard)
    );
}

/// The open time right after a trip, in microseconds.
fn open_time<W: Window>(b: &mut Breaker<W, &MockClock>) -> u64 {
    assert_eq!(b.state(), State::Open);
    b.retry_after_micros().expect("open knows when")
}

fn fail_n<W: Window>(b: &mut Breaker<W, &MockClock>, n: u32) {
    for _ in 0..n {
        let _ = b.call(|| Err::<(), _>(()));
    }
}

#[test]
fn peripheral_trips_after_three_naks_and_backs_off_from_50ms_to_5s() {
    let clock = MockClock::new();
    let mut b = Breaker::new(Config::peripheral(), CountWindow::<1>::new(), &clock);
    fail_n(&mut b, 2);
    assert_eq!(b.state(), State::Closed);
    fail_n(&mut b, 1);
    let mut open = open_time(&mut b);
    let mut seen = Vec::new();
    for _ in 0..9 {
        seen.push(open);
        clock.advance(Duration::from_micros(open));
        fail_n(&mut b, 1); // the probe fails
        open = open_time(&mut b);
    }
    assert_eq!(
        seen,
        [50_000, 100_000, 200_000, 400_000, 800_000, 1_600_000, 3_200_000, 5_000_000, 5_000_000]
    );
    assert!(!Config::peripheral().measures_durations());
}

#[test]
fn peripheral_strictness_variants() {
    let clock = MockClock::new();
    let cases = [
        (Strictness::Strict, 2, 100_000),
        (Strictness::Lenient, 6, 50_000),
        (Strictness::FastRecovery, 3, 10_000),
    ];
    for (s, trips_after, open_us) in cases {
        let mut b = Breaker::new(
            Preset::Peripheral.config(s),
            CountWindow::<1>::new(),
            &clock,
        );
        fail_n(&mut b, trips_after - 1);
        assert_eq!(b.state(), State::Closed, "{s:?}");
        fail_n(&mut b, 1);
        assert_eq!(open_time(&mut b), open_us, "{s:?}");
    }
}

#[test]
fn network_trips_at_half_of_twenty_calls_and_needs_two_good_probes() {
    let clock = MockClock::new();
    let mut b = Breaker::new(Config::network(), CountWindow::<20>::new(), &clock);
    for i in 0..19 {
        let _ = b.call(|| if i % 2 == 0 { Err(()) } else { Ok(()) }); // 10 failures
    }
    assert_eq!(b.state(), State::Closed, "19 calls: below the minimum");
    let _ = b.call(|| Ok::<_, ()>(()));
    let open = open_time(&mut b);
    assert!(
        (4_500_000..=5_500_000).contains(&open),
        "5 s ± 10 %: {open}"
    );

    clock.advance(Duration::from_micros(open));
    let probes: Vec<_> = (0..3).map(|_| b.try_acquire().unwrap()).collect();
    assert!(b.try_acquire().is_err(), "three probes");
    let mut probes = probes.into_iter();
    b.record(probes.next().unwrap(), Outcome::Success);
    assert_eq!(b.state(), State::HalfOpen, "one success is not enough");
    b.record(probes.next().unwrap(), Outcome::Success);
    assert_eq!(b.state(), State::Closed);
    let _ = b.cancel(probes.next().unwrap());
}

#[test]
fn network_trips_on_slow_calls() {
    let clock = MockClock::new();
    let mut b = Breaker::new(Config::network(), CountWindow::<20>::new(), &clock);
    for i in 0..20 {
        let _ = b.call(|| {
            // 16 of 20 (80 %) take 5.001 s; 4 are fast.
            clock.advance(if i < 16 { ms(5_001) } else { ms(10) });
            Ok::<_, ()>(())
        });
    }
    assert_eq!(b.state(), State::Open);
}

#[test]
fn database_trips_after_five_failures_and_opens_for_about_15s() {
    let clock = MockClock::new();
    let mut b = Breaker::new(Config::database(), CountWindow::<10>::new(), &clock);
    let _ = b.call(|| Ok::<_, ()>(()));
    fail_n(&mut b, 4);
    assert_eq!(b.state(), State::Closed);
    fail_n(&mut b, 1);
    let open = open_time(&mut b);
    assert!(
        (13_500_000..=16_500_000).contains(&open),
        "15 s ± 10 %: {open}"
    );
}

#[test]
fn slow_service_trips_after_three_and_limits_half_open_to_two_minutes() {
    let clock = MockClock::new();
    let mut b = Breaker::new(Config::slow_service(), CountWindow::<10>::new(), &clock);
    assert!(
        Config::slow_service().measures_durations(),
        "latency tracked"
    );
    fail_n(&mut b, 3);
    let open = open_time(&mut b);
    assert!(
        (24_000_000..=36_000_000).contains(&open),
        "30 s ± 20 %: {open}"
    );
    clock.advance(Duration::from_micros(open));
    let probe = b.try_acquire().unwrap(); // a completion that never returns
    clock.advance(Duration::from_secs(119));
    assert_eq!(b.state(), State::HalfOpen);
    clock.advance(Duration::from_secs(1));
    assert_eq!(b.state(), State::Open, "the hung probe timed out");
    assert_eq!(b.record(probe, Outcome::Success), Recorded::Stale);
}

#[test]
fn lenient_network_needs_more_failures_and_strict_fewer() {
    let clock = MockClock::new();
    // Strict: 25 % over 20 calls. 5 failures of 20 trip.
    let mut strict = Breaker::new(
        Preset::Network.config(Strictness::Strict),
        CountWindow::<20>::new(),
        &clock,
    );
    for i in 0..20 {
        let _ = strict.call(|| if i < 5 { Err(()) } else { Ok(()) });
    }
    assert_eq!(strict.state(), State::Open);
    // Lenient: 75 % over 40 calls; 30 failures of 40 trip, 29 do not.
    let mut lenient = Breaker::new(
        Preset::Network.config(Strictness::Lenient),
        CountWindow::<40>::new(),
        &clock,
    );
    for i in 0..40 {
        let _ = lenient.call(|| if i < 29 { Err(()) } else { Ok(()) });
    }
    assert_eq!(lenient.state(), State::Closed);
    let mut lenient = Breaker::new(
        Preset::Network.config(Strictness::Lenient),
        CountWindow::<40>::new(),
        &clock,
    );
    for i in 0..40 {
        let _ = lenient.call(|| if i < 30 { Err(()) } else { Ok(()) });
    }
    assert_eq!(lenient.state(), State::Open);
}

// ----- sizes -----------------------------------------------------------------

#[test]
fn companions_stay_small() {
    use core::mem::size_of;
    assert!(size_of::<Backoff>() <= 48, "{}", size_of::<Backoff>());
    assert!(size_of::<Delays>() <= 64, "{}", size_of::<Delays>());
    assert!(size_of::<Bulkhead>() <= 32, "{}", size_of::<Bulkhead>());
    assert_eq!(size_of::<BulkheadPermit<'_>>(), size_of::<usize>());
    assert_eq!(size_of::<retry::RetryAll>(), 0);
}
