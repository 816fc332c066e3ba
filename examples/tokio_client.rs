//! One breaker guarding a flaky backend from async tasks and a plain thread.
//! Run with `cargo run --example tokio_client --features tokio`.
//!
//! The backend fails for a while (errors, then hangs past the timeout), the
//! breaker opens, rejects without calling it, probes, and closes once the
//! backend is back. A blocking thread shares the same breaker with `call`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tripline::{CircuitBreaker, Config, DefaultWindow, Event, Rate, TimeoutError, TokioClock};

/// Requests 10..25 fail: the first five with an error, the rest by hanging.
async fn backend(request: u32) -> Result<String, &'static str> {
    match request {
        10..=14 => Err("503 Service Unavailable"),
        15..=24 => {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok("too late".into())
        }
        _ => Ok(format!("order #{request}")),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::builder()
        .failure_rate(Rate::percent(50)) // half of the window failing…
        .minimum_calls(6) //  …once six calls are in it
        .slow_call_rate(Rate::percent(80), Duration::from_millis(150))
        .open_duration(Duration::from_millis(200))
        .exponential_backoff(2_000, Duration::from_secs(1))
        .half_open_permits(2)
        .half_open_successes(2)
        .build()?;
    let breaker: CircuitBreaker<DefaultWindow, TokioClock> = CircuitBreaker::builder("orders")
        .config(config)
        .clock(TokioClock::new())
        .on_event(|e| {
            if let Event::StateChanged {
                from, to, reason, ..
            } = e
            {
                println!("  orders: {from} -> {to} ({reason:?})");
            }
        })
        .build();

    // A monitoring task, as a service would export state to its dashboard.
    let mut state = breaker.watch_state();
    let monitor = tokio::spawn(async move {
        let mut changes = 0;
        while state.changed().await.is_ok() {
            changes += 1;
        }
        changes
    });

    let rejected = Arc::new(AtomicU32::new(0));
    for request in 0..60 {
        let timeout = Duration::from_millis(300);
        match breaker
            .call_async_with_timeout(backend(request), timeout)
            .await
        {
            Ok(order) => println!("#{request:>2} ok: {order}"),
            Err(TimeoutError::Rejected(r)) => {
                rejected.fetch_add(1, Ordering::Relaxed);
                println!(
                    "#{request:>2} rejected ({:?}), retry in {:?}",
                    r.reason(),
                    r.retry_after().unwrap_or_default()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(TimeoutError::Elapsed(d)) => println!("#{request:>2} timed out after {d:?}"),
            Err(TimeoutError::Inner(e)) => println!("#{request:>2} failed: {e}"),
        }
    }

    // Sync code shares the same breaker: a blocking thread uses `call`.
    let blocking = breaker.clone();
    let sync_result = std::thread::spawn(move || blocking.call(|| Ok::<_, &str>("sync call")))
        .join()
        .map_err(|_| "the blocking thread panicked")?;
    println!("from a thread: {sync_result:?}");

    let m = breaker.metrics();
    drop(breaker);
    let changes = monitor.await.unwrap_or_default();
    println!(
        "\n{} calls admitted, {} rejected ({} seen by the loop); {} successes, {} failures, \
         {} slow; the watch saw {changes} state changes; now {}",
        m.permitted,
        m.rejected,
        rejected.load(Ordering::Relaxed),
        m.successes,
        m.failures,
        m.slow_calls(),
        m.state
    );
    Ok(())
}
