//! The tokio companions under paused time: `retry_async` sleeps exactly the
//! policy's delays and respects the breaker; `AsyncBulkhead` never exceeds
//! its limit and frees slots on drop, on abort and on panic.
#![cfg(feature = "tokio")]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tripline_core::{
    Backoff, CallError, Config, Jitter, OnRejected, RejectReason, RetryError, RetryPolicy, State,
};
use tripline_std::{retry_async, AsyncBulkhead, CircuitBreaker, DefaultWindow, TokioClock};

fn breaker(failures: u32, open: Duration) -> CircuitBreaker<DefaultWindow, TokioClock> {
    let config = Config::builder()
        .consecutive_failures(failures)
        .open_duration(open)
        .build()
        .expect("valid configuration");
    CircuitBreaker::builder("retried")
        .config(config)
        .clock(TokioClock::new())
        .build()
}

#[tokio::test(start_paused = true)]
async fn retry_sleeps_exactly_the_backoff_and_returns_the_first_success() {
    let backoff = Backoff::linear(Duration::from_millis(10), Duration::from_millis(10))
        .build()
        .expect("valid backoff");
    let policy = RetryPolicy::new(5, backoff).expect("valid policy");
    let tries = AtomicU32::new(0);
    let start = Instant::now();
    let r = retry_async(&policy, || async {
        match tries.fetch_add(1, Ordering::SeqCst) {
            0..=2 => Err(CallError::Inner("busy")),
            n => Ok(n),
        }
    })
    .await;
    assert_eq!(r, Ok(3));
    assert_eq!(start.elapsed(), Duration::from_millis(10 + 20 + 30));
}

#[tokio::test(start_paused = true)]
async fn retry_stops_on_a_non_retryable_error_without_sleeping() {
    let policy = RetryPolicy::new(5, Backoff::NONE)
        .expect("valid policy")
        .retry_if(|e: &&str| *e != "404");
    let start = Instant::now();
    let r = retry_async(&policy, || async { Err::<(), _>(CallError::Inner("404")) }).await;
    assert_eq!(
        r,
        Err(RetryError::NotRetryable {
            attempts: 1,
            error: "404"
        })
    );
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn retry_gives_up_on_an_open_breaker_instead_of_hammering_it() {
    let b = breaker(2, Duration::from_secs(10));
    let backoff = Backoff::fixed(Duration::from_millis(1))
        .build()
        .expect("valid backoff");
    let policy = RetryPolicy::new(10, backoff).expect("valid policy");
    let calls = AtomicU32::new(0);
    let r = retry_async(&policy, || {
        b.call_async(async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>("503")
        })
    })
    .await;
    let Err(RetryError::Rejected { attempts, rejected }) = r else {
        panic!("expected a rejection, got {r:?}");
    };
    assert_eq!((attempts, rejected.reason()), (3, RejectReason::Open));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the backend saw only the two failures"
    );
}

#[tokio::test(start_paused = true)]
async fn retry_can_wait_out_the_open_time_and_probe() {
    let b = breaker(1, Duration::from_secs(2));
    let policy = RetryPolicy::new(3, Backoff::NONE)
        .expect("valid policy")
        .on_rejected(OnRejected::WaitRetryAfter {
            max_wait: Duration::from_secs(5),
        });
    let calls = AtomicU32::new(0);
    let start = Instant::now();
    let r = retry_async(&policy, || {
        b.call_async(async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 => Err("503"),
                _ => Ok("recovered"),
            }
        })
    })
    .await;
    assert_eq!(r, Ok("recovered"));
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(2),
        "waited exactly retry_after"
    );
    assert_eq!(b.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn jittered_retries_are_deterministic_for_a_seed() {
    let backoff = Backoff::exponential(Duration::from_millis(100), 2_000)
        .jitter(Jitter::Full)
        .build()
        .expect("valid backoff");
    let elapsed = |seed| async move {
        let policy = RetryPolicy::new(4, backoff)
            .expect("valid policy")
            .seed(seed);
        let start = Instant::now();
        let _ = retry_async(&policy, || async { Err::<(), _>(CallError::Inner(())) }).await;
        start.elapsed()
    };
    let (a, again, other) = (elapsed(7).await, elapsed(7).await, elapsed(8).await);
    assert_eq!(a, again);
    assert_ne!(a, other);
    assert!(a <= Duration::from_millis(100 + 200 + 400));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_bulkhead_never_exceeds_its_limit_under_many_tasks() {
    let bulkhead = AsyncBulkhead::new(3)
        .unwrap()
        .max_wait(Duration::from_secs(30));
    let inside = Arc::new(AtomicU32::new(0));
    let peak = Arc::new(AtomicU32::new(0));
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (bulkhead, inside, peak) =
                (bulkhead.clone(), Arc::clone(&inside), Arc::clone(&peak));
            tokio::spawn(async move {
                for _ in 0..20 {
                    let _ = bulkhead
                        .call(async {
                            let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                            peak.fetch_max(now, Ordering::SeqCst);
                            tokio::task::yield_now().await;
                            inside.fetch_sub(1, Ordering::SeqCst);
                        })
                        .await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task ran");
    }
    let m = bulkhead.metrics();
    assert!(peak.load(Ordering::SeqCst) <= 3);
    assert!(m.max_in_use <= 3);
    assert_eq!(m.admitted + m.rejected, 64 * 20);
    assert_eq!(m.in_use, 0);
}

#[tokio::test(start_paused = true)]
async fn bulkhead_slots_come_back_on_drop_abort_and_panic_and_waits_are_bounded() {
    let bulkhead = AsyncBulkhead::new(1)
        .unwrap()
        .max_wait(Duration::from_millis(100));

    let held = bulkhead.try_acquire().expect("a free slot");
    let start = Instant::now();
    assert!(bulkhead.acquire().await.is_err());
    assert_eq!(
        start.elapsed(),
        Duration::from_millis(100),
        "waited max_wait, no longer"
    );
    drop(held);

    let stuck = bulkhead.clone();
    let task = tokio::spawn(async move { stuck.call(std::future::pending::<()>()).await });
    tokio::task::yield_now().await;
    assert!(bulkhead.try_acquire().is_err());
    task.abort();
    let _ = task.await;
    assert!(bulkhead.try_acquire().is_ok(), "freed by the abort");

    let panicking = bulkhead.clone();
    let task = tokio::spawn(async move {
        let _slot = panicking.try_acquire();
        panic!("handler bug");
    });
    assert!(task.await.expect_err("panicked").is_panic());
    assert!(bulkhead.try_acquire().is_ok(), "freed by the unwinding");
    assert_eq!(bulkhead.metrics().in_use, 0);
}
