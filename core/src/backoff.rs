//! [`Backoff`]: how long to wait between retries — fixed, linear or
//! exponential, capped, optionally jittered — in integers only.
//!
//! A `Backoff` is a small `Copy` value validated once (every constructor and
//! setter is `const`, so firmware builds it at compile time). Its
//! [`delays`](Backoff::delays) are an endless iterator of waits, the same
//! sequence every time for the same seed: tests can assert it exactly, and
//! a fleet that seeds each device differently does not retry in lockstep.
//!
//! No float (a Cortex-M0 has no FPU) and no division while iterating: the
//! growth factor and the jitter bound are turned into fixed-point
//! multipliers when the backoff is built.

use core::time::Duration;

use crate::clock::duration_to_micros;
use crate::policy::{mix, mul_shift32};
use crate::Rate;

/// How a [`Backoff`] spreads its delays, so that many clients that failed
/// together do not retry together.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use core::time::Duration;
/// use tripline::{Backoff, Jitter, Rate};
///
/// let backoff = Backoff::fixed(Duration::from_millis(100))
///     .jitter(Jitter::Bounded(Rate::percent(20))) // 80 ms ..= 120 ms
///     .build()
///     .unwrap();
/// for d in backoff.delays(7).take(100) {
///     assert!(d >= Duration::from_millis(80) && d <= Duration::from_millis(120));
/// }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum Jitter {
    /// Every delay is exactly the computed step.
    #[default]
    None,
    /// "Full jitter" (the AWS Architecture Blog's name for it): uniform in
    /// `0 ..= step`. Spreads retries the most; the average wait halves.
    Full,
    /// Uniform in `step ± step × rate` (at most 100 %), then capped by the
    /// maximum delay.
    Bounded(Rate),
}

/// A [`Backoff`] that makes no sense, reported by
/// [`BackoffBuilder::build`] (and a retry policy with no attempt, by
/// [`RetryPolicy::new`](crate::RetryPolicy::new)).
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use core::time::Duration;
/// use tripline::{Backoff, BackoffError};
///
/// let err = Backoff::exponential(Duration::from_millis(10), 500).build().unwrap_err();
/// assert_eq!(err, BackoffError::FactorOutOfRange);
/// assert!(err.as_str().contains("1000..=1000000"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum BackoffError {
    /// An exponential factor below [`Backoff::MIN_FACTOR_PERMILLE`] (1×:
    /// delays would shrink) or above [`Backoff::MAX_FACTOR_PERMILLE`] (1000×).
    FactorOutOfRange,
    /// An exponential backoff starting at zero: every delay would be zero.
    ZeroExponentialStart,
    /// A maximum delay below the first delay.
    MaxBelowInitial,
    /// [`Jitter::Bounded`] above 100 %.
    JitterOutOfRange,
    /// A retry policy of zero attempts: not even the first call would run.
    ZeroAttempts,
}

impl BackoffError {
    /// What is wrong and how to fix it.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::BackoffError;
    /// assert!(BackoffError::ZeroAttempts.as_str().contains("at least 1"));
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            BackoffError::FactorOutOfRange => {
                "the exponential factor is in permille and must be in 1000..=1000000 (1x to 1000x)"
            }
            BackoffError::ZeroExponentialStart => {
                "an exponential backoff must start above zero, or every delay is zero"
            }
            BackoffError::MaxBelowInitial => "the maximum delay must be at least the first delay",
            BackoffError::JitterOutOfRange => "bounded jitter must be at most 100 %",
            BackoffError::ZeroAttempts => "a retry policy needs at least 1 attempt",
        }
    }
}

impl core::fmt::Display for BackoffError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for BackoffError {}

/// How the un-jittered step grows from one delay to the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
enum Growth {
    Fixed,
    Linear {
        step_us: u64,
    },
    Exponential {
        factor_permille: u32,
        /// `ceil(factor_permille × 2⁴⁸ / 1000)`: the factor as a 16.48
        /// fixed-point multiplier, computed once when built.
        #[cfg_attr(feature = "serde", serde(skip))]
        q48: u64,
    },
}

/// Fraction bits of the exponential multiplier.
const FACTOR_SHIFT: u32 = 48;
/// Whether an exponential factor is in [`Backoff::MIN_FACTOR_PERMILLE`]`..=`[`Backoff::MAX_FACTOR_PERMILLE`]:
/// the one range of [`Backoff::exponential`] and of the breaker's
/// [`exponential_backoff`](crate::ConfigBuilder::exponential_backoff).
pub(crate) const fn factor_in_range(factor_permille: u32) -> bool {
    factor_permille >= Backoff::MIN_FACTOR_PERMILLE
        && factor_permille <= Backoff::MAX_FACTOR_PERMILLE
}

/// The waits between retries: fixed, linear or exponential, capped, jittered.
///
/// Build one with [`fixed`](Backoff::fixed), [`linear`](Backoff::linear) or
/// [`exponential`](Backoff::exponential), then [`max_delay`](BackoffBuilder::max_delay),
/// [`jitter`](BackoffBuilder::jitter) and [`build`](BackoffBuilder::build),
/// which validates once. Durations are kept as whole microseconds.
///
/// Rules, in order, for each delay:
/// 1. the step: fixed `initial`; linear `initial + n × step`; exponential
///    `initial`, then the previous step × factor, rounded down to the
///    microsecond (exact for steps under 78 hours), saturating;
/// 2. the step is capped at the maximum delay;
/// 3. jitter (if any) is applied to the capped step;
/// 4. the result is capped again: no delay ever exceeds the maximum.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use core::time::Duration;
/// use tripline::Backoff;
///
/// const RETRY: Backoff = match Backoff::exponential(Duration::from_millis(100), 2_000)
///     .max_delay(Duration::from_secs(1))
///     .build()
/// {
///     Ok(b) => b,
///     Err(e) => panic!("{}", e.as_str()), // a compile error, never a run-time panic
/// };
/// let ms: Vec<u128> = RETRY.delays(0).take(6).map(|d| d.as_millis()).collect();
/// assert_eq!(ms, [100, 200, 400, 800, 1_000, 1_000]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Backoff {
    initial_us: u64,
    max_us: u64,
    growth: Growth,
    jitter: Jitter,
    /// `floor(permille × 2³² / 1000)` of a bounded jitter, computed once.
    #[cfg_attr(feature = "serde", serde(skip))]
    jitter_q32: u64,
}

impl Default for Backoff {
    /// [`Backoff::NONE`]: retry at once.
    fn default() -> Self {
        Backoff::NONE
    }
}

impl Backoff {
    /// The smallest exponential factor, in permille: 1× (delays never shrink).
    /// The same bound holds for the breaker's
    /// [`exponential_backoff`](crate::ConfigBuilder::exponential_backoff).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::time::Duration;
    /// use tripline::Backoff;
    /// let b = Backoff::exponential(Duration::from_millis(1), Backoff::MIN_FACTOR_PERMILLE).build();
    /// assert!(b.is_ok());
    /// ```
    pub const MIN_FACTOR_PERMILLE: u32 = 1_000;

    /// The largest exponential factor, in permille: 1000×. The same bound
    /// holds for the breaker's
    /// [`exponential_backoff`](crate::ConfigBuilder::exponential_backoff).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::time::Duration;
    /// use tripline::{Backoff, BackoffError};
    /// let b = Backoff::exponential(Duration::from_millis(1), Backoff::MAX_FACTOR_PERMILLE + 1).build();
    /// assert_eq!(b, Err(BackoffError::FactorOutOfRange));
    /// ```
    pub const MAX_FACTOR_PERMILLE: u32 = 1_000_000;

    /// No wait at all: every delay is zero.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::time::Duration;
    /// use tripline::Backoff;
    /// assert!(Backoff::NONE.delays(0).take(3).all(|d| d == Duration::ZERO));
    /// ```
    pub const NONE: Backoff = Backoff {
        initial_us: 0,
        max_us: u64::MAX,
        growth: Growth::Fixed,
        jitter: Jitter::None,
        jitter_q32: 0,
    };

    /// The same `delay` every time.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::time::Duration;
    /// use tripline::Backoff;
    ///
    /// let b = Backoff::fixed(Duration::from_millis(5)).build().unwrap();
    /// assert!(b.delays(0).take(4).all(|d| d == Duration::from_millis(5)));
    /// ```
    pub const fn fixed(delay: Duration) -> BackoffBuilder {
        BackoffBuilder::start(delay, Growth::Fixed)
    }

    /// `initial`, then `step` longer each time: `initial + n × step`.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::time::Duration;
    /// use tripline::Backoff;
    ///
    /// let b = Backoff::linear(Duration::from_millis(10), Duration::from_millis(5)).build().unwrap();
    /// let ms: Vec<u128> = b.delays(0).take(4).map(|d| d.as_millis()).collect();
    /// assert_eq!(ms, [10, 15, 20, 25]);
    /// ```
    pub const fn linear(initial: Duration, step: Duration) -> BackoffBuilder {
        BackoffBuilder::start(
            initial,
            Growth::Linear {
                step_us: duration_to_micros(step),
            },
        )
    }

    /// `initial`, then each delay `factor_permille / 1000` times the last
    /// (2000: doubling), rounded down to the microsecond.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::time::Duration;
    /// use tripline::Backoff;
    ///
    /// let b = Backoff::exponential(Duration::from_millis(100), 1_500).build().unwrap();
    /// let us: Vec<u128> = b.delays(0).take(4).map(|d| d.as_micros()).collect();
    /// assert_eq!(us, [100_000, 150_000, 225_000, 337_500]);
    /// ```
    pub const fn exponential(initial: Duration, factor_permille: u32) -> BackoffBuilder {
        // The multiplier is only computed for a valid factor (in `build`).
        BackoffBuilder::start(
            initial,
            Growth::Exponential {
                factor_permille,
                q48: 0,
            },
        )
    }

    /// The jitter applied to each delay.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::{Backoff, Jitter};
    /// assert_eq!(Backoff::NONE.jitter(), Jitter::None);
    /// ```
    #[must_use]
    pub const fn jitter(&self) -> Jitter {
        self.jitter
    }

    /// The first un-jittered delay, in microseconds.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::time::Duration;
    /// use tripline::Backoff;
    /// let b = Backoff::fixed(Duration::from_millis(3)).build().unwrap();
    /// assert_eq!(b.initial_micros(), 3_000);
    /// ```
    #[must_use]
    pub const fn initial_micros(&self) -> u64 {
        self.initial_us
    }

    /// The cap on every delay, in microseconds (`u64::MAX`: no cap).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::time::Duration;
    /// use tripline::Backoff;
    /// let b = Backoff::fixed(Duration::ZERO).max_delay(Duration::from_secs(1)).build().unwrap();
    /// assert_eq!(b.max_micros(), 1_000_000);
    /// ```
    #[must_use]
    pub const fn max_micros(&self) -> u64 {
        self.max_us
    }

    /// The delays, starting with the first, jittered by a generator seeded
    /// with `seed`: the same seed gives the same sequence. Endless: bound it
    /// with `take`, or let a [`RetryPolicy`](crate::RetryPolicy) do it.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::time::Duration;
    /// use tripline::{Backoff, Jitter};
    ///
    /// let b = Backoff::fixed(Duration::from_secs(1)).jitter(Jitter::Full).build().unwrap();
    /// assert!(b.delays(42).take(8).eq(b.delays(42).take(8)));
    /// ```
    pub const fn delays(self, seed: u32) -> Delays {
        Delays {
            step_us: self.initial_us,
            rng: seed,
            backoff: self,
        }
    }

    /// The step after `step`, before jitter, capped.
    const fn grow(&self, step: u64) -> u64 {
        let next = match self.growth {
            Growth::Fixed => step,
            Growth::Linear { step_us } => step.saturating_add(step_us),
            Growth::Exponential { q48, .. } => {
                // step < 2⁶⁴ and q48 < 2⁵⁸: the product fits in 128 bits.
                #[allow(clippy::arithmetic_side_effects)]
                let wide = (step as u128 * q48 as u128) >> FACTOR_SHIFT;
                if wide > u64::MAX as u128 {
                    u64::MAX
                } else {
                    wide as u64
                }
            }
        };
        if next > self.max_us {
            self.max_us
        } else {
            next
        }
    }

    /// `step` jittered by the random word `r`, capped.
    const fn jittered(&self, step: u64, r: u32) -> u64 {
        let d = match self.jitter {
            Jitter::None => step,
            Jitter::Full => mul_shift32(step.saturating_add(1), r as u64),
            Jitter::Bounded(_) => {
                let spread = mul_shift32(step, self.jitter_q32);
                let range = spread.saturating_mul(2).saturating_add(1);
                step.saturating_sub(spread)
                    .saturating_add(mul_shift32(range, r as u64))
            }
        };
        if d > self.max_us {
            self.max_us
        } else {
            d
        }
    }
}

/// Builds a [`Backoff`]; start from [`Backoff::fixed`], [`Backoff::linear`]
/// or [`Backoff::exponential`]. Every method is `const`.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use core::time::Duration;
/// use tripline::{Backoff, Jitter};
///
/// let b = Backoff::exponential(Duration::from_millis(50), 2_000)
///     .max_delay(Duration::from_secs(2))
///     .jitter(Jitter::Full)
///     .build();
/// assert!(b.is_ok());
/// ```
#[derive(Clone, Copy, Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct BackoffBuilder {
    b: Backoff,
}

impl BackoffBuilder {
    const fn start(initial: Duration, growth: Growth) -> Self {
        let mut b = Backoff::NONE;
        b.initial_us = duration_to_micros(initial);
        b.growth = growth;
        BackoffBuilder { b }
    }

    /// No delay, jittered or not, is longer than `max` (default: no cap).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::time::Duration;
    /// use tripline::Backoff;
    ///
    /// let b = Backoff::linear(Duration::from_secs(1), Duration::from_secs(1))
    ///     .max_delay(Duration::from_secs(2))
    ///     .build()
    ///     .unwrap();
    /// let s: Vec<u64> = b.delays(0).take(4).map(|d| d.as_secs()).collect();
    /// assert_eq!(s, [1, 2, 2, 2]);
    /// ```
    pub const fn max_delay(mut self, max: Duration) -> Self {
        self.b.max_us = duration_to_micros(max);
        self
    }

    /// How to spread the delays (default [`Jitter::None`]).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::time::Duration;
    /// use tripline::{Backoff, BackoffError, Jitter, Rate};
    ///
    /// let bad = Backoff::fixed(Duration::from_secs(1)).jitter(Jitter::Bounded(Rate::permille(1_001))).build();
    /// assert_eq!(bad, Err(BackoffError::JitterOutOfRange));
    /// ```
    pub const fn jitter(mut self, jitter: Jitter) -> Self {
        self.b.jitter = jitter;
        self
    }

    /// Checks every value and returns the backoff.
    ///
    /// # Errors
    /// The first [`BackoffError`] found: a factor out of range, an
    /// exponential backoff from zero, a cap below the first delay, a bounded
    /// jitter above 100 %.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::time::Duration;
    /// use tripline::{Backoff, BackoffError};
    ///
    /// let bad = Backoff::fixed(Duration::from_secs(2)).max_delay(Duration::from_secs(1)).build();
    /// assert_eq!(bad, Err(BackoffError::MaxBelowInitial));
    /// ```
    pub const fn build(self) -> Result<Backoff, BackoffError> {
        let mut b = self.b;
        if let Growth::Exponential {
            factor_permille, ..
        } = b.growth
        {
            if !factor_in_range(factor_permille) {
                return Err(BackoffError::FactorOutOfRange);
            }
            if b.initial_us == 0 {
                return Err(BackoffError::ZeroExponentialStart);
            }
            // Whole part exact; the fraction rounded up, so that a step ×
            // factor that is a whole number of microseconds is not rounded
            // down to one less. One division, here, never while iterating.
            let whole = (factor_permille / 1_000) as u64;
            let frac = (factor_permille % 1_000) as u64;
            // factor <= Backoff::MAX_FACTOR_PERMILLE (checked above): whole < 2¹⁰ and
            // frac < 2¹⁰, so both shifted values and their sum stay below 2⁵⁹.
            #[allow(clippy::arithmetic_side_effects)]
            let q48 = (whole << FACTOR_SHIFT) + (frac << FACTOR_SHIFT).div_ceil(1_000);
            b.growth = Growth::Exponential {
                factor_permille,
                q48,
            };
        }
        if b.max_us < b.initial_us {
            return Err(BackoffError::MaxBelowInitial);
        }
        if let Jitter::Bounded(rate) = b.jitter {
            let permille = rate.as_permille();
            if permille > 1_000 {
                return Err(BackoffError::JitterOutOfRange);
            }
            b.jitter_q32 = ((permille as u64) << 32) / 1_000;
        }
        Ok(b)
    }
}

/// The delays of a [`Backoff`], from [`Backoff::delays`]: endless and
/// deterministic for its seed.
///
/// [`next_micros`](Delays::next_micros) gives the next delay as whole
/// microseconds, without the 64-bit division a `Duration` costs on a
/// Cortex-M0; the `Iterator` gives `Duration`s.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use core::time::Duration;
/// use tripline::Backoff;
///
/// let mut delays = Backoff::linear(Duration::ZERO, Duration::from_micros(7)).build().unwrap().delays(0);
/// assert_eq!(delays.next_micros(), 0);
/// assert_eq!(delays.next_micros(), 7);
/// assert_eq!(delays.next(), Some(Duration::from_micros(14)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Delays {
    backoff: Backoff,
    /// The next un-jittered step, already capped.
    step_us: u64,
    /// The jitter generator's state: a Weyl sequence, hashed on use.
    rng: u32,
}

impl Delays {
    /// The next delay, in microseconds.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::time::Duration;
    /// use tripline::Backoff;
    /// let mut d = Backoff::fixed(Duration::from_millis(1)).build().unwrap().delays(0);
    /// assert_eq!(d.next_micros(), 1_000);
    /// ```
    pub const fn next_micros(&mut self) -> u64 {
        let step = self.step_us;
        self.step_us = self.backoff.grow(step);
        if matches!(self.backoff.jitter, Jitter::None) {
            return step;
        }
        self.rng = self.rng.wrapping_add(0x9E37_79B9);
        self.backoff.jittered(step, mix(self.rng))
    }

    /// The backoff these delays come from.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::Backoff;
    /// assert_eq!(*Backoff::NONE.delays(1).backoff(), Backoff::NONE);
    /// ```
    #[must_use]
    pub const fn backoff(&self) -> &Backoff {
        &self.backoff
    }
}

impl Iterator for Delays {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        Some(Duration::from_micros(self.next_micros()))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

impl core::iter::FusedIterator for Delays {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_growth_is_the_exact_floor_below_78_hours() {
        let mut x: u64 = 0x1234_5678;
        for factor in [
            1_000u32, 1_001, 1_100, 1_234, 1_500, 1_999, 2_000, 3_333, 10_000, 999_999,
        ] {
            let b = Backoff::exponential(Duration::from_micros(1), factor)
                .build()
                .unwrap();
            for _ in 0..2_000 {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let step = (x >> 24) % (1u64 << 38); // < 2.75e11 µs ≈ 76 h
                let exact = (step as u128 * factor as u128 / 1_000) as u64;
                assert_eq!(b.grow(step), exact, "step {step}, factor {factor}");
            }
        }
    }

    #[test]
    fn huge_steps_saturate_instead_of_overflowing() {
        let b = Backoff::exponential(Duration::MAX, Backoff::MAX_FACTOR_PERMILLE)
            .build()
            .unwrap();
        assert_eq!(b.grow(u64::MAX), u64::MAX);
        let b = Backoff::fixed(Duration::MAX)
            .jitter(Jitter::Bounded(Rate::percent(100)))
            .build()
            .unwrap();
        let mut d = b.delays(3);
        for _ in 0..100 {
            let _ = d.next_micros();
        }
        let b = Backoff::fixed(Duration::MAX)
            .jitter(Jitter::Full)
            .build()
            .unwrap();
        let mut d = b.delays(3);
        for _ in 0..100 {
            let _ = d.next_micros();
        }
    }
}
