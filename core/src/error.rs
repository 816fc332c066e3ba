//! Errors: a configuration that makes no sense, and a manual transition that
//! makes no sense. Both are values, never panics. Also how the wrappers of a
//! call's own error ([`CallError`](crate::CallError),
//! [`TimeoutError`](crate::TimeoutError), [`RetryError`](crate::RetryError))
//! continue its error chain.

use crate::rate::write_percent;
use crate::State;

/// A configuration mistake, reported when the configuration is built.
///
/// One variant per mistake, each carrying the offending value (a variant
/// named `Zero…` stands for a zero). [`Display`](core::fmt::Display) shows
/// the value and how to fix it; [`as_str`](ConfigError::as_str) is a short
/// static message, for `const` contexts that cannot format.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::{Config, ConfigError, Rate};
///
/// let err = Config::builder().failure_rate(Rate::percent(150)).build().unwrap_err();
/// assert_eq!(err, ConfigError::FailureRateOutOfRange { permille: 1_500 });
/// assert_eq!(err.to_string(), "failure rate 150 % is out of range 0 % < rate <= 100 %");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ConfigError {
    /// No rule could ever trip the breaker.
    NoTripRule,
    /// `consecutive_failures(0)`.
    ZeroConsecutiveFailures,
    /// A failure-rate threshold of 0 % or above 100 %.
    FailureRateOutOfRange {
        /// The rate given, in permille.
        permille: u16,
    },
    /// A slow-call-rate threshold of 0 % or above 100 %.
    SlowCallRateOutOfRange {
        /// The rate given, in permille.
        permille: u16,
    },
    /// A zero slow-call duration.
    ZeroSlowCallDuration,
    /// `minimum_calls(0)`.
    ZeroMinimumCalls,
    /// An open duration below 1 ms.
    OpenDurationTooShort {
        /// The open duration given, in microseconds.
        open_us: u64,
    },
    /// A backoff factor outside
    /// [`Backoff::MIN_FACTOR_PERMILLE`](crate::Backoff::MIN_FACTOR_PERMILLE)`..=`[`Backoff::MAX_FACTOR_PERMILLE`](crate::Backoff::MAX_FACTOR_PERMILLE)
    /// (1× to 1000×).
    BackoffFactorOutOfRange {
        /// The factor given, in permille.
        permille: u32,
    },
    /// A backoff cap below the open duration.
    BackoffCapBelowOpenDuration {
        /// The cap given to `exponential_backoff`, in microseconds.
        cap_us: u64,
        /// The open duration, in microseconds.
        open_us: u64,
    },
    /// A jitter above 100 %.
    JitterOutOfRange {
        /// The jitter given, in permille.
        permille: u16,
    },
    /// `half_open_permits(0)`.
    ZeroHalfOpenPermits,
    /// `half_open_successes(0)`.
    ZeroHalfOpenSuccesses,
    /// More half-open successes required than probes admitted.
    HalfOpenSuccessesExceedPermits {
        /// The successes required.
        successes: u16,
        /// The probes admitted.
        permits: u16,
    },
    /// A zero half-open time limit.
    ZeroHalfOpenTimeLimit,
    /// A `max_retry_after` below 1 ms.
    MaxRetryAfterTooShort {
        /// The cap given, in microseconds.
        max_us: u64,
    },
    /// An initial state of `HalfOpen`.
    InvalidInitialState,
    /// A zero time-window span.
    ZeroWindowSpan,
    /// A time-window span shorter than one microsecond per bucket.
    WindowSpanTooShort {
        /// The span given, in microseconds.
        span_us: u64,
        /// The window's number of buckets.
        buckets: usize,
    },
}

impl ConfigError {
    /// What is wrong and how to fix it, as a short static message without
    /// the value (for `panic!` in a `const` item, which cannot format);
    /// [`Display`](core::fmt::Display) adds the value.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::ConfigError;
    /// let err = ConfigError::FailureRateOutOfRange { permille: 0 };
    /// assert_eq!(err.as_str(), "the failure rate must be above 0 % and at most 100 %");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            ConfigError::NoTripRule => "no trip rule: set consecutive_failures, failure_rate or slow_call_rate",
            ConfigError::ZeroConsecutiveFailures => "consecutive_failures must be at least 1",
            ConfigError::FailureRateOutOfRange { .. } => "the failure rate must be above 0 % and at most 100 %",
            ConfigError::SlowCallRateOutOfRange { .. } => "the slow-call rate must be above 0 % and at most 100 %",
            ConfigError::ZeroSlowCallDuration => "the slow-call duration must be above zero",
            ConfigError::ZeroMinimumCalls => "minimum_calls must be at least 1",
            ConfigError::OpenDurationTooShort { .. } => "the open duration must be at least 1 ms",
            ConfigError::BackoffFactorOutOfRange { .. } => "the backoff factor is in permille and must be in 1000..=1000000 (1x to 1000x)",
            ConfigError::BackoffCapBelowOpenDuration { .. } => "the backoff cap must be at least the open duration",
            ConfigError::JitterOutOfRange { .. } => "the jitter must be at most 100 %",
            ConfigError::ZeroHalfOpenPermits => "half_open_permits must be at least 1",
            ConfigError::ZeroHalfOpenSuccesses => "half_open_successes must be at least 1",
            ConfigError::HalfOpenSuccessesExceedPermits { .. } => "half_open_successes must not exceed half_open_permits, or half-open could never close",
            ConfigError::ZeroHalfOpenTimeLimit => "the half-open time limit must be above zero",
            ConfigError::MaxRetryAfterTooShort { .. } => "max_retry_after must be at least 1 ms",
            ConfigError::InvalidInitialState => "the initial state must not be HalfOpen (use Open to start open)",
            ConfigError::ZeroWindowSpan => "the time window's span must be above zero",
            ConfigError::WindowSpanTooShort { .. } => "the time window's span must be at least 1 microsecond per bucket",
        }
    }
}

impl core::fmt::Display for ConfigError {
    /// The mistake with its value, and the fix. Formats durations and
    /// rates (divisions): only an image that prints the error carries them.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use core::time::Duration;
        let us = Duration::from_micros;
        match *self {
            ConfigError::FailureRateOutOfRange { permille } => {
                f.write_str("failure rate ")?;
                write_percent(f, permille)?;
                f.write_str(" is out of range 0 % < rate <= 100 %")
            }
            ConfigError::SlowCallRateOutOfRange { permille } => {
                f.write_str("slow-call rate ")?;
                write_percent(f, permille)?;
                f.write_str(" is out of range 0 % < rate <= 100 %")
            }
            ConfigError::OpenDurationTooShort { open_us } => write!(
                f,
                "open duration {:?} is below the shortest, 1ms",
                us(open_us)
            ),
            ConfigError::BackoffFactorOutOfRange { permille } => write!(
                f,
                "backoff factor {permille} permille is out of range 1000..=1000000 permille (1x to 1000x)"
            ),
            ConfigError::BackoffCapBelowOpenDuration { cap_us, open_us } => write!(
                f,
                "backoff cap {:?} is below the open duration {:?}: raise the cap or shorten the open duration",
                us(cap_us),
                us(open_us)
            ),
            ConfigError::JitterOutOfRange { permille } => {
                f.write_str("jitter ")?;
                write_percent(f, permille)?;
                f.write_str(" is out of range 0 % <= jitter <= 100 %")
            }
            ConfigError::HalfOpenSuccessesExceedPermits { successes, permits } => write!(
                f,
                "half_open_successes {successes} exceeds half_open_permits {permits}: half-open could never close"
            ),
            ConfigError::MaxRetryAfterTooShort { max_us } => write!(
                f,
                "max_retry_after {:?} is below the shortest, 1ms",
                us(max_us)
            ),
            ConfigError::WindowSpanTooShort { span_us, buckets } => write!(
                f,
                "time window span {:?} is shorter than 1µs for each of its {buckets} buckets",
                us(span_us)
            ),
            ConfigError::NoTripRule
            | ConfigError::ZeroConsecutiveFailures
            | ConfigError::ZeroSlowCallDuration
            | ConfigError::ZeroMinimumCalls
            | ConfigError::ZeroHalfOpenPermits
            | ConfigError::ZeroHalfOpenSuccesses
            | ConfigError::ZeroHalfOpenTimeLimit
            | ConfigError::InvalidInitialState
            | ConfigError::ZeroWindowSpan => f.write_str(self.as_str()),
        }
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
