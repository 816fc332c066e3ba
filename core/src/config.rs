//! Thresholds and timings, validated once into a [`Config`].

use core::time::Duration;

use crate::clock::duration_to_micros;
use crate::{ConfigError, State};

/// What a counted-then-dropped permit becomes.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::{Config, OnCancel};
/// let cfg = Config::builder().consecutive_failures(3).on_cancel(OnCancel::CountAsFailure).build();
/// assert!(cfg.is_ok());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum OnCancel {
    /// Free the slot, count only in the `cancelled` metric (the default).
    #[default]
    Release,
    /// Count the cancelled call as a failure.
    CountAsFailure,
}

/// A validated breaker configuration: trip rules, open time, half-open probing.
///
/// Built with [`Config::builder`], which checks every value once and reports
/// a [`ConfigError`]; the breaker then only adds and compares integers. Every
/// step is `const`, so firmware can build it at compile time:
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use core::time::Duration;
/// use tripline::Config;
///
/// const CONFIG: Config = match Config::builder()
///     .consecutive_failures(5)
///     .failure_rate(500) // 50 %
///     .minimum_calls(10)
///     .open_duration(Duration::from_secs(5))
///     .exponential_backoff(2_000, Duration::from_secs(60)) // ×2, capped at 60 s
///     .build()
/// {
///     Ok(c) => c,
///     Err(e) => panic!("{}", e.as_str()), // a compile error, never a run-time panic
/// };
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Config {
    pub(crate) consecutive_failures: u32,
    pub(crate) failure_rate_permille: u16,
    pub(crate) slow_rate_permille: u16,
    pub(crate) slow_call_us: u64,
    pub(crate) minimum_calls: u32,
    pub(crate) open_us: u64,
    pub(crate) backoff_factor_permille: u32,
    pub(crate) max_open_us: u64,
    pub(crate) jitter_permille: u16,
    pub(crate) jitter_seed: u32,
    pub(crate) half_open_permits: u32,
    pub(crate) half_open_successes: u32,
    /// `u64::MAX`: no limit.
    pub(crate) half_open_limit_us: u64,
    pub(crate) on_cancel: OnCancel,
    /// The longest open time an outcome's own retry-after can ask for.
    pub(crate) max_retry_after_us: u64,
    pub(crate) initial_state: State,
    pub(crate) track_latency: bool,
}

impl Default for Config {
    /// Five failures in a row open the breaker for 30 s; one probe closes it.
    fn default() -> Self {
        Config::DEFAULT
    }
}

impl Config {
    /// The [`Default`] configuration, usable in `const` context.
    pub const DEFAULT: Config = Config {
        consecutive_failures: 5,
        failure_rate_permille: 0,
        slow_rate_permille: 0,
        slow_call_us: 0,
        minimum_calls: 10,
        open_us: 30_000_000,
        backoff_factor_permille: 1_000,
        max_open_us: 30_000_000,
        jitter_permille: 0,
        jitter_seed: 0x9E37_79B9,
        half_open_permits: 1,
        half_open_successes: 1,
        half_open_limit_us: u64::MAX,
        on_cancel: OnCancel::Release,
        max_retry_after_us: 600_000_000,
        initial_state: State::Closed,
        track_latency: false,
    };

    /// A builder with no trip rule yet and the [`DEFAULT`](Config::DEFAULT) timings.
    pub const fn builder() -> ConfigBuilder {
        let mut c = Config::DEFAULT;
        c.consecutive_failures = 0;
        ConfigBuilder { c, error: None }
    }

    /// Whether the breaker must time every call (a slow-call rule or latency tracking).
    #[must_use]
    pub const fn measures_durations(&self) -> bool {
        self.slow_rate_permille > 0 || self.track_latency
    }

    /// The configured minimum number of calls before rates count.
    #[must_use]
    pub const fn minimum_calls(&self) -> u32 {
        self.minimum_calls
    }

    /// How far ahead of the latest reading a clock may jump before the
    /// breaker checks it with a second reading: the longest time it can be
    /// open (the backoff cap, or the longest retry-after it obeys).
    #[must_use]
    pub const fn clock_horizon_us(&self) -> u64 {
        if self.max_open_us > self.max_retry_after_us {
            self.max_open_us
        } else {
            self.max_retry_after_us
        }
    }

    /// The initial state of a breaker built from this configuration.
    #[must_use]
    pub const fn initial_state(&self) -> State {
        self.initial_state
    }
}

/// Builds a [`Config`]; see there for an example. Every method is `const`.
#[derive(Clone, Copy, Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ConfigBuilder {
    c: Config,
    /// A mistake seen by a setter, reported by `build`.
    error: Option<ConfigError>,
}

impl ConfigBuilder {
    /// Trip after `n` failures in a row.
    pub const fn consecutive_failures(mut self, n: u32) -> Self {
        self.c.consecutive_failures = n;
        if n == 0 {
            self.error = Some(ConfigError::ZeroConsecutiveFailures);
        }
        self
    }

    /// Trip when failures reach `permille` per thousand calls in the window
    /// (inclusive), once it holds [`minimum_calls`](Self::minimum_calls).
    pub const fn failure_rate(mut self, permille: u16) -> Self {
        self.c.failure_rate_permille = permille;
        if permille == 0 {
            self.error = Some(ConfigError::FailureRateOutOfRange);
        }
        self
    }

    /// Trip when calls slower than `slower_than` reach `permille` per thousand
    /// calls in the window (inclusive). A call is slow when its duration is
    /// strictly greater than `slower_than`.
    pub const fn slow_call_rate(mut self, permille: u16, slower_than: Duration) -> Self {
        self.c.slow_rate_permille = permille;
        if permille == 0 {
            self.error = Some(ConfigError::SlowCallRateOutOfRange);
        }
        self.c.slow_call_us = duration_to_micros(slower_than);
        self
    }

    /// Rates count only once the window holds at least `n` calls (default 10).
    /// A count window smaller than `n` lowers it to its size.
    pub const fn minimum_calls(mut self, n: u32) -> Self {
        self.c.minimum_calls = n;
        self
    }

    /// How long to stay open (default 30 s): the fixed time, or the first
    /// step of the backoff.
    pub const fn open_duration(mut self, d: Duration) -> Self {
        self.c.open_us = duration_to_micros(d);
        if self.c.max_open_us < self.c.open_us && self.c.backoff_factor_permille == 1_000 {
            self.c.max_open_us = self.c.open_us;
        }
        self
    }

    /// Multiply the open time by `factor_permille / 1000` on every re-open
    /// from half-open, up to `max`; back to the first step once closed.
    pub const fn exponential_backoff(mut self, factor_permille: u32, max: Duration) -> Self {
        self.c.backoff_factor_permille = factor_permille;
        self.c.max_open_us = duration_to_micros(max);
        self
    }

    /// Spread each open time uniformly over ±`permille`/1000 of itself (before
    /// the cap), so that many breakers do not probe in lockstep.
    pub const fn jitter(mut self, permille: u16, seed: u32) -> Self {
        self.c.jitter_permille = permille;
        self.c.jitter_seed = seed;
        self
    }

    /// Admit at most `n` probes per half-open episode (default 1).
    pub const fn half_open_permits(mut self, n: u32) -> Self {
        self.c.half_open_permits = n;
        self
    }

    /// Close after `n` successful probes (default 1; at most the permits).
    pub const fn half_open_successes(mut self, n: u32) -> Self {
        self.c.half_open_successes = n;
        self
    }

    /// Re-open if a half-open episode lasts longer than `d`: the safety net
    /// for a probe whose result never comes back.
    pub const fn half_open_time_limit(mut self, d: Duration) -> Self {
        self.c.half_open_limit_us = duration_to_micros(d);
        self
    }

    /// What a cancelled (dropped) call counts as (default [`OnCancel::Release`]).
    pub const fn on_cancel(mut self, on_cancel: OnCancel) -> Self {
        self.c.on_cancel = on_cancel;
        self
    }

    /// The state a new breaker starts in (default `Closed`).
    pub const fn initial_state(mut self, state: State) -> Self {
        self.c.initial_state = state;
        self
    }

    /// Time every call and report the sum and maximum in the metrics, even
    /// without a slow-call rule.
    pub const fn track_latency(mut self, on: bool) -> Self {
        self.c.track_latency = on;
        self
    }

    /// Checks every value and returns the configuration.
    ///
    /// # Errors
    /// The first [`ConfigError`] found.
    pub const fn build(self) -> Result<Config, ConfigError> {
        let c = self.c;
        if let Some(e) = self.error {
            return Err(e);
        }
        if c.consecutive_failures == 0 && c.failure_rate_permille == 0 && c.slow_rate_permille == 0
        {
            return Err(ConfigError::NoTripRule);
        }
        if c.failure_rate_permille > 1_000 {
            return Err(ConfigError::FailureRateOutOfRange);
        }
        if c.slow_rate_permille > 1_000 {
            return Err(ConfigError::SlowCallRateOutOfRange);
        }
        if c.slow_rate_permille > 0 && c.slow_call_us == 0 {
            return Err(ConfigError::ZeroSlowCallDuration);
        }
        if c.minimum_calls == 0 {
            return Err(ConfigError::ZeroMinimumCalls);
        }
        if c.open_us < 1_000 {
            return Err(ConfigError::OpenDurationTooShort);
        }
        if c.backoff_factor_permille < 1_000 {
            return Err(ConfigError::BackoffFactorBelowOne);
        }
        if c.max_open_us < c.open_us {
            return Err(ConfigError::BackoffCapBelowOpenDuration);
        }
        if c.jitter_permille > 1_000 {
            return Err(ConfigError::JitterOutOfRange);
        }
        if c.half_open_permits == 0 {
            return Err(ConfigError::ZeroHalfOpenPermits);
        }
        if c.half_open_successes == 0 {
            return Err(ConfigError::ZeroHalfOpenSuccesses);
        }
        if c.half_open_successes > c.half_open_permits {
            return Err(ConfigError::HalfOpenSuccessesExceedPermits);
        }
        if c.half_open_limit_us == 0 {
            return Err(ConfigError::ZeroHalfOpenTimeLimit);
        }
        if matches!(c.initial_state, State::HalfOpen) {
            return Err(ConfigError::InvalidInitialState);
        }
        Ok(c)
    }
}
