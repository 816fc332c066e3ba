//! Watching a breaker: the [`Event`]s it emits and the [`Observer`] that gets them.

use crate::{Instant, Reason, Rejected, Rule, State};

/// Something that happened in a breaker.
///
/// Within one operation the order is: the outcome, then the thresholds it
/// reached, then the state change. A state change that happened lazily (Open
/// → HalfOpen when the open time passed) comes before everything else of the
/// operation that noticed it.
///
/// ```
/// use tripline_core::{Event, Reason, Rule, State, Instant};
/// let e = Event::StateChanged {
///     from: State::Closed,
///     to: State::Open,
///     reason: Reason::Tripped(Rule::ConsecutiveFailures),
///     at: Instant::from_secs(1),
/// };
/// assert!(matches!(e, Event::StateChanged { to: State::Open, .. }));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum Event {
    /// The breaker moved from one state to another.
    StateChanged {
        /// The state it left.
        from: State,
        /// The state it entered.
        to: State,
        /// Why.
        reason: Reason,
        /// When (for Open → HalfOpen: when the open time ended).
        at: Instant,
    },
    /// A rule reached its threshold (in `MetricsOnly`: when it first does).
    ThresholdExceeded {
        /// Which rule.
        rule: Rule,
        /// Its value: a count for consecutive failures, permille for rates.
        value: u32,
        /// The configured threshold, in the same unit.
        threshold: u32,
    },
    /// A call was not admitted.
    Rejected(Rejected),
    /// A call succeeded and was counted.
    Success {
        /// How long it took, if the breaker times calls.
        duration_us: Option<u64>,
        /// Slower than the slow-call threshold.
        slow: bool,
    },
    /// A call failed (or was cancelled, under `OnCancel::CountAsFailure`) and was counted.
    Failure {
        /// How long it took, if the breaker times calls.
        duration_us: Option<u64>,
        /// Slower than the slow-call threshold.
        slow: bool,
    },
    /// An outcome classified as ignored: counted only as ignored.
    Ignored,
    /// A permit was cancelled (dropped without a result).
    Cancelled,
    /// An outcome arrived for a permit of an earlier state: counted as stale only.
    Stale,
    /// The breaker was reset.
    Reset {
        /// When.
        at: Instant,
    },
}

/// Receives a breaker's [`Event`]s, in order.
///
/// `()` is the observer that does nothing and costs nothing. Implement it for
/// a logger, a metrics exporter, or a channel sender; `on_event` runs on the
/// caller's thread (for a [`SharedBreaker`](crate::SharedBreaker), after its
/// lock is released, so it may call back into the breaker).
///
/// ```
/// use core::cell::Cell;
/// use tripline_core::{Breaker, Config, CountWindow, Event, MockClock, Observer};
///
/// #[derive(Default)]
/// struct CountRejections(Cell<u32>);
/// impl Observer for CountRejections {
///     fn on_event(&self, e: &Event) {
///         if let Event::Rejected(_) = e {
///             self.0.set(self.0.get() + 1);
///         }
///     }
/// }
///
/// let clock = MockClock::new();
/// let mut b = Breaker::new(Config::default(), CountWindow::<8>::new(), &clock)
///     .with_observer(CountRejections::default());
/// b.force_open();
/// assert!(b.try_acquire().is_err());
/// assert_eq!(b.observer().0.get(), 1);
/// ```
pub trait Observer {
    /// Whether this observer wants events at all; `()` says no, so a shared
    /// breaker does not even queue them.
    const ENABLED: bool = true;

    /// Called once per event, in order.
    fn on_event(&self, event: &Event) {
        let _ = event;
    }
}

impl Observer for () {
    const ENABLED: bool = false;
}

impl<O: Observer + ?Sized> Observer for &O {
    const ENABLED: bool = O::ENABLED;
    fn on_event(&self, event: &Event) {
        (**self).on_event(event);
    }
}
