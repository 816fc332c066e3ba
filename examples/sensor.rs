//! A flaky sensor behind a breaker, on a mock clock: watch it trip, reject,
//! probe, back off and recover. Run with `cargo run --example sensor`.
//!
//! No network, no runtime, no real time: the same core a Cortex-M0 runs.

use core::cell::Cell;
use core::time::Duration;

use tripline::{
    Breaker, CallError, Clock, Config, CountWindow, Event, MockClock, Observer, Outcome, Rate,
};

/// Prints every state change, stamped with the mock time.
struct Log;
impl Observer for Log {
    fn on_event(&self, e: &Event) {
        if let Event::StateChanged {
            from,
            to,
            reason,
            at,
        } = e
        {
            println!(
                "  t={:>6} ms  {from} -> {to}  ({reason:?})",
                at.as_micros() / 1_000
            );
        }
    }
}

fn main() {
    let clock = MockClock::new();
    let config = match Config::builder()
        .consecutive_failures(3)
        .failure_rate(Rate::percent(50))
        .minimum_calls(10)
        .open_duration(Duration::from_millis(500))
        .exponential_backoff(2_000, Duration::from_secs(4))
        .jitter(Rate::percent(10), 42)
        .half_open_permits(2)
        .half_open_successes(2)
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bad config: {e}");
            std::process::exit(1);
        }
    };
    let mut breaker = Breaker::new(config, CountWindow::<20>::new(), &clock).with_observer(Log);

    // The sensor: healthy for 1 s, dead for 4 s, then healthy again.
    let healthy = |t_ms: u64| !(1_000..5_000).contains(&t_ms);
    let ran = Cell::new(0u32);
    let mut rejected = 0u32;

    println!("100 reads, one every 100 ms; the sensor is dead from 1 s to 5 s:");
    for _ in 0..100 {
        let t_ms = clock.now().as_micros() / 1_000;
        let result = breaker.call_with(
            || {
                ran.set(ran.get() + 1);
                if healthy(t_ms) {
                    Ok(512u16)
                } else {
                    Err("i2c NAK")
                }
            },
            Outcome::of,
        );
        if matches!(result, Err(CallError::Rejected(_))) {
            rejected += 1;
        }
        clock.advance(Duration::from_millis(100));
    }

    let m = breaker.metrics();
    println!();
    println!("calls made to the sensor: {}", ran.get());
    println!("calls the breaker rejected without touching the bus: {rejected}");
    println!(
        "metrics: permitted={} successes={} failures={} rejected={} state={}",
        m.permitted, m.successes, m.failures, m.rejected, m.state
    );
}
