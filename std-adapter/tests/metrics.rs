//! `BreakerMetrics` through `metrics-util`'s debugging recorder: exact values
//! after a scripted sequence on a `MockClock`.

use std::collections::BTreeMap;
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use tripline_core::{Config, CountWindow, MockClock, Outcome, Rate, State};
use tripline_std::{BreakerMetrics, CircuitBreaker, Registry};

type Mocked = CircuitBreaker<CountWindow<16>, &'static MockClock>;

fn clock() -> &'static MockClock {
    Box::leak(Box::new(MockClock::new()))
}

/// Trips after two failures in a row, opens for 10 s, one probe closes it;
/// a call slower than 1 s is slow (the slow rule never trips: 200 calls minimum).
fn config() -> Config {
    Config::builder()
        .consecutive_failures(2)
        .slow_call_rate(Rate::percent(100), Duration::from_secs(1))
        .minimum_calls(200)
        .open_duration(Duration::from_secs(10))
        .half_open_permits(1)
        .half_open_successes(1)
        .build()
        .expect("valid configuration")
}

fn instrumented(metrics: &BreakerMetrics, name: &str, clock: &'static MockClock) -> Mocked {
    CircuitBreaker::builder(name)
        .config(config())
        .window(CountWindow::<16>::new())
        .clock(clock)
        .on_event(metrics.on_event(name))
        .build()
}

/// Every series as `name{k=v,...}` (labels sorted) → value.
fn values(snapshotter: &Snapshotter) -> BTreeMap<String, f64> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            let mut labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            labels.sort();
            let value = match value {
                DebugValue::Counter(n) => n as f64,
                DebugValue::Gauge(g) => g.into_inner(),
                DebugValue::Histogram(_) => unreachable!("no histograms are recorded"),
            };
            (format!("{}{{{}}}", key.name(), labels.join(",")), value)
        })
        .collect()
}

fn record(metrics: &BreakerMetrics) -> BTreeMap<String, f64> {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || metrics.record());
    values(&snapshotter)
}

fn get(values: &BTreeMap<String, f64>, series: &str) -> f64 {
    *values
        .get(series)
        .unwrap_or_else(|| panic!("no series {series} in {values:#?}"))
}

#[test]
fn a_scripted_sequence_gives_exact_values() {
    let clock = clock();
    let metrics = BreakerMetrics::new();
    let b = instrumented(&metrics, "pay", clock);
    metrics.watch(&b);

    // Closed: a fast and a slow success, a slow and a fast failure (trips).
    let _ = b.call(|| Ok::<_, ()>(()));
    let _ = b.call(|| {
        clock.advance(Duration::from_secs(2));
        Ok::<_, ()>(())
    });
    let _ = b.call(|| {
        clock.advance(Duration::from_secs(2));
        Err::<(), _>(())
    });
    let _ = b.call(|| Err::<(), _>(()));
    assert_eq!(b.state(), State::Open);
    // Open: two rejections; 4 s later a scrape.
    let _ = b.call(|| Ok::<_, ()>(()));
    let _ = b.call(|| Ok::<_, ()>(()));
    clock.advance(Duration::from_secs(4));

    let open = record(&metrics);
    let l = "breaker=pay";
    assert_eq!(
        get(
            &open,
            &format!("tripline_calls_total{{{l},outcome=success}}")
        ),
        2.0
    );
    assert_eq!(
        get(
            &open,
            &format!("tripline_calls_total{{{l},outcome=failure}}")
        ),
        2.0
    );
    assert_eq!(
        get(
            &open,
            &format!("tripline_slow_calls_total{{{l},outcome=success}}")
        ),
        1.0
    );
    assert_eq!(
        get(
            &open,
            &format!("tripline_slow_calls_total{{{l},outcome=failure}}")
        ),
        1.0
    );
    assert_eq!(
        get(
            &open,
            &format!("tripline_rejections_total{{{l},reason=open}}")
        ),
        2.0
    );
    assert_eq!(
        get(
            &open,
            &format!("tripline_transitions_total{{{l},from=closed,to=open}}")
        ),
        1.0
    );
    assert_eq!(
        get(&open, &format!("tripline_state{{{l},state=open}}")),
        1.0
    );
    assert_eq!(
        get(&open, &format!("tripline_state{{{l},state=closed}}")),
        0.0
    );
    assert_eq!(get(&open, &format!("tripline_state_seconds{{{l}}}")), 4.0);
    assert_eq!(
        get(&open, &format!("tripline_retry_after_seconds{{{l}}}")),
        6.0
    );
    assert_eq!(
        get(
            &open,
            &format!("tripline_half_open_probes_in_flight{{{l}}}")
        ),
        0.0
    );

    // 6 s later: half-open, one probe in flight, a second call finds it full.
    clock.advance(Duration::from_secs(6));
    let probe = b.try_acquire_owned().expect("the probe is admitted");
    let _ = b.call(|| Ok::<_, ()>(()));
    let half_open = record(&metrics);
    assert_eq!(
        get(
            &half_open,
            &format!("tripline_state{{{l},state=half_open}}")
        ),
        1.0
    );
    assert_eq!(
        get(
            &half_open,
            &format!("tripline_half_open_probes_in_flight{{{l}}}")
        ),
        1.0
    );
    assert_eq!(
        get(&half_open, &format!("tripline_in_flight_calls{{{l}}}")),
        1.0
    );
    assert_eq!(
        get(
            &half_open,
            &format!("tripline_rejections_total{{{l},reason=half_open_full}}")
        ),
        1.0
    );
    assert_eq!(
        get(
            &half_open,
            &format!("tripline_transitions_total{{{l},from=open,to=half_open}}")
        ),
        1.0
    );

    // The probe succeeds: closed. Then an ignored call, a cancelled permit,
    // and a permit whose result arrives after a reset (stale).
    probe.record(Outcome::Success).expect("not re-entered");
    let _ = b.call_with(|| Err::<(), _>(404), |_| Outcome::Ignored);
    drop(b.try_acquire().expect("closed admits"));
    let late = b.try_acquire_owned().expect("closed admits");
    b.reset().expect("not re-entered");
    late.record(Outcome::Success).expect("not re-entered");

    // Every series, exactly: counters survive the reset (the rejections are
    // still there), a reset of a closed breaker is no transition, and the
    // rates are absent below the minimum calls.
    let closed = record(&metrics);
    let expected: BTreeMap<String, f64> = [
        ("tripline_calls_total{breaker=pay,outcome=cancelled}", 1.0),
        ("tripline_calls_total{breaker=pay,outcome=failure}", 2.0),
        ("tripline_calls_total{breaker=pay,outcome=ignored}", 1.0),
        ("tripline_calls_total{breaker=pay,outcome=stale}", 1.0),
        ("tripline_calls_total{breaker=pay,outcome=success}", 3.0),
        ("tripline_half_open_probes_in_flight{breaker=pay}", 0.0),
        ("tripline_in_flight_calls{breaker=pay}", 0.0),
        ("tripline_rejections_total{breaker=pay,reason=busy}", 0.0),
        (
            "tripline_rejections_total{breaker=pay,reason=forced_open}",
            0.0,
        ),
        (
            "tripline_rejections_total{breaker=pay,reason=half_open_full}",
            1.0,
        ),
        ("tripline_rejections_total{breaker=pay,reason=open}", 2.0),
        ("tripline_retry_after_seconds{breaker=pay}", 0.0),
        (
            "tripline_slow_calls_total{breaker=pay,outcome=failure}",
            1.0,
        ),
        (
            "tripline_slow_calls_total{breaker=pay,outcome=success}",
            1.0,
        ),
        ("tripline_state_seconds{breaker=pay}", 0.0),
        ("tripline_state{breaker=pay,state=closed}", 1.0),
        ("tripline_state{breaker=pay,state=disabled}", 0.0),
        ("tripline_state{breaker=pay,state=forced_open}", 0.0),
        ("tripline_state{breaker=pay,state=half_open}", 0.0),
        ("tripline_state{breaker=pay,state=metrics_only}", 0.0),
        ("tripline_state{breaker=pay,state=open}", 0.0),
        (
            "tripline_transitions_total{breaker=pay,from=closed,to=open}",
            1.0,
        ),
        (
            "tripline_transitions_total{breaker=pay,from=half_open,to=closed}",
            1.0,
        ),
        (
            "tripline_transitions_total{breaker=pay,from=open,to=half_open}",
            1.0,
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(closed, expected);
}

#[test]
fn a_registry_built_through_the_factory_reports_every_breaker_with_its_replica() {
    let metrics = BreakerMetrics::with_replica("pod-a");
    let registry = Registry::with_factory(metrics.factory());
    let a = registry.get_or_create("a", config());
    let b = registry.get_or_create("b", config());
    let _ = a.call(|| Ok::<_, ()>(()));
    for _ in 0..2 {
        let _ = b.call(|| Err::<(), _>(()));
    }
    let _ = b.call(|| Ok::<_, ()>(()));

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || metrics.record_registry(&registry));
    let v = values(&snapshotter);
    let a_ok = "tripline_calls_total{breaker=a,outcome=success,replica=pod-a}";
    assert_eq!(get(&v, a_ok), 1.0);
    let b_failed = "tripline_calls_total{breaker=b,outcome=failure,replica=pod-a}";
    assert_eq!(get(&v, b_failed), 2.0);
    let b_open = "tripline_state{breaker=b,replica=pod-a,state=open}";
    assert_eq!(get(&v, b_open), 1.0);
    let b_tripped = "tripline_transitions_total{breaker=b,from=closed,replica=pod-a,to=open}";
    assert_eq!(get(&v, b_tripped), 1.0);
    let b_rejected = "tripline_rejections_total{breaker=b,reason=open,replica=pod-a}";
    assert_eq!(get(&v, b_rejected), 1.0);
}

#[test]
fn a_breaker_without_a_tally_reports_its_own_counters() {
    let metrics = BreakerMetrics::new();
    let b = CircuitBreaker::new("plain", config());
    metrics.watch(&b);
    for _ in 0..3 {
        let _ = b.call(|| Err::<(), _>(()));
    }
    let v = record(&metrics);
    assert_eq!(
        get(&v, "tripline_calls_total{breaker=plain,outcome=failure}"),
        2.0
    );
    assert_eq!(
        get(
            &v,
            "tripline_rejections_total{breaker=plain,reason=unknown}"
        ),
        1.0
    );
    assert!(!v
        .keys()
        .any(|k| k.starts_with("tripline_transitions_total")));
}
