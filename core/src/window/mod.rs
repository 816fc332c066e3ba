//! The breaker's memory of recent calls, from which failure and slow-call
//! rates are computed.
//!
//! Two shapes, one [`Window`] trait:
//! - [`CountWindow<N>`]: the last `N` calls, whenever they happened. Needs no
//!   clock; the right default for firmware and for steady traffic.
//! - [`TimeWindow<B>`]: the calls of the last time span, kept in `B` buckets.
//!   The right choice when traffic is bursty and "the last 10 s" means more
//!   than "the last 100 calls".
//!
//! Both keep running totals, so recording and reading a rate cost O(1) on the
//! hot path; neither allocates.

mod count;
mod time;

pub use count::CountWindow;
pub use time::TimeWindow;

use crate::Instant;

/// One counted call as a window stores it.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::window::Sample;
/// let s = Sample { failed: true, slow: false };
/// assert!(s.failed);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Sample {
    /// The call failed.
    pub failed: bool,
    /// The call took longer than the slow-call threshold.
    pub slow: bool,
}

/// What a window holds: counted calls, and how many of them failed or were slow.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::window::Totals;
/// let t = Totals { calls: 10, failures: 5, slow: 3, slow_failures: 1 };
/// assert_eq!(t.slow_successes(), 2);
/// assert_eq!(t.failure_rate_permille(), Some(500));
/// assert_eq!(Totals::EMPTY.failure_rate_permille(), None);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Totals {
    /// Calls counted.
    pub calls: u32,
    /// Of those, failures.
    pub failures: u32,
    /// Of those, slow calls (failed or not).
    pub slow: u32,
    /// Of the slow calls, those that failed.
    pub slow_failures: u32,
}

impl Totals {
    /// No calls.
    pub const EMPTY: Totals = Totals {
        calls: 0,
        failures: 0,
        slow: 0,
        slow_failures: 0,
    };

    /// Of the slow calls, those that succeeded.
    #[must_use]
    pub const fn slow_successes(&self) -> u32 {
        self.slow.saturating_sub(self.slow_failures)
    }

    /// Failures per thousand calls, rounded down; `None` with no calls.
    ///
    /// This divides, so the breaker only calls it for reports
    /// ([`Metrics`](crate::Metrics)); trip decisions cross-multiply instead.
    #[must_use]
    pub const fn failure_rate_permille(&self) -> Option<u16> {
        permille(self.failures, self.calls)
    }

    /// Slow calls per thousand calls, rounded down; `None` with no calls.
    #[must_use]
    pub const fn slow_rate_permille(&self) -> Option<u16> {
        permille(self.slow, self.calls)
    }

    pub(crate) const fn add(&mut self, s: Sample) {
        self.calls = self.calls.saturating_add(1);
        self.failures = self.failures.saturating_add(s.failed as u32);
        self.slow = self.slow.saturating_add(s.slow as u32);
        self.slow_failures = self
            .slow_failures
            .saturating_add((s.slow && s.failed) as u32);
    }

    pub(crate) const fn remove(&mut self, other: Totals) {
        self.calls = self.calls.saturating_sub(other.calls);
        self.failures = self.failures.saturating_sub(other.failures);
        self.slow = self.slow.saturating_sub(other.slow);
        self.slow_failures = self.slow_failures.saturating_sub(other.slow_failures);
    }
}

/// `part × 1000 / whole`, rounded down, at most 1000; `None` for no calls.
///
/// Found bit by bit (the quotient has ten bits) with multiplications only:
/// a Cortex-M0 has no divide instruction, and a division would link the
/// runtime's division helpers into every firmware that reads metrics. Out
/// of line: the rates of metrics and of threshold events share one copy.
// candidate < 1024 and whole < 2³²: every product stays below 2⁴², and
// part × 1000 below 2⁴².
#[allow(clippy::arithmetic_side_effects)]
#[inline(never)]
const fn permille(part: u32, whole: u32) -> Option<u16> {
    if whole == 0 {
        return None;
    }
    if part >= whole {
        return Some(1000);
    }
    let target = part as u64 * 1000;
    let mut q: u32 = 0;
    let mut bit: u32 = 512;
    while bit > 0 {
        let candidate = q | bit;
        if candidate as u64 * whole as u64 <= target {
            q = candidate;
        }
        bit >>= 1;
    }
    // part < whole: q < 1000.
    Some(q as u16)
}

/// The memory a breaker computes its rates from.
///
/// Implemented by [`CountWindow`] and [`TimeWindow`]; a custom window is
/// possible but rarely needed. The breaker calls `record` once per counted
/// call and `totals` after it; `now` is the breaker's monotonic time, and is
/// [`Instant::ZERO`] when [`NEEDS_CLOCK`](Window::NEEDS_CLOCK) is false and
/// nothing else in the configuration needs time.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::window::{CountWindow, Sample, Window};
/// use tripline::Instant;
///
/// let mut w = CountWindow::<3>::new();
/// for failed in [true, true, false, false] {
///     w.record(Instant::ZERO, Sample { failed, slow: false });
/// }
/// // The first failure fell out of the window of 3.
/// assert_eq!(w.totals(Instant::ZERO).failures, 1);
/// ```
pub trait Window {
    /// The most calls the window can hold, if bounded. The breaker lowers a
    /// larger minimum-calls setting to this, or a rate rule could never fire.
    const CAPACITY: Option<u32>;
    /// Whether the window needs the current time to record and to read.
    const NEEDS_CLOCK: bool;

    /// Counts one call.
    fn record(&mut self, now: Instant, sample: Sample);
    /// The totals as of `now`.
    fn totals(&self, now: Instant) -> Totals;
    /// Forgets every call.
    fn clear(&mut self);

    /// Whether counting one more success (not slow) would leave the totals
    /// as they are, so a breaker may count it without touching the window.
    /// `false` (the default) is always correct; [`CountWindow`] says `true`
    /// when full of calls that neither failed nor were slow.
    fn absorbs_success(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::permille;

    #[test]
    fn permille_is_the_rounded_down_quotient_without_dividing() {
        let wholes = [1u32, 2, 3, 7, 10, 999, 1_000, 1_001, 65_537, u32::MAX];
        for whole in wholes {
            for part in [0, 1, whole / 3, whole / 2, whole - 1, whole] {
                let want = (u64::from(part) * 1000 / u64::from(whole)) as u16;
                assert_eq!(permille(part, whole), Some(want), "{part}/{whole}");
            }
        }
        assert_eq!(permille(0, 0), None);
        assert_eq!(
            permille(5, 1),
            Some(1000),
            "more failures than calls reads as all"
        );
    }
}
