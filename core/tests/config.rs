//! The configuration builder: every error reachable with its value, the
//! messages, a later call replacing an earlier one, and `const` use.

use core::time::Duration;

use tripline_core::{Backoff, BackoffError, Config, ConfigError, Jitter, Rate, State, TimeWindow};

fn one() -> tripline_core::ConfigBuilder {
    Config::builder().consecutive_failures(1)
}

const CONFIG: Config = match Config::builder()
    .failure_rate(Rate::percent(50))
    .slow_call_rate(Rate::permille(25), Duration::from_secs(2))
    .jitter(Rate::percent(10), 7)
    .build()
{
    Ok(c) => c,
    Err(e) => panic!("{}", e.as_str()),
};

/// A `Rate` out of range is a `const` value like any other: the error comes
/// from `build`, also in a `const` item.
const TOO_HIGH: Result<Config, ConfigError> =
    Config::builder().failure_rate(Rate::percent(101)).build();

#[test]
fn a_const_config_takes_rates() {
    assert_eq!(CONFIG.minimum_calls(), 10);
    assert!(CONFIG.measures_durations());
    assert_eq!(
        TOO_HIGH,
        Err(ConfigError::FailureRateOutOfRange { permille: 1_010 })
    );
}

#[test]
fn rate_constructors_keep_the_value_and_build_rejects_it() {
    // Neither saturated nor clamped: the builder sees what was written.
    assert_eq!(Rate::percent(150).as_permille(), 1_500);
    assert_eq!(Rate::permille(1_500), Rate::percent(150));
    assert_eq!(
        Config::builder()
            .failure_rate(Rate::permille(1_500))
            .build(),
        Err(ConfigError::FailureRateOutOfRange { permille: 1_500 })
    );
    assert_eq!(
        Backoff::fixed(Duration::from_secs(1))
            .jitter(Jitter::Bounded(Rate::percent(101)))
            .build(),
        Err(BackoffError::JitterOutOfRange)
    );
    // 0 % is a valid jitter but not a valid threshold.
    assert!(one().jitter(Rate::percent(0), 1).build().is_ok());
    assert_eq!(
        Config::builder().failure_rate(Rate::percent(0)).build(),
        Err(ConfigError::FailureRateOutOfRange { permille: 0 })
    );
}

/// Every variant, built through the public API, with its value and its
/// message showing that value.
#[test]
fn every_error_is_reachable_and_shows_its_value() {
    let b = Config::builder;
    let secs = Duration::from_secs;
    let cases: [(Result<Config, ConfigError>, ConfigError, &str); 19] = [
        (
            b().build(),
            ConfigError::NoTripRule,
            "no trip rule: set consecutive_failures, failure_rate or slow_call_rate",
        ),
        (
            b().consecutive_failures(0).build(),
            ConfigError::ZeroConsecutiveFailures,
            "consecutive_failures must be at least 1",
        ),
        (
            b().failure_rate(Rate::percent(150)).build(),
            ConfigError::FailureRateOutOfRange { permille: 1_500 },
            "failure rate 150 % is out of range 0 % < rate <= 100 %",
        ),
        (
            b().slow_call_rate(Rate::permille(1_005), secs(1)).build(),
            ConfigError::SlowCallRateOutOfRange { permille: 1_005 },
            "slow-call rate 100.5 % is out of range 0 % < rate <= 100 %",
        ),
        (
            b().slow_call_rate(Rate::percent(50), Duration::ZERO).build(),
            ConfigError::ZeroSlowCallDuration,
            "the slow-call duration must be above zero",
        ),
        (
            one().minimum_calls(0).build(),
            ConfigError::ZeroMinimumCalls,
            "minimum_calls must be at least 1",
        ),
        (
            one().open_duration(Duration::from_micros(999)).build(),
            ConfigError::OpenDurationTooShort { open_us: 999 },
            "open duration 999µs is below the shortest, 1ms",
        ),
        (
            one().exponential_backoff(999, secs(60)).build(),
            ConfigError::BackoffFactorOutOfRange { permille: 999 },
            "backoff factor 999 permille is out of range 1000..=1000000 permille (1x to 1000x)",
        ),
        (
            one()
                .exponential_backoff(Backoff::MAX_FACTOR_PERMILLE + 1, secs(60))
                .build(),
            ConfigError::BackoffFactorOutOfRange {
                permille: 1_000_001,
            },
            "backoff factor 1000001 permille is out of range 1000..=1000000 permille (1x to 1000x)",
        ),
        (
            one()
                .open_duration(secs(10))
                .exponential_backoff(2_000, secs(5))
                .build(),
            ConfigError::BackoffCapBelowOpenDuration {
                cap_us: 5_000_000,
                open_us: 10_000_000,
            },
            "backoff cap 5s is below the open duration 10s: raise the cap or shorten the open duration",
        ),
        (
            one().jitter(Rate::permille(1_001), 0).build(),
            ConfigError::JitterOutOfRange { permille: 1_001 },
            "jitter 100.1 % is out of range 0 % <= jitter <= 100 %",
        ),
        (
            one().half_open_permits(0).build(),
            ConfigError::ZeroHalfOpenPermits,
            "half_open_permits must be at least 1",
        ),
        (
            one().half_open_successes(0).build(),
            ConfigError::ZeroHalfOpenSuccesses,
            "half_open_successes must be at least 1",
        ),
        (
            one().half_open_permits(2).half_open_successes(3).build(),
            ConfigError::HalfOpenSuccessesExceedPermits {
                successes: 3,
                permits: 2,
            },
            "half_open_successes 3 exceeds half_open_permits 2: half-open could never close",
        ),
        (
            one().half_open_time_limit(Duration::ZERO).build(),
            ConfigError::ZeroHalfOpenTimeLimit,
            "the half-open time limit must be above zero",
        ),
        (
            one().max_retry_after(Duration::from_micros(999)).build(),
            ConfigError::MaxRetryAfterTooShort { max_us: 999 },
            "max_retry_after 999µs is below the shortest, 1ms",
        ),
        (
            one().initial_state(State::HalfOpen).build(),
            ConfigError::InvalidInitialState,
            "the initial state must not be HalfOpen (use Open to start open)",
        ),
        (
            TimeWindow::<4>::new(Duration::ZERO).map(|_| Config::DEFAULT),
            ConfigError::ZeroWindowSpan,
            "the time window's span must be above zero",
        ),
        (
            TimeWindow::<4>::new(Duration::from_micros(3)).map(|_| Config::DEFAULT),
            ConfigError::WindowSpanTooShort {
                span_us: 3,
                buckets: 4,
            },
            "time window span 3µs is shorter than 1µs for each of its 4 buckets",
        ),
    ];
    for (i, (got, want, text)) in cases.into_iter().enumerate() {
        assert_eq!(got, Err(want), "case {i}");
        assert_eq!(want.to_string(), text, "case {i}");
        assert!(!want.as_str().is_empty(), "case {i}");
    }
}

#[test]
fn the_edges_that_are_allowed() {
    let ms = Duration::from_millis;
    assert!(Config::builder()
        .failure_rate(Rate::percent(100))
        .build()
        .is_ok());
    assert!(Config::builder()
        .failure_rate(Rate::permille(1))
        .build()
        .is_ok());
    assert!(one().open_duration(ms(1)).build().is_ok());
    assert!(one().max_retry_after(ms(1)).build().is_ok());
    assert!(one().jitter(Rate::percent(100), 0).build().is_ok());
    assert!(one()
        .open_duration(ms(5))
        .exponential_backoff(Backoff::MIN_FACTOR_PERMILLE, ms(5))
        .build()
        .is_ok());
    assert!(one()
        .exponential_backoff(Backoff::MAX_FACTOR_PERMILLE, Duration::from_secs(60))
        .build()
        .is_ok());
}

/// One range for both backoffs: what one accepts, the other accepts.
#[test]
fn both_backoffs_accept_the_same_factors() {
    for factor in [
        0,
        999,
        1_000,
        1_001,
        2_000,
        999_999,
        1_000_000,
        1_000_001,
        u32::MAX,
    ] {
        let retry = Backoff::exponential(Duration::from_millis(1), factor)
            .build()
            .is_ok();
        let breaker = one()
            .exponential_backoff(factor, Duration::from_secs(60))
            .build()
            .is_ok();
        assert_eq!(retry, breaker, "factor {factor}");
        assert_eq!(
            retry,
            (Backoff::MIN_FACTOR_PERMILLE..=Backoff::MAX_FACTOR_PERMILLE).contains(&factor),
            "factor {factor}"
        );
    }
}

#[test]
fn a_later_call_replaces_an_earlier_one_errors_included() {
    let secs = Duration::from_secs;
    assert!(Config::builder()
        .consecutive_failures(0)
        .consecutive_failures(5)
        .build()
        .is_ok());
    assert!(Config::builder()
        .failure_rate(Rate::percent(0))
        .failure_rate(Rate::percent(50))
        .build()
        .is_ok());
    assert!(Config::builder()
        .slow_call_rate(Rate::percent(200), Duration::ZERO)
        .slow_call_rate(Rate::percent(50), secs(1))
        .build()
        .is_ok());
    assert!(one()
        .jitter(Rate::percent(200), 1)
        .jitter(Rate::percent(20), 1)
        .build()
        .is_ok());
    assert!(one()
        .exponential_backoff(10, secs(1))
        .exponential_backoff(2_000, secs(60))
        .build()
        .is_ok());
    assert!(one()
        .max_retry_after(Duration::ZERO)
        .max_retry_after(secs(1))
        .build()
        .is_ok());
    // And the other way round: a later bad value is the error.
    assert_eq!(
        one().minimum_calls(5).minimum_calls(0).build(),
        Err(ConfigError::ZeroMinimumCalls)
    );
}

#[test]
fn the_order_of_calls_does_not_matter() {
    let secs = Duration::from_secs;
    let a = one()
        .open_duration(secs(10))
        .exponential_backoff(2_000, secs(60))
        .build();
    let b = one()
        .exponential_backoff(2_000, secs(60))
        .open_duration(secs(10))
        .build();
    assert!(a.is_ok());
    assert_eq!(a, b);
}

/// An open duration never raises a cap the user set; without a backoff the
/// cap follows the fixed open time.
#[test]
fn open_duration_never_raises_an_explicit_cap() {
    let secs = Duration::from_secs;
    let want = Err(ConfigError::BackoffCapBelowOpenDuration {
        cap_us: 10_000_000,
        open_us: 20_000_000,
    });
    // Factor 1.0 used to be raised silently.
    for factor in [1_000, 2_000] {
        assert_eq!(
            one()
                .exponential_backoff(factor, secs(10))
                .open_duration(secs(20))
                .build(),
            want
        );
        assert_eq!(
            one()
                .open_duration(secs(20))
                .exponential_backoff(factor, secs(10))
                .build(),
            want
        );
    }
    assert!(one().open_duration(secs(3_600)).build().is_ok());
}

#[test]
fn max_retry_after_defaults_to_ten_minutes() {
    let secs = Duration::from_secs;
    // The default is a valid value in its own right.
    assert_eq!(one().build(), one().max_retry_after(secs(600)).build());
    assert_ne!(one().build(), one().max_retry_after(secs(60)).build());
}
