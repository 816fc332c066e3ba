//! The tower layers for retry and bulkhead, alone and composed with the
//! breaker in one `ServiceBuilder`, on tokio's paused clock.
#![cfg(all(feature = "tower", feature = "tokio"))]

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;
use tower::{service_fn, Layer, Service, ServiceBuilder, ServiceExt};
use tripline_core::{
    Backoff, CallError, Config, OnRejected, Outcome, RejectReason, RetryError, RetryPolicy, State,
};
use tripline_std::{
    AsyncBulkhead, BulkheadLayer, BulkheadServiceError, CircuitBreaker, CircuitBreakerLayer,
    RetryLayer, TokioClock,
};

/// Polls `future` once, with a waker that does nothing: the test decides
/// when to poll again.
fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(Waker::noop()))
}

fn breaker(
    name: &str,
    failures: u32,
    open: Duration,
) -> CircuitBreaker<tripline_std::DefaultWindow, TokioClock> {
    let config = Config::builder()
        .consecutive_failures(failures)
        .open_duration(open)
        .build()
        .unwrap();
    CircuitBreaker::builder(name)
        .config(config)
        .clock(TokioClock::new())
        .build()
}

/// A service that records when it is called and answers from `answers`
/// in order (the last one repeats).
#[derive(Clone)]
struct Script {
    calls: Arc<Mutex<Vec<Duration>>>,
    answers: Arc<Vec<Result<u32, &'static str>>>,
    start: Instant,
}

impl Script {
    fn new(answers: Vec<Result<u32, &'static str>>) -> Self {
        Script {
            calls: Arc::default(),
            answers: Arc::new(answers),
            start: Instant::now(),
        }
    }

    fn calls(&self) -> Vec<Duration> {
        self.calls.lock().unwrap().clone()
    }
}

impl Service<u8> for Script {
    type Response = u32;
    type Error = &'static str;
    type Future = std::future::Ready<Result<u32, &'static str>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: u8) -> Self::Future {
        let mut calls = self.calls.lock().unwrap();
        let n = calls.len();
        calls.push(self.start.elapsed());
        let answer = self.answers[n.min(self.answers.len() - 1)];
        std::future::ready(answer)
    }
}

// ----- retry -----------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn retry_makes_exactly_max_attempts_with_the_backoff_between() {
    let backend = Script::new(vec![Err("503")]);
    let backoff = Backoff::exponential(Duration::from_millis(100), 2_000)
        .build()
        .unwrap();
    let svc = ServiceBuilder::new()
        .layer(RetryLayer::new(RetryPolicy::new(4, backoff).unwrap()))
        .layer(CircuitBreakerLayer::new(breaker(
            "api",
            100,
            Duration::from_secs(1),
        )))
        .service(backend.clone());

    let e = svc.oneshot(1).await.unwrap_err();
    assert_eq!(
        e,
        RetryError::Exhausted {
            attempts: 4,
            last: "503"
        }
    );
    let ms = |n| Duration::from_millis(n);
    assert_eq!(backend.calls(), [ms(0), ms(100), ms(300), ms(700)]);
}

#[tokio::test(start_paused = true)]
async fn retry_stops_at_the_first_success_and_on_errors_it_does_not_retry() {
    let backend = Script::new(vec![Err("503"), Ok(7)]);
    let svc = ServiceBuilder::new()
        .layer(RetryLayer::new(RetryPolicy::new(5, Backoff::NONE).unwrap()))
        .layer(CircuitBreakerLayer::new(breaker(
            "api",
            100,
            Duration::from_secs(1),
        )))
        .service(backend.clone());
    assert_eq!(svc.oneshot(1).await, Ok(7));
    assert_eq!(backend.calls().len(), 2);

    let backend = Script::new(vec![Err("404")]);
    let policy = RetryPolicy::new(5, Backoff::NONE)
        .unwrap()
        .retry_if(|e: &&str| e.starts_with('5'));
    let svc = ServiceBuilder::new()
        .layer(RetryLayer::new(policy))
        .layer(CircuitBreakerLayer::new(breaker(
            "api",
            100,
            Duration::from_secs(1),
        )))
        .service(backend.clone());
    assert_eq!(
        svc.oneshot(1).await,
        Err(RetryError::NotRetryable {
            attempts: 1,
            error: "404"
        })
    );
    assert_eq!(backend.calls().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn retry_waits_out_an_open_breaker_without_calling_the_backend() {
    // One failure opens the breaker for 1.5 s; the policy waits for it.
    let backend = Script::new(vec![Err("503"), Ok(42)]);
    let breaker = breaker("backend", 1, Duration::from_millis(1_500));
    let backoff = Backoff::fixed(Duration::from_millis(10)).build().unwrap();
    let policy = RetryPolicy::new(3, backoff)
        .unwrap()
        .on_rejected(OnRejected::WaitRetryAfter {
            max_wait: Duration::from_secs(2),
        });
    let svc = ServiceBuilder::new()
        .layer(RetryLayer::new(policy))
        .layer(CircuitBreakerLayer::new(breaker.clone()))
        .service(backend.clone());

    let start = Instant::now();
    assert_eq!(svc.oneshot(1).await, Ok(42));
    // Attempt 1 fails at 0 and opens the breaker; attempt 2 at 10 ms is
    // rejected (retry in 1.49 s); attempt 3 at 1.5 s is the half-open probe.
    assert_eq!(
        backend.calls(),
        [Duration::ZERO, Duration::from_millis(1_500)]
    );
    assert_eq!(start.elapsed(), Duration::from_millis(1_500));
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.metrics().rejected, 1);
}

#[tokio::test(start_paused = true)]
async fn retry_gives_up_on_a_rejection_as_the_policy_says() {
    for on_rejected in [
        OnRejected::GiveUp,
        // The breaker asks for 10 s, more than the caller accepts.
        OnRejected::WaitRetryAfter {
            max_wait: Duration::from_secs(5),
        },
    ] {
        let backend = Script::new(vec![Err("503")]);
        let policy = RetryPolicy::new(5, Backoff::NONE)
            .unwrap()
            .on_rejected(on_rejected);
        let svc = ServiceBuilder::new()
            .layer(RetryLayer::new(policy))
            .layer(CircuitBreakerLayer::new(breaker(
                "backend",
                1,
                Duration::from_secs(10),
            )))
            .service(backend.clone());

        let start = Instant::now();
        let e = svc.oneshot(1).await.unwrap_err();
        let RetryError::Rejected { attempts, rejected } = e else {
            panic!("{on_rejected:?}: {e:?}");
        };
        assert_eq!(attempts, 2, "{on_rejected:?}");
        assert_eq!(rejected.reason(), RejectReason::Open);
        assert_eq!(rejected.retry_after(), Some(Duration::from_secs(10)));
        assert_eq!(
            e.to_string(),
            "attempt 2 was rejected: circuit breaker \"backend\" is open; retry in 10.0 s"
        );
        assert_eq!(backend.calls().len(), 1, "{on_rejected:?}");
        assert_eq!(start.elapsed(), Duration::ZERO, "{on_rejected:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn retry_waits_for_poll_ready_before_each_attempt() {
    // A service that is ready only every other poll, and counts the polls.
    #[derive(Clone)]
    struct Flaky {
        polls: Arc<Mutex<u32>>,
        calls: Arc<Mutex<u32>>,
    }
    impl Service<u8> for Flaky {
        type Response = ();
        type Error = CallError<&'static str>;
        type Future = std::future::Ready<Result<(), Self::Error>>;
        fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            let mut polls = self.polls.lock().unwrap();
            *polls += 1;
            if *polls % 2 == 1 {
                cx.waker().wake_by_ref();
                Poll::Pending
            } else {
                Poll::Ready(Ok(()))
            }
        }
        fn call(&mut self, _: u8) -> Self::Future {
            let mut calls = self.calls.lock().unwrap();
            // Every call follows a ready poll: polls are exactly 2 per call.
            assert_eq!(*self.polls.lock().unwrap(), 2 * (*calls + 1));
            *calls += 1;
            std::future::ready(Err(CallError::Inner("503")))
        }
    }
    let flaky = Flaky {
        polls: Arc::default(),
        calls: Arc::default(),
    };
    let svc = RetryLayer::new(RetryPolicy::new(3, Backoff::NONE).unwrap()).layer(flaky.clone());
    let e = svc.oneshot(1).await.unwrap_err();
    assert_eq!(e.attempts(), 3);
    assert_eq!(*flaky.calls.lock().unwrap(), 3);
    assert_eq!(*flaky.polls.lock().unwrap(), 6);
}

// ----- bulkhead --------------------------------------------------------------

/// A backend whose responses the test sends: each request brings the
/// receiver of its answer.
fn gated() -> (
    impl Service<oneshot::Receiver<u32>, Response = u32, Error = &'static str, Future: Unpin> + Clone,
    Arc<Mutex<u32>>,
) {
    let calls = Arc::new(Mutex::new(0));
    let seen = Arc::clone(&calls);
    let svc = service_fn(move |answer: oneshot::Receiver<u32>| {
        *seen.lock().unwrap() += 1;
        Box::pin(async move { answer.await.map_err(|_| "dropped") })
    });
    (svc, calls)
}

#[tokio::test(start_paused = true)]
async fn bulkhead_admits_exactly_its_limit_of_concurrent_requests() {
    const N: usize = 3;
    let pool = AsyncBulkhead::new(N as u32).unwrap();
    let (backend, calls) = gated();
    let mut svc = ServiceBuilder::new()
        .layer(BulkheadLayer::new(pool.clone()))
        .service(backend);

    // N + 1 requests called one after the other; none has completed.
    let mut answers = Vec::new();
    let mut futures = Vec::new();
    for _ in 0..=N {
        let (tx, rx) = oneshot::channel();
        answers.push(tx);
        futures.push(svc.ready().await.unwrap().call(rx));
    }
    assert_eq!(*calls.lock().unwrap(), N as u32);
    assert_eq!(pool.metrics().in_use, N as u32);
    let last = futures.pop().unwrap();
    assert_eq!(
        last.await.unwrap_err(),
        BulkheadServiceError::Full(tripline_core::BulkheadFull { limit: N as u32 })
    );

    // Every admitted one is still pending until its answer is sent.
    for f in &mut futures {
        assert!(poll_once(f).is_pending());
    }
    answers.remove(0).send(10).unwrap();
    let first = futures.remove(0);
    assert_eq!(first.await, Ok(10));
    assert_eq!(pool.metrics().in_use, N as u32 - 1);

    // The freed slot takes the next request.
    let (tx, rx) = oneshot::channel();
    let mut next = svc.ready().await.unwrap().call(rx);
    assert!(poll_once(&mut next).is_pending());
    assert_eq!(*calls.lock().unwrap(), N as u32 + 1);
    tx.send(11).unwrap();
    assert_eq!(next.await, Ok(11));

    let m = pool.metrics();
    assert_eq!(
        (m.admitted, m.rejected, m.max_in_use),
        (N as u64 + 1, 1, N as u32)
    );
}

#[tokio::test(start_paused = true)]
async fn bulkhead_frees_the_slot_when_the_response_future_is_dropped() {
    let pool = AsyncBulkhead::new(1).unwrap();
    let (backend, calls) = gated();
    let mut svc = BulkheadLayer::new(pool.clone()).layer(backend);

    let (_tx, rx) = oneshot::channel();
    let mut held = svc.ready().await.unwrap().call(rx);
    assert!(poll_once(&mut held).is_pending());
    assert_eq!(pool.metrics().in_use, 1);
    drop(held);
    assert_eq!(pool.metrics().in_use, 0);

    // Never polled at all: dropping it frees the slot too.
    let (_tx, rx) = oneshot::channel();
    let unpolled = svc.ready().await.unwrap().call(rx);
    assert_eq!(pool.metrics().in_use, 1);
    drop(unpolled);
    assert_eq!(pool.metrics().in_use, 0);
    assert_eq!(*calls.lock().unwrap(), 2);
}

#[tokio::test(start_paused = true)]
async fn bulkhead_with_max_wait_waits_for_a_slot_then_gives_up() {
    let pool = AsyncBulkhead::new(1)
        .unwrap()
        .max_wait(Duration::from_millis(100));
    let (backend, calls) = gated();
    let mut svc = BulkheadLayer::new(pool.clone()).layer(backend);

    let (tx, rx) = oneshot::channel();
    let mut holder = svc.ready().await.unwrap().call(rx);
    assert!(poll_once(&mut holder).is_pending());

    // The second waits; the backend is not called while it does.
    let (tx2, rx2) = oneshot::channel();
    let mut waiter = svc.ready().await.unwrap().call(rx2);
    assert!(poll_once(&mut waiter).is_pending());
    assert_eq!(*calls.lock().unwrap(), 1);

    // The first completes within the wait: the second takes its slot.
    tokio::time::advance(Duration::from_millis(60)).await;
    tx.send(1).unwrap();
    assert_eq!(holder.await, Ok(1));
    assert!(poll_once(&mut waiter).is_pending()); // now in the backend
    assert_eq!(*calls.lock().unwrap(), 2);
    assert_eq!(pool.metrics().in_use, 1);

    // A third waits the full 100 ms, then is rejected without a call.
    let (_tx3, rx3) = oneshot::channel();
    let third = svc.ready().await.unwrap().call(rx3);
    let start = Instant::now();
    assert!(third.await.unwrap_err().is_full());
    assert_eq!(start.elapsed(), Duration::from_millis(100));
    assert_eq!(*calls.lock().unwrap(), 2);

    tx2.send(2).unwrap();
    assert_eq!(waiter.await, Ok(2));
    let m = pool.metrics();
    assert_eq!((m.in_use, m.admitted, m.rejected), (0, 2, 1));
}

// ----- all together ----------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn retry_breaker_bulkhead_and_timeout_compose_in_one_service_builder() {
    // The first request hangs past the timeout; the second answers.
    let calls = Arc::new(Mutex::new(0u32));
    let seen = Arc::clone(&calls);
    let backend = service_fn(move |x: u32| {
        let n = {
            let mut n = seen.lock().unwrap();
            *n += 1;
            *n
        };
        async move {
            if n == 1 {
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            Ok::<_, tower::BoxError>(x + 1)
        }
    });
    let breaker = breaker("inventory", 3, Duration::from_secs(5));
    let pool = AsyncBulkhead::new(4).unwrap();
    let backoff = Backoff::fixed(Duration::from_millis(100)).build().unwrap();
    let policy = RetryPolicy::new(3, backoff)
        .unwrap()
        .on_rejected(OnRejected::WaitRetryAfter {
            max_wait: Duration::from_secs(10),
        });
    // A full bulkhead is "overloaded here", not a failure of the backend.
    let classify = |r: &Result<u32, BulkheadServiceError<tower::BoxError>>| match r {
        Err(BulkheadServiceError::Full(_)) => Outcome::Ignored,
        other => Outcome::of(other),
    };
    let svc = ServiceBuilder::new()
        .layer(RetryLayer::new(policy))
        .layer(CircuitBreakerLayer::new(breaker.clone()).classify(classify))
        .layer(BulkheadLayer::new(pool.clone()))
        .timeout(Duration::from_secs(1))
        .service(backend);

    let start = Instant::now();
    assert_eq!(svc.clone().oneshot(1).await.unwrap(), 2);
    // One timeout (1 s, a failure the breaker counted), one backoff, one answer.
    assert_eq!(start.elapsed(), Duration::from_millis(1_100));
    assert_eq!(*calls.lock().unwrap(), 2);
    let m = breaker.metrics();
    assert_eq!((m.failures, m.successes), (1, 1));
    assert_eq!(pool.metrics().in_use, 0);

    // With the breaker forced open, the retry gives up (no retry_after) and
    // the rejection converts into a BoxError that names the breaker.
    breaker.force_open().unwrap();
    let e = svc.oneshot(1).await.unwrap_err();
    assert!(e.rejected().is_some());
    assert_eq!(pool.metrics().admitted, 2); // the rejected request took no slot
    let boxed: tower::BoxError = e.into();
    assert_eq!(
        boxed.to_string(),
        "attempt 1 was rejected: circuit breaker \"inventory\" is forced open"
    );
}
