//! tokio glue under paused time: `TokioClock` drives every transition, the
//! test moves time with `tokio::time::advance`, nothing sleeps for real.
#![cfg(feature = "tokio")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::advance;
use tripline_core::{CallError, Config, Event, Rate, RejectReason, State, TimeoutError};
use tripline_std::{CircuitBreaker, DefaultWindow, TokioClock};

type Tokio = CircuitBreaker<DefaultWindow, TokioClock>;

fn breaker(config: Config) -> Tokio {
    CircuitBreaker::builder("backend")
        .config(config)
        .clock(TokioClock::new())
        .build()
}

fn one_failure_opens_for_a_second() -> Config {
    Config::builder()
        .consecutive_failures(1)
        .open_duration(Duration::from_secs(1))
        .build()
        .expect("valid configuration")
}

async fn trip(b: &Tokio) {
    let r = b.call_async(async { Err::<(), _>("503") }).await;
    assert_eq!(r, Err(CallError::Inner("503")));
    assert_eq!(b.state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn an_open_breaker_rejects_without_polling_then_half_opens_as_time_advances() {
    let b = breaker(one_failure_opens_for_a_second());
    trip(&b).await;

    let polled = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&polled);
    let r = b
        .call_async(async move {
            flag.store(true, Ordering::SeqCst);
            Ok::<_, ()>(())
        })
        .await;
    let rejected = *r.expect_err("open").rejected().expect("a rejection");
    assert_eq!(rejected.reason(), RejectReason::Open);
    assert_eq!(rejected.retry_after(), Some(Duration::from_secs(1)));
    assert!(!polled.load(Ordering::SeqCst), "the work was never polled");

    advance(Duration::from_millis(999)).await;
    assert_eq!(b.state(), State::Open);
    advance(Duration::from_millis(1)).await;
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(b.call_async(async { Ok::<_, ()>(7) }).await, Ok(7));
    assert_eq!(b.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn an_aborted_probe_task_gives_its_half_open_slot_back() {
    let b = breaker(one_failure_opens_for_a_second());
    trip(&b).await;
    advance(Duration::from_secs(1)).await;

    let probe = b.clone();
    let task = tokio::spawn(async move {
        probe
            .call_async(std::future::pending::<Result<(), ()>>())
            .await
    });
    tokio::task::yield_now().await; // the task takes the only probe slot
    let busy = b.try_acquire().map(drop).map_err(|r| r.reason());
    assert_eq!(busy, Err(RejectReason::HalfOpenFull));

    task.abort();
    assert!(task.await.expect_err("aborted").is_cancelled());
    let m = b.metrics();
    assert_eq!((m.cancelled, m.in_flight()), (1, 0));
    assert!(b.try_acquire().is_ok(), "the slot came back");
}

#[tokio::test(start_paused = true)]
async fn a_timeout_is_a_failure_lasting_the_timeout_and_counts_as_slow() {
    let config = Config::builder()
        .slow_call_rate(Rate::percent(100), Duration::from_millis(500))
        .minimum_calls(1)
        .open_duration(Duration::from_secs(1))
        .build()
        .expect("valid configuration");
    let b = breaker(config);
    let slow_backend = async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok::<_, ()>("too late")
    };
    let r = b
        .call_async_with_timeout(slow_backend, Duration::from_secs(2))
        .await;
    assert_eq!(r, Err(TimeoutError::Elapsed(Duration::from_secs(2))));
    let m = b.metrics();
    assert_eq!((m.failures, m.slow_calls()), (1, 1));
    assert_eq!(m.duration_max_us, 2_000_000);
    assert_eq!(
        m.state,
        State::Open,
        "100 % slow calls trip the slow-call rule"
    );
}

#[tokio::test(start_paused = true)]
async fn work_that_beats_the_timeout_returns_and_is_classified() {
    let b = breaker(one_failure_opens_for_a_second());
    let quick = async {
        tokio::time::sleep(Duration::from_millis(10)).await;
        Ok::<u16, ()>(503)
    };
    let by_status = |r: &Result<u16, ()>| match r {
        Ok(500..) => tripline_core::Outcome::Failure,
        other => tripline_core::Outcome::of(other),
    };
    let r = b
        .call_async_with_timeout_by(quick, Duration::from_secs(1), by_status)
        .await;
    assert_eq!(r, Ok(503));
    assert_eq!(b.state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn monitors_see_state_changes_on_the_watch_and_events_on_the_broadcast() {
    let b = breaker(one_failure_opens_for_a_second());
    let mut state = b.watch_state();
    let mut events = b.subscribe();
    assert_eq!(*state.borrow(), State::Closed);

    trip(&b).await;
    state.changed().await.expect("sender alive");
    assert_eq!(*state.borrow_and_update(), State::Open);
    assert!(matches!(events.recv().await, Ok(Event::Failure { .. })));
    assert!(matches!(
        events.recv().await,
        Ok(Event::ThresholdExceeded { .. })
    ));
    assert!(matches!(
        events.recv().await,
        Ok(Event::StateChanged {
            to: State::Open,
            ..
        })
    ));

    advance(Duration::from_secs(1)).await;
    assert_eq!(b.state(), State::HalfOpen); // a read shows the due state…
    assert_eq!(*state.borrow(), State::Open); // …but only a call commits it
    assert_eq!(
        b.call_async(async { Err::<(), _>("still down") }).await,
        Err(CallError::Inner("still down"))
    );
    assert!(matches!(
        events.recv().await,
        Ok(Event::StateChanged {
            to: State::HalfOpen,
            ..
        })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_tasks_count_every_call_exactly_once() {
    let b = CircuitBreaker::new(
        "fleet",
        Config::builder()
            .failure_rate(Rate::percent(50))
            .minimum_calls(10)
            .open_duration(Duration::from_millis(1))
            .build()
            .expect("valid configuration"),
    );
    let tasks: Vec<_> = (0..64u32)
        .map(|t| {
            let b = b.clone();
            tokio::spawn(async move {
                for i in 0..200u32 {
                    let fail = (t + i) % 3 == 0;
                    let _ = b
                        .call_async(async move {
                            tokio::task::yield_now().await;
                            if fail {
                                Err(())
                            } else {
                                Ok(())
                            }
                        })
                        .await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task ran");
    }
    let m = b.metrics();
    assert_eq!(m.permitted + m.rejected, 64 * 200);
    assert_eq!(
        m.successes + m.failures + m.ignored + m.cancelled + m.stale,
        m.permitted
    );
    assert_eq!(m.in_flight(), 0);
}
