//! embassy's retry and bulkhead against the mock driver: time moves only by
//! `MockDriver::advance`; futures are polled by hand. The driver is global
//! to the process, so the tests of this file take `SERIAL`.

use core::cell::Cell;
use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::sync::{Mutex, MutexGuard, PoisonError};

use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_time::MockDriver;
use tripline_core::{
    Backoff, CallError, Config, CountWindow, OnRejected, RejectReason, RetryError, RetryPolicy,
};
use tripline_embassy::{retry, EmbassyBreaker, EmbassyBulkhead};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    let guard = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    MockDriver::get().reset();
    guard
}

fn advance_ms(ms: u64) {
    MockDriver::get().advance(embassy_time::Duration::from_millis(ms));
}

fn poll_once<F: Future>(f: core::pin::Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

/// Polls until `f` finishes or stops making progress without time moving
/// (an embassy `Timer` always yields once, even when already due).
fn poll_settled<F: Future>(mut f: core::pin::Pin<&mut F>) -> Poll<F::Output> {
    for _ in 0..10 {
        if let Poll::Ready(v) = poll_once(f.as_mut()) {
            return Poll::Ready(v);
        }
    }
    Poll::Pending
}

#[test]
fn retry_sleeps_exactly_the_backoff_on_the_embassy_timer() {
    let _serial = serial();
    let backoff = Backoff::linear(Duration::from_millis(10), Duration::from_millis(10))
        .build()
        .expect("valid backoff");
    let policy = RetryPolicy::new(4, backoff).expect("valid policy");
    let tries = Cell::new(0);
    let op = || {
        tries.set(tries.get() + 1);
        let n = tries.get();
        async move {
            if n < 3 {
                Err(CallError::Inner("nak"))
            } else {
                Ok(n)
            }
        }
    };
    let mut run = pin!(retry(&policy, op));
    assert!(poll_once(run.as_mut()).is_pending());
    assert_eq!(tries.get(), 1);
    advance_ms(9);
    assert!(poll_once(run.as_mut()).is_pending());
    advance_ms(1);
    assert!(
        poll_once(run.as_mut()).is_pending(),
        "second try failed, now waits 20 ms"
    );
    assert_eq!(tries.get(), 2);
    advance_ms(19);
    assert!(poll_once(run.as_mut()).is_pending());
    advance_ms(1);
    assert_eq!(poll_once(run.as_mut()), Poll::Ready(Ok(3)));
}

#[test]
fn retry_waits_out_an_open_breaker_then_probes_or_gives_up() {
    let _serial = serial();
    let config = Config::builder()
        .consecutive_failures(1)
        .open_duration(Duration::from_millis(50))
        .build()
        .expect("valid configuration");
    let b: EmbassyBreaker<CountWindow<8>, NoopRawMutex> =
        EmbassyBreaker::new(config, CountWindow::new());
    let calls = Cell::new(0);
    let attempt = || {
        calls.set(calls.get() + 1);
        let first = calls.get() == 1;
        b.call(async move {
            if first {
                Err("nak")
            } else {
                Ok("ok")
            }
        })
    };

    let give_up = RetryPolicy::new(5, Backoff::NONE).expect("valid policy");
    let mut run = pin!(retry(&give_up, attempt));
    match poll_settled(run.as_mut()) {
        Poll::Ready(Err(RetryError::Rejected { attempts, rejected })) => {
            assert_eq!((attempts, rejected.reason()), (2, RejectReason::Open));
        }
        other => panic!("expected a rejection, got {other:?}"),
    }

    let wait = give_up.on_rejected(OnRejected::WaitRetryAfter {
        max_wait: Duration::from_secs(1),
    });
    let mut run = pin!(retry(&wait, attempt));
    assert!(
        poll_settled(run.as_mut()).is_pending(),
        "waiting retry_after"
    );
    advance_ms(49);
    assert!(poll_settled(run.as_mut()).is_pending());
    advance_ms(1);
    assert_eq!(poll_settled(run.as_mut()), Poll::Ready(Ok("ok")));
}

#[test]
fn the_bulkhead_limits_waits_for_a_bounded_time_and_frees_on_drop() {
    let _serial = serial();
    static SPI: EmbassyBulkhead = EmbassyBulkhead::new(2);
    let a = SPI.try_acquire().expect("a free slot");
    let b = SPI.try_acquire().expect("a free slot");
    assert!(SPI.try_acquire().is_err());

    let mut waiting = pin!(SPI.acquire(Duration::from_millis(30)));
    assert!(poll_once(waiting.as_mut()).is_pending());
    advance_ms(29);
    assert!(poll_once(waiting.as_mut()).is_pending());
    advance_ms(1);
    assert!(matches!(poll_once(waiting.as_mut()), Poll::Ready(Err(_))));

    let mut waiting = pin!(SPI.acquire(Duration::from_millis(30)));
    assert!(poll_once(waiting.as_mut()).is_pending());
    drop(a);
    let c = match poll_once(waiting.as_mut()) {
        Poll::Ready(Ok(slot)) => slot,
        other => panic!(
            "the freed slot should be taken, got ready={}",
            other.is_ready()
        ),
    };
    let m = SPI.metrics();
    assert_eq!((m.limit, m.in_use, m.max_in_use), (2, 2, 2));
    assert_eq!((m.admitted, m.rejected), (3, 2));
    drop((b, c));
    assert_eq!(SPI.metrics().in_use, 0);

    let mut run = pin!(SPI.call(async { 7 }, Duration::ZERO));
    assert_eq!(poll_once(run.as_mut()), Poll::Ready(Ok(7)));
    assert_eq!(SPI.metrics().in_use, 0);
}
