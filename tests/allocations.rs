//! No core operation allocates: every operation of `Breaker` (both windows),
//! `SharedBreaker` (permits, drops, async calls, fallbacks), the builders,
//! `Backoff`/`Delays`, `RetryPolicy`, `Bulkhead` and the firmware `Registry`,
//! counted by a global allocator. And 1,000,000 trip → recover cycles end
//! with the heap exactly where it started.
//!
//! The allocator counts process-wide, so this runs on the main thread with no
//! test harness (`harness = false` in Cargo.toml): nothing else allocates
//! while it counts. `TRIP_CYCLES` sets the cycle count (default 1,000,000;
//! VERIFY.md).

use std::alloc::System;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use tripline::registry::Registry;
use tripline::shared::SharedBreaker;
use tripline::window::{CountWindow, TimeWindow, Window};
use tripline::*;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// An observer that sees every event and allocates nothing.
#[derive(Default)]
struct Tally(std::sync::atomic::AtomicU64);

impl Observer for Tally {
    fn on_event(&self, _: &Event) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

fn poll_ready<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the test's futures complete at once"),
    }
}

fn config() -> Config {
    Config::builder()
        .consecutive_failures(2)
        .failure_rate(Rate::percent(50))
        .slow_call_rate(Rate::percent(50), Duration::from_millis(5))
        .minimum_calls(4)
        .open_duration(Duration::from_millis(10))
        .exponential_backoff(2_000, Duration::from_secs(1))
        .jitter(Rate::percent(10), 7)
        .half_open_permits(2)
        .half_open_successes(1)
        .half_open_time_limit(Duration::from_secs(5))
        .track_latency(true)
        .build()
        .expect("valid configuration")
}

/// Every operation of the `&mut` breaker, through every state.
fn breaker_ops<W: Window>(window: W, clock: &MockClock, tally: &Tally) {
    let mut b = Breaker::new(config(), window, clock).with_observer(tally);
    for round in 0..20u64 {
        let p = b.try_acquire().ok();
        clock.advance(Duration::from_millis(round % 7));
        if let Some(p) = p {
            let _ = b.record(p, Outcome::Failure);
        }
        if let Ok(p) = b.try_acquire() {
            let _ = b.cancel(p);
        }
        let _ = b.call(|| Err::<(), _>("down"));
        let _ = b.call_with(|| Ok::<_, ()>(1), |_| Outcome::Ignored);
        let _ = b.call_with(
            || Err::<(), _>(429),
            |_| Outcome::FailureRetryAfter(Duration::from_millis(30)),
        );
        let _ = b.call_or(|| Err::<u8, _>(()), 0);
        let _ = b.call_or_else(|| Ok::<u8, ()>(1), |_| 2);
        let _ = b.call_or_default(|| Err::<u8, ()>(()));
        let _ = (b.state(), b.metrics(), b.retry_after(), b.generation());
        clock.advance(Duration::from_millis(40));
        let _ = b.call(|| Ok::<_, ()>(()));
        match round % 6 {
            0 => b.open_for(Duration::from_millis(3)),
            1 => b.force_open(),
            2 => {
                let _ = b.transition_to(State::HalfOpen);
            }
            3 => b.disable(),
            4 => b.metrics_only(),
            _ => b.reset(),
        }
        b.force_closed();
    }
}

fn shared_ops(clock: &MockClock, tally: &Tally) {
    let b = SharedBreaker::with_observer(config(), CountWindow::<8>::new(), clock, tally);
    let mut registry: Registry<'_, _, 2> = Registry::new();
    let _ = registry.register("s", &b);
    for round in 0..20u64 {
        if let Ok(p) = b.try_acquire() {
            let _ = p.record(Outcome::Failure);
        }
        drop(b.try_acquire()); // cancelled on drop
        let _ = b.call(|| Err::<(), _>(()));
        let _ = b.call_or(|| Ok::<u8, ()>(1), 0);
        let _ = poll_ready(b.call_async(async { Ok::<_, ()>(1) }));
        let _ = poll_ready(b.call_async_with(async { Err::<u8, _>(()) }, Outcome::of));
        let _ = poll_ready(b.call_async_with_timer(
            async { Ok::<_, ()>(2) },
            Duration::from_millis(1),
            |_| async {},
            Outcome::of,
        ));
        let _ = (b.state(), b.metrics(), b.retry_after());
        let _ = b.open_for(Duration::from_millis(2));
        clock.advance(Duration::from_millis(3 + round % 3));
        let _ = b.transition_to(State::Closed);
        let _ = (registry.snapshot(), registry.open(), registry.health());
        if round % 5 == 0 {
            let _ = registry.reset_all();
        }
    }
}

fn companion_ops(clock: &MockClock) {
    let backoff = Backoff::exponential(Duration::from_millis(1), 1_500)
        .max_delay(Duration::from_secs(1))
        .jitter(Jitter::Bounded(Rate::percent(20)))
        .build()
        .expect("valid backoff");
    let mut delays = backoff.delays(9);
    for _ in 0..50 {
        let _ = delays.next_micros();
        let _ = delays.next();
    }
    let policy = RetryPolicy::new(4, backoff).expect("valid policy");
    let _ = policy.retry(|| Err::<(), _>("nak"), |d| clock.advance(d));
    let mut b = Breaker::new(config(), CountWindow::<4>::new(), clock);
    let _ = policy.retry_call(|| b.call(|| Err::<(), _>("nak")), |d| clock.advance(d));
    let bulkhead = Bulkhead::new(2).expect("valid limit");
    let first = bulkhead.try_acquire();
    let _ = bulkhead.call(|| 1);
    let _ = (bulkhead.in_use(), bulkhead.available(), bulkhead.metrics());
    drop(first);
    let _ = Preset::Network.config(Strictness::Strict);
    let _ = TimeWindow::<4>::new(Duration::from_secs(1));
}

/// Trip, wait, probe, close: one full cycle of the state machine.
fn trip_and_recover(b: &mut Breaker<CountWindow<8>, &MockClock>, clock: &MockClock) {
    let _ = b.call(|| Err::<(), _>(()));
    debug_assert_eq!(b.state(), State::Open);
    clock.advance(Duration::from_millis(1));
    let _ = b.call(|| Ok::<_, ()>(()));
    debug_assert_eq!(b.state(), State::Closed);
}

fn main() {
    core_operations_allocate_nothing_and_a_million_cycles_leave_the_heap_as_it_was();
    println!("allocations: 1 passed; 0 failed");
}

fn core_operations_allocate_nothing_and_a_million_cycles_leave_the_heap_as_it_was() {
    let clock = MockClock::new();
    let tally = Tally::default();
    let window = TimeWindow::<4>::new(Duration::from_secs(1)).expect("valid window");
    // Warm up once (thread-locals, lazy statics in std), then count.
    breaker_ops(CountWindow::<8>::new(), &clock, &tally);
    let region = Region::new(GLOBAL);
    breaker_ops(CountWindow::<8>::new(), &clock, &tally);
    breaker_ops(window, &clock, &tally);
    shared_ops(&clock, &tally);
    companion_ops(&clock);
    let change = region.change();
    assert_eq!(
        (
            change.allocations,
            change.reallocations,
            change.bytes_allocated
        ),
        (0, 0, 0),
        "core operations allocated: {change:?}"
    );
    assert!(
        tally.0.load(std::sync::atomic::Ordering::Relaxed) > 1_000,
        "events flowed"
    );

    let cycles: u64 = std::env::var("TRIP_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let config = Config::builder()
        .consecutive_failures(1)
        .open_duration(Duration::from_millis(1))
        .build()
        .expect("valid configuration");
    let mut b = Breaker::new(config, CountWindow::<8>::new(), &clock);
    let region = Region::new(GLOBAL);
    for _ in 0..cycles {
        trip_and_recover(&mut b, &clock);
    }
    let change = region.change();
    assert_eq!(
        change.bytes_allocated as i128 - change.bytes_deallocated as i128,
        0,
        "{change:?}"
    );
    assert_eq!(change.allocations, 0, "{change:?}");
    let m = b.metrics();
    assert_eq!((m.failures, m.successes), (cycles, cycles));
    // Three state changes a cycle: trip, the lazy half-open, the close.
    assert_eq!(m.generation, 3 * cycles);
}
