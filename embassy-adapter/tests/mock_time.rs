//! The embassy adapter against embassy-time's mock driver: time moves only
//! by `MockDriver::advance`, futures are polled by hand with a no-op waker.
//!
//! The mock driver is global to the process, so every test takes `SERIAL`
//! and resets the driver first: the tests of this file run one at a time.

use core::cell::Cell;
use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::sync::{Mutex, MutexGuard, PoisonError};

use embassy_futures::join::join;
use embassy_futures::yield_now;
use embassy_sync::blocking_mutex::raw::{CriticalSectionRawMutex, NoopRawMutex};
use embassy_sync::pubsub::WaitResult;
use embassy_time::{MockDriver, Timer};
use tripline_core::{
    CallError, Config, CountWindow, Event, Outcome, RejectReason, State, TimeoutError,
};
use tripline_embassy::{EmbassyBreaker, EventChannel, NotReady};

static SERIAL: Mutex<()> = Mutex::new(());

/// Takes the driver for this test and sets its time to zero.
fn serial() -> MutexGuard<'static, ()> {
    let guard = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    MockDriver::get().reset();
    guard
}

fn advance(d: Duration) {
    MockDriver::get().advance(embassy_time::Duration::from_micros(d.as_micros() as u64));
}

/// Polls `f` once with a waker that does nothing.
fn poll_once<F: Future>(f: core::pin::Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

/// Polls `f` to completion: it must finish without time moving.
fn now<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    for _ in 0..100 {
        if let Poll::Ready(v) = poll_once(f.as_mut()) {
            return v;
        }
    }
    panic!("the future did not finish without time moving");
}

const fn config(failures: u32, open_ms: u64) -> Config {
    match Config::builder()
        .consecutive_failures(failures)
        .open_duration(Duration::from_millis(open_ms))
        .track_latency(true)
        .build()
    {
        Ok(c) => c,
        Err(_) => panic!("bad test config"),
    }
}

type Local = EmbassyBreaker<CountWindow<8>, NoopRawMutex>;

fn trip(b: &Local, failures: u32) {
    for _ in 0..failures {
        assert_eq!(
            now(b.call(async { Err::<(), _>("nak") })),
            Err(CallError::Inner("nak"))
        );
    }
    assert_eq!(b.state(), State::Open);
}

#[test]
fn trips_and_rejects_without_polling_the_work() {
    let _serial = serial();
    let b = Local::new(config(3, 1_000), CountWindow::new());
    trip(&b, 3);

    let polled = Cell::new(false);
    let work = core::future::poll_fn(|_| {
        polled.set(true);
        Poll::Ready(Ok::<u8, ()>(1))
    });
    let r = now(b.call(work));
    assert!(matches!(r, Err(CallError::Rejected(rej)) if rej.reason() == RejectReason::Open));
    assert!(!polled.get(), "a rejected call must not poll its future");
    let m = b.metrics();
    assert_eq!((m.failures, m.rejected), (3, 1));
}

#[test]
fn half_open_after_the_open_time_on_the_mock_driver_then_closes() {
    let _serial = serial();
    let b = Local::new(config(1, 200), CountWindow::new());
    trip(&b, 1);
    advance(Duration::from_micros(199_999));
    assert_eq!(b.state(), State::Open);
    advance(Duration::from_micros(1));
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(now(b.call(async { Ok::<_, ()>(7) })), Ok(7));
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn a_dropped_call_gives_its_probe_slot_back() {
    let _serial = serial();
    let b = Local::new(config(1, 100), CountWindow::new());
    trip(&b, 1);
    advance(Duration::from_millis(100));

    // The only probe is in flight (admitted on first poll, then pending).
    let mut probe = Box::pin(b.call(async {
        Timer::after_secs(5).await;
        Ok::<(), ()>(())
    }));
    assert!(poll_once(probe.as_mut()).is_pending());
    let second = now(b.call(async { Ok::<(), ()>(()) }));
    assert!(
        matches!(second, Err(CallError::Rejected(r)) if r.reason() == RejectReason::HalfOpenFull)
    );

    drop(probe);
    assert_eq!(b.metrics().cancelled, 1);
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(now(b.call(async { Ok::<_, ()>(1) })), Ok(1));
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn a_timeout_is_a_failure_timed_by_the_breaker_clock() {
    let _serial = serial();
    let b = Local::new(config(1, 1_000), CountWindow::new());
    let mut call = pin!(b.call_with_timeout(
        async {
            Timer::after_secs(10).await;
            Ok::<u8, ()>(0)
        },
        Duration::from_millis(50),
    ));
    assert!(poll_once(call.as_mut()).is_pending());
    advance(Duration::from_micros(49_999));
    assert!(poll_once(call.as_mut()).is_pending());
    advance(Duration::from_micros(1));
    assert_eq!(
        poll_once(call.as_mut()),
        Poll::Ready(Err(TimeoutError::Elapsed(Duration::from_millis(50))))
    );
    let m = b.metrics();
    assert_eq!((m.failures, m.duration_max_us), (1, 50_000));
    assert_eq!(m.state, State::Open);

    // A call that beats its timeout is the work's own result.
    advance(Duration::from_secs(1));
    let fast = now(b.call_with_timeout(async { Ok::<u8, ()>(9) }, Duration::from_millis(50)));
    assert_eq!(fast, Ok(9));
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn wait_until_ready_wakes_exactly_when_retry_after_elapses() {
    let _serial = serial();
    let b = Local::new(config(1, 300), CountWindow::new());
    assert_eq!(now(b.wait_until_ready()), Ok(()), "closed: at once");

    advance(Duration::from_millis(5));
    trip(&b, 1);
    advance(Duration::from_millis(100));
    assert_eq!(b.retry_after(), Some(Duration::from_millis(200)));

    let mut wait = pin!(b.wait_until_ready());
    assert!(poll_once(wait.as_mut()).is_pending());
    advance(Duration::from_micros(199_999));
    assert!(poll_once(wait.as_mut()).is_pending());
    assert_eq!(b.state(), State::Open);
    advance(Duration::from_micros(1));
    assert_eq!(poll_once(wait.as_mut()), Poll::Ready(Ok(())));
    assert_eq!(b.state(), State::HalfOpen);
}

#[test]
fn wait_until_ready_when_forced_open_errs_or_polls() {
    let _serial = serial();
    let b = Local::new(config(1, 300), CountWindow::new());
    b.force_open().unwrap();
    assert_eq!(now(b.wait_until_ready()), Err(NotReady::ForcedOpen));

    let mut wait = pin!(b.wait_until_ready_polling(Duration::from_millis(20)));
    assert!(poll_once(wait.as_mut()).is_pending());
    advance(Duration::from_millis(20));
    assert!(poll_once(wait.as_mut()).is_pending(), "still forced open");
    b.force_closed().unwrap();
    assert!(
        poll_once(wait.as_mut()).is_pending(),
        "sleeps out its interval"
    );
    advance(Duration::from_millis(20));
    assert_eq!(poll_once(wait.as_mut()), Poll::Ready(()));
}

#[test]
fn wait_until_ready_with_every_probe_in_flight_errs_or_polls() {
    let _serial = serial();
    let b = Local::new(config(1, 100), CountWindow::new());
    trip(&b, 1);
    advance(Duration::from_millis(100));
    let mut probe = Box::pin(b.call(async {
        Timer::after_secs(5).await;
        Ok::<(), ()>(())
    }));
    assert!(poll_once(probe.as_mut()).is_pending());
    assert_eq!(now(b.wait_until_ready()), Err(NotReady::ProbesInFlight));

    let mut wait = pin!(b.wait_until_ready_polling(Duration::ZERO));
    assert!(poll_once(wait.as_mut()).is_pending());
    drop(probe); // the slot comes back; the poll interval is at least 1 ms
    advance(Duration::from_micros(999));
    assert!(poll_once(wait.as_mut()).is_pending());
    advance(Duration::from_micros(1));
    assert_eq!(poll_once(wait.as_mut()), Poll::Ready(()));
}

#[test]
fn classifiers_decide_what_counts() {
    let _serial = serial();
    let b = Local::new(config(1, 100), CountWindow::new());
    let by_status = |r: &Result<u16, ()>| match r {
        Ok(s) if *s >= 500 => Outcome::Failure,
        other => Outcome::of(other),
    };
    assert_eq!(now(b.call_with(async { Ok(404) }, by_status)), Ok(404));
    assert_eq!(b.state(), State::Closed);
    let r = now(b.call_with_timeout_by(async { Ok(503) }, Duration::from_secs(1), by_status));
    assert_eq!(r, Ok(503));
    assert_eq!(b.state(), State::Open);
    let m = b.metrics();
    assert_eq!((m.successes, m.failures), (1, 1));
}

#[test]
fn events_reach_subscribers_and_a_lagging_one_is_told() {
    let _serial = serial();
    let b: EmbassyBreaker<
        CountWindow<8>,
        CriticalSectionRawMutex,
        EventChannel<CriticalSectionRawMutex, 4, 2>,
    > = EmbassyBreaker::with_observer(config(2, 100), CountWindow::new(), EventChannel::new());
    let mut fast = b.observer().subscriber().unwrap();
    let mut slow = b.observer().subscriber().unwrap();
    let mut seen = Vec::new();
    let mut drain = |seen: &mut Vec<Event>| {
        while let Some(m) = fast.try_next_message() {
            match m {
                WaitResult::Message(e) => seen.push(e),
                WaitResult::Lagged(n) => panic!("the fast subscriber lagged by {n}"),
            }
        }
    };

    // Failure, Failure + threshold + Closed→Open, a rejection: 5 events.
    for _ in 0..2 {
        let _ = now(b.call(async { Err::<(), _>(()) }));
        drain(&mut seen);
    }
    let _ = now(b.call(async { Ok::<(), ()>(()) }));
    drain(&mut seen);
    assert!(matches!(seen[0], Event::Failure { .. }));
    assert!(matches!(seen[2], Event::ThresholdExceeded { .. }));
    assert!(matches!(
        seen[3],
        Event::StateChanged {
            from: State::Closed,
            to: State::Open,
            ..
        }
    ));
    assert!(matches!(seen[4], Event::Rejected(_)));
    assert_eq!(seen.len(), 5);

    // The slow subscriber read nothing: the channel holds 4, it missed 1.
    assert_eq!(slow.try_next_message(), Some(WaitResult::Lagged(1)));
    assert!(matches!(
        slow.try_next_message(),
        Some(WaitResult::Message(Event::Failure { .. }))
    ));
}

const SHARED_CONFIG: Config = config(1_000, 1_000);
static SENSOR: EmbassyBreaker<CountWindow<32>, CriticalSectionRawMutex> =
    EmbassyBreaker::new(SHARED_CONFIG, CountWindow::new());

/// The "interrupt handler": the sync call, no await.
fn irq(ok: bool) {
    let _ = SENSOR.shared().call(|| if ok { Ok(()) } else { Err(()) });
}

#[test]
fn a_static_breaker_shared_by_two_tasks_and_an_interrupt_counts_exactly() {
    let _serial = serial();
    let task = |id: u32| async move {
        for i in 0..50u32 {
            let r = SENSOR
                .call(async {
                    // Hold the permit across a yield: the other task and
                    // the interrupt run while this call is in flight.
                    yield_now().await;
                    if (i + id).is_multiple_of(5) {
                        Err(i)
                    } else {
                        Ok(i)
                    }
                })
                .await;
            assert!(matches!(r, Ok(_) | Err(CallError::Inner(_))));
            if i.is_multiple_of(2) {
                irq(i.is_multiple_of(4));
            }
        }
    };
    now_many(join(task(0), task(1)));
    let m = SENSOR.metrics();
    // Tasks: 100 calls, 20 failures. Interrupt: 50 calls (even i), 26
    // successes (i a multiple of 4) and 24 failures.
    assert_eq!(m.permitted, 150);
    assert_eq!((m.successes, m.failures), (106, 44));
    assert_eq!((m.rejected, m.cancelled, m.stale), (0, 0, 0));
    assert_eq!(SENSOR.state(), State::Closed);
}

/// As [`now`], for joined tasks that yield many times.
fn now_many<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    for _ in 0..10_000 {
        if let Poll::Ready(v) = poll_once(f.as_mut()) {
            return v;
        }
    }
    panic!("the tasks did not finish");
}
