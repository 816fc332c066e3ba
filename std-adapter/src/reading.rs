//! The one place the `metrics` and `dashboard` features read a breaker
//! (lock-free: the shared breaker's published state).

use std::time::Duration;

use tripline_core::{Clock, Metrics, Window};

use crate::CircuitBreaker;

/// What a scrape or a dashboard update reads of one breaker.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reading {
    /// The breaker's own lifetime counters, state and window rates.
    pub(crate) metrics: Metrics,
    /// How long until a call may be admitted, if the breaker knows.
    pub(crate) retry_after: Option<Duration>,
}

/// Reads `breaker`.
pub(crate) fn read<W: Window, C: Clock>(breaker: &CircuitBreaker<W, C>) -> Reading {
    Reading {
        metrics: breaker.metrics(),
        retry_after: breaker.retry_after(),
    }
}

/// A state's name as a metrics label or dashboard key: lowercase snake case.
pub(crate) const fn state_label(state: tripline_core::State) -> &'static str {
    use tripline_core::State;
    match state {
        State::Closed => "closed",
        State::Open => "open",
        State::HalfOpen => "half_open",
        State::ForcedOpen => "forced_open",
        State::Disabled => "disabled",
        State::MetricsOnly => "metrics_only",
    }
}

/// Slow calls, successes and failures together.
#[cfg(feature = "dashboard")]
pub(crate) const fn slow_calls(metrics: &Metrics) -> u64 {
    metrics.slow_calls()
}
