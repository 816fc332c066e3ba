//! The std handle: permits and guards, observers, re-entrance, registry,
//! serde and tracing. Time moves only through `MockClock`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tripline_core::shared::Busy;
use tripline_core::{
    Breaker, CallError, Config, CountWindow, Event, MockClock, Outcome, Reason, RejectReason, Rule,
    State,
};
use tripline_std::{CircuitBreaker, Registry};

type Mocked = CircuitBreaker<CountWindow<16>, &'static MockClock>;

fn clock() -> &'static MockClock {
    Box::leak(Box::new(MockClock::new()))
}

fn trips_after(n: u32) -> Config {
    Config::builder()
        .consecutive_failures(n)
        .open_duration(Duration::from_secs(1))
        .build()
        .expect("valid configuration")
}

fn mocked(name: &str, config: Config, clock: &'static MockClock) -> Mocked {
    CircuitBreaker::builder(name)
        .config(config)
        .window(CountWindow::<16>::new())
        .clock(clock)
        .build()
}

#[test]
fn the_handle_is_send_sync_and_clones_share_one_breaker() {
    fn send_sync<T: Send + Sync + 'static>(_: &T) {}
    let a = CircuitBreaker::new("shared", trips_after(1));
    send_sync(&a);
    let b = a.clone();
    let _ = b.call(|| Err::<(), _>(()));
    assert_eq!(a.state(), Ok(State::Open));
    assert_eq!(a.metrics().map(|m| m.failures), Ok(1));
}

#[test]
fn a_panic_unwinding_through_a_call_cancels_its_probe_permit() {
    let clock = clock();
    let b = mocked("sensor", trips_after(1), clock);
    let _ = b.call(|| Err::<(), _>(()));
    clock.advance(Duration::from_secs(1));
    assert_eq!(b.state(), Ok(State::HalfOpen));

    let unwound = catch_unwind(AssertUnwindSafe(|| {
        b.call(|| -> Result<(), ()> { panic!("driver bug") })
    }));
    assert!(unwound.is_err());
    let m = b.metrics().expect("not re-entered");
    assert_eq!((m.cancelled, m.in_flight()), (1, 0));
    assert_eq!(m.state, State::HalfOpen);
    assert!(b.try_acquire().is_ok(), "the probe slot came back");
}

#[test]
fn an_owned_permit_records_from_another_thread_and_cancels_on_drop() {
    let b = CircuitBreaker::new("db", Config::DEFAULT);
    let permit = b.try_acquire_owned().expect("closed admits");
    std::thread::spawn(move || permit.record(Outcome::Failure))
        .join()
        .expect("thread ran")
        .expect("not re-entered");
    drop(b.try_acquire_owned().expect("closed admits"));
    let m = b.metrics().expect("not re-entered");
    assert_eq!((m.failures, m.cancelled, m.in_flight()), (1, 1, 0));
}

#[test]
fn events_arrive_in_order_after_the_lock_and_observers_may_call_back() {
    let seen: Arc<Mutex<Vec<(Event, Result<State, Busy>)>>> = Arc::default();
    let me: Arc<OnceLock<Mocked>> = Arc::default();
    let (log, handle) = (Arc::clone(&seen), Arc::clone(&me));
    let b = CircuitBreaker::builder("orders")
        .config(trips_after(2))
        .window(CountWindow::<16>::new())
        .clock(clock())
        .on_event(move |e| {
            // Calling back into the breaker from an observer must not deadlock.
            let state = handle.get().map_or(Err(Busy), |b| b.state());
            log.lock().expect("no panic").push((*e, state));
        })
        .build();
    assert!(me.set(b.clone()).is_ok());

    let _ = b.call(|| Err::<(), _>(()));
    let _ = b.call(|| Err::<(), _>(()));
    let rejected = b.call(|| Ok::<_, ()>(()));
    assert!(matches!(rejected, Err(CallError::Rejected(_))));

    let seen = seen.lock().expect("no panic");
    let kinds: Vec<&str> = seen
        .iter()
        .map(|(e, _)| match e {
            Event::Failure { .. } => "failure",
            Event::ThresholdExceeded { .. } => "threshold",
            Event::StateChanged { .. } => "state",
            Event::Rejected(_) => "rejected",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        ["failure", "failure", "threshold", "state", "rejected"]
    );
    assert!(matches!(
        seen[3].0,
        Event::StateChanged {
            from: State::Closed,
            to: State::Open,
            reason: Reason::Tripped(Rule::ConsecutiveFailures),
            ..
        }
    ));
    assert!(seen.iter().all(|(_, state)| state.is_ok()), "{seen:?}");
    assert_eq!(seen[3].1, Ok(State::Open));
}

#[test]
fn using_the_breaker_from_inside_its_own_lock_is_a_typed_busy_not_a_deadlock() {
    let b = CircuitBreaker::new("reentrant", Config::DEFAULT);
    let inner = b.lock(|_| b.state()).expect("the outer lock is taken");
    assert_eq!(inner, Err(Busy));
    let inner = b.lock(|_| b.try_acquire().map(drop).map_err(|r| r.reason()));
    assert_eq!(inner, Ok(Err(RejectReason::Busy)));
    assert_eq!(b.state(), Ok(State::Closed), "the lock was released");
}

#[test]
fn the_registry_creates_once_lists_open_resets_and_sums_health() {
    let registry = Registry::new();
    let a = registry.get_or_create("a", trips_after(1));
    let again = registry.get_or_create("a", Config::DEFAULT);
    let _ = again.call(|| Err::<(), _>(()));
    assert_eq!(
        a.state(),
        Ok(State::Open),
        "same breaker, first config kept"
    );

    let b = registry.get_or_create("b", Config::DEFAULT);
    b.lock(Breaker::force_open).expect("not re-entered");
    let _c = registry.get_or_create("c", Config::DEFAULT);
    assert_eq!(registry.names(), ["a", "b", "c"]);
    assert_eq!(registry.open(), ["a", "b"]);
    let h = registry.health();
    assert_eq!((h.closed, h.open, h.forced_open, h.total()), (1, 1, 1, 3));

    let snapshot = registry.snapshot();
    assert_eq!(snapshot.len(), 3);
    assert_eq!(snapshot[0].name, "a");
    assert_eq!(snapshot[0].metrics.failures, 1);

    registry.reset_all();
    assert!(registry.open().is_empty());
    assert!(registry.health().all_closed());

    assert!(registry.remove("c").is_some());
    assert!(registry.get("c").is_none());
    assert_eq!(registry.len(), 2);
    assert!(registry
        .insert(CircuitBreaker::new("d", Config::DEFAULT))
        .is_none());
    assert!(registry.get("d").is_some());
}

#[test]
fn an_observer_may_use_the_registry_while_a_snapshot_is_taken() {
    let registry: Arc<Registry> = Arc::new(Registry::new());
    let inner = Arc::clone(&registry);
    let watched = CircuitBreaker::builder("watched")
        .config(trips_after(1))
        .on_event(move |_| {
            let _ = inner.get_or_create("created-from-an-observer", Config::DEFAULT);
        })
        .build();
    registry.insert(watched.clone());
    let _ = watched.call(|| Err::<(), _>(()));
    let _ = registry.snapshot();
    assert!(registry.get("created-from-an-observer").is_some());
}

#[test]
fn metrics_state_events_config_and_snapshots_serialize_to_json() {
    let clock = clock();
    let events: Arc<Mutex<Vec<Event>>> = Arc::default();
    let log = Arc::clone(&events);
    let b = CircuitBreaker::builder("json")
        .config(trips_after(1))
        .window(CountWindow::<16>::new())
        .clock(clock)
        .on_event(move |e| log.lock().expect("no panic").push(*e))
        .build();
    clock.advance(Duration::from_millis(5));
    let _ = b.call(|| Err::<(), _>(()));

    let m = serde_json::to_value(b.metrics().expect("not re-entered")).expect("serializes");
    assert_eq!(m["state"], "open");
    assert_eq!(m["failures"], 1);
    assert_eq!(m["window"]["failures"], 1);

    let changed = events
        .lock()
        .expect("no panic")
        .iter()
        .copied()
        .find(|e| matches!(e, Event::StateChanged { .. }))
        .expect("the breaker opened");
    let e = serde_json::to_value(changed).expect("serializes");
    assert_eq!(e["state-changed"]["to"], "open");
    assert_eq!(e["state-changed"]["at"], 5_000);

    let config = serde_json::to_value(trips_after(3)).expect("serializes");
    assert_eq!(config["consecutive_failures"], 3);

    let registry = Registry::new();
    registry.get_or_create("x", Config::DEFAULT);
    let s = serde_json::to_string(&registry.snapshot()).expect("serializes");
    assert!(
        s.starts_with(r#"[{"name":"x","metrics":{"state":"closed""#),
        "{s}"
    );
}

#[test]
fn state_changes_and_rejections_become_tracing_events_with_the_name() {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("no panic").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let out = Buffer::default();
    let writer = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .without_time()
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let b = CircuitBreaker::new("payments", trips_after(1));
        let _ = b.call(|| Err::<(), _>(()));
        let _ = b.call(|| Ok::<_, ()>(()));
    });
    let text = String::from_utf8(out.0.lock().expect("no panic").clone()).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with(" WARN"), "{text}");
    assert!(
        lines[0]
            .contains("circuit breaker state changed breaker=payments from=\"closed\" to=\"open\""),
        "{text}"
    );
    assert!(lines[1].starts_with("DEBUG"), "{text}");
    assert!(
        lines[1].contains("call rejected by circuit breaker breaker=payments reason=Open"),
        "{text}"
    );
}
