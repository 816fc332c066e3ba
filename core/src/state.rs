//! The states a breaker can be in, and why it moved between them.

/// Where a breaker stands.
///
/// The first three are the classic machine; the last three are set by hand
/// (or by [`Config`](crate::Config)'s initial state) and stay until changed.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::State;
/// assert!(State::Closed.admits_calls());
/// assert!(!State::ForcedOpen.admits_calls());
/// assert_eq!(State::HalfOpen.as_str(), "half-open");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum State {
    /// Calls go through and are counted; trip rules are checked after each.
    Closed,
    /// Calls are rejected until the open time has passed.
    Open,
    /// A limited number of probe calls go through to test the service.
    HalfOpen,
    /// Calls are rejected until the state is changed by hand.
    ForcedOpen,
    /// Calls go through; nothing is recorded in the window and nothing trips.
    Disabled,
    /// Calls go through and are recorded; rules raise events but never trip.
    MetricsOnly,
}

impl State {
    /// Whether a call may be admitted in this state (half-open: if a probe
    /// slot is free).
    #[must_use]
    pub const fn admits_calls(self) -> bool {
        !matches!(self, State::Open | State::ForcedOpen)
    }

    /// A short lowercase name, for logs and metrics labels.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half-open",
            State::ForcedOpen => "forced-open",
            State::Disabled => "disabled",
            State::MetricsOnly => "metrics-only",
        }
    }
}

impl core::fmt::Display for State {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A trip rule of the [`Config`](crate::Config).
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::Rule;
/// assert_eq!(Rule::FailureRate.as_str(), "failure-rate");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum Rule {
    /// N failures in a row.
    ConsecutiveFailures,
    /// Failures per thousand calls in the window, once it holds enough calls.
    FailureRate,
    /// Slow calls per thousand calls in the window, once it holds enough calls.
    SlowCallRate,
}

impl Rule {
    /// A short lowercase name, for logs and metrics labels.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Rule::ConsecutiveFailures => "consecutive-failures",
            Rule::FailureRate => "failure-rate",
            Rule::SlowCallRate => "slow-call-rate",
        }
    }
}

/// Why a breaker changed state.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::{Reason, Rule};
/// let r = Reason::Tripped(Rule::ConsecutiveFailures);
/// assert!(matches!(r, Reason::Tripped(_)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum Reason {
    /// Closed → Open: a rule's threshold was reached.
    Tripped(Rule),
    /// Open → HalfOpen: the open time has passed.
    OpenTimeElapsed,
    /// HalfOpen → Open: a probe failed.
    ProbeFailed,
    /// HalfOpen → Open: a probe succeeded, but slower than the slow-call threshold.
    ProbeSlow,
    /// HalfOpen → Open: the half-open episode outlasted its time limit.
    HalfOpenTimeout,
    /// HalfOpen → Closed: enough probes succeeded.
    ProbesSucceeded,
    /// Changed by hand.
    Manual,
    /// Closed → Open: a peer guarding the same backend (another replica)
    /// reported that its breaker opened; see [`Breaker::follow_peer`](crate::Breaker::follow_peer).
    Peer,
    /// [`Breaker::reset`](crate::Breaker::reset).
    Reset,
    /// Closed or HalfOpen → Open: an outcome said how long the backend wants
    /// to be left alone ([`Outcome::FailureRetryAfter`](crate::Outcome::FailureRetryAfter),
    /// an HTTP 429 or 503 with `Retry-After`).
    RetryAfter,
}
