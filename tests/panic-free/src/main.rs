//! Proof that no panic is reachable from the core's public operations.
//!
//! This firmware image calls every public operation of `Breaker` (over both
//! windows), `SharedBreaker` (and its permits, async calls and fallbacks),
//! `Config`'s builder, `Backoff`/`Delays`, `RetryPolicy`, `Bulkhead`, the
//! firmware `Registry` and `Health`, with arguments read through volatile
//! loads so the optimizer cannot fold them into constants. The panic handler
//! calls `tripline_reachable_panic`, a symbol defined nowhere: if any panic
//! path survives optimization (an `unwrap`, an index out of bounds, an
//! overflow check, a division by zero), the link fails with
//! "undefined symbol: tripline_reachable_panic".
//!
//! Build: `cargo build --release` in this folder (target thumbv7em-none-eabihf,
//! set in `.cargo/config.toml`); `.ci/verify` runs it.
#![no_std]
#![no_main]
// `unsafe` is needed here and only here: the panic handler's extern call, the
// critical-section implementation, and the volatile reads. The workspace
// forbids it; this package is outside the workspace for that reason.
#![allow(unsafe_code)]
// Results are handed to `black_box`, which keeps them alive; that is the use.
#![allow(unused_must_use)]

use core::future::Future;
use core::hint::black_box;
use core::pin::pin;
use core::ptr::{addr_of, read_volatile};
use core::task::{Context, Poll, Waker};
use core::time::Duration;

use tripline::registry::Registry;
use tripline::shared::SharedBreaker;
use tripline::window::{CountWindow, TimeWindow, Window};
use tripline::*;

// ----- inputs the optimizer cannot see ---------------------------------------

static INPUT: [u64; 4] = [0x0123_4567_89AB_CDEF, 7, 1_000_000, u64::MAX];

/// A value the compiler must assume can be anything.
fn any_u64() -> u64 {
    // SAFETY: a volatile read of a valid, aligned, initialized static.
    unsafe { read_volatile(addr_of!(INPUT[0])) }
}

fn any_u32() -> u32 {
    any_u64() as u32
}

fn any_u16() -> u16 {
    any_u64() as u16
}

fn any_bool() -> bool {
    any_u64() & 1 == 1
}

fn any_duration() -> Duration {
    // Not `Duration::new`: it panics when the nanoseconds carry past `u64::MAX` s.
    Duration::from_secs(any_u64()) + Duration::from_nanos(any_u64() % 1_000_000_000)
}

fn any_state() -> State {
    match any_u32() & 7 {
        0 => State::Closed,
        1 => State::Open,
        2 => State::HalfOpen,
        3 => State::ForcedOpen,
        4 => State::Disabled,
        _ => State::MetricsOnly,
    }
}

fn any_outcome() -> Outcome {
    match any_u32() & 3 {
        0 => Outcome::Success,
        1 => Outcome::Failure,
        2 => Outcome::FailureRetryAfter(any_duration()),
        _ => Outcome::Ignored,
    }
}

fn any_result() -> Result<u32, u32> {
    if any_bool() {
        Ok(any_u32())
    } else {
        Err(any_u32())
    }
}

/// A clock that reads anything, including backwards jumps and `u64::MAX`.
struct AnyClock;

impl Clock for AnyClock {
    fn now(&self) -> Instant {
        Instant::from_micros(any_u64())
    }
}

/// An observer that keeps every event alive.
struct Sink;

impl Observer for Sink {
    fn on_event(&self, event: &Event) {
        black_box(event);
    }
}

fn any_config() -> Config {
    let built = Config::builder()
        .consecutive_failures(any_u32())
        .failure_rate(Rate::permille(any_u16()))
        .slow_call_rate(Rate::permille(any_u16()), any_duration())
        .minimum_calls(any_u32())
        .open_duration(any_duration())
        .exponential_backoff(any_u32(), any_duration())
        .jitter(Rate::permille(any_u16()), any_u32())
        .half_open_permits(any_u16())
        .half_open_successes(any_u16())
        .half_open_time_limit(any_duration())
        .on_cancel(if any_bool() {
            OnCancel::Release
        } else {
            OnCancel::CountAsFailure
        })
        .initial_state(any_state())
        .track_latency(any_bool())
        .build();
    match built {
        Ok(c) => c,
        Err(e) => {
            black_box(e.as_str());
            if any_bool() {
                Preset::Network.config(Strictness::Standard)
            } else {
                Config::DEFAULT
            }
        }
    }
}

// ----- the operations ---------------------------------------------------------

fn breaker<W: Window>(window: W) {
    let mut b = Breaker::new(any_config(), window, AnyClock).with_observer(Sink);
    for _ in 0..any_u32() {
        match b.try_acquire() {
            Ok(p) => {
                black_box(p.generation());
                if any_bool() {
                    black_box(b.record(p, any_outcome()));
                } else {
                    black_box(b.cancel(p));
                }
            }
            Err(r) => {
                black_box((r.reason(), r.retry_after(), r.retry_after_micros()));
            }
        }
        black_box(b.call(any_result));
        black_box(b.call_with(any_result, |_| any_outcome()));
        black_box(b.call_or(any_result, 0));
        black_box(b.call_or_else(any_result, |_| 1));
        black_box(b.call_or_default(any_result));
        black_box(b.transition_to(any_state()));
        b.open_for(any_duration());
        b.force_open();
        b.force_closed();
        b.disable();
        b.metrics_only();
        b.reset();
        black_box(b.state());
        let m = b.metrics();
        black_box((m, m.in_flight()));
        black_box(m.window.failure_rate_permille());
        black_box(m.window.slow_rate_permille());
        black_box((b.retry_after(), b.retry_after_micros(), b.generation()));
        black_box(b.config().measures_durations());
    }
}

fn poll_once<F: Future>(f: F) -> Option<F::Output> {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => Some(out),
        Poll::Pending => None,
    }
}

async fn any_work() -> Result<u32, u32> {
    any_result()
}

async fn any_sleep(d: Duration) {
    black_box(d);
}

fn shared() {
    let b: SharedBreaker<CountWindow<16>, AnyClock, Sink> =
        SharedBreaker::with_observer(any_config(), CountWindow::new(), AnyClock, Sink);
    for _ in 0..any_u32() {
        match b.try_acquire() {
            Ok(p) if any_bool() => {
                black_box(p.record(any_outcome()));
            }
            Ok(p) => drop(p),
            Err(r) => {
                black_box(r);
            }
        }
        black_box(b.call(any_result));
        black_box(b.call_with(any_result, |_| any_outcome()));
        black_box(b.call_or(any_result, 0));
        black_box(b.call_or_else(any_result, |_| 1));
        black_box(b.call_or_default(any_result));
        black_box(poll_once(b.call_async(any_work())));
        black_box(poll_once(b.call_async_with(any_work(), |_| any_outcome())));
        black_box(poll_once(b.call_async_with_timer(
            any_work(),
            any_duration(),
            any_sleep,
            |_| any_outcome(),
        )));
        black_box(b.transition_to(any_state()));
        black_box(b.open_for(any_duration()));
        black_box(b.reset());
        black_box((b.state(), b.metrics(), b.retry_after()));
    }
    let mut registry: Registry<'_, SharedBreaker<CountWindow<16>, AnyClock, Sink>, 4> =
        Registry::new();
    black_box(registry.register("a", &b));
    black_box(registry.register("b", &b));
    black_box(registry.get("a").is_some());
    black_box((registry.len(), registry.is_empty(), registry.capacity()));
    black_box(registry.snapshot());
    black_box(registry.open());
    black_box(registry.reset_all());
    black_box(registry.health());
    let mut health = Health::default();
    health.add(any_state());
    black_box((health.total(), health.rejecting(), health.all_closed()));
}

fn any_backoff() -> Backoff {
    let jitter = match any_u32() & 3 {
        0 => Jitter::None,
        1 => Jitter::Full,
        _ => Jitter::Bounded(Rate::permille(any_u16())),
    };
    let builder = match any_u32() & 3 {
        0 => Backoff::fixed(any_duration()),
        1 => Backoff::linear(any_duration(), any_duration()),
        _ => Backoff::exponential(any_duration(), any_u32()),
    };
    match builder.max_delay(any_duration()).jitter(jitter).build() {
        Ok(b) => b,
        Err(e) => {
            black_box(e.as_str());
            Backoff::NONE
        }
    }
}

fn companions() {
    let backoff = any_backoff();
    black_box((
        backoff.initial_micros(),
        backoff.max_micros(),
        backoff.jitter(),
    ));
    let mut delays = backoff.delays(any_u32());
    for _ in 0..any_u32() {
        black_box(delays.next_micros());
        black_box(delays.next());
    }

    if let Ok(policy) = RetryPolicy::new(any_u32(), any_backoff()) {
        let policy = policy.seed(any_u32()).on_rejected(if any_bool() {
            OnRejected::GiveUp
        } else {
            OnRejected::WaitRetryAfter {
                max_wait: any_duration(),
            }
        });
        black_box(policy.retry(any_result, |d| {
            black_box(d);
        }));
        let mut b = Breaker::new(any_config(), CountWindow::<4>::new(), AnyClock);
        black_box(policy.retry_call(
            || b.call(any_result),
            |d| {
                black_box(d);
            },
        ));
        let mut attempts = policy.attempts();
        black_box(attempts.after(b.call(any_result)));
    }

    black_box(Bulkhead::new(0).err().map(|e| e.as_str()));
    if let Ok(bulkhead) = Bulkhead::new(any_u32()) {
        for _ in 0..any_u32() {
            let first = bulkhead.try_acquire();
            let second = bulkhead.try_acquire();
            black_box(bulkhead.call(any_u32));
            black_box((bulkhead.in_use(), bulkhead.available(), bulkhead.limit()));
            black_box(bulkhead.metrics());
            drop(second);
            drop(first);
        }
    }

    black_box(TimeWindow::<4>::new(any_duration()).map(|w| w.bucket_micros()));
}

// ----- the image ---------------------------------------------------------------

/// The entry point: everything reachable from here is in the image.
#[no_mangle]
pub extern "C" fn _start() -> ! {
    breaker(CountWindow::<1>::new());
    breaker(CountWindow::<16>::new());
    match TimeWindow::<8>::new(any_duration()) {
        Ok(w) => breaker(w),
        Err(e) => {
            black_box(e);
        }
    }
    shared();
    companions();
    // The check checks itself: `.ci/verify` builds once with this cfg and
    // expects the link to fail on this out-of-bounds index.
    #[cfg(panic_free_selftest)]
    black_box([1u8, 2, 3][any_u64() as usize]);
    loop {
        core::hint::spin_loop();
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    extern "C" {
        /// Defined nowhere: referencing it fails the link.
        fn tripline_reachable_panic() -> !;
    }
    // SAFETY: never runs; the link fails first if this is reachable.
    unsafe { tripline_reachable_panic() }
}

/// A critical section for a single core with nothing to preempt it: this
/// image only has to link, and `SharedBreaker`'s lock and the atomics need
/// an implementation to link against.
struct SingleCore;
critical_section::set_impl!(SingleCore);

// SAFETY: this image runs on one core and never enables interrupts, so there
// is no other execution context to exclude.
unsafe impl critical_section::Impl for SingleCore {
    unsafe fn acquire() {}
    unsafe fn release(_: ()) {}
}
