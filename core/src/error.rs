//! Errors: a configuration that makes no sense, and a manual transition that
//! makes no sense. Both are values, never panics. Also how the wrappers of a
//! call's own error ([`CallError`](crate::CallError),
//! [`TimeoutError`](crate::TimeoutError), [`RetryError`](crate::RetryError))
//! continue its error chain.

use crate::State;

/// A configuration mistake, reported when the configuration is built.
///
/// One variant per mistake, each with a message saying how to fix it.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::{Config, ConfigError};
///
/// let err = Config::builder().failure_rate(1_500).build().unwrap_err();
/// assert_eq!(err, ConfigError::FailureRateOutOfRange);
/// assert!(err.as_str().contains("1..=1000"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ConfigError {
    /// No rule could ever trip the breaker.
    NoTripRule,
    /// `consecutive_failures(0)`.
    ZeroConsecutiveFailures,
    /// A failure-rate threshold of 0 or above 1000 permille.
    FailureRateOutOfRange,
    /// A slow-call-rate threshold of 0 or above 1000 permille.
    SlowCallRateOutOfRange,
    /// A zero slow-call duration.
    ZeroSlowCallDuration,
    /// `minimum_calls(0)`.
    ZeroMinimumCalls,
    /// An open duration below 1 ms.
    OpenDurationTooShort,
    /// A backoff factor below 1000 permille (1.0×).
    BackoffFactorBelowOne,
    /// A backoff cap below the base open duration.
    BackoffCapBelowOpenDuration,
    /// A jitter above 1000 permille (±100 %).
    JitterOutOfRange,
    /// `half_open_permits(0)`.
    ZeroHalfOpenPermits,
    /// `half_open_successes(0)`.
    ZeroHalfOpenSuccesses,
    /// More half-open successes required than probes admitted.
    HalfOpenSuccessesExceedPermits,
    /// A zero half-open time limit.
    ZeroHalfOpenTimeLimit,
    /// An initial state of `Open` or `HalfOpen`.
    InvalidInitialState,
    /// A zero time-window span.
    ZeroWindowSpan,
    /// A time-window span shorter than one microsecond per bucket.
    WindowSpanTooShort,
}

impl ConfigError {
    /// What is wrong and how to fix it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            ConfigError::NoTripRule => "no trip rule: set consecutive_failures, failure_rate or slow_call_rate",
            ConfigError::ZeroConsecutiveFailures => "consecutive_failures must be at least 1",
            ConfigError::FailureRateOutOfRange => "failure_rate is in permille and must be in 1..=1000",
            ConfigError::SlowCallRateOutOfRange => "slow_call_rate is in permille and must be in 1..=1000",
            ConfigError::ZeroSlowCallDuration => "the slow-call duration must be above zero",
            ConfigError::ZeroMinimumCalls => "minimum_calls must be at least 1",
            ConfigError::OpenDurationTooShort => "the open duration must be at least 1 ms",
            ConfigError::BackoffFactorBelowOne => "the backoff factor is in permille and must be at least 1000 (1.0x)",
            ConfigError::BackoffCapBelowOpenDuration => "the backoff cap must be at least the open duration",
            ConfigError::JitterOutOfRange => "jitter is in permille and must be in 0..=1000",
            ConfigError::ZeroHalfOpenPermits => "half_open_permits must be at least 1",
            ConfigError::ZeroHalfOpenSuccesses => "half_open_successes must be at least 1",
            ConfigError::HalfOpenSuccessesExceedPermits => "half_open_successes must not exceed half_open_permits, or half-open could never close",
            ConfigError::ZeroHalfOpenTimeLimit => "the half-open time limit must be above zero",
            ConfigError::InvalidInitialState => "the initial state must be Closed, ForcedOpen, Disabled or MetricsOnly",
            ConfigError::ZeroWindowSpan => "the time window's span must be above zero",
            ConfigError::WindowSpanTooShort => "the time window's span must be at least 1 microsecond per bucket",
        }
    }
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for ConfigError {}

/// A manual transition that makes no sense, such as Closed → HalfOpen.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::{Breaker, Config, CountWindow, MockClock, State};
///
/// let clock = MockClock::new();
/// let mut breaker = Breaker::new(Config::default(), CountWindow::<10>::new(), &clock);
/// let err = breaker.transition_to(State::HalfOpen).unwrap_err();
/// assert_eq!((err.from, err.to), (State::Closed, State::HalfOpen));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TransitionError {
    /// The state the breaker was in (and still is).
    pub from: State,
    /// The state that was asked for.
    pub to: State,
}

impl core::fmt::Display for TransitionError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "cannot move a breaker from {} to {}: only an open breaker can be probed",
            self.from, self.to
        )
    }
}

impl core::error::Error for TransitionError {}

/// What a wrapper's `source()` returns for the error `e` it wraps.
///
/// The wrappers print `e`'s message as part of their own, so their source is
/// what comes after that message in the chain: `e`'s own source. The
/// wrappers implement `Error` for every `E: Debug + Display`, so that they
/// compose with tower's `BoxError` (a `Box<dyn Error + Send + Sync>`, which
/// is not itself an `Error`); without a trait bound on `E`, the chain can be
/// followed only for the boxed error types, which are recognised here (with
/// the `alloc` feature, which `tripline-std` turns on). Any other `E` ends
/// the chain; its value is still there, typed, through `into_inner`.
pub(crate) fn source_below<E: 'static>(e: &E) -> Option<&(dyn core::error::Error + 'static)> {
    #[cfg(feature = "alloc")]
    {
        use alloc::boxed::Box;
        use core::any::Any;
        use core::error::Error;
        let any: &dyn Any = e;
        if let Some(b) = any.downcast_ref::<Box<dyn Error + Send + Sync>>() {
            return b.source();
        }
        if let Some(b) = any.downcast_ref::<Box<dyn Error + Send>>() {
            return b.source();
        }
        if let Some(b) = any.downcast_ref::<Box<dyn Error>>() {
            return b.source();
        }
    }
    let _ = e;
    None
}
