//! Makes N calls through one breaker, for counting instructions under
//! callgrind: `icount <case> <N>`. Run it with N and 2N; the difference of
//! the two totals divided by N is the cost of one call, with start-up and
//! set-up cancelled out (`benches/icount.sh` does exactly that).

use std::hint::black_box;
use std::process::ExitCode;

use failsafe::CircuitBreaker as _;
use tripline_benches::{
    bare, consecutive_config, core_count, core_open_mock, core_shared, core_time, drive,
    failsafe_consecutive, failsafe_default, failsafe_like_config, protected, rate_config,
    recloser_rate, resilience_tower_consecutive, resilience_tower_rate, seatbelt_call,
    seatbelt_rate, seatbelt_tower_rate, std_handle, tripline_tower,
};
use tripline_core::MockClock;

/// Every case this binary knows, in the order `icount.sh` reports them.
const CASES: &[&str] = &[
    "baseline",
    "core_consecutive",
    "core_rate",
    "core_timewindow",
    "core_open_mock",
    "core_shared_consecutive",
    "core_shared_rate",
    "std_consecutive",
    "std_rate",
    "std_open",
    "failsafe_consecutive",
    "failsafe_default",
    "recloser_rate",
    "seatbelt_rate",
    "tower_bare",
    "tower_tripline",
    "tower_resilience_consecutive",
    "tower_resilience_rate",
    "tower_seatbelt_rate",
    #[cfg(feature = "metrics")]
    "std_consecutive_metrics_watched",
    #[cfg(feature = "metrics")]
    "std_consecutive_metrics_tallied",
    #[cfg(feature = "metrics")]
    "std_consecutive_metrics_handles",
    #[cfg(feature = "metrics")]
    "std_consecutive_subscribed",
];

fn run(case: &str, n: u64) -> Option<u64> {
    // Folds every result into a checksum so no call can be optimised away.
    let mut ok = 0u64;
    let mut tally = |r: bool| ok += u64::from(r);
    match case {
        "baseline" => (0..n).for_each(|i| tally(protected(black_box(i)).is_ok())),
        "core_consecutive" => {
            let mut b = core_count(consecutive_config());
            (0..n).for_each(|i| tally(b.call(|| protected(black_box(i))).is_ok()));
        }
        "core_rate" => {
            let mut b = core_count(rate_config());
            (0..n).for_each(|i| tally(b.call(|| protected(black_box(i))).is_ok()));
        }
        "core_timewindow" => {
            let mut b = core_time(failsafe_like_config());
            (0..n).for_each(|i| tally(b.call(|| protected(black_box(i))).is_ok()));
        }
        "core_open_mock" => {
            let clock = MockClock::new();
            let mut b = core_open_mock(&clock);
            (0..n).for_each(|i| tally(b.call(|| protected(black_box(i))).is_ok()));
        }
        "core_shared_consecutive" => {
            let b = core_shared(consecutive_config());
            (0..n).for_each(|i| tally(b.call(|| protected(black_box(i))).is_ok()));
        }
        "core_shared_rate" => {
            let b = core_shared(rate_config());
            (0..n).for_each(|i| tally(b.call(|| protected(black_box(i))).is_ok()));
        }
        "std_consecutive" => {
            let b = std_handle(consecutive_config());
            (0..n).for_each(|i| tally(b.call(|| protected(black_box(i))).is_ok()));
        }
        "std_rate" => {
            let b = std_handle(rate_config());
            (0..n).for_each(|i| tally(b.call(|| protected(black_box(i))).is_ok()));
        }
        "std_open" => {
            let b = std_handle(consecutive_config());
            if b.open_for(std::time::Duration::from_secs(3_600)).is_err() {
                return None;
            }
            (0..n).for_each(|i| tally(b.call(|| protected(black_box(i))).is_ok()));
        }
        "failsafe_consecutive" => {
            let b = failsafe_consecutive();
            (0..n).for_each(|i| tally(b.call(|| protected(black_box(i))).is_ok()));
        }
        "failsafe_default" => {
            let b = failsafe_default();
            (0..n).for_each(|i| tally(b.call(|| protected(black_box(i))).is_ok()));
        }
        "recloser_rate" => {
            let b = recloser_rate();
            (0..n).for_each(|i| tally(b.call(|| protected(black_box(i))).is_ok()));
        }
        "seatbelt_rate" => {
            let b = seatbelt_rate();
            (0..n).for_each(|i| tally(seatbelt_call(&b, black_box(i)).is_ok()));
        }
        "tower_bare" => {
            let mut s = bare();
            (0..n).for_each(|i| tally(drive(&mut s, black_box(i)).is_ok()));
        }
        "tower_tripline" => {
            let mut s = tripline_tower(consecutive_config());
            (0..n).for_each(|i| tally(drive(&mut s, black_box(i)).is_ok()));
        }
        "tower_resilience_consecutive" => {
            let mut s = resilience_tower_consecutive();
            (0..n).for_each(|i| tally(drive(&mut s, black_box(i)).is_ok()));
        }
        "tower_resilience_rate" => {
            let mut s = resilience_tower_rate();
            (0..n).for_each(|i| tally(drive(&mut s, black_box(i)).is_ok()));
        }
        "tower_seatbelt_rate" => {
            let mut s = seatbelt_tower_rate();
            (0..n).for_each(|i| tally(drive(&mut s, black_box(i)).is_ok()));
        }
        // The `metrics` feature: a breaker that `BreakerMetrics` reports by
        // folding its counters at scrape time (one scrape, outside the loop)...
        #[cfg(feature = "metrics")]
        "std_consecutive_metrics_watched" => {
            let metrics = tripline_std::BreakerMetrics::new();
            let b = std_handle(consecutive_config());
            metrics.watch(&b);
            (0..n).for_each(|i| tally(b.call(|| protected(black_box(i))).is_ok()));
            metrics.record();
        }
        // ... and one also built with its tally (transitions, rejection
        // reasons, slow calls) as an event callback.
        #[cfg(feature = "metrics")]
        "std_consecutive_metrics_tallied" => {
            let metrics = tripline_std::BreakerMetrics::new();
            let b = metrics
                .builder("bench")
                .config(consecutive_config())
                .window(tripline_core::CountWindow::<
                    { tripline_benches::RATE_WINDOW },
                >::new())
                .build();
            metrics.watch(&b);
            (0..n).for_each(|i| tally(b.call(|| protected(black_box(i))).is_ok()));
            metrics.record();
        }
        // The design not taken: a Prometheus counter handle registered once,
        // incremented from an event callback on every success.
        #[cfg(feature = "metrics")]
        "std_consecutive_metrics_handles" => {
            let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
            let successes = metrics::with_local_recorder(
                &recorder,
                || metrics::counter!("tripline_calls_total", "breaker" => "bench", "outcome" => "success"),
            );
            let b = tripline_std::CircuitBreaker::builder("bench")
                .config(consecutive_config())
                .window(tripline_core::CountWindow::<
                    { tripline_benches::RATE_WINDOW },
                >::new())
                .on_event(move |e| {
                    if let tripline_core::Event::Success { .. } = e {
                        successes.increment(1);
                    }
                })
                .build();
            (0..n).for_each(|i| tally(b.call(|| protected(black_box(i))).is_ok()));
        }
        // What an open dashboard page costs: one event `broadcast` subscriber
        // (never read here, so it lags; the send is the same).
        #[cfg(feature = "metrics")]
        "std_consecutive_subscribed" => {
            let b = std_handle(consecutive_config());
            let events = b.subscribe();
            (0..n).for_each(|i| tally(b.call(|| protected(black_box(i))).is_ok()));
            drop(events);
        }
        _ => return None,
    }
    Some(ok)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let case = args.get(1).map_or("list", String::as_str);
    let n = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    if case == "list" {
        CASES.iter().for_each(|c| println!("{c}"));
        return ExitCode::SUCCESS;
    }
    match run(case, n) {
        Some(ok) => {
            println!("{case}: {n} calls, {ok} admitted and succeeded");
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("unknown case {case:?}; `icount list` shows the cases");
            ExitCode::FAILURE
        }
    }
}
