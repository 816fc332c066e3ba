//! The async calls of the core (`SharedBreaker::call_async*`), polled by hand:
//! no runtime, time moves only through `MockClock`. The tokio and embassy
//! adapters pass their sleep to the same code, so these are its tests.

use core::future::{pending, poll_fn, Future};
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::sync::atomic::{AtomicBool, Ordering};

use tripline::*;

type Shared<'a> = SharedBreaker<CountWindow<8>, &'a MockClock>;

fn poll_once<F: Future>(fut: core::pin::Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

fn tripped(clock: &MockClock, half_open_permits: u16) -> Shared<'_> {
    let config = Config::builder()
        .consecutive_failures(1)
        .open_duration(Duration::from_secs(1))
        .half_open_permits(half_open_permits)
        .slow_call_rate(Rate::percent(100), Duration::from_millis(100))
        .minimum_calls(1)
        .build()
        .expect("valid configuration");
    let b = SharedBreaker::new(config, CountWindow::new(), clock);
    let _ = b.call(|| Err::<(), _>("down"));
    assert_eq!(b.state(), State::Open);
    b
}

/// A timer on the mock clock: ready once the clock reaches the deadline.
fn mock_sleep<'a>(clock: &'a MockClock) -> impl FnOnce(Duration) -> MockSleep<'a> + 'a {
    move |d| MockSleep {
        clock,
        deadline: clock.now().saturating_add(d),
    }
}

struct MockSleep<'a> {
    clock: &'a MockClock,
    deadline: Instant,
}

impl Future for MockSleep<'_> {
    type Output = ();
    fn poll(self: core::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.clock.now() >= self.deadline {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

#[test]
fn a_rejected_call_never_polls_its_work() {
    let clock = MockClock::new();
    let b = tripped(&clock, 1);
    let polled = AtomicBool::new(false);
    let work = poll_fn(|_| {
        polled.store(true, Ordering::SeqCst);
        Poll::Ready(Ok::<u8, ()>(1))
    });
    let mut call = pin!(b.call_async(work));
    match poll_once(call.as_mut()) {
        Poll::Ready(Err(CallError::Rejected(r))) => {
            assert_eq!(r.reason(), RejectReason::Open);
            assert_eq!(r.retry_after(), Some(Duration::from_secs(1)));
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert!(!polled.load(Ordering::SeqCst));
    assert_eq!(b.metrics().rejected, 1);
}

#[test]
fn dropping_an_admitted_call_mid_flight_gives_the_probe_slot_back() {
    let clock = MockClock::new();
    let b = tripped(&clock, 1);
    clock.advance(Duration::from_secs(1));
    {
        let mut call = pin!(b.call_async(pending::<Result<(), ()>>()));
        assert!(poll_once(call.as_mut()).is_pending());
        // The one probe is out: a second call is turned away.
        let second = b.try_acquire().map(|_| ()).map_err(|r| r.reason());
        assert_eq!(second, Err(RejectReason::HalfOpenFull));
    } // the in-flight call is dropped here
    let m = b.metrics();
    assert_eq!((m.cancelled, m.in_flight()), (1, 0));
    assert!(b.try_acquire().is_ok(), "the slot came back");
}

#[test]
fn a_timeout_is_a_failure_with_its_duration_and_counts_as_slow() {
    let clock = MockClock::new();
    let b = tripped(&clock, 1);
    clock.advance(Duration::from_secs(1));
    let timeout = Duration::from_millis(250);
    let mut call = pin!(b.call_async_with_timer(
        pending::<Result<(), ()>>(),
        timeout,
        mock_sleep(&clock),
        Outcome::of,
    ));
    assert!(poll_once(call.as_mut()).is_pending());
    clock.advance(Duration::from_millis(249));
    assert!(poll_once(call.as_mut()).is_pending());
    clock.advance(Duration::from_millis(1));
    assert_eq!(
        poll_once(call.as_mut()),
        Poll::Ready(Err(TimeoutError::Elapsed(timeout)))
    );
    let m = b.metrics();
    assert_eq!((m.failures, m.slow_calls()), (2, 1));
    assert_eq!(m.duration_max_us, 250_000);
    assert_eq!(m.state, State::Open, "a failed probe re-opens");
}

#[test]
fn work_that_beats_the_timeout_is_classified_as_usual() {
    let clock = MockClock::new();
    let b = tripped(&clock, 1);
    clock.advance(Duration::from_secs(1));
    let mut ready_in_10ms = Some(Instant::from_millis(1_010));
    let work = poll_fn(|_| match ready_in_10ms {
        Some(at) if clock.now() >= at => {
            ready_in_10ms = None;
            Poll::Ready(Ok::<u16, ()>(200))
        }
        _ => Poll::Pending,
    });
    let mut call = pin!(b.call_async_with_timer(
        work,
        Duration::from_millis(250),
        mock_sleep(&clock),
        Outcome::of,
    ));
    assert!(poll_once(call.as_mut()).is_pending());
    clock.advance(Duration::from_millis(10));
    assert_eq!(poll_once(call.as_mut()), Poll::Ready(Ok(200)));
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn the_classifier_sees_the_whole_result() {
    let clock = MockClock::new();
    let b: Shared<'_> = SharedBreaker::new(Config::DEFAULT, CountWindow::new(), &clock);
    let classify = |r: &Result<u16, ()>| match r {
        Ok(500..) => Outcome::Failure,
        Ok(404) => Outcome::Ignored,
        other => Outcome::of(other),
    };
    for status in [200, 404, 503] {
        let mut call = pin!(b.call_async_with(core::future::ready(Ok(status)), classify));
        assert_eq!(poll_once(call.as_mut()), Poll::Ready(Ok(status)));
    }
    let m = b.metrics();
    assert_eq!((m.successes, m.ignored, m.failures), (1, 1, 1));
}
