//! Thresholds and timings, validated once into a [`Config`].

use core::time::Duration;

use crate::backoff::factor_in_range;
use crate::clock::duration_to_micros;
use crate::policy::MIN_OPEN_US;
use crate::{ConfigError, Rate, State};

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
/// use tripline::{Config, Rate};
///
/// const CONFIG: Config = match Config::builder()
///     .consecutive_failures(5)
///     .failure_rate(Rate::percent(50))
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
    /// The factor as a whole number (2 for 2000 ‰), or 0 if it is not one:
    /// a whole factor's step is a product, without a division.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub(crate) backoff_whole: u16,
    pub(crate) max_open_us: u64,
    pub(crate) jitter_permille: u16,
    pub(crate) jitter_seed: u32,
    pub(crate) half_open_permits: u16,
    pub(crate) half_open_successes: u16,
    /// `u64::MAX`: no limit.
    pub(crate) half_open_limit_us: u64,
    pub(crate) on_cancel: OnCancel,
    pub(crate) initial_state: State,
    pub(crate) track_latency: bool,
    /// The longest open time an outcome carrying its own retry-after can ask for.
    pub(crate) max_retry_after_us: u64,
}

/// The default of [`ConfigBuilder::max_retry_after`]: 10 minutes.
const DEFAULT_MAX_RETRY_AFTER_US: u64 = 600_000_000;

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
        backoff_whole: 1,
        max_open_us: 30_000_000,
        jitter_permille: 0,
        jitter_seed: 0x9E37_79B9,
        half_open_permits: 1,
        half_open_successes: 1,
        half_open_limit_us: u64::MAX,
        on_cancel: OnCancel::Release,
        initial_state: State::Closed,
        track_latency: false,
        max_retry_after_us: DEFAULT_MAX_RETRY_AFTER_US,
    };

    /// A builder with no trip rule yet and the [`DEFAULT`](Config::DEFAULT) timings.
    pub const fn builder() -> ConfigBuilder {
        ConfigBuilder {
            c: Config::DEFAULT,
            consecutive_failures: None,
            failure_rate: None,
            slow_call_rate: None,
            backoff: None,
            jitter: Rate::permille(0),
        }
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
///
/// Setters only store their value, and a later call replaces an earlier one;
/// [`build`](ConfigBuilder::build) checks everything once, so the order of
/// the calls never matters:
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::Config;
/// assert!(Config::builder().consecutive_failures(0).consecutive_failures(5).build().is_ok());
/// ```
#[derive(Clone, Copy, Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ConfigBuilder {
    /// Every value without a "not set" meaning.
    c: Config,
    consecutive_failures: Option<u32>,
    failure_rate: Option<Rate>,
    slow_call_rate: Option<Rate>,
    /// (factor permille, cap µs), from `exponential_backoff`.
    backoff: Option<(u32, u64)>,
    jitter: Rate,
}

impl ConfigBuilder {
    /// Trip after `n` failures in a row (at least 1).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::{Config, ConfigError};
    /// assert!(Config::builder().consecutive_failures(3).build().is_ok());
    /// assert_eq!(
    ///     Config::builder().consecutive_failures(0).build(),
    ///     Err(ConfigError::ZeroConsecutiveFailures)
    /// );
    /// ```
    pub const fn consecutive_failures(mut self, n: u32) -> Self {
        self.consecutive_failures = Some(n);
        self
    }

    /// Trip when the failures reach `rate` of the calls in the window
    /// (inclusive), once it holds [`minimum_calls`](Self::minimum_calls).
    /// Valid rates: above 0 %, at most 100 %.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::{Config, Rate};
    /// let config = Config::builder().failure_rate(Rate::percent(50)).minimum_calls(20).build();
    /// assert!(config.is_ok());
    /// ```
    pub const fn failure_rate(mut self, rate: Rate) -> Self {
        self.failure_rate = Some(rate);
        self
    }

    /// Trip when the calls slower than `slower_than` reach `rate` of the
    /// calls in the window (inclusive). A call is slow when its duration is
    /// strictly greater than `slower_than` (which must be above zero).
    /// Valid rates: above 0 %, at most 100 %.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::time::Duration;
    /// use tripline::{Config, Rate};
    /// let config = Config::builder()
    ///     .slow_call_rate(Rate::percent(80), Duration::from_secs(2))
    ///     .build()
    ///     .unwrap();
    /// assert!(config.measures_durations());
    /// ```
    pub const fn slow_call_rate(mut self, rate: Rate, slower_than: Duration) -> Self {
        self.slow_call_rate = Some(rate);
        self.c.slow_call_us = duration_to_micros(slower_than);
        self
    }

    /// Rates count only once the window holds at least `n` calls (default 10).
    /// A count window smaller than `n` lowers it to its size.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::{Config, Rate};
    /// let config = Config::builder().failure_rate(Rate::percent(25)).minimum_calls(40).build().unwrap();
    /// assert_eq!(config.minimum_calls(), 40);
    /// ```
    pub const fn minimum_calls(mut self, n: u32) -> Self {
        self.c.minimum_calls = n;
        self
    }

    /// How long to stay open (default 30 s, at least 1 ms): the fixed time,
    /// or the first step of the [`exponential_backoff`](Self::exponential_backoff).
    ///
    /// Without `exponential_backoff` the open time is fixed and the cap on
    /// a jittered open time follows it: the larger of the open duration and
    /// 30 s. With it, the cap is the one given there, and a cap below the
    /// open duration is an error, never silently raised.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::time::Duration;
    /// use tripline::{Config, ConfigError};
    /// let one = || Config::builder().consecutive_failures(1);
    /// assert!(one().open_duration(Duration::from_secs(90)).build().is_ok());
    /// let capped = one()
    ///     .exponential_backoff(2_000, Duration::from_secs(60))
    ///     .open_duration(Duration::from_secs(90))
    ///     .build();
    /// assert_eq!(
    ///     capped,
    ///     Err(ConfigError::BackoffCapBelowOpenDuration { cap_us: 60_000_000, open_us: 90_000_000 })
    /// );
    /// ```
    pub const fn open_duration(mut self, d: Duration) -> Self {
        self.c.open_us = duration_to_micros(d);
        self
    }

    /// Multiply the open time by `factor_permille / 1000` on every re-open
    /// from half-open, up to `max` (at least the open duration); back to the
    /// first step once closed. The factor is in
    /// [`Backoff::MIN_FACTOR_PERMILLE`](crate::Backoff::MIN_FACTOR_PERMILLE)`..=`[`Backoff::MAX_FACTOR_PERMILLE`](crate::Backoff::MAX_FACTOR_PERMILLE)
    /// (1× to 1000×), the same range as a retry [`Backoff`](crate::Backoff)'s.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::time::Duration;
    /// use tripline::{Config, ConfigError};
    /// let one = || Config::builder().consecutive_failures(1);
    /// assert!(one().exponential_backoff(2_000, Duration::from_secs(60)).build().is_ok());
    /// assert_eq!(
    ///     one().exponential_backoff(999, Duration::from_secs(60)).build(),
    ///     Err(ConfigError::BackoffFactorOutOfRange { permille: 999 })
    /// );
    /// ```
    pub const fn exponential_backoff(mut self, factor_permille: u32, max: Duration) -> Self {
        self.backoff = Some((factor_permille, duration_to_micros(max)));
        self
    }

    /// Spread each open time uniformly over ±`rate` of itself (at most
    /// 100 %; default 0 %), before the cap, so that many breakers do not
    /// probe in lockstep. `seed` picks the sequence: the same seed gives the
    /// same open times.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::{Config, Rate};
    /// let config = Config::builder().consecutive_failures(3).jitter(Rate::percent(10), 7).build();
    /// assert!(config.is_ok());
    /// ```
    pub const fn jitter(mut self, rate: Rate, seed: u32) -> Self {
        self.jitter = rate;
        self.c.jitter_seed = seed;
        self
    }

    /// Admit at most `n` probes per half-open episode (default 1).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::Config;
    /// assert!(Config::builder().consecutive_failures(3).half_open_permits(3).build().is_ok());
    /// ```
    pub const fn half_open_permits(mut self, n: u16) -> Self {
        self.c.half_open_permits = n;
        self
    }

    /// Close after `n` successful probes (default 1; at most the permits).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::{Config, ConfigError};
    /// let b = Config::builder().consecutive_failures(3).half_open_permits(2);
    /// assert!(b.half_open_successes(2).build().is_ok());
    /// assert_eq!(
    ///     b.half_open_successes(3).build(),
    ///     Err(ConfigError::HalfOpenSuccessesExceedPermits { successes: 3, permits: 2 })
    /// );
    /// ```
    pub const fn half_open_successes(mut self, n: u16) -> Self {
        self.c.half_open_successes = n;
        self
    }

    /// Re-open if a half-open episode lasts longer than `d`: the safety net
    /// for a probe whose result never comes back.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::time::Duration;
    /// use tripline::Config;
    /// let b = Config::builder().consecutive_failures(3);
    /// assert!(b.half_open_time_limit(Duration::from_secs(10)).build().is_ok());
    /// ```
    pub const fn half_open_time_limit(mut self, d: Duration) -> Self {
        self.c.half_open_limit_us = duration_to_micros(d);
        self
    }

    /// The longest open time an outcome carrying its own retry-after
    /// (`Outcome::FailureRetryAfter`) can ask for (default 10 minutes, at
    /// least 1 ms): a server's `Retry-After` of a day does not keep the
    /// breaker open for a day.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::time::Duration;
    /// use tripline::{Config, ConfigError};
    /// let b = Config::builder().consecutive_failures(3);
    /// assert!(b.max_retry_after(Duration::from_secs(120)).build().is_ok());
    /// assert_eq!(
    ///     b.max_retry_after(Duration::from_micros(999)).build(),
    ///     Err(ConfigError::MaxRetryAfterTooShort { max_us: 999 })
    /// );
    /// ```
    pub const fn max_retry_after(mut self, max: Duration) -> Self {
        self.c.max_retry_after_us = duration_to_micros(max);
        self
    }

    /// What a cancelled (dropped) call counts as (default [`OnCancel::Release`]).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::{Config, OnCancel};
    /// let b = Config::builder().consecutive_failures(3);
    /// assert!(b.on_cancel(OnCancel::CountAsFailure).build().is_ok());
    /// ```
    pub const fn on_cancel(mut self, on_cancel: OnCancel) -> Self {
        self.c.on_cancel = on_cancel;
        self
    }

    /// The state a new breaker starts in (default `Closed`). `Open` starts
    /// open for the first open duration (without jitter) from the breaker's
    /// first operation, at backoff step 1, with no event until something
    /// changes; `HalfOpen` is a [`ConfigError::InvalidInitialState`] (there
    /// is nothing to probe yet).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::{Config, State};
    /// let config = Config::builder().consecutive_failures(3).initial_state(State::Disabled).build();
    /// assert_eq!(config.unwrap().initial_state(), State::Disabled);
    /// ```
    pub const fn initial_state(mut self, state: State) -> Self {
        self.c.initial_state = state;
        self
    }

    /// Time every call and report the sum and maximum in the metrics, even
    /// without a slow-call rule.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::Config;
    /// let config = Config::builder().consecutive_failures(3).track_latency(true).build().unwrap();
    /// assert!(config.measures_durations());
    /// ```
    pub const fn track_latency(mut self, on: bool) -> Self {
        self.c.track_latency = on;
        self
    }

    /// Checks every value and returns the configuration.
    ///
    /// # Errors
    /// The first [`ConfigError`] found, carrying the offending value.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::{Config, ConfigError, Rate};
    /// let err = Config::builder().failure_rate(Rate::permille(0)).build().unwrap_err();
    /// assert_eq!(err, ConfigError::FailureRateOutOfRange { permille: 0 });
    /// ```
    pub const fn build(self) -> Result<Config, ConfigError> {
        let mut c = self.c;
        c.consecutive_failures = match self.consecutive_failures {
            Some(0) => return Err(ConfigError::ZeroConsecutiveFailures),
            Some(n) => n,
            None => 0,
        };
        c.failure_rate_permille = match self.failure_rate {
            Some(rate) => match threshold(rate) {
                Some(permille) => permille,
                None => {
                    return Err(ConfigError::FailureRateOutOfRange {
                        permille: rate.as_permille(),
                    })
                }
            },
            None => 0,
        };
        c.slow_rate_permille = match self.slow_call_rate {
            Some(rate) => match threshold(rate) {
                Some(permille) => permille,
                None => {
                    return Err(ConfigError::SlowCallRateOutOfRange {
                        permille: rate.as_permille(),
                    })
                }
            },
            None => 0,
        };
        if c.consecutive_failures == 0 && c.failure_rate_permille == 0 && c.slow_rate_permille == 0
        {
            return Err(ConfigError::NoTripRule);
        }
        if c.slow_rate_permille > 0 && c.slow_call_us == 0 {
            return Err(ConfigError::ZeroSlowCallDuration);
        }
        if c.minimum_calls == 0 {
            return Err(ConfigError::ZeroMinimumCalls);
        }
        if c.open_us < MIN_OPEN_US {
            return Err(ConfigError::OpenDurationTooShort { open_us: c.open_us });
        }
        match self.backoff {
            Some((factor_permille, cap_us)) => {
                if !factor_in_range(factor_permille) {
                    return Err(ConfigError::BackoffFactorOutOfRange {
                        permille: factor_permille,
                    });
                }
                if cap_us < c.open_us {
                    return Err(ConfigError::BackoffCapBelowOpenDuration {
                        cap_us,
                        open_us: c.open_us,
                    });
                }
                c.backoff_factor_permille = factor_permille;
                // In range, the factor is at most 1,000,000: its whole part fits.
                #[allow(clippy::cast_possible_truncation)]
                let whole = (factor_permille / 1_000) as u16;
                c.backoff_whole = if factor_permille % 1_000 == 0 {
                    whole
                } else {
                    0
                };
                c.max_open_us = cap_us;
            }
            None => {
                c.backoff_factor_permille = Config::DEFAULT.backoff_factor_permille;
                c.backoff_whole = Config::DEFAULT.backoff_whole;
                c.max_open_us = if c.open_us > Config::DEFAULT.max_open_us {
                    c.open_us
                } else {
                    Config::DEFAULT.max_open_us
                };
            }
        }
        if self.jitter.as_permille() > 1_000 {
            return Err(ConfigError::JitterOutOfRange {
                permille: self.jitter.as_permille(),
            });
        }
        c.jitter_permille = self.jitter.as_permille();
        if c.half_open_permits == 0 {
            return Err(ConfigError::ZeroHalfOpenPermits);
        }
        if c.half_open_successes == 0 {
            return Err(ConfigError::ZeroHalfOpenSuccesses);
        }
        if c.half_open_successes > c.half_open_permits {
            return Err(ConfigError::HalfOpenSuccessesExceedPermits {
                successes: c.half_open_successes,
                permits: c.half_open_permits,
            });
        }
        if c.half_open_limit_us == 0 {
            return Err(ConfigError::ZeroHalfOpenTimeLimit);
        }
        if c.max_retry_after_us < MIN_OPEN_US {
            return Err(ConfigError::MaxRetryAfterTooShort {
                max_us: c.max_retry_after_us,
            });
        }
        if matches!(c.initial_state, State::HalfOpen) {
            return Err(ConfigError::InvalidInitialState);
        }
        Ok(c)
    }
}

/// A threshold's permille, if it is above 0 % and at most 100 %.
const fn threshold(rate: Rate) -> Option<u16> {
    match rate.as_permille() {
        p @ 1..=1_000 => Some(p),
        _ => None,
    }
}
