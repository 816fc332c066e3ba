//! What passes between a caller and a breaker: the [`Permit`] to make a call,
//! the [`Outcome`] of it, and the answers ([`Rejected`], [`Recorded`]).

use core::time::Duration;

use crate::clock::duration_to_micros;
use crate::Instant;

/// Leave to make one call, stamped with the breaker's generation.
///
/// Give it back exactly once: [`Breaker::record`](crate::Breaker::record)
/// with the outcome, or [`Breaker::cancel`](crate::Breaker::cancel) if the
/// call never finished. A permit from before a state change is *stale*: its
/// result is counted in the metrics and changes nothing else.
///
/// A raw permit cannot notice being dropped; the `&self` forms
/// ([`SharedBreaker`](crate::SharedBreaker)) hand out a guard that cancels on
/// drop, and [`Breaker::call`](crate::Breaker::call) never loses one.
#[derive(Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[must_use = "a permit must be given back with `record` or `cancel`, or a half-open slot stays taken"]
pub struct Permit {
    pub(crate) generation: u64,
    pub(crate) started: Instant,
}

impl Permit {
    /// The breaker generation this permit belongs to.
    #[must_use]
    pub const fn generation(&self) -> u64 {
        self.generation
    }
}

/// How a call went, as the caller classifies it.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::Outcome;
/// let r: Result<u8, &str> = Err("timeout");
/// assert_eq!(Outcome::of(&r), Outcome::Failure);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Outcome {
    /// The call worked.
    Success,
    /// The call failed: the protected thing is unhealthy.
    Failure,
    /// A failure that names its own open time, such as an HTTP 429 with
    /// `Retry-After: 30`: it opens a Closed or HalfOpen breaker at once,
    /// whether a trip rule is reached or not, for this long (at least 1 ms,
    /// at most the configured `max_retry_after`, 10 min by default), and
    /// leaves the backoff step where it was. MetricsOnly counts it as a
    /// failure and never opens.
    FailureRetryAfter(Duration),
    /// Not a verdict on health (a 404, a validation error): counted only as
    /// ignored, and a half-open probe gives its slot back.
    Ignored,
}

impl Outcome {
    /// `Success` for `Ok`, `Failure` for `Err`: the default classifier.
    pub const fn of<T, E>(result: &Result<T, E>) -> Outcome {
        match result {
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        }
    }

    pub(crate) const fn retry_after_us(self) -> Option<u64> {
        match self {
            Outcome::FailureRetryAfter(d) => Some(duration_to_micros(d)),
            _ => None,
        }
    }
}

/// Why a call was not admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum RejectReason {
    /// The breaker is open.
    Open,
    /// Half-open, and every probe slot of this episode is taken.
    HalfOpenFull,
    /// The breaker was forced open by hand.
    ForcedOpen,
    /// A [`SharedBreaker`](crate::SharedBreaker) was re-entered from inside its
    /// own lock (a `Clock` calling back into its breaker): nothing was done.
    Busy,
}

/// A call that was not admitted: why, when to try again, and which breaker
/// said so. It prints in units a person reads (`retry in 1.5 s`), naming the
/// breaker where it has a name.
///
/// `Copy` and allocation-free: the name is a `&'static str`, empty for a
/// core breaker (which has no name). The std handle sets its interned name
/// on every rejection it returns.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::{Breaker, Config, CountWindow, MockClock, RejectReason};
/// use core::time::Duration;
///
/// let clock = MockClock::new();
/// let cfg = Config::builder().consecutive_failures(1).open_duration(Duration::from_secs(2)).build().unwrap();
/// let mut b = Breaker::new(cfg, CountWindow::<4>::new(), &clock);
/// let _ = b.call(|| Err::<(), _>("down"));
/// clock.advance(Duration::from_millis(500));
/// let rejected = b.try_acquire().unwrap_err();
/// assert_eq!(rejected.reason(), RejectReason::Open);
/// assert_eq!(rejected.retry_after(), Some(Duration::from_millis(1500)));
/// assert_eq!(rejected.breaker_name(), None);
/// assert_eq!(rejected.to_string(), "circuit breaker is open; retry in 1.5 s");
/// let named = rejected.with_name("backend");
/// assert_eq!(named.to_string(), "circuit breaker \"backend\" is open; retry in 1.5 s");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Rejected {
    reason: RejectReason,
    retry_after_us: Option<u64>,
    #[cfg_attr(
        feature = "serde",
        serde(rename = "breaker", skip_serializing_if = "no_name")
    )]
    name: &'static str,
}

#[cfg(feature = "serde")]
#[allow(clippy::trivially_copy_pass_by_ref)] // serde passes a reference
fn no_name(name: &&'static str) -> bool {
    name.is_empty()
}

impl Rejected {
    pub(crate) const fn new(reason: RejectReason, retry_after_us: Option<u64>) -> Self {
        Rejected {
            reason,
            retry_after_us,
            name: "",
        }
    }

    /// The same rejection, naming the breaker that made it (`""` for none).
    ///
    /// One store, no allocation: the name must live for the whole program
    /// (a literal, or a name interned once, as the std handle does).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::{Breaker, Config, CountWindow, MockClock};
    ///
    /// let clock = MockClock::new();
    /// let mut b = Breaker::new(Config::default(), CountWindow::<4>::new(), &clock);
    /// b.force_open();
    /// let rejected = b.try_acquire().unwrap_err().with_name("gps");
    /// assert_eq!(rejected.breaker_name(), Some("gps"));
    /// assert_eq!(rejected.to_string(), "circuit breaker \"gps\" is forced open");
    /// ```
    #[must_use]
    pub const fn with_name(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// The name of the breaker that rejected the call, if it has one.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::{Breaker, Config, CountWindow, MockClock};
    ///
    /// let clock = MockClock::new();
    /// let mut b = Breaker::new(Config::default(), CountWindow::<4>::new(), &clock);
    /// b.force_open();
    /// assert_eq!(b.try_acquire().unwrap_err().breaker_name(), None);
    /// ```
    #[must_use]
    pub const fn breaker_name(&self) -> Option<&'static str> {
        if self.name.is_empty() {
            None
        } else {
            Some(self.name)
        }
    }

    /// Why the call was rejected.
    #[must_use]
    pub const fn reason(&self) -> RejectReason {
        self.reason
    }

    /// How long until a call may be admitted, if the breaker knows (it does
    /// not when forced open, or half-open and full with no time limit).
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after_us.map(Duration::from_micros)
    }

    /// [`retry_after`](Self::retry_after) in microseconds, without the
    /// division a `Duration` costs on a Cortex-M0.
    #[must_use]
    pub const fn retry_after_micros(&self) -> Option<u64> {
        self.retry_after_us
    }
}

impl core::fmt::Display for Rejected {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("circuit breaker ")?;
        if !self.name.is_empty() {
            // The name as given, in quotes: no escaping machinery on a chip.
            f.write_str("\"")?;
            f.write_str(self.name)?;
            f.write_str("\" ")?;
        }
        f.write_str(match self.reason {
            RejectReason::Open => "is open",
            RejectReason::HalfOpenFull => "is half-open and all probes are taken",
            RejectReason::ForcedOpen => "is forced open",
            RejectReason::Busy => "was re-entered from inside its own lock",
        })?;
        match self.retry_after_us {
            Some(us) => write!(f, "; retry in {}", Micros(us)),
            None => Ok(()),
        }
    }
}

/// Microseconds in the units a person reads: `12 µs`, `250 ms`, `1.5 s`
/// (tenths, rounded down), `2 min 5 s`, `3 h 12 min`, `4 days 6 h`, and
/// `over 584942 years` for an open time of `Duration::MAX`. Everything is
/// rounded down. No `u64` division: a Cortex-M0 has no divider, and the
/// libcall costs 1.4 KiB.
pub(crate) struct Micros(pub(crate) u64);

/// `(n / d, n % d)` by shifts and subtractions, for a `d` below 2³²: no
/// division libcall, no panic (64 steps, printing only).
// i > 0 before `i -= 1`, r >= d before `r -= d`, i < 64 in the shifts, and
// r < d < 2³² keeps `r << 1` below 2³³: nothing overflows.
#[allow(clippy::arithmetic_side_effects)]
const fn div_rem(n: u64, d: u64) -> (u64, u64) {
    let mut q = 0u64;
    let mut r = 0u64;
    let mut i = 64u32;
    while i > 0 {
        i -= 1;
        // r < d < 2³², so the shift cannot overflow.
        r = (r << 1) | ((n >> i) & 1);
        if r >= d {
            r -= d;
            q |= 1 << i;
        }
    }
    (q, r)
}

impl core::fmt::Display for Micros {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use crate::policy::div1000;
        let us = self.0;
        let ms = div1000(us);
        let secs = div1000(ms);
        if secs >= 60 {
            let (mins, s) = div_rem(secs, 60);
            let (hours, m) = div_rem(mins, 60);
            let (days, h) = div_rem(hours, 24);
            let (years, _) = div_rem(days, 365);
            let unit =
                |n: u64, one: &'static str, many: &'static str| if n == 1 { one } else { many };
            if years > 0 {
                write!(f, "over {years} {}", unit(years, "year", "years"))
            } else if days > 0 {
                write!(f, "{days} {} {h} h", unit(days, "day", "days"))
            } else if hours > 0 {
                write!(f, "{hours} h {m} min")
            } else {
                write!(f, "{mins} min {s} s")
            }
        } else if secs > 0 {
            // us - secs × 10⁶ < 10⁶: neither the product nor the rest overflows.
            #[allow(clippy::arithmetic_side_effects)]
            let tenths = div1000(div1000((us - secs * 1_000_000) * 10));
            write!(f, "{secs}.{tenths} s")
        } else if ms > 0 {
            write!(f, "{ms} ms")
        } else {
            write!(f, "{us} µs")
        }
    }
}

impl core::error::Error for Rejected {}

/// What became of a recorded or cancelled permit.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::{Breaker, Config, CountWindow, MockClock, Outcome, Recorded};
/// let clock = MockClock::new();
/// let mut b = Breaker::new(Config::default(), CountWindow::<4>::new(), &clock);
/// let p = b.try_acquire().unwrap();
/// assert_eq!(b.record(p, Outcome::Success), Recorded::Counted);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum Recorded {
    /// Counted as a success or a failure.
    Counted,
    /// Counted as ignored only.
    Ignored,
    /// Counted as cancelled only.
    Cancelled,
    /// From an earlier generation: counted as stale only.
    Stale,
}

/// The error of [`Breaker::call`](crate::Breaker::call): rejected, or the call's own error.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::CallError;
/// let e: CallError<&str> = CallError::Inner("boom");
/// assert_eq!(e.into_inner(), Some("boom"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CallError<E> {
    /// The breaker did not admit the call; the function was not run.
    Rejected(Rejected),
    /// The function ran and returned this error.
    Inner(E),
}

impl<E> CallError<E> {
    /// The call's own error, if it ran.
    pub fn into_inner(self) -> Option<E> {
        match self {
            CallError::Inner(e) => Some(e),
            CallError::Rejected(_) => None,
        }
    }

    /// The rejection, if the call did not run.
    pub const fn rejected(&self) -> Option<&Rejected> {
        match self {
            CallError::Rejected(r) => Some(r),
            CallError::Inner(_) => None,
        }
    }
}

impl<E: core::fmt::Display> core::fmt::Display for CallError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CallError::Rejected(r) => r.fmt(f),
            CallError::Inner(e) => e.fmt(f),
        }
    }
}

/// For every `E` that prints, tower's `BoxError` included, so that a
/// `CallError` converts into a `BoxError` with `?` or `Into`. Its message is
/// the rejection's or the inner error's; its `source` continues the inner
/// error's chain where that is known (see `into_inner` for the typed error).
impl<E: core::fmt::Debug + core::fmt::Display + 'static> core::error::Error for CallError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            CallError::Rejected(_) => None,
            CallError::Inner(e) => crate::error::source_below(e),
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::ToString;

    use super::Micros;

    #[test]
    fn durations_print_in_the_largest_unit_that_is_at_least_one() {
        for (us, text) in [
            (0, "0 µs"),
            (999, "999 µs"),
            (1_000, "1 ms"),
            (999_999, "999 ms"),
            (1_000_000, "1.0 s"),
            (1_499_932, "1.4 s"),
            (59_999_999, "59.9 s"),
            (60_000_000, "1 min 0 s"),
            (90_000_000, "1 min 30 s"),
            (3_599_999_999, "59 min 59 s"),
            (3_600_000_000, "1 h 0 min"),
            (86_399_000_000, "23 h 59 min"),
            (86_400_000_000, "1 day 0 h"),
            (2 * 86_400_000_000 + 7_200_000_000, "2 days 2 h"),
            (365 * 86_400_000_000, "over 1 year"),
            (u64::MAX, "over 584942 years"),
        ] {
            assert_eq!(Micros(us).to_string(), text);
        }
    }

    #[test]
    fn div_rem_is_exact() {
        for n in [
            0,
            1,
            59,
            60,
            61,
            3_599,
            86_400,
            u64::MAX,
            u64::MAX - 1,
            1 << 63,
        ] {
            for d in [1, 24, 60, 365, 1_000, u32::MAX as u64] {
                assert_eq!(super::div_rem(n, d), (n / d, n % d));
            }
        }
    }
}
