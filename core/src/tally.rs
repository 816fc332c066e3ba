//! Lifetime call counts ([`Counts`]) and where a shared breaker keeps those
//! its lock-free path adds ([`Tally`]).
//!
//! Every call a user makes is counted exactly once: in the breaker's own
//! [`Counts`] when it takes the lock, or in its [`Tally`] when it does not.
//! A read adds the two. A `Tally` only grows, so a read made while calls run
//! is a lower bound that never goes backwards, and exact once they stop.

use portable_atomic::{AtomicU64, Ordering};

/// Lifetime call counts; never reset, so that every call is counted once.
///
/// ```
/// use tripline::tally::Counts;
/// # mod tripline { pub use tripline_core::*; }
///
/// let a = Counts { successes: 2, duration_max_us: 7, ..Counts::ZERO };
/// let b = Counts { successes: 1, duration_max_us: 9, ..Counts::ZERO };
/// let sum = a.merge(b);
/// assert_eq!((sum.successes, sum.duration_max_us), (3, 9));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Calls admitted.
    pub permitted: u64,
    /// Calls refused.
    pub rejected: u64,
    /// Calls counted as successes.
    pub successes: u64,
    /// Calls counted as failures.
    pub failures: u64,
    /// Of the successes, those slower than the slow-call threshold.
    pub slow_successes: u64,
    /// Of the failures, those slower than the slow-call threshold.
    pub slow_failures: u64,
    /// Outcomes classified as ignored.
    pub ignored: u64,
    /// Permits given back without a result.
    pub cancelled: u64,
    /// Results of permits from an earlier state.
    pub stale: u64,
    /// Sum of the durations of counted calls, in microseconds.
    pub duration_sum_us: u64,
    /// Longest counted call, in microseconds.
    pub duration_max_us: u64,
}

impl Counts {
    /// Nothing counted.
    pub const ZERO: Counts = Counts {
        permitted: 0,
        rejected: 0,
        successes: 0,
        failures: 0,
        slow_successes: 0,
        slow_failures: 0,
        ignored: 0,
        cancelled: 0,
        stale: 0,
        duration_sum_us: 0,
        duration_max_us: 0,
    };

    /// Both counts together: sums, and the larger maximum.
    #[must_use]
    pub const fn merge(self, o: Counts) -> Counts {
        Counts {
            permitted: self.permitted.wrapping_add(o.permitted),
            rejected: self.rejected.wrapping_add(o.rejected),
            successes: self.successes.wrapping_add(o.successes),
            failures: self.failures.wrapping_add(o.failures),
            slow_successes: self.slow_successes.wrapping_add(o.slow_successes),
            slow_failures: self.slow_failures.wrapping_add(o.slow_failures),
            ignored: self.ignored.wrapping_add(o.ignored),
            cancelled: self.cancelled.wrapping_add(o.cancelled),
            stale: self.stale.wrapping_add(o.stale),
            duration_sum_us: self.duration_sum_us.saturating_add(o.duration_sum_us),
            duration_max_us: if self.duration_max_us > o.duration_max_us {
                self.duration_max_us
            } else {
                o.duration_max_us
            },
        }
    }

    /// Adds one to `count`.
    pub(crate) const fn bump(&mut self, count: Count) {
        let c = match count {
            Count::Permitted => &mut self.permitted,
            Count::Rejected => &mut self.rejected,
            Count::Success => &mut self.successes,
            Count::Failure => &mut self.failures,
            Count::Ignored => &mut self.ignored,
            Count::Cancelled => &mut self.cancelled,
            Count::Stale => &mut self.stale,
        };
        *c = c.wrapping_add(1);
    }

    /// Adds one call's duration to the sum and the maximum.
    pub(crate) const fn time(&mut self, us: u64) {
        self.duration_sum_us = self.duration_sum_us.saturating_add(us);
        if us > self.duration_max_us {
            self.duration_max_us = us;
        }
    }
}

/// One of the counts a lock-free operation adds to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Count {
    /// [`Counts::permitted`].
    Permitted,
    /// [`Counts::rejected`].
    Rejected,
    /// [`Counts::successes`].
    Success,
    /// [`Counts::failures`].
    Failure,
    /// [`Counts::ignored`].
    Ignored,
    /// [`Counts::cancelled`].
    Cancelled,
    /// [`Counts::stale`].
    Stale,
}

/// Where a [`SharedBreaker`](crate::SharedBreaker) adds the counts of the
/// operations that take no lock; chosen by its [`LockKind`](crate::shared::LockKind).
///
/// The core's [`AtomicTally`] adds with atomic read-modify-writes; the std
/// adapter gives each thread a slot of its own, which costs a plain load and
/// store and writes no cache line another thread writes.
pub trait Tally {
    /// Where the calling context adds: a thread's own slot, or the tally.
    /// Valid for the context that asked for it (a synchronous call uses one
    /// for its admission and its outcome).
    type Local<'a>: AddTo
    where
        Self: 'a;
    /// An empty tally, for `const` construction.
    #[allow(clippy::declare_interior_mutable_const)] // each use is a fresh tally
    const ZERO: Self;
    /// The calling context's place to add to.
    fn local(&self) -> Self::Local<'_>;
    /// Everything counted so far.
    fn read(&self) -> Counts;

    /// Adds one to `count`.
    fn add(&self, count: Count) {
        self.local().add(count);
    }
}

/// A place a lock-free operation adds its counts to; from [`Tally::local`].
pub trait AddTo {
    /// Adds one to `count`.
    fn add(&self, count: Count);
    /// Adds one call's duration to the sum and the maximum.
    fn add_duration(&self, us: u64);
}

/// A [`Tally`] of atomic counters, for any target (on chips without 64-bit
/// atomics, `portable-atomic` makes each add a short critical section).
///
/// ```
/// use tripline::tally::{AddTo, AtomicTally, Count, Tally};
/// # mod tripline { pub use tripline_core::*; }
///
/// let t = AtomicTally::ZERO;
/// t.add(Count::Success);
/// t.local().add_duration(40);
/// assert_eq!((t.read().successes, t.read().duration_sum_us), (1, 40));
/// ```
#[derive(Debug)]
pub struct AtomicTally {
    counts: [AtomicU64; 7],
    duration_sum_us: AtomicU64,
    duration_max_us: AtomicU64,
}

impl AddTo for &AtomicTally {
    #[inline]
    fn add(&self, count: Count) {
        if let Some(c) = self.counts.get(count as usize) {
            c.fetch_add(1, Ordering::Release);
        }
    }

    #[inline]
    fn add_duration(&self, us: u64) {
        // Saturating, as the breaker's own sum: the two add up exactly.
        let _ = self
            .duration_sum_us
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |sum| {
                Some(sum.saturating_add(us))
            });
        self.duration_max_us.fetch_max(us, Ordering::Relaxed);
    }
}

impl Tally for AtomicTally {
    type Local<'a> = &'a AtomicTally;

    #[allow(clippy::declare_interior_mutable_const)] // each use is a fresh tally
    const ZERO: Self = AtomicTally {
        counts: [const { AtomicU64::new(0) }; 7],
        duration_sum_us: AtomicU64::new(0),
        duration_max_us: AtomicU64::new(0),
    };

    #[inline]
    fn local(&self) -> &AtomicTally {
        self
    }

    fn read(&self) -> Counts {
        let get = |c: Count| {
            self.counts
                .get(c as usize)
                .map_or(0, |a| a.load(Ordering::Acquire))
        };
        // Outcomes before admissions: a call's outcome is added after its
        // admission, so reading in this order never shows more outcomes
        // than admissions.
        let mut counts = Counts {
            successes: get(Count::Success),
            failures: get(Count::Failure),
            ignored: get(Count::Ignored),
            cancelled: get(Count::Cancelled),
            stale: get(Count::Stale),
            rejected: get(Count::Rejected),
            duration_sum_us: self.duration_sum_us.load(Ordering::Relaxed),
            duration_max_us: self.duration_max_us.load(Ordering::Relaxed),
            ..Counts::ZERO
        };
        counts.permitted = get(Count::Permitted);
        counts
    }
}
