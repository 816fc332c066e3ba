//! The std handle: permits and guards, observers, re-entrance, registry,
//! serde, threads. Time moves only through `MockClock`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tripline_core::{
    CallError, Config, CountWindow, Event, MockClock, Outcome, Rate, Reason, Rule, State,
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
    assert_eq!(a.state(), State::Open);
    assert_eq!(a.metrics().failures, 1);
}

#[test]
fn a_panic_unwinding_through_a_call_cancels_its_probe_permit() {
    let clock = clock();
    let b = mocked("sensor", trips_after(1), clock);
    let _ = b.call(|| Err::<(), _>(()));
    clock.advance(Duration::from_secs(1));
    assert_eq!(b.state(), State::HalfOpen);

    let unwound = catch_unwind(AssertUnwindSafe(|| {
        b.call(|| -> Result<(), ()> { panic!("driver bug") })
    }));
    assert!(unwound.is_err());
    let m = b.metrics();
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
    let m = b.metrics();
    assert_eq!((m.failures, m.cancelled, m.in_flight()), (1, 1, 0));
}

#[test]
fn events_arrive_in_order_after_the_lock_and_observers_may_call_back() {
    type Seen = Vec<(Event, Option<State>)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let me: Arc<OnceLock<Mocked>> = Arc::default();
    let (log, handle) = (Arc::clone(&seen), Arc::clone(&me));
    let b = CircuitBreaker::builder("orders")
        .config(trips_after(2))
        .window(CountWindow::<16>::new())
        .clock(clock())
        .on_event(move |e| {
            // Calling back into the breaker from an observer must not deadlock.
            let state = handle.get().map(|b| b.state());
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
    assert!(seen.iter().all(|(_, state)| state.is_some()), "{seen:?}");
    assert_eq!(seen[3].1, Some(State::Open));
}

#[test]
fn the_registry_creates_once_lists_open_resets_and_sums_health() {
    let registry = Registry::new();
    let a = registry.get_or_create("a", trips_after(1));
    let again = registry.get_or_create("a", Config::DEFAULT);
    let _ = again.call(|| Err::<(), _>(()));
    assert_eq!(a.state(), State::Open, "same breaker, first config kept");

    let b = registry.get_or_create("b", Config::DEFAULT);
    b.force_open().expect("not re-entered");
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

    let m = serde_json::to_value(b.metrics()).expect("serializes");
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
fn many_threads_never_get_more_half_open_probes_than_configured() {
    let clock = clock();
    let config = Config::builder()
        .consecutive_failures(1)
        .open_duration(Duration::from_secs(1))
        .half_open_permits(3)
        .half_open_successes(3)
        .build()
        .expect("valid configuration");
    let b = mocked("probes", config, clock);
    let _ = b.call(|| Err::<(), _>(()));
    clock.advance(Duration::from_secs(1));

    let threads = 32;
    let start = Arc::new(std::sync::Barrier::new(threads));
    let held = Arc::new(std::sync::Barrier::new(threads));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (b, start, held) = (b.clone(), Arc::clone(&start), Arc::clone(&held));
            std::thread::spawn(move || {
                start.wait();
                let permits: Vec<_> = (0..50).filter_map(|_| b.try_acquire_owned().ok()).collect();
                let admitted = permits.len();
                held.wait(); // every thread has tried while the others hold theirs
                for p in permits {
                    let _ = p.record(Outcome::Success);
                }
                admitted
            })
        })
        .collect();
    let admitted: usize = workers.into_iter().map(|w| w.join().expect("ran")).sum();
    assert_eq!(admitted, 3);
    let m = b.metrics();
    assert_eq!(m.permitted, 1 + 3);
    assert_eq!(m.rejected, (threads as u64) * 50 - 3);
    assert_eq!(m.state, State::Closed, "three successful probes close it");
}

#[test]
fn many_threads_count_every_call_exactly_once_while_the_breaker_trips_and_recovers() {
    let clock = clock();
    let config = Config::builder()
        .failure_rate(Rate::percent(50))
        .minimum_calls(8)
        .open_duration(Duration::from_millis(1))
        .half_open_permits(2)
        .build()
        .expect("valid configuration");
    let b = mocked("churn", config, clock);
    let (threads, calls) = (8u64, 5_000u64);
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let b = b.clone();
            std::thread::spawn(move || {
                for i in 0..calls {
                    match (t + i) % 4 {
                        0 => drop(b.try_acquire()), // cancelled
                        1 | 2 => {
                            let _ = b.call(|| Err::<(), _>(()));
                        }
                        _ => {
                            let _ = b.call(|| Ok::<_, ()>(()));
                        }
                    }
                    if i % 64 == 0 {
                        clock.advance(Duration::from_micros(700));
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("ran");
    }
    let m = b.metrics();
    assert_eq!(m.permitted + m.rejected, threads * calls);
    assert_eq!(
        m.successes + m.failures + m.ignored + m.cancelled + m.stale,
        m.permitted
    );
    assert_eq!(m.in_flight(), 0);
    assert!(
        m.rejected > 0 && m.generation > 0,
        "the breaker did trip: {m:?}"
    );
}
