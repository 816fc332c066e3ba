//! The core's scenario checks, on the target: every transition driven by a
//! `MockClock` (a 64-bit atomic, through critical sections on the M0), every
//! verdict printed over semihosting, the exit code non-zero on any failure,
//! panic or HardFault.
#![no_std]
#![no_main]

use core::cell::Cell;
use core::mem::size_of;
use core::sync::atomic::{AtomicU32, Ordering};
use core::time::Duration;

use cortex_m::peripheral::SCB;
use cortex_m_rt::{entry, exception};
use cortex_m_semihosting::hprintln;
use tripline_core::shared::CriticalSectionLock;
use tripline_core::window::{CountWindow, TimeWindow, Totals, Window};
use tripline_core::{
    Breaker, CallError, Clock, Config, ConfigBuilder, ConfigSource, Event, FixedConfig, Instant,
    MockClock, Observer, Outcome, Permit, Rate, Reason, Recorded, RejectReason, Rejected, Rule,
    SharedBreaker, Sink, State,
};
use tripline_mcu::{ensure, ensure_eq, failing_handlers, run_all, Check, Fail};

failing_handlers!();

#[cfg(board_microbit)]
const BOARD: &str = "Cortex-M0 (thumbv6m, qemu microbit)";
#[cfg(not(board_microbit))]
const BOARD: &str = "Cortex-M3 (thumbv7m, qemu lm3s6965evb)";

const CHECKS: &[Check] = &[
    check("consecutive_failures_trip", consecutive_failures_trip),
    check(
        "failure_rate_trips_inclusively",
        failure_rate_trips_inclusively,
    ),
    check("slow_call_rate_trips", slow_call_rate_trips),
    check(
        "open_rejects_with_exact_retry_after",
        open_rejects_with_exact_retry_after,
    ),
    check(
        "half_open_exactly_at_open_until",
        half_open_exactly_at_open_until,
    ),
    check(
        "half_open_admits_only_the_limit",
        half_open_admits_only_the_limit,
    ),
    check("probes_close_the_breaker", probes_close_the_breaker),
    check("failed_probe_reopens", failed_probe_reopens),
    check("exponential_backoff_steps", exponential_backoff_steps),
    check("backoff_restarts_after_close", backoff_restarts_after_close),
    check("jitter_stays_in_bounds", jitter_stays_in_bounds),
    check(
        "failure_retry_after_sets_open_time",
        failure_retry_after_sets_open_time,
    ),
    check(
        "cancelled_permit_returns_the_slot",
        cancelled_permit_returns_the_slot,
    ),
    check(
        "dropped_shared_permit_returns_the_slot",
        dropped_shared_permit_returns_the_slot,
    ),
    check(
        "shared_breaker_trips_and_recovers",
        shared_breaker_trips_and_recovers,
    ),
    check(
        "fixed_config_breaker_trips_and_recovers",
        fixed_config_breaker_trips_and_recovers,
    ),
    check(
        "interrupt_handler_shares_the_breaker",
        interrupt_handler_shares_the_breaker,
    ),
    check("stale_result_changes_nothing", stale_result_changes_nothing),
    check(
        "count_window_forgets_old_calls",
        count_window_forgets_old_calls,
    ),
    check(
        "time_window_trips_within_span",
        time_window_trips_within_span,
    ),
    check(
        "time_window_forgets_after_idle_gap",
        time_window_forgets_after_idle_gap,
    ),
    check(
        "transitions_are_observed_in_order",
        transitions_are_observed_in_order,
    ),
    check(
        "metrics_count_every_call_once",
        metrics_count_every_call_once,
    ),
    check("mock_clock_crosses_32_bits", mock_clock_crosses_32_bits),
    check("time_saturates_at_the_end", time_saturates_at_the_end),
    check(
        "clock_going_backwards_is_no_time",
        clock_going_backwards_is_no_time,
    ),
];

const fn check(name: &'static str, run: fn() -> Result<(), Fail>) -> Check {
    Check { name, run }
}

#[entry]
fn main() -> ! {
    hprintln!(
        "sizes (bytes): Breaker<CountWindow<16>, &MockClock> {}, Breaker<TimeWindow<10>, &MockClock> {}, \
         SharedBreaker<CountWindow<16>, &MockClock> {}, Config {}, Permit {}, Rejected {}, Event {}",
        size_of::<Breaker<CountWindow<16>, &MockClock>>(),
        size_of::<Breaker<TimeWindow<10>, &MockClock>>(),
        size_of::<SharedBreaker<CountWindow<16>, &MockClock>>(),
        size_of::<Config>(),
        size_of::<Permit>(),
        size_of::<Rejected>(),
        size_of::<Event>()
    );
    run_all(BOARD, CHECKS)
}

// ----- helpers ---------------------------------------------------------------

type Result<T, E = Fail> = core::result::Result<T, E>;
type Counted<'c, const N: usize = 16> = Breaker<CountWindow<N>, &'c MockClock>;

#[track_caller]
fn build(builder: ConfigBuilder) -> Result<Config> {
    let config = builder.build();
    ensure(config.is_ok())?;
    config.map_err(|_| fail_here())
}

#[track_caller]
fn fail_here() -> Fail {
    Fail::here()
}

#[track_caller]
fn counted<const N: usize>(builder: ConfigBuilder, clock: &MockClock) -> Result<Counted<'_, N>> {
    Ok(Breaker::new(
        build(builder)?,
        CountWindow::<N>::new(),
        clock,
    ))
}

/// One admitted call with `outcome`; fails the check if it was rejected.
#[track_caller]
fn call<W: Window, C: Clock, O: Sink>(
    b: &mut Breaker<W, C, O>,
    outcome: Outcome,
) -> Result<Recorded> {
    match b.try_acquire() {
        Ok(permit) => Ok(b.record(permit, outcome)),
        Err(_) => Err(fail_here()),
    }
}

#[track_caller]
fn fail<W: Window, C: Clock, O: Sink>(b: &mut Breaker<W, C, O>) -> Result<Recorded> {
    call(b, Outcome::Failure)
}

#[track_caller]
fn succeed<W: Window, C: Clock, O: Sink>(b: &mut Breaker<W, C, O>) -> Result<Recorded> {
    call(b, Outcome::Success)
}

/// The rejection of the next call; fails the check if it was admitted.
#[track_caller]
fn rejection<W: Window, C: Clock, O: Sink>(b: &mut Breaker<W, C, O>) -> Result<Rejected> {
    match b.try_acquire() {
        Ok(permit) => {
            b.cancel(permit);
            Err(fail_here())
        }
        Err(r) => Ok(r),
    }
}

/// The open time just chosen (the breaker must be open).
#[track_caller]
fn open_time<W: Window, C: Clock, O: Sink>(b: &Breaker<W, C, O>) -> Result<Duration> {
    ensure_eq(b.state(), State::Open)?;
    b.retry_after().ok_or_else(fail_here)
}

/// Waits out the open time on `clock`, then fails the probe.
fn fail_probe<W: Window, O: Sink>(
    b: &mut Breaker<W, &MockClock, O>,
    clock: &MockClock,
) -> Result<()> {
    clock.advance(open_time(b)?);
    ensure_eq(b.state(), State::HalfOpen)?;
    ensure_eq(fail(b)?, Recorded::Counted)?;
    ensure_eq(b.state(), State::Open)
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

// ----- trip rules --------------------------------------------------------------

fn consecutive_failures_trip() -> Result<()> {
    let clock = MockClock::new();
    let mut b = counted::<16>(Config::builder().consecutive_failures(3), &clock)?;
    fail(&mut b)?;
    fail(&mut b)?;
    succeed(&mut b)?; // breaks the streak
    fail(&mut b)?;
    fail(&mut b)?;
    ensure_eq(b.state(), State::Closed)?;
    fail(&mut b)?;
    ensure_eq(b.state(), State::Open)?;
    ensure_eq(rejection(&mut b)?.reason(), RejectReason::Open)
}

fn failure_rate_trips_inclusively() -> Result<()> {
    let clock = MockClock::new();
    let mut b = counted::<16>(
        Config::builder()
            .failure_rate(Rate::percent(50))
            .minimum_calls(6),
        &clock,
    )?;
    // Three failures in a row stay below minimum_calls.
    for _ in 0..3 {
        fail(&mut b)?;
    }
    ensure_eq(b.state(), State::Closed)?;
    succeed(&mut b)?;
    succeed(&mut b)?;
    ensure_eq(b.state(), State::Closed)?;
    // 3 of 6 = 500 permille, exactly the threshold, reached by a success.
    succeed(&mut b)?;
    ensure_eq(b.state(), State::Open)?;
    ensure_eq(b.metrics().failure_rate_permille, Some(500))
}

fn slow_call_rate_trips() -> Result<()> {
    let clock = MockClock::starting_at(Instant::from_secs(1));
    let config = Config::builder()
        .slow_call_rate(Rate::percent(50), Duration::from_millis(100))
        .minimum_calls(4);
    let mut b = counted::<8>(config, &clock)?;
    let timed = |b: &mut Counted<'_, 8>, ms: u64| -> Result<Recorded> {
        let p = b.try_acquire().map_err(|_| fail_here())?;
        clock.advance(Duration::from_millis(ms));
        Ok(b.record(p, Outcome::Success))
    };
    timed(&mut b, 10)?;
    timed(&mut b, 100)?; // exactly the threshold is not slow
    timed(&mut b, 101)?;
    timed(&mut b, 10)?; // 1 of 4 slow
    timed(&mut b, 250)?; // 2 of 5
    ensure_eq(b.state(), State::Closed)?;
    timed(&mut b, 101)?; // 3 of 6 = 500 permille
    ensure_eq(b.state(), State::Open)?;
    let m = b.metrics();
    ensure_eq(
        (m.slow_calls(), m.failures, m.duration_max_us),
        (3, 0, 250_000),
    )
}

// ----- open and half-open ----------------------------------------------------------

fn open_rejects_with_exact_retry_after() -> Result<()> {
    let clock = MockClock::starting_at(Instant::from_secs(100));
    let config = Config::builder()
        .consecutive_failures(1)
        .open_duration(secs(10));
    let mut b = counted::<16>(config, &clock)?;
    fail(&mut b)?;
    clock.advance(Duration::from_millis(3_250));
    let r = rejection(&mut b)?;
    ensure_eq(r.reason(), RejectReason::Open)?;
    ensure_eq(r.retry_after(), Some(Duration::from_millis(6_750)))?;
    ensure_eq(r.retry_after_micros(), Some(6_750_000))?;
    ensure_eq(b.retry_after(), Some(Duration::from_millis(6_750)))?;
    ensure_eq(b.metrics().rejected, 1)
}

fn half_open_exactly_at_open_until() -> Result<()> {
    let clock = MockClock::starting_at(Instant::from_secs(100));
    let config = Config::builder()
        .consecutive_failures(1)
        .open_duration(secs(10));
    let mut b = counted::<16>(config, &clock)?;
    fail(&mut b)?;
    clock.set(Instant::from_micros(110_000_000 - 1));
    ensure_eq(b.state(), State::Open)?;
    ensure_eq(b.retry_after_micros(), Some(1))?;
    clock.advance(Duration::from_micros(1));
    ensure_eq(b.state(), State::HalfOpen)?;
    ensure_eq(b.retry_after(), Some(Duration::ZERO))
}

fn half_open(clock: &MockClock, permits: u16, successes: u16) -> Result<Counted<'_>> {
    let config = Config::builder()
        .consecutive_failures(1)
        .open_duration(secs(1))
        .half_open_permits(permits)
        .half_open_successes(successes);
    let mut b = counted::<16>(config, clock)?;
    fail(&mut b)?;
    clock.advance(secs(1));
    ensure_eq(b.state(), State::HalfOpen)?;
    Ok(b)
}

fn half_open_admits_only_the_limit() -> Result<()> {
    let clock = MockClock::new();
    let mut b = half_open(&clock, 2, 2)?;
    let p1 = b.try_acquire().map_err(|_| fail_here())?;
    let p2 = b.try_acquire().map_err(|_| fail_here())?;
    let r = rejection(&mut b)?;
    ensure_eq(r.reason(), RejectReason::HalfOpenFull)?;
    ensure_eq(r.retry_after(), None)?;
    ensure_eq(b.record(p1, Outcome::Success), Recorded::Counted)?;
    ensure_eq(b.state(), State::HalfOpen)?;
    ensure_eq(rejection(&mut b)?.reason(), RejectReason::HalfOpenFull)?;
    ensure_eq(b.record(p2, Outcome::Success), Recorded::Counted)?;
    ensure_eq(b.state(), State::Closed)
}

fn probes_close_the_breaker() -> Result<()> {
    let clock = MockClock::new();
    let mut b = half_open(&clock, 3, 3)?;
    succeed(&mut b)?;
    succeed(&mut b)?;
    ensure_eq(b.state(), State::HalfOpen)?;
    succeed(&mut b)?;
    ensure_eq(b.state(), State::Closed)?;
    ensure_eq(b.metrics().open_attempts, 0)?;
    // Closed again: calls flow without reading a deadline.
    ensure(b.try_acquire().is_ok())
}

fn failed_probe_reopens() -> Result<()> {
    let clock = MockClock::new();
    let mut b = half_open(&clock, 3, 2)?;
    succeed(&mut b)?;
    ensure_eq(fail(&mut b)?, Recorded::Counted)?;
    ensure_eq(b.state(), State::Open)?;
    ensure_eq(b.retry_after(), Some(secs(1)))?;
    ensure_eq(rejection(&mut b)?.reason(), RejectReason::Open)
}

// ----- backoff ----------------------------------------------------------------------

fn exponential_backoff_steps() -> Result<()> {
    let clock = MockClock::new();
    let config = Config::builder()
        .consecutive_failures(1)
        .open_duration(secs(1))
        .exponential_backoff(2_000, secs(5));
    let mut b = counted::<16>(config, &clock)?;
    fail(&mut b)?;
    let mut seen = [Duration::ZERO; 5];
    seen[0] = open_time(&b)?;
    for slot in seen.iter_mut().skip(1) {
        fail_probe(&mut b, &clock)?;
        *slot = open_time(&b)?;
    }
    ensure_eq(seen, [secs(1), secs(2), secs(4), secs(5), secs(5)])?;
    // A factor of 1.5 in q16 fixed point: 400 ms, 600 ms, 900 ms, 1350 ms.
    let clock = MockClock::new();
    let config = Config::builder()
        .consecutive_failures(1)
        .open_duration(Duration::from_millis(400))
        .exponential_backoff(1_500, secs(60));
    let mut b = counted::<16>(config, &clock)?;
    fail(&mut b)?;
    for ms in [400, 600, 900, 1_350] {
        ensure_eq(open_time(&b)?, Duration::from_millis(ms))?;
        fail_probe(&mut b, &clock)?;
    }
    ensure_eq(b.metrics().open_attempts, 5)
}

fn backoff_restarts_after_close() -> Result<()> {
    let clock = MockClock::new();
    let config = Config::builder()
        .consecutive_failures(1)
        .open_duration(secs(1))
        .exponential_backoff(2_000, secs(60));
    let mut b = counted::<16>(config, &clock)?;
    fail(&mut b)?;
    fail_probe(&mut b, &clock)?;
    fail_probe(&mut b, &clock)?;
    ensure_eq(open_time(&b)?, secs(4))?;
    clock.advance(secs(4));
    succeed(&mut b)?;
    ensure_eq(b.state(), State::Closed)?;
    fail(&mut b)?;
    ensure_eq(open_time(&b)?, secs(1))
}

fn jitter_stays_in_bounds() -> Result<()> {
    for seed in [0, 1, 42, 0xDEAD_BEEF] {
        let clock = MockClock::new();
        let config = Config::builder()
            .consecutive_failures(1)
            .open_duration(secs(10))
            .exponential_backoff(2_000, secs(1_000_000))
            .jitter(Rate::percent(20), seed);
        let mut b = counted::<16>(config, &clock)?;
        fail(&mut b)?;
        let mut step = secs(10);
        let mut moved = false;
        for _ in 0..8 {
            let d = open_time(&b)?;
            ensure(d >= step * 4 / 5 && d <= step * 6 / 5)?;
            moved |= d != step;
            fail_probe(&mut b, &clock)?;
            step *= 2;
        }
        ensure(moved)?;
    }
    Ok(())
}

fn failure_retry_after_sets_open_time() -> Result<()> {
    let clock = MockClock::new();
    let config = Config::builder()
        .consecutive_failures(1)
        .open_duration(secs(1))
        .exponential_backoff(2_000, secs(60));
    let mut b = counted::<16>(config, &clock)?;
    call(&mut b, Outcome::FailureRetryAfter(secs(30)))?;
    ensure_eq(open_time(&b)?, secs(30))?;
    ensure_eq(rejection(&mut b)?.retry_after(), Some(secs(30)))
}

// ----- cancellation and staleness ------------------------------------------------------

fn cancelled_permit_returns_the_slot() -> Result<()> {
    let clock = MockClock::new();
    let mut b = half_open(&clock, 1, 1)?;
    let p = b.try_acquire().map_err(|_| fail_here())?;
    ensure_eq(rejection(&mut b)?.reason(), RejectReason::HalfOpenFull)?;
    ensure_eq(b.cancel(p), Recorded::Cancelled)?;
    ensure_eq(b.state(), State::HalfOpen)?;
    let p = b.try_acquire().map_err(|_| fail_here())?;
    ensure_eq(b.record(p, Outcome::Success), Recorded::Counted)?;
    ensure_eq(b.state(), State::Closed)?;
    ensure_eq(b.metrics().cancelled, 1)
}

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

static DROP_CLOCK: MockClock = MockClock::new();
static DROP_BREAKER: SharedBreaker<CountWindow<8>, &MockClock> =
    SharedBreaker::new(shared_config(), CountWindow::new(), &DROP_CLOCK);

fn dropped_shared_permit_returns_the_slot() -> Result<()> {
    let b = &DROP_BREAKER;
    let _ = b.call(|| Err::<(), _>(()));
    let _ = b.call(|| Err::<(), _>(()));
    ensure_eq(b.state(), State::Open)?;
    DROP_CLOCK.advance(secs(1));
    let probe = b.try_acquire().map_err(|_| fail_here())?;
    ensure_eq(
        b.try_acquire().err().map(|r| r.reason()),
        Some(RejectReason::HalfOpenFull),
    )?;
    // Dropped unrecorded, as when a task is cancelled: the slot comes back.
    drop(probe);
    ensure_eq(b.metrics().cancelled, 1)?;
    ensure_eq(b.state(), State::HalfOpen)?;
    let probe = b.try_acquire().map_err(|_| fail_here())?;
    ensure_eq(probe.record(Outcome::Success), Ok(Recorded::Counted))?;
    ensure_eq(b.state(), State::Closed)
}

static CALL_CLOCK: MockClock = MockClock::new();
static CALL_BREAKER: SharedBreaker<CountWindow<8>, &MockClock> =
    SharedBreaker::new(shared_config(), CountWindow::new(), &CALL_CLOCK);

/// `shared_config`, fixed at compile time.
struct Fixed;
impl FixedConfig for Fixed {
    const CONFIG: Config = shared_config();
}

static FIXED_CLOCK: MockClock = MockClock::new();
static FIXED_BREAKER: SharedBreaker<CountWindow<8>, &MockClock, (), CriticalSectionLock, Fixed> =
    SharedBreaker::fixed(Fixed, CountWindow::new(), &FIXED_CLOCK);

fn shared_breaker_trips_and_recovers() -> Result<()> {
    trips_and_recovers(&CALL_BREAKER, &CALL_CLOCK)
}

fn fixed_config_breaker_trips_and_recovers() -> Result<()> {
    trips_and_recovers(&FIXED_BREAKER, &FIXED_CLOCK)
}

fn trips_and_recovers<K: ConfigSource>(
    b: &SharedBreaker<CountWindow<8>, &MockClock, (), CriticalSectionLock, K>,
    clock: &MockClock,
) -> Result<()> {
    ensure_eq(b.call(|| Ok::<u16, ()>(512)).ok(), Some(512))?;
    ensure(b.call(|| Err::<u16, _>("nak")).is_err())?;
    ensure(b.call(|| Err::<u16, _>("nak")).is_err())?;
    ensure_eq(b.state(), State::Open)?;
    let ran = Cell::new(false);
    let r = b.call(|| {
        ran.set(true);
        Ok::<u16, ()>(1)
    });
    ensure(!ran.get())?;
    ensure_eq(
        r.err().and_then(|e| e.rejected().map(Rejected::reason)),
        Some(RejectReason::Open),
    )?;
    ensure_eq(b.retry_after(), Some(secs(1)))?;
    clock.advance(secs(1));
    ensure_eq(b.call(|| Ok::<u16, ()>(9)).ok(), Some(9))?;
    ensure_eq(b.state(), State::Closed)?;
    let m = b.metrics();
    ensure_eq((m.successes, m.failures, m.rejected), (2, 2, 1))
}

static ISR_CLOCK: MockClock = MockClock::new();
static ISR_BREAKER: SharedBreaker<CountWindow<8>, &MockClock> =
    SharedBreaker::new(shared_config(), CountWindow::new(), &ISR_CLOCK);
/// Calls the PendSV handler made, and how many of them found the lock taken.
static ISR_CALLS: AtomicU32 = AtomicU32::new(0);
static ISR_BUSY: AtomicU32 = AtomicU32::new(0);

/// An interrupt-context user of the breaker: one failing call per run.
/// Only this handler writes the counters (load + store: no CAS on the M0).
#[exception]
fn PendSV() {
    let result = ISR_BREAKER.call(|| Err::<(), _>("nak"));
    ISR_CALLS.store(ISR_CALLS.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    if let Err(CallError::Rejected(r)) = result {
        if r.reason() == RejectReason::Busy {
            ISR_BUSY.store(ISR_BUSY.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        }
    }
}

/// Pends PendSV; the barriers make it taken here if interrupts are on.
fn pend_sv() {
    SCB::set_pendsv();
    cortex_m::asm::dsb();
    cortex_m::asm::isb();
}

fn interrupt_handler_shares_the_breaker() -> Result<()> {
    let b = &ISR_BREAKER;
    let permit = b.try_acquire().map_err(|_| fail_here())?;
    // A real exception, taken at once: its failure counts in the shared breaker.
    pend_sv();
    ensure_eq(ISR_CALLS.load(Ordering::Relaxed), 1)?;
    // Pended inside a critical section (interrupts off, as while the
    // breaker's lock is held): it runs only once the section ends, and the
    // lock-free read inside sees the first failure.
    let in_section = cortex_m::interrupt::free(|_| {
        pend_sv();
        (ISR_CALLS.load(Ordering::Relaxed), b.metrics().failures)
    });
    ensure_eq(in_section, (1, 1))?;
    ensure_eq(ISR_CALLS.load(Ordering::Relaxed), 2)?;
    ensure_eq(ISR_BUSY.load(Ordering::Relaxed), 0)?;
    // The handler's two failures opened it under the thread's permit.
    ensure_eq(b.state(), State::Open)?;
    ensure_eq(permit.record(Outcome::Success), Ok(Recorded::Stale))?;
    let m = b.metrics();
    ensure_eq((m.failures, m.successes, m.stale), (2, 0, 1))
}

fn stale_result_changes_nothing() -> Result<()> {
    let clock = MockClock::new();
    let mut b = counted::<16>(Config::builder().consecutive_failures(2), &clock)?;
    let late = b.try_acquire().map_err(|_| fail_here())?;
    fail(&mut b)?;
    fail(&mut b)?;
    let generation = b.generation();
    ensure_eq(b.record(late, Outcome::Success), Recorded::Stale)?;
    ensure_eq(b.state(), State::Open)?;
    ensure_eq(b.generation(), generation)?;
    let m = b.metrics();
    ensure_eq((m.stale, m.successes, m.failures), (1, 0, 2))
}

// ----- windows ----------------------------------------------------------------------

fn count_window_forgets_old_calls() -> Result<()> {
    let clock = MockClock::new();
    let mut b = counted::<4>(
        Config::builder()
            .failure_rate(Rate::percent(75))
            .minimum_calls(4),
        &clock,
    )?;
    fail(&mut b)?;
    fail(&mut b)?;
    for _ in 0..4 {
        succeed(&mut b)?;
    }
    let w = b.metrics().window;
    ensure_eq((w.calls, w.failures), (4, 0))?;
    fail(&mut b)?;
    fail(&mut b)?;
    ensure_eq(b.state(), State::Closed)?; // S S F F
    fail(&mut b)?; // S F F F = 750
    ensure_eq(b.state(), State::Open)
}

fn time_window(clock: &MockClock) -> Result<Breaker<TimeWindow<10>, &MockClock>> {
    let config = build(
        Config::builder()
            .failure_rate(Rate::percent(50))
            .minimum_calls(4),
    )?;
    let window = TimeWindow::<10>::new(secs(10)).map_err(|_| fail_here())?;
    Ok(Breaker::new(config, window, clock))
}

fn time_window_trips_within_span() -> Result<()> {
    let clock = MockClock::new();
    let mut b = time_window(&clock)?;
    fail(&mut b)?;
    clock.advance(secs(3));
    succeed(&mut b)?;
    clock.advance(secs(3));
    succeed(&mut b)?;
    ensure_eq(b.state(), State::Closed)?;
    clock.advance(secs(3));
    fail(&mut b)?; // 2 of 4 within 10 s
    ensure_eq(b.state(), State::Open)?;
    ensure_eq(b.metrics().window.failures, 2)
}

fn time_window_forgets_after_idle_gap() -> Result<()> {
    let clock = MockClock::new();
    let mut b = time_window(&clock)?;
    for _ in 0..3 {
        fail(&mut b)?;
    }
    ensure_eq(b.metrics().window.failures, 3)?;
    clock.advance(secs(20));
    ensure_eq(b.metrics().window, Totals::EMPTY)?;
    // Had the failures stayed, this would make 3 of 4.
    succeed(&mut b)?;
    ensure_eq(b.state(), State::Closed)?;
    let w = b.metrics().window;
    ensure_eq((w.calls, w.failures), (1, 0))
}

// ----- observation and accounting ----------------------------------------------------

/// Keeps the state changes it sees, up to eight, without a heap.
#[derive(Default)]
struct Transitions {
    seen: [Cell<Option<(State, State, Reason)>>; 8],
    len: Cell<usize>,
}

impl Observer for Transitions {
    fn on_event(&self, event: &Event) {
        if let Event::StateChanged {
            from, to, reason, ..
        } = *event
        {
            if let Some(slot) = self.seen.get(self.len.get()) {
                slot.set(Some((from, to, reason)));
                self.len.set(self.len.get() + 1);
            }
        }
    }
}

fn transitions_are_observed_in_order() -> Result<()> {
    use State::{Closed, HalfOpen, Open};
    let clock = MockClock::new();
    let mut b = counted::<16>(
        Config::builder()
            .consecutive_failures(2)
            .open_duration(secs(1)),
        &clock,
    )?
    .with_observer(Transitions::default());
    fail(&mut b)?;
    fail(&mut b)?;
    clock.advance(secs(1));
    fail(&mut b)?; // the probe fails
    clock.advance(secs(1));
    succeed(&mut b)?;
    let expected = [
        (Closed, Open, Reason::Tripped(Rule::ConsecutiveFailures)),
        (Open, HalfOpen, Reason::OpenTimeElapsed),
        (HalfOpen, Open, Reason::ProbeFailed),
        (Open, HalfOpen, Reason::OpenTimeElapsed),
        (HalfOpen, Closed, Reason::ProbesSucceeded),
    ];
    let seen = b.observer();
    ensure_eq(seen.len.get(), expected.len())?;
    for (slot, want) in seen.seen.iter().zip(expected) {
        ensure_eq(slot.get(), Some(want))?;
    }
    Ok(())
}

fn metrics_count_every_call_once() -> Result<()> {
    let clock = MockClock::new();
    let config = Config::builder()
        .consecutive_failures(2)
        .open_duration(secs(1));
    let mut b = counted::<16>(config, &clock)?;
    succeed(&mut b)?;
    call(&mut b, Outcome::Ignored)?;
    let cancelled = b.try_acquire().map_err(|_| fail_here())?;
    b.cancel(cancelled);
    let late = b.try_acquire().map_err(|_| fail_here())?;
    fail(&mut b)?;
    fail(&mut b)?;
    rejection(&mut b)?;
    b.record(late, Outcome::Failure);
    let m = b.metrics();
    ensure_eq(
        (m.permitted, m.rejected, m.successes, m.failures),
        (6, 1, 1, 2),
    )?;
    ensure_eq((m.ignored, m.cancelled, m.stale), (1, 1, 1))?;
    ensure_eq(m.in_flight(), 0)
}

fn mock_clock_crosses_32_bits() -> Result<()> {
    // The M0 has no 64-bit atomics: this goes through critical sections.
    let clock = MockClock::starting_at(Instant::from_micros(0xFFFF_FFF0));
    clock.advance(Duration::from_micros(0x20));
    ensure_eq(clock.now().as_micros(), 0x1_0000_0010)?;
    // Open from just below 2^32 us to just above it.
    clock.set(Instant::from_micros(4_294_967_000));
    let config = Config::builder()
        .consecutive_failures(1)
        .open_duration(Duration::from_millis(1));
    let mut b = counted::<16>(config, &clock)?;
    fail(&mut b)?;
    clock.set(Instant::from_micros(4_294_967_999));
    ensure_eq(b.retry_after_micros(), Some(1))?;
    clock.advance(Duration::from_micros(1));
    ensure_eq(b.state(), State::HalfOpen)
}

fn time_saturates_at_the_end() -> Result<()> {
    let clock = MockClock::starting_at(Instant::from_micros(u64::MAX - 10));
    let config = Config::builder()
        .consecutive_failures(1)
        .open_duration(secs(30))
        .exponential_backoff(2_000, Duration::MAX);
    let mut b = counted::<16>(config, &clock)?;
    fail(&mut b)?;
    ensure_eq(b.retry_after(), Some(Duration::from_micros(10)))?;
    clock.advance(secs(1_000));
    ensure_eq(clock.now(), Instant::MAX)?;
    ensure_eq(b.state(), State::HalfOpen)?;
    ensure(b.try_acquire().is_ok())
}

fn clock_going_backwards_is_no_time() -> Result<()> {
    let clock = MockClock::starting_at(Instant::from_secs(10));
    let config = Config::builder()
        .consecutive_failures(1)
        .open_duration(secs(10));
    let mut b = counted::<16>(config, &clock)?;
    fail(&mut b)?; // open until 20 s
    clock.set(Instant::from_secs(15));
    ensure_eq(rejection(&mut b)?.retry_after(), Some(secs(5)))?;
    clock.set(Instant::ZERO);
    ensure_eq(b.state(), State::Open)?;
    ensure_eq(rejection(&mut b)?.retry_after(), Some(secs(5)))?;
    clock.set(Instant::from_secs(20));
    ensure_eq(b.state(), State::HalfOpen)
}
