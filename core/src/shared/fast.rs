//! What a shared breaker keeps outside its lock for the operations that take
//! none: [`LockFree`] (the published state, a tally and the configuration),
//! or [`Locked`] where every operation takes the lock and only a counter of
//! refused re-entries is kept. Chosen by the lock kind ([`FastPath`]).

use portable_atomic::{AtomicU32, Ordering};

use super::gate::Gate;
use crate::machine::Outside;
use crate::tally::{AtomicTally, Count, Counts, Tally};
use crate::Config;

/// What a [`LockKind`](super::LockKind) keeps outside the lock: [`LockFree`]
/// to run the healthy path without the lock, or [`Locked`] to keep the
/// smallest breaker. Implemented by those two only.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::shared::{FastPath, LockFree, Locked};
/// use tripline::tally::AtomicTally;
///
/// assert!(LockFree::<AtomicTally>::LOCK_FREE);
/// assert!(!Locked::LOCK_FREE);
/// ```
pub trait FastPath: Sized + sealed::Sealed {
    /// Whether the lock-free paths run.
    const LOCK_FREE: bool;
    /// Where the lock-free paths count.
    type Tally: Tally;
    /// The part for a breaker built with `config`, at run time.
    fn for_config(config: &Config) -> Self;
    /// The published state, if the lock-free paths run.
    #[doc(hidden)]
    fn lock_free(&self) -> Option<&LockFree<Self::Tally>>;
    /// Counts a call refused because the lock was re-entered.
    #[doc(hidden)]
    fn count_busy_rejection(&self);
    /// What was counted outside the lock.
    #[doc(hidden)]
    #[allow(private_bounds)]
    type Outside: Outside;
    /// Reads what was counted outside the lock.
    #[doc(hidden)]
    fn outside(&self) -> Self::Outside;
}

/// The lock-free paths' state: what the lock holder published, where they
/// count (`T`), and a copy of the configuration to decide with.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::shared::LockFree;
/// use tripline::tally::AtomicTally;
/// use tripline::Config;
///
/// const FAST: LockFree<AtomicTally> = LockFree::new(&Config::DEFAULT);
/// # let _ = FAST;
/// ```
#[derive(Debug)]
pub struct LockFree<T> {
    pub(crate) gate: Gate,
    pub(crate) tally: T,
    pub(crate) config: Config,
}

impl<T: Tally> LockFree<T> {
    /// The part for a breaker built with `config`; nothing is published
    /// until its first locked operation.
    #[must_use]
    pub const fn new(config: &Config) -> Self {
        LockFree {
            gate: Gate::UNPUBLISHED,
            tally: T::ZERO,
            config: *config,
        }
    }
}

impl<T: Tally> FastPath for LockFree<T> {
    const LOCK_FREE: bool = true;
    type Tally = T;

    fn for_config(config: &Config) -> Self {
        LockFree::new(config)
    }

    #[inline(always)]
    fn lock_free(&self) -> Option<&LockFree<T>> {
        Some(self)
    }

    fn count_busy_rejection(&self) {
        self.tally.add(Count::Rejected);
    }

    type Outside = Counts;
    fn outside(&self) -> Counts {
        self.tally.read()
    }
}

/// No lock-free path: every operation takes the lock, and the breaker
/// keeps nothing outside it but a count of calls refused because the lock
/// was re-entered (which only a clock calling into its own breaker can do).
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::shared::Locked;
/// use tripline::Config;
///
/// assert_eq!(core::mem::size_of_val(&Locked::new(&Config::DEFAULT)), 4);
/// ```
#[derive(Debug)]
pub struct Locked {
    busy_rejections: AtomicU32,
}

impl Locked {
    /// The part for any configuration.
    #[must_use]
    pub const fn new(config: &Config) -> Self {
        let _ = config;
        Locked {
            busy_rejections: AtomicU32::new(0),
        }
    }
}

impl FastPath for Locked {
    const LOCK_FREE: bool = false;
    type Tally = AtomicTally;

    fn for_config(config: &Config) -> Self {
        Locked::new(config)
    }

    #[inline(always)]
    fn lock_free(&self) -> Option<&LockFree<AtomicTally>> {
        None
    }

    fn count_busy_rejection(&self) {
        // Saturating: a count that stops is better than one that restarts.
        let _ = self
            .busy_rejections
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_add(1));
    }

    type Outside = BusyRejections;
    fn outside(&self) -> BusyRejections {
        BusyRejections(self.busy_rejections.load(Ordering::Relaxed))
    }
}

/// What [`Locked`] counts outside the lock: calls refused because it was
/// re-entered, counted as rejections.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct BusyRejections(u32);

impl Outside for BusyRejections {
    fn count(&self, count: Count) -> u64 {
        match count {
            Count::Rejected => u64::from(self.0),
            _ => 0,
        }
    }
}

mod sealed {
    pub trait Sealed {}
    impl<T> Sealed for super::LockFree<T> {}
    impl Sealed for super::Locked {}
}
