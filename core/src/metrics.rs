//! A [`Metrics`] snapshot: everything a dashboard or a log line wants to know.

use crate::window::Totals;
use crate::State;

/// A point-in-time copy of a breaker's state and counters.
///
/// Every admitted call ends in exactly one of `successes`, `failures`,
/// `ignored`, `cancelled` or `stale` (or is still in flight), and every call
/// that was not admitted is in `rejected`: nothing is lost or counted twice.
/// These lifetime counters only ever grow, across state changes and
/// [`reset`](crate::Breaker::reset) (as exported counters must); `window`
/// and the streaks are what a reset clears.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::{Breaker, Config, CountWindow, MockClock};
/// let clock = MockClock::new();
/// let mut b = Breaker::new(Config::default(), CountWindow::<8>::new(), &clock);
/// let _ = b.call(|| Ok::<_, ()>(1));
/// let _ = b.call(|| Err::<u8, _>(()));
/// let m = b.metrics();
/// assert_eq!((m.permitted, m.successes, m.failures), (2, 1, 1));
/// assert_eq!(m.in_flight(), 0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Metrics {
    /// The state, as [`Breaker::state`](crate::Breaker::state) reports it.
    pub state: State,
    /// Bumped by every state change and every reset.
    pub generation: u64,
    /// Microseconds since the current state began.
    pub time_in_state_us: u64,
    /// Calls admitted.
    pub permitted: u64,
    /// Calls rejected.
    pub rejected: u64,
    /// Admitted calls counted as successes.
    pub successes: u64,
    /// Admitted calls counted as failures.
    pub failures: u64,
    /// Of the successes, those slower than the slow-call threshold.
    pub slow_successes: u64,
    /// Of the failures, those slower than the slow-call threshold.
    pub slow_failures: u64,
    /// Admitted calls classified as ignored.
    pub ignored: u64,
    /// Admitted calls cancelled without a result.
    pub cancelled: u64,
    /// Results that arrived after the state they were admitted in had ended.
    pub stale: u64,
    /// Clock readings set aside as glitches: a jump ahead that a second
    /// reading did not confirm (see [`Config::clock_horizon_us`](crate::Config::clock_horizon_us)).
    pub clock_glitches: u64,
    /// What the window holds now.
    pub window: Totals,
    /// Failures per thousand calls in the window; `None` below the minimum calls.
    pub failure_rate_permille: Option<u16>,
    /// Slow calls per thousand calls in the window; `None` below the minimum calls.
    pub slow_call_rate_permille: Option<u16>,
    /// Failures in a row, in the current state.
    pub consecutive_failures: u32,
    /// Half-open: probes that succeeded in this episode (it closes at the
    /// configured number); 0 in every other state.
    pub probe_successes: u32,
    /// How many times the breaker opened since it last closed (the backoff step).
    pub open_attempts: u32,
    /// Sum of the durations of counted calls, when the breaker times calls.
    pub duration_sum_us: u64,
    /// Longest counted call, when the breaker times calls.
    pub duration_max_us: u64,
}

impl Metrics {
    /// Slow calls, successes and failures together.
    #[must_use]
    pub const fn slow_calls(&self) -> u64 {
        self.slow_successes.saturating_add(self.slow_failures)
    }

    /// Admitted calls whose result has not come back yet.
    #[must_use]
    pub const fn in_flight(&self) -> u64 {
        self.permitted.saturating_sub(
            self.successes
                .saturating_add(self.failures)
                .saturating_add(self.ignored)
                .saturating_add(self.cancelled)
                .saturating_add(self.stale),
        )
    }
}
