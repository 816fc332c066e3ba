//! The reference model against the core: random configurations and random
//! sequences of acquire, record (success, failure, failure with its own open
//! time, ignored), cancel (drop), calls that take time, clock moves (forward,
//! backward, jumps near `u64::MAX`), manual states, `open_for` and `reset`,
//! compared after every step; see `model/reference.rs`.
//!
//! CI runs a fixed seed and a small budget. The long form (VERIFY.md):
//! `MODEL_CASES=1000000 cargo test --release -p tripline --test model`.
//! `MODEL_SEED` picks another seed.

#[path = "model/reference.rs"]
mod reference;

use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, RngSeed, TestRunner};
use reference::{check_both, Kind, Op, Spec};
use std::time::Duration;
use tripline::{Breaker, Config, CountWindow, Instant, MockClock, Outcome, State};

const MAX: u64 = u64::MAX;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A duration in µs: mostly small, sometimes huge.
fn micros() -> impl Strategy<Value = u64> {
    prop_oneof![
        6 => 0u64..5_000,
        3 => 1_000u64..20_000_000,
        1 => prop_oneof![Just(MAX), Just(MAX - 1), MAX - 10_000_000..=MAX, (1u64 << 40)..(1u64 << 63)],
    ]
}

fn open_micros() -> impl Strategy<Value = u64> {
    prop_oneof![
        6 => 1_000u64..5_000,
        3 => 5_000u64..10_000_000,
        1 => prop_oneof![Just(MAX), (1u64 << 40)..MAX],
    ]
}

fn state() -> impl Strategy<Value = State> {
    prop_oneof![
        Just(State::Closed),
        Just(State::Open),
        Just(State::HalfOpen),
        Just(State::ForcedOpen),
        Just(State::Disabled),
        Just(State::MetricsOnly),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    let rules = (
        prop::option::of(1u32..6),
        prop::option::of(prop_oneof![1u16..=1000, Just(1000), Just(500), Just(1)]),
        prop::option::of((prop_oneof![1u16..=1000, Just(1000)], 1u64..3_000)),
    )
        // At least one rule (without rejecting cases: a filter would run out
        // of proptest's reject budget over a million sequences).
        .prop_map(|(c, f, s)| match (c, f, s) {
            (None, None, None) => (Some(1), None, None),
            rules => rules,
        });
    let timing = (
        open_micros(),
        prop::option::of((1_000u32..3_500, open_micros())),
        prop::option::of((0u16..=1000, any::<u32>())),
        prop::option::of(prop_oneof![3 => 1u64..20_000, 1 => Just(MAX), 1 => (1u64 << 40)..MAX]),
    )
        .prop_map(|(open, backoff, jitter, limit)| {
            // Keep the cap at or above the open time most of the time.
            let backoff = backoff.map(|(f, max)| (f, max.max(open)));
            (open, backoff, jitter, limit)
        });
    let probing = (1u16..4, 1u16..4, any::<bool>()).prop_map(|(p, s, c)| (p, s.min(p), c));
    let time_window = prop_oneof![
        3 => Just(None),
        1 => (
            prop_oneof![Just(1usize), Just(3), Just(8)],
            prop_oneof![4 => 1u64..40_000, 2 => 40_000u64..20_000_000, 1 => (1u64 << 40)..MAX],
        )
            .prop_map(Some),
    ];
    let rest = (
        prop_oneof![Just(1usize), Just(4), Just(10)],
        time_window,
        1u32..12,
        prop_oneof![
            6 => Just(State::Closed),
            1 => Just(State::ForcedOpen),
            1 => Just(State::Disabled),
            1 => Just(State::MetricsOnly),
        ],
        any::<bool>(),
    );
    (rules, timing, probing, rest).prop_map(
        |(
            (cf, fr, sr),
            (open, backoff, jitter, limit),
            (p, s, cancel),
            (w, tw, min, init, lat),
        )| {
            Spec {
                window: w,
                time_window: tw,
                consecutive_failures: cf,
                failure_rate: fr,
                slow_rate: sr,
                minimum_calls: min,
                open_us: open,
                backoff,
                jitter,
                half_open_permits: p,
                half_open_successes: s,
                half_open_limit_us: limit,
                count_cancel_as_failure: cancel,
                initial_state: init,
                track_latency: lat,
            }
        },
    )
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        4 => Just(Kind::Success),
        4 => Just(Kind::Failure),
        1 => micros().prop_map(Kind::RetryAfter),
        1 => Just(Kind::Ignored),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => Just(Op::Acquire),
        8 => (any::<usize>(), kind()).prop_map(|(i, k)| Op::Record(i, k)),
        2 => any::<usize>().prop_map(Op::Cancel),
        6 => (kind(), prop_oneof![3 => 0u64..3_000, 1 => micros()]).prop_map(|(k, t)| Op::Call(k, t)),
        6 => micros().prop_map(Op::Advance),
        1 => prop_oneof![0u64..50_000_000, MAX - 20_000_000..=MAX, Just(MAX)].prop_map(Op::SetClock),
        1 => state().prop_map(Op::Transition),
        1 => micros().prop_map(Op::OpenFor),
        1 => Just(Op::Reset),
    ]
}

#[test]
fn the_core_matches_the_reference_model() {
    let cases = env_u64("MODEL_CASES", 4_000) as u32;
    let seed = env_u64("MODEL_SEED", 0x7419_11E5);
    let config = PtConfig {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        max_shrink_iters: 20_000,
        ..PtConfig::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(
        &(spec(), prop::collection::vec(op(), 1..160)),
        |(spec, ops)| {
            check_both(&spec, &ops).map_err(TestCaseError::fail)?;
            Ok(())
        },
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    println!("{cases} sequences matched the model (seed {seed})");
}

#[path = "model/bytes.rs"]
mod bytes;

/// The fuzz target's body (`fuzz/fuzz_targets/model.rs`) over pseudo-random
/// byte strings: the smoke test CI runs instead of libFuzzer (VERIFY.md).
#[test]
fn the_fuzz_target_holds_on_random_bytes() {
    let runs = env_u64("FUZZ_SMOKE_RUNS", 10_000);
    let mut x: u64 = env_u64("MODEL_SEED", 0x7419_11E5) | 1;
    let mut data = Vec::new();
    for run in 0..runs {
        data.clear();
        let len = 16 + (run % 600) as usize;
        for _ in 0..len {
            // xorshift64*: a fixed, reproducible byte stream.
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            data.push((x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8);
        }
        let (spec, ops) = bytes::decode(&data);
        if let Err(e) = check_both(&spec, &ops) {
            panic!("run {run}: {e}\n{spec:?}\n{ops:?}");
        }
    }
}

// ----- shrunk failures, kept -------------------------------------------------
//
// Each found a real difference between the core and the documented semantics;
// the core was fixed. The model replays the shrunk sequence, and a direct
// test states the decided behaviour without the model.

fn spec_base() -> Spec {
    Spec {
        window: 1,
        time_window: None,
        consecutive_failures: None,
        failure_rate: None,
        slow_rate: None,
        minimum_calls: 1,
        open_us: 1_000,
        backoff: None,
        jitter: None,
        half_open_permits: 1,
        half_open_successes: 1,
        half_open_limit_us: None,
        count_cancel_as_failure: false,
        initial_state: State::Closed,
        track_latency: false,
    }
}

/// Found: with no half-open time limit, a clock at `u64::MAX` timed the
/// half-open episode out (the "no limit" deadline saturates to `MAX`, and
/// `now >= MAX` held), re-opening with `HalfOpenTimeout` and turning the probe
/// stale. No limit configured means the episode never times out.
#[test]
fn regression_half_open_without_a_limit_at_the_end_of_time() {
    let spec = Spec {
        slow_rate: Some((1, 1)),
        ..spec_base()
    };
    let ops = [
        Op::Call(Kind::Success, 1),
        Op::Advance(u64::MAX),
        Op::OpenFor(0),
        Op::Call(Kind::Success, 0),
    ];
    check_both(&spec, &ops).unwrap();

    let clock = MockClock::new();
    let config = Config::builder().consecutive_failures(1).build().unwrap();
    let mut b = Breaker::new(config, CountWindow::<4>::new(), &clock);
    b.open_for(Duration::from_millis(1));
    clock.set(Instant::MAX);
    assert_eq!(b.state(), State::HalfOpen);
    let probe = b.try_acquire().expect("the probe is admitted");
    assert_eq!(b.state(), State::HalfOpen, "no limit: no time-out");
    assert_eq!(
        b.record(probe, Outcome::Success),
        tripline::Recorded::Counted
    );
    assert_eq!(b.state(), State::Closed);
}

/// Found: the backoff multiplied by a 16.16 fixed-point approximation of
/// `factor / 1000`, so 14,976 µs × 2.048 twice gave 62,811 µs instead of
/// ⌊30,670 × 2.048⌋ = 62,812 µs, and a saturating product made steps above
/// 2⁴⁸ µs shrink. The step is now exactly ⌊step × factor / 1000⌋, capped.
#[test]
fn regression_backoff_is_the_exact_product() {
    let spec = Spec {
        slow_rate: Some((1, 1)),
        open_us: 14_976,
        backoff: Some((2_048, 62_812)),
        ..spec_base()
    };
    let ops = [
        Op::OpenFor(0),
        Op::Advance(1_000),
        Op::Call(Kind::Success, 2),
        Op::Advance(30_670),
        Op::Call(Kind::Success, 2),
    ];
    check_both(&spec, &ops).unwrap();

    // Re-open from half-open again and again: each step is the exact product.
    let steps = |open_us: u64, factor: u32, max_us: u64, n: usize| {
        let clock = MockClock::new();
        let config = Config::builder()
            .consecutive_failures(1)
            .open_duration(Duration::from_micros(open_us))
            .exponential_backoff(factor, Duration::from_micros(max_us))
            .build()
            .unwrap();
        let mut b = Breaker::new(config, CountWindow::<4>::new(), &clock);
        let _ = b.call(|| Err::<(), _>(()));
        let mut seen = Vec::new();
        for _ in 0..n {
            let open = b.retry_after_micros().unwrap();
            seen.push(open);
            clock.advance(Duration::from_micros(open));
            let _ = b.call(|| Err::<(), _>(()));
        }
        seen
    };
    assert_eq!(steps(14_976, 2_048, 62_812, 3), [14_976, 30_670, 62_812]);
    assert_eq!(
        steps(1_000_000, 1_234, u64::MAX, 3),
        [1_000_000, 1_234_000, 1_522_756]
    );
    // Above 2⁴⁸ µs the steps still grow (they used to fall back to the first).
    let big = 1u64 << 50;
    assert_eq!(steps(big, 2_000, u64::MAX, 3), [big, big * 2, big * 4]);
}
