//! `Breaker::follow_peer`: a replica opening on a peer's report (fleet mode
//! decides here, in the core; the Redis glue only carries the report).

use core::time::Duration;

use tripline::*;

fn breaker(clock: &MockClock) -> Breaker<CountWindow<8>, &MockClock> {
    let config = Config::builder()
        .consecutive_failures(3)
        .open_duration(Duration::from_secs(2))
        .exponential_backoff(2_000, Duration::from_secs(60))
        .build()
        .expect("valid configuration");
    Breaker::new(config, CountWindow::new(), clock)
}

#[test]
fn a_closed_breaker_follows_for_the_peers_time_capped_then_probes_on_its_own() {
    let clock = MockClock::new();
    let mut b = breaker(&clock);
    assert!(b.follow_peer(Duration::from_secs(30), Duration::from_secs(5)));
    assert_eq!(b.state(), State::Open);
    assert_eq!(b.retry_after(), Some(Duration::from_secs(5)));

    clock.advance(Duration::from_secs(5));
    assert_eq!(b.state(), State::HalfOpen);
    let probe = b.try_acquire().expect("a probe");
    b.record(probe, Outcome::Failure);
    // The local backoff continues from the first step: 2 s × 2.
    assert_eq!(b.retry_after(), Some(Duration::from_secs(4)));
}

#[test]
fn a_short_peer_time_is_taken_as_is_and_zero_becomes_the_minimum() {
    let clock = MockClock::new();
    let mut b = breaker(&clock);
    assert!(b.follow_peer(Duration::from_millis(300), Duration::from_secs(5)));
    assert_eq!(b.retry_after(), Some(Duration::from_millis(300)));
    b.reset();
    assert!(b.follow_peer(Duration::ZERO, Duration::from_secs(5)));
    assert_eq!(b.retry_after(), Some(Duration::from_millis(1)));
}

#[test]
fn only_a_closed_breaker_follows() {
    let clock = MockClock::new();
    let mut b = breaker(&clock);
    b.force_open();
    assert!(!b.follow_peer(Duration::from_secs(1), Duration::from_secs(1)));
    assert_eq!(b.state(), State::ForcedOpen);
    b.disable();
    assert!(!b.follow_peer(Duration::from_secs(1), Duration::from_secs(1)));
    b.metrics_only();
    assert!(!b.follow_peer(Duration::from_secs(1), Duration::from_secs(1)));
    b.force_closed();
    for _ in 0..3 {
        let _ = b.call(|| Err::<(), _>(()));
    }
    let own = b.retry_after();
    assert!(!b.follow_peer(Duration::from_secs(60), Duration::from_secs(60)));
    assert_eq!(b.retry_after(), own, "an open breaker keeps its own time");
    clock.advance(Duration::from_secs(2));
    assert!(!b.follow_peer(Duration::from_secs(60), Duration::from_secs(60)));
    assert_eq!(
        b.state(),
        State::HalfOpen,
        "a half-open breaker keeps probing"
    );
}

#[test]
fn the_state_change_names_the_peer_as_its_reason() {
    use core::cell::Cell;
    struct LastReason(Cell<Option<Reason>>);
    impl Observer for LastReason {
        fn on_event(&self, e: &Event) {
            if let Event::StateChanged { reason, .. } = e {
                self.0.set(Some(*reason));
            }
        }
    }
    let clock = MockClock::new();
    let mut b = breaker(&clock).with_observer(LastReason(Cell::new(None)));
    assert!(b.follow_peer(Duration::from_secs(1), Duration::from_secs(1)));
    assert_eq!(b.observer().0.get(), Some(Reason::Peer));
}
