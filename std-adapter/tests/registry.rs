//! The registry: clones share breakers, any clock, config mismatches are
//! reported; and the std handle's rejections name their breaker.

use std::time::Duration;

use tripline_core::{CallError, Config, MockClock, RejectReason, State, TimeoutError};
use tripline_std::{CircuitBreaker, Registry};

fn trip_once(open: Duration) -> Config {
    Config::builder()
        .consecutive_failures(1)
        .open_duration(open)
        .build()
        .unwrap()
}

#[test]
fn clones_of_a_registry_see_the_same_breakers() {
    let registry = Registry::new();
    let clone = registry.clone();
    let worker = std::thread::spawn(move || {
        let db = clone.get_or_create("db", Config::DEFAULT);
        db.force_open().unwrap();
        clone.len()
    });
    assert_eq!(worker.join().unwrap(), 1);
    assert_eq!(registry.names(), ["db"]);
    assert_eq!(registry.get("db").unwrap().state(), State::ForcedOpen);
    assert_eq!(registry.open(), ["db"]);
    registry.remove("db");
    assert!(registry.is_empty());
}

#[test]
fn a_registry_with_a_mock_clock_moves_with_it() {
    static CLOCK: MockClock = MockClock::new();
    let registry = Registry::with_clock(&CLOCK);
    let a = registry.get_or_create("a", trip_once(Duration::from_secs(3)));
    let b = registry.get_or_create("b", trip_once(Duration::from_secs(3)));
    let _ = a.call(|| Err::<(), _>("down"));
    let _ = b.call(|| Err::<(), _>("down"));
    CLOCK.advance(Duration::from_millis(2_999));
    assert_eq!(registry.health().open, 2);
    CLOCK.advance(Duration::from_millis(1));
    assert_eq!(registry.health().half_open, 2);
}

#[cfg(feature = "tokio")]
#[tokio::test(start_paused = true)]
async fn a_registry_with_a_tokio_clock_follows_paused_time() {
    let registry = Registry::with_clock(tripline_std::TokioClock::new());
    let api = registry.get_or_create("api", trip_once(Duration::from_secs(30)));
    let _ = api.call(|| Err::<(), _>("down"));
    tokio::time::advance(Duration::from_secs(30)).await;
    assert_eq!(api.state(), State::HalfOpen);
}

#[test]
fn another_config_for_an_existing_name_is_reported_and_not_applied() {
    let registry = Registry::new();
    let first = trip_once(Duration::from_secs(1));
    let other = trip_once(Duration::from_secs(2));
    let db = registry.try_get_or_create("db", first).unwrap();
    assert!(registry.try_get_or_create("db", first).is_ok());

    let mismatch = registry.try_get_or_create("db", other).unwrap_err();
    assert_eq!(mismatch.breaker.config(), first);
    assert_eq!(mismatch.requested, other);
    assert_eq!(
        mismatch.to_string(),
        "circuit breaker \"db\" already exists with another config; it keeps its own"
    );
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(mismatch.clone());
    assert!(boxed.to_string().contains("\"db\""));

    // The same breaker either way, with its first config.
    db.force_open().unwrap();
    assert_eq!(mismatch.breaker.state(), State::ForcedOpen);
    let again = registry.get_or_create("db", other);
    assert_eq!(again.config(), first);
    assert_eq!(again.state(), State::ForcedOpen);
    assert_eq!(registry.len(), 1);
}

#[test]
fn rejections_of_the_std_handle_name_the_breaker_on_every_path() {
    let b = CircuitBreaker::new("backend", trip_once(Duration::from_millis(1_500)));
    let _ = b.call(|| Err::<(), _>("down"));

    let expect = |r: &tripline_core::Rejected| {
        assert_eq!(r.reason(), RejectReason::Open);
        assert_eq!(r.breaker_name(), Some("backend"));
        let text = r.to_string();
        assert!(
            text.starts_with("circuit breaker \"backend\" is open; retry in 1."),
            "{text}"
        );
        assert!(text.ends_with(" s"), "{text}");
    };
    expect(&b.try_acquire().unwrap_err());
    expect(&b.try_acquire_owned().unwrap_err());
    match b.call(|| Ok::<_, ()>(())) {
        Err(CallError::Rejected(r)) => expect(&r),
        other => panic!("{other:?}"),
    }
    match b.call_with(|| Ok::<_, &str>(()), tripline_core::Outcome::of) {
        Err(e) => {
            expect(e.rejected().unwrap());
            assert!(e.to_string().starts_with("circuit breaker \"backend\""));
        }
        other => panic!("{other:?}"),
    }
    b.call_or_else(|| Ok::<_, ()>(()), |e| expect(e.rejected().unwrap()));

    let fut = b.call_async(async { Ok::<_, ()>(()) });
    let rejected = poll_ready_now(fut).unwrap_err();
    expect(rejected.rejected().unwrap());
    let fut = b.call_async_with(async { Ok::<_, ()>(()) }, tripline_core::Outcome::of);
    expect(poll_ready_now(fut).unwrap_err().rejected().unwrap());
    let fut = b.call_async_with_timer(
        std::future::pending::<Result<(), &str>>(),
        Duration::from_secs(1),
        |_| std::future::pending(),
        tripline_core::Outcome::of,
    );
    let e = poll_ready_now(fut).unwrap_err();
    expect(e.rejected().unwrap());
    assert!(matches!(e, TimeoutError::Rejected(_)));
    assert!(e.to_string().starts_with("circuit breaker \"backend\""));

    // Through a registry, and a clone of the handle.
    let registry = Registry::new();
    let named = registry.get_or_create("payments", Config::DEFAULT).clone();
    named.force_open().unwrap();
    assert_eq!(
        named.try_acquire().unwrap_err().to_string(),
        "circuit breaker \"payments\" is forced open"
    );
}

#[test]
fn breakers_of_one_name_share_one_interned_name() {
    let a = CircuitBreaker::new(String::from("shared-name"), Config::DEFAULT);
    let b = CircuitBreaker::new(String::from("shared-name"), Config::DEFAULT);
    a.force_open().unwrap();
    b.force_open().unwrap();
    let ra = a.try_acquire().unwrap_err().breaker_name().unwrap();
    let rb = b.try_acquire().unwrap_err().breaker_name().unwrap();
    assert_eq!(ra, "shared-name");
    assert!(std::ptr::eq(ra, rb), "one copy per distinct name");
}

#[test]
fn an_open_time_of_duration_max_prints_in_human_units() {
    let b = CircuitBreaker::new("forever", trip_once(Duration::MAX));
    let _ = b.call(|| Err::<(), _>("down"));
    let text = b.try_acquire().unwrap_err().to_string();
    assert!(
        text.starts_with("circuit breaker \"forever\" is open; retry in over "),
        "{text}"
    );
    assert!(text.ends_with(" years"), "{text}");
    assert!(!text.contains("µs"), "{text}");
}

/// The output of a future that is ready at its first poll (a rejection
/// never polls the work).
fn poll_ready_now<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(out) => out,
        std::task::Poll::Pending => panic!("a rejected call is ready at once"),
    }
}
