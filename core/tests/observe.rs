//! An observer's compile-time `INTEREST` bounds what it receives, on the
//! `&mut` breaker and on the shared one, whatever `interest()` says at run
//! time; and an observer of nothing still leaves every call counted.

use std::sync::Mutex;

use std::time::Duration;

use tripline_core::observe::{Interest, Queued};
use tripline_core::shared::CriticalSectionLock;
use tripline_core::{
    Breaker, Config, CountWindow, Event, MockClock, Observer, SharedBreaker, State,
};

/// Records what it gets; asks for everything at run time, but may only
/// ever want state changes.
#[derive(Default)]
struct Changes(Mutex<Vec<Event>>);

impl Observer for Changes {
    const INTEREST: Interest = Interest::STATE_CHANGED;
    fn interest(&self) -> Interest {
        Interest::ALL
    }
    fn on_event(&self, event: &Event) {
        self.0.lock().expect("no panic here").push(*event);
    }
}

/// Wants nothing at all.
struct Nothing;

impl Observer for Nothing {
    const INTEREST: Interest = Interest::NONE;
    fn on_event(&self, _: &Event) {
        panic!("an observer of nothing got an event");
    }
}

fn trips_after_two() -> Config {
    Config::builder()
        .consecutive_failures(2)
        .build()
        .expect("valid configuration")
}

fn states(events: &[Event]) -> Vec<(State, State)> {
    events
        .iter()
        .map(|e| match e {
            Event::StateChanged { from, to, .. } => (*from, *to),
            other => panic!("not a state change: {other:?}"),
        })
        .collect()
}

#[test]
fn a_mut_breaker_builds_only_the_kinds_in_interest() {
    let clock = MockClock::new();
    let mut b = Breaker::new(trips_after_two(), CountWindow::<4>::new(), &clock)
        .with_observer(Changes::default());
    assert!(b.call(|| Ok::<_, ()>(())).is_ok());
    let _ = b.call(|| Err::<(), _>(()));
    let _ = b.call(|| Err::<(), _>(()));
    assert!(b.call(|| Ok::<_, ()>(())).is_err(), "open: rejected");
    b.reset();
    let seen = b.observer().0.lock().expect("no panic here");
    assert_eq!(
        states(&seen),
        [(State::Closed, State::Open), (State::Open, State::Closed)],
        "no success, failure, threshold, rejection or reset event"
    );
}

#[test]
fn a_shared_breaker_queues_only_the_kinds_in_interest() {
    let clock = MockClock::new();
    let changes = Changes::default();
    let b =
        SharedBreaker::with_observer(trips_after_two(), CountWindow::<4>::new(), &clock, &changes);
    assert!(b.call(|| Ok::<_, ()>(())).is_ok());
    let _ = b.call(|| Err::<(), _>(()));
    let _ = b.call(|| Err::<(), _>(()));
    assert!(b.call(|| Ok::<_, ()>(())).is_err(), "open: rejected");
    b.reset().expect("not re-entered");
    let seen = changes.0.lock().expect("no panic here");
    assert_eq!(
        states(&seen),
        [(State::Closed, State::Open), (State::Open, State::Closed)]
    );
}

#[test]
fn an_observer_of_nothing_gets_nothing_and_every_call_is_still_counted() {
    let clock = MockClock::new();
    let b =
        SharedBreaker::with_observer(trips_after_two(), CountWindow::<4>::new(), &clock, Nothing);
    let _ = b.call(|| Ok::<_, ()>(()));
    let _ = b.call(|| Err::<(), _>(()));
    let _ = b.call(|| Err::<(), _>(()));
    let _ = b.call(|| Ok::<_, ()>(()));
    let m = b.metrics();
    assert_eq!(m.state, State::Open);
    assert_eq!((m.successes, m.failures, m.rejected), (1, 2, 1));
}

/// A shared breaker left half-open past its time limit and past the open
/// time after it, then forced open: one operation, three state changes.
fn three_changes_in_one_operation<const N: usize>() -> Vec<(State, State)> {
    let clock = MockClock::new();
    let config = Config::builder()
        .consecutive_failures(1)
        .open_duration(Duration::from_secs(1))
        .half_open_time_limit(Duration::from_secs(2))
        .build()
        .expect("valid configuration");
    let b: SharedBreaker<_, _, Queued<Changes, N>, CriticalSectionLock> =
        SharedBreaker::with_observer(
            config,
            CountWindow::<4>::new(),
            &clock,
            Queued(Changes::default()),
        );
    let _ = b.call(|| Err::<(), _>(()));
    clock.advance(Duration::from_secs(1));
    let probe = b.try_acquire().expect("half-open admits a probe");
    clock.advance(Duration::from_secs(10)); // past the limit and the open time after it
    b.observer().0 .0.lock().expect("no panic here").clear();
    b.force_open().expect("not re-entered");
    drop(probe);
    let events = b.observer().0 .0.lock().expect("no panic here").clone();
    states(&events)
}

#[test]
fn a_queue_with_room_for_three_keeps_every_change_of_one_operation() {
    assert_eq!(
        three_changes_in_one_operation::<3>(),
        [
            (State::HalfOpen, State::Open),
            (State::Open, State::HalfOpen),
            (State::HalfOpen, State::ForcedOpen),
        ]
    );
}

#[test]
fn a_queue_with_less_room_merges_state_changes_and_loses_none() {
    assert_eq!(
        three_changes_in_one_operation::<1>(),
        [(State::HalfOpen, State::ForcedOpen)]
    );
    assert_eq!(
        three_changes_in_one_operation::<2>(),
        [
            (State::HalfOpen, State::Open),
            (State::Open, State::ForcedOpen)
        ]
    );
}
