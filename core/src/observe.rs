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
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::{Event, Reason, Rule, State, Instant};
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
#[non_exhaustive]
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
    /// A shared breaker's event queue overflowed while events waited for
    /// delivery: `count` events other than state changes were left out
    /// here. State changes are never left out (consecutive ones are merged).
    Dropped {
        /// How many events were left out.
        count: u32,
    },
}

impl Event {
    /// The kind of this event, as an [`Interest`] of one bit.
    #[must_use]
    pub const fn kind(&self) -> Interest {
        Interest(match self {
            Event::StateChanged { .. } => Interest::STATE_CHANGED.0,
            Event::ThresholdExceeded { .. } => Interest::THRESHOLD.0,
            Event::Rejected(_) => Interest::REJECTED.0,
            Event::Success { .. } => Interest::SUCCESS.0,
            Event::Failure { .. } => Interest::FAILURE.0,
            Event::Ignored => Interest::IGNORED.0,
            Event::Cancelled => Interest::CANCELLED.0,
            Event::Stale => Interest::STALE.0,
            Event::Reset { .. } => Interest::RESET.0,
            Event::Dropped { .. } => Interest::DROPPED.0,
        })
    }
}

/// Which kinds of [`Event`] an [`Observer`] wants: a set of bits.
///
/// A breaker builds only the events its observer wants, and a shared breaker
/// keeps its lock-free path only while the observer wants no per-call event
/// (successes, rejections…): state changes alone never slow a healthy call.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::observe::Interest;
///
/// let wanted = Interest::STATE_CHANGED.with(Interest::REJECTED);
/// assert!(wanted.contains(Interest::REJECTED));
/// assert!(!wanted.contains(Interest::SUCCESS));
/// assert!(Interest::NONE.is_empty());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Interest(u16);

impl Interest {
    /// No event.
    pub const NONE: Interest = Interest(0);
    /// [`Event::StateChanged`].
    pub const STATE_CHANGED: Interest = Interest(1);
    /// [`Event::ThresholdExceeded`].
    pub const THRESHOLD: Interest = Interest(1 << 1);
    /// [`Event::Rejected`].
    pub const REJECTED: Interest = Interest(1 << 2);
    /// [`Event::Success`].
    pub const SUCCESS: Interest = Interest(1 << 3);
    /// [`Event::Failure`].
    pub const FAILURE: Interest = Interest(1 << 4);
    /// [`Event::Ignored`].
    pub const IGNORED: Interest = Interest(1 << 5);
    /// [`Event::Cancelled`].
    pub const CANCELLED: Interest = Interest(1 << 6);
    /// [`Event::Stale`].
    pub const STALE: Interest = Interest(1 << 7);
    /// [`Event::Reset`].
    pub const RESET: Interest = Interest(1 << 8);
    /// [`Event::Dropped`].
    pub const DROPPED: Interest = Interest(1 << 9);
    /// The events that mark a change of the breaker, not of one call:
    /// state changes, thresholds, resets and dropped-event reports.
    pub const CHANGES: Interest = Interest(
        Interest::STATE_CHANGED.0 | Interest::THRESHOLD.0 | Interest::RESET.0 | Interest::DROPPED.0,
    );
    /// The events of single calls: cheap to leave out, costly to build.
    pub const PER_CALL: Interest = Interest(
        Interest::REJECTED.0
            | Interest::SUCCESS.0
            | Interest::FAILURE.0
            | Interest::IGNORED.0
            | Interest::CANCELLED.0
            | Interest::STALE.0,
    );
    /// Every event.
    pub const ALL: Interest = Interest(Interest::CHANGES.0 | Interest::PER_CALL.0);

    /// Both sets together.
    #[must_use]
    pub const fn with(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }

    /// The kinds in both sets.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::observe::Interest;
    /// let both = Interest::CHANGES.intersection(Interest::STATE_CHANGED.with(Interest::SUCCESS));
    /// assert_eq!(both, Interest::STATE_CHANGED);
    /// ```
    #[must_use]
    pub const fn intersection(self, other: Interest) -> Interest {
        Interest(self.0 & other.0)
    }

    /// Whether every kind in `other` is in this set.
    #[must_use]
    pub const fn contains(self, other: Interest) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any kind in `other` is in this set.
    #[must_use]
    pub const fn intersects(self, other: Interest) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether no kind is in this set.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The raw bits, for storing in an atomic.
    #[must_use]
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// The set with these raw bits (unknown bits are kept, and ignored).
    #[must_use]
    pub const fn from_bits(bits: u16) -> Interest {
        Interest(bits)
    }
}

/// Receives a breaker's [`Event`]s, in order.
///
/// Implement it for a logger, a metrics exporter, or a channel sender; a
/// breaker without one has `()` in its place (see [`Sink`]), which costs
/// nothing. For a [`Breaker`](crate::Breaker)
/// `on_event` runs inside the operation. For a [`SharedBreaker`](crate::SharedBreaker)
/// events are delivered after its lock is released, in one order for all
/// threads: an observer may call back into the breaker (the nested
/// operation's events follow the current ones), and while one thread
/// delivers, events of other threads' operations wait behind the ones it
/// delivers, and it delivers them too.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use core::cell::Cell;
/// use tripline::{Breaker, Config, CountWindow, Event, MockClock, Observer};
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
    /// Which events it may ever want. Events outside this set are never
    /// built, and the code that would build them is left out of the binary:
    /// a firmware observer of state changes alone pays for no other event.
    /// By default: all.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::observe::{Interest, Observer};
    /// use tripline::Event;
    ///
    /// struct Led;
    /// impl Observer for Led {
    ///     const INTEREST: Interest = Interest::STATE_CHANGED;
    ///     fn on_event(&self, e: &Event) {
    ///         assert!(matches!(e, Event::StateChanged { .. }));
    ///     }
    /// }
    /// ```
    const INTEREST: Interest = Interest::ALL;

    /// Which of [`INTEREST`](Observer::INTEREST) it wants now; read before
    /// each operation, so it may change while the breaker runs. Kinds
    /// outside `INTEREST` are ignored. By default: all of `INTEREST`.
    fn interest(&self) -> Interest {
        Self::INTEREST
    }

    /// Called once per wanted event, in order.
    fn on_event(&self, event: &Event) {
        let _ = event;
    }
}

/// Where a breaker's events go: any [`Observer`], or `()` for nowhere.
///
/// The bound on a breaker's observer parameter. Every `Observer` is a
/// `Sink`; `()` is the sink with no observer behind it, which builds no
/// event and lets a [`SharedBreaker`](crate::SharedBreaker) keep no event
/// queue at all. Implement [`Observer`], not this.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::observe::{Interest, Sink};
///
/// fn wants_anything<S: Sink>(sink: &S) -> bool {
///     !S::INTEREST.is_empty() && !sink.interest().is_empty()
/// }
/// assert!(!wants_anything(&()));
/// ```
pub trait Sink: sealed::Sealed {
    /// Which events may ever be wanted (see [`Observer::INTEREST`]).
    const INTEREST: Interest;
    /// How a shared breaker holds this sink's events until it delivers them.
    #[doc(hidden)]
    type Queue: crate::shared::Queue;
    /// Which events are wanted now, within [`INTEREST`](Sink::INTEREST).
    fn interest(&self) -> Interest;
    /// One wanted event.
    fn on_event(&self, event: &Event);
}

impl<T: Observer> Sink for T {
    const INTEREST: Interest = T::INTEREST;
    type Queue = crate::shared::EventQueue<T>;
    #[inline]
    fn interest(&self) -> Interest {
        bounded(self)
    }
    #[inline]
    fn on_event(&self, event: &Event) {
        Observer::on_event(self, event);
    }
}

/// What `observer` wants now, within its `INTEREST`: a constant mask, so a
/// kind outside `INTEREST` is known unwanted at compile time and its event
/// is never built. (Skipped for `ALL`, where it would only cost an
/// instruction per call.)
#[inline(always)]
fn bounded<T: Observer>(observer: &T) -> Interest {
    let now = Observer::interest(observer);
    if T::INTEREST.contains(Interest::ALL) {
        now
    } else {
        now.intersection(T::INTEREST)
    }
}

/// An observer with room for `N` waiting events in a
/// [`SharedBreaker`](crate::SharedBreaker), instead of the default
/// [`DEFAULT_QUEUE`](crate::shared::DEFAULT_QUEUE) (8).
///
/// A shared breaker keeps its events in a queue inside its lock until it
/// delivers them, 16 bytes each. An observer of state changes alone needs
/// room for 3, the most one operation makes (a half-open time-out noticed
/// late, the open time after it ending too, and the outcome's change);
/// with less, consecutive state changes are merged (A→B, B→C reads as
/// A→C), never lost. Anything else on a full queue is left out and counted
/// in an [`Event::Dropped`]. `N` is 1 to 255 (a compile error otherwise).
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use core::sync::atomic::{AtomicU32, Ordering};
/// use tripline::observe::{Interest, Queued};
/// use tripline::shared::CriticalSectionLock;
/// use tripline::{Config, CountWindow, Event, MockClock, Observer, SharedBreaker};
///
/// struct Changes(AtomicU32);
/// impl Observer for Changes {
///     const INTEREST: Interest = Interest::STATE_CHANGED;
///     fn on_event(&self, _: &Event) {
///         self.0.fetch_add(1, Ordering::Relaxed);
///     }
/// }
///
/// let clock = MockClock::new();
/// let b: SharedBreaker<_, _, Queued<Changes, 3>, CriticalSectionLock> =
///     SharedBreaker::with_observer(
///         Config::default(),
///         CountWindow::<8>::new(),
///         &clock,
///         Queued(Changes(AtomicU32::new(0))),
///     );
/// b.force_open();
/// assert_eq!(b.observer().0 .0.load(Ordering::Relaxed), 1);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Queued<O, const N: usize>(pub O);

impl<O: Observer, const N: usize> Sink for Queued<O, N> {
    const INTEREST: Interest = O::INTEREST;
    type Queue = crate::shared::EventQueue<O, N>;
    #[inline]
    fn interest(&self) -> Interest {
        bounded(&self.0)
    }
    #[inline]
    fn on_event(&self, event: &Event) {
        Observer::on_event(&self.0, event);
    }
}

/// No observer: nothing is built, queued or delivered.
impl Sink for () {
    const INTEREST: Interest = Interest::NONE;
    type Queue = ();
    #[inline]
    fn interest(&self) -> Interest {
        Interest::NONE
    }
    #[inline]
    fn on_event(&self, _: &Event) {}
}

mod sealed {
    pub trait Sealed {}
    impl<T: super::Observer> Sealed for T {}
    impl<O: super::Observer, const N: usize> Sealed for super::Queued<O, N> {}
    impl Sealed for () {}
}

impl<O: Observer + ?Sized> Observer for &O {
    const INTEREST: Interest = O::INTEREST;
    fn interest(&self) -> Interest {
        (**self).interest()
    }
    fn on_event(&self, event: &Event) {
        (**self).on_event(event);
    }
}
