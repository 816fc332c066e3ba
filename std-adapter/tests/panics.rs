//! What the adversarial tests of the shared breaker found, as tests: a
//! callback or a clock that panics never leaves a probe slot taken or a call
//! uncounted, one panicking sink does not starve the others, nested events
//! keep their order, and an overflowing event queue keeps every state change.
//! Time moves only through `MockClock`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tripline_core::{Clock, Config, CountWindow, Event, Instant, MockClock, Outcome, State};
use tripline_std::CircuitBreaker;

fn trips_after_one() -> Config {
    Config::builder()
        .consecutive_failures(1)
        .open_duration(Duration::from_secs(1))
        .build()
        .expect("valid configuration")
}

fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

#[test]
fn a_callback_panicking_on_the_half_open_event_leaves_no_probe_slot_taken() {
    let clock = leak(MockClock::new());
    let armed = Arc::new(AtomicBool::new(true));
    let trigger = Arc::clone(&armed);
    let b = CircuitBreaker::builder("sensor")
        .config(trips_after_one())
        .window(CountWindow::<8>::new())
        .clock(clock)
        .on_state_change(move |_, to| {
            if to == State::HalfOpen && trigger.swap(false, Ordering::SeqCst) {
                panic!("observer bug");
            }
        })
        .build();
    let _ = b.call(|| Err::<(), _>(()));
    clock.advance(Duration::from_secs(1));

    // The Open → HalfOpen event is delivered inside this acquire, and panics.
    let unwound = catch_unwind(AssertUnwindSafe(|| b.try_acquire().map(drop)));
    assert!(unwound.is_err());
    let m = b.metrics();
    assert_eq!(
        (m.state, m.in_flight(), m.cancelled),
        (State::HalfOpen, 0, 1)
    );
    // The probe slot came back: the next probe is admitted and closes it.
    let probe = b.try_acquire().expect("the probe slot is free");
    assert!(probe.record(Outcome::Success).is_ok());
    assert_eq!(b.state(), State::Closed);
}

/// A clock that panics on one chosen read.
struct Flaky {
    inner: &'static MockClock,
    panic_on: AtomicU32,
}

impl Clock for Flaky {
    fn now(&self) -> Instant {
        if self.panic_on.fetch_sub(1, Ordering::SeqCst) == 1 {
            panic!("clock read failed");
        }
        self.inner.now()
    }
}

#[test]
fn a_clock_panicking_while_a_probe_is_recorded_leaves_it_to_be_cancelled_once() {
    let mock = leak(MockClock::new());
    let clock = leak(Flaky {
        inner: mock,
        panic_on: AtomicU32::new(0),
    });
    let b = CircuitBreaker::builder("bus")
        .config(trips_after_one())
        .window(CountWindow::<8>::new())
        .clock(clock)
        .build();
    let _ = b.call(|| Err::<(), _>(()));
    mock.advance(Duration::from_secs(1));
    let probe = b.try_acquire().expect("half-open admits a probe");

    clock.panic_on.store(1, Ordering::SeqCst); // the next read panics
    let unwound = catch_unwind(AssertUnwindSafe(|| probe.record(Outcome::Success)));
    assert!(unwound.is_err());

    let m = b.metrics();
    // Recorded exactly once, as cancelled: the success never happened.
    assert_eq!((m.successes, m.failures, m.cancelled), (0, 1, 1));
    assert_eq!((m.state, m.in_flight()), (State::HalfOpen, 0));
    assert!(b.try_acquire().is_ok(), "the probe slot came back");
}

#[test]
fn a_panicking_callback_does_not_keep_the_other_sinks_from_any_event() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let b = CircuitBreaker::builder("api")
        .config(trips_after_one())
        .clock(leak(MockClock::new()))
        .on_event(|e| {
            if let Event::StateChanged { .. } = e {
                panic!("first sink fails");
            }
        })
        .on_event(move |e| log.lock().expect("no panic here").push(*e))
        .build();
    #[cfg(feature = "tokio")]
    let watch = b.watch_state();

    let unwound = catch_unwind(AssertUnwindSafe(|| b.call(|| Err::<(), _>(()))));
    assert!(
        unwound.is_err(),
        "the sink's panic reaches the caller, once"
    );
    let seen = seen.lock().expect("no panic here");
    assert!(matches!(seen[0], Event::Failure { .. }), "{seen:?}");
    assert!(seen.iter().any(|e| matches!(
        e,
        Event::StateChanged {
            to: State::Open,
            ..
        }
    )));
    #[cfg(feature = "tokio")]
    assert_eq!(*watch.borrow(), State::Open);
    assert_eq!(b.state(), State::Open);
    assert_eq!(b.metrics().failures, 1, "the call itself was counted");
}

#[test]
fn a_listener_calling_back_sees_the_nested_events_after_the_outer_ones() {
    let me: Arc<OnceLock<CircuitBreaker>> = Arc::default();
    let handle = Arc::clone(&me);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let b = CircuitBreaker::builder("orders")
        .config(trips_after_one())
        .on_state_change(move |_, to| {
            if let (State::Open, Some(b)) = (to, handle.get()) {
                // Rejected: its event must reach later listeners after this one.
                assert!(b.call(|| Ok::<_, ()>(())).is_err());
            }
        })
        .on_event(move |e| log.lock().expect("no panic").push(*e))
        .build();
    assert!(me.set(b.clone()).is_ok());

    let _ = b.call(|| Err::<(), _>(()));
    let kinds: Vec<&str> = seen
        .lock()
        .expect("no panic")
        .iter()
        .map(|e| match e {
            Event::Failure { .. } => "failure",
            Event::ThresholdExceeded { .. } => "threshold",
            Event::StateChanged { .. } => "state",
            Event::Rejected(_) => "rejected",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["failure", "threshold", "state", "rejected"]);
}

#[test]
fn an_overflowing_queue_keeps_every_state_change_and_counts_what_it_left_out() {
    let me: Arc<OnceLock<CircuitBreaker>> = Arc::default();
    let handle = Arc::clone(&me);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let nested = Arc::new(AtomicBool::new(true));
    let b = CircuitBreaker::builder("flood")
        .config(trips_after_one())
        .on_event(move |e| {
            log.lock().expect("no panic").push(*e);
            let first =
                matches!(e, Event::StateChanged { .. }) && nested.swap(false, Ordering::SeqCst);
            if let (true, Some(b)) = (first, handle.get()) {
                // While this delivery runs, 5 rounds of 4 events each queue up.
                for _ in 0..5 {
                    b.force_closed().expect("not re-entered");
                    let _ = b.call(|| Err::<(), _>(()));
                }
            }
        })
        .build();
    assert!(me.set(b.clone()).is_ok());
    let _ = b.call(|| Err::<(), _>(()));

    let seen = seen.lock().expect("no panic");
    let dropped: u32 = seen
        .iter()
        .map(|e| match e {
            Event::Dropped { count } => *count,
            _ => 0,
        })
        .sum();
    assert!(dropped > 0, "{seen:?}");
    let changes: Vec<(State, State)> = seen
        .iter()
        .filter_map(|e| match e {
            Event::StateChanged { from, to, .. } => Some((*from, *to)),
            _ => None,
        })
        .collect();
    // Every change is accounted for: each starts where the last one ended,
    // and the last one is where the breaker is.
    assert!(changes.windows(2).all(|w| w[0].1 == w[1].0), "{changes:?}");
    assert_eq!(changes.last().map(|c| c.1), Some(State::Open));
    assert_eq!(b.state(), State::Open);
    // Every other event was delivered or counted as left out: a failure and
    // a threshold for each of the 6 tripping calls.
    let others = seen
        .iter()
        .filter(|e| !matches!(e, Event::StateChanged { .. } | Event::Dropped { .. }))
        .count() as u32;
    assert_eq!(others + dropped, 6 * 2, "{seen:?}");
}
