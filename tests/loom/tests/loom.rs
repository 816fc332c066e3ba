//! loom model tests of the shared breaker: every interleaving of a few
//! threads over `SharedBreaker`, with the lock a `loom::sync::Mutex` (a
//! `LockKind` defined here, so no production code changes for loom).
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test --release \
//!       --manifest-path tests/loom/Cargo.toml` (see VERIFY.md).
#![cfg(loom)]

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;

use tripline::shared::{LockKind, SharedBreaker};
use tripline::{
    Config, CountWindow, Event, MockClock, Observer, Outcome, Recorded, RejectReason, State,
};

/// `LockKind` over loom's mutex; re-entrance cannot happen in these tests.
/// The lock-free paths are left out: their atomics are the core's own
/// (`portable-atomic`), which loom cannot see, so these models cover the
/// locked protocol (admission, permits, event delivery); the lock-free paths
/// are covered by the model comparison and the 64-thread stress tests.
struct LoomLock;

impl LockKind for LoomLock {
    type Lock<T> = Mutex<T>;
    type Fast = tripline::shared::Locked;

    fn new<T>(value: T) -> Mutex<T> {
        Mutex::new(value)
    }

    fn with<T, R>(lock: &Mutex<T>, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let mut guard = lock.lock().expect("no test thread panics while holding it");
        Some(f(&mut guard))
    }
}

/// Counts what the tests look at; delivered outside the lock, from any thread.
#[derive(Default)]
struct Counts {
    to_open: AtomicUsize,
    to_closed: AtomicUsize,
    resets: AtomicUsize,
}

impl Observer for Counts {
    fn on_event(&self, event: &Event) {
        match event {
            Event::StateChanged {
                to: State::Open, ..
            } => {
                self.to_open.fetch_add(1, Ordering::SeqCst);
            }
            Event::StateChanged {
                to: State::Closed, ..
            } => {
                self.to_closed.fetch_add(1, Ordering::SeqCst);
            }
            Event::Reset { .. } => {
                self.resets.fetch_add(1, Ordering::SeqCst);
            }
            _ => {}
        }
    }
}

/// Time stands still in these tests; a `static` so threads can share it.
static CLOCK: MockClock = MockClock::new();

type Shared = SharedBreaker<CountWindow<4>, &'static MockClock, Counts, LoomLock>;

fn breaker(config: Config) -> Arc<Shared> {
    Arc::new(SharedBreaker::with_lock(
        config,
        CountWindow::new(),
        &CLOCK,
        Counts::default(),
    ))
}

fn trips_at_first_failure() -> Config {
    Config::builder()
        .consecutive_failures(1)
        .build()
        .expect("valid")
}

#[test]
fn concurrent_half_open_admission_admits_exactly_the_permits() {
    loom::model(|| {
        let config = Config::builder()
            .consecutive_failures(1)
            .half_open_permits(2)
            .build()
            .expect("valid");
        let b = breaker(config);
        b.transition_to(State::ForcedOpen).unwrap().unwrap();
        b.transition_to(State::HalfOpen).unwrap().unwrap();

        // Three threads race for two probe slots and keep what they get
        // (a dropped permit would give its slot back).
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let b = b.clone();
                thread::spawn(move || SharedBreaker::try_acquire_via(b))
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let admitted = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(admitted, 2);
        for r in &results {
            if let Err(rejected) = r {
                assert_eq!(rejected.reason(), RejectReason::HalfOpenFull);
            }
        }
        let m = b.metrics();
        assert_eq!((m.permitted, m.rejected), (2, 1));
        drop(results);
        assert_eq!(b.metrics().cancelled, 2);
    });
}

#[test]
fn a_concurrent_trip_emits_one_transition() {
    loom::model(|| {
        let b = breaker(trips_at_first_failure());
        // Both calls admitted before either fails: one trips, one is stale.
        let p1 = SharedBreaker::try_acquire_via(b.clone()).unwrap();
        let p2 = SharedBreaker::try_acquire_via(b.clone()).unwrap();
        let t1 = thread::spawn(move || p1.record(Outcome::Failure).unwrap());
        let t2 = thread::spawn(move || p2.record(Outcome::Failure).unwrap());
        let mut got = [t1.join().unwrap(), t2.join().unwrap()];
        got.sort_by_key(|r| *r as u8);
        assert_eq!(got, [Recorded::Counted, Recorded::Stale]);
        assert_eq!(b.state(), State::Open);
        assert_eq!(b.observer().to_open.load(Ordering::SeqCst), 1);
        let m = b.metrics();
        assert_eq!((m.failures, m.stale, m.generation), (1, 1, 1));
    });
}

#[test]
fn racing_failing_calls_trip_once() {
    loom::model(|| {
        let b = breaker(trips_at_first_failure());
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let b = b.clone();
                thread::spawn(move || b.call(|| Err::<(), _>("down")).is_err())
            })
            .collect();
        for h in handles {
            assert!(h.join().unwrap());
        }
        assert_eq!(b.state(), State::Open);
        assert_eq!(b.observer().to_open.load(Ordering::SeqCst), 1);
        let m = b.metrics();
        // Each call is in exactly one place: counted, stale or rejected.
        assert_eq!(m.failures, 1);
        assert_eq!(m.stale + m.rejected, 1);
        assert_eq!(m.permitted + m.rejected, 2);
    });
}

#[test]
fn record_racing_reset_leaves_a_consistent_state() {
    loom::model(|| {
        let b = breaker(trips_at_first_failure());
        let p = SharedBreaker::try_acquire_via(b.clone()).unwrap();
        let recorder = thread::spawn(move || p.record(Outcome::Failure).unwrap());
        let b2 = b.clone();
        let resetter = thread::spawn(move || b2.reset().unwrap());
        let recorded = recorder.join().unwrap();
        resetter.join().unwrap();

        // Whatever the order, the reset came last or made the result stale:
        // closed, empty, and the failure counted once, in one place.
        let m = b.metrics();
        assert_eq!(m.state, State::Closed);
        assert_eq!(m.window.calls, 0);
        assert_eq!(m.consecutive_failures, 0);
        assert_eq!(m.in_flight(), 0);
        assert_eq!(b.observer().resets.load(Ordering::SeqCst), 1);
        let (opened, closed) = (
            b.observer().to_open.load(Ordering::SeqCst),
            b.observer().to_closed.load(Ordering::SeqCst),
        );
        match recorded {
            // Recorded first: tripped, then the reset closed it.
            Recorded::Counted => {
                assert_eq!((m.failures, m.stale, m.generation), (1, 0, 2));
                assert_eq!((opened, closed), (1, 1));
            }
            // Reset first: the result is from an old generation.
            Recorded::Stale => {
                assert_eq!((m.failures, m.stale, m.generation), (0, 1, 1));
                assert_eq!((opened, closed), (0, 0));
            }
            other => panic!("unexpected {other:?}"),
        }
    });
}

#[test]
fn half_open_probe_racing_reset_never_leaks_a_slot() {
    loom::model(|| {
        let config = Config::builder()
            .consecutive_failures(1)
            .half_open_permits(1)
            .build()
            .expect("valid");
        let b = breaker(config);
        b.transition_to(State::ForcedOpen).unwrap().unwrap();
        b.transition_to(State::HalfOpen).unwrap().unwrap();
        let p = SharedBreaker::try_acquire_via(b.clone()).unwrap();
        let prober = thread::spawn(move || p.record(Outcome::Success).unwrap());
        let b2 = b.clone();
        let resetter = thread::spawn(move || b2.reset().unwrap());
        let recorded = prober.join().unwrap();
        resetter.join().unwrap();
        assert_eq!(b.state(), State::Closed);
        let m = b.metrics();
        assert_eq!(m.successes + m.stale, 1);
        assert_eq!(m.in_flight(), 0);
        // Closed by the probe, then reset (Closed → Closed: no event), or
        // reset first (HalfOpen → Closed) and the probe is stale.
        assert_eq!(b.observer().to_closed.load(Ordering::SeqCst), 1);
        match recorded {
            Recorded::Counted => assert_eq!((m.successes, m.stale), (1, 0)),
            Recorded::Stale => assert_eq!((m.successes, m.stale), (0, 1)),
            other => panic!("unexpected {other:?}"),
        }
    });
}
