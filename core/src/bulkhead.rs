//! [`Bulkhead`]: at most N calls at once, so that one slow dependency cannot
//! take every task, thread or connection with it.
//!
//! A counter on atomics (`portable-atomic`, so it also works on a Cortex-M0,
//! through the binary's `critical-section` implementation): no lock, no
//! queue, no waiting. A call that finds the bulkhead full is rejected at once
//! and counted; the caller decides whether to shed it, fall back, or retry.

use portable_atomic::{AtomicU32, AtomicU64, Ordering};

/// A counting concurrency limiter: at most `limit` permits out at a time.
///
/// `const fn new`, so it can be a `static` shared by tasks, threads and
/// interrupt handlers (through a `match`, as below: a limit of 0 is then a
/// compile error). A [`BulkheadPermit`] gives its slot back when dropped,
/// also when the call panics and unwinds.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::{Bulkhead, BulkheadFull};
///
/// static UPLINK: Bulkhead = match Bulkhead::new(2) {
///     Ok(b) => b,
///     Err(e) => panic!("{}", e.as_str()),
/// };
///
/// let a = UPLINK.try_acquire().unwrap();
/// let b = UPLINK.try_acquire().unwrap();
/// assert_eq!(UPLINK.try_acquire().unwrap_err(), BulkheadFull { limit: 2 });
/// drop(a);
/// assert!(UPLINK.try_acquire().is_ok()); // a's slot is free again
/// # drop(b);
/// ```
#[derive(Debug)]
pub struct Bulkhead {
    limit: u32,
    in_use: AtomicU32,
    max_in_use: AtomicU32,
    admitted: AtomicU64,
    rejected: AtomicU64,
}

/// A call the [`Bulkhead`] turned away because all its slots were taken.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::{Bulkhead, BulkheadFull};
/// let one = Bulkhead::new(1).unwrap();
/// let _held = one.try_acquire().unwrap();
/// assert_eq!(one.try_acquire().unwrap_err(), BulkheadFull { limit: 1 });
/// assert_eq!(BulkheadFull { limit: 1 }.to_string(), "bulkhead full: all 1 slots are in use");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct BulkheadFull {
    /// The bulkhead's limit, all of it in use.
    pub limit: u32,
}

impl core::fmt::Display for BulkheadFull {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "bulkhead full: all {} slots are in use", self.limit)
    }
}

impl core::error::Error for BulkheadFull {}

/// A bulkhead that could never admit a call: from [`Bulkhead::new`] (and
/// the std adapter's `AsyncBulkhead::new`) with a limit of 0.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::Bulkhead;
/// use tripline::bulkhead::BulkheadError;
///
/// assert_eq!(Bulkhead::new(0).unwrap_err(), BulkheadError::ZeroLimit);
/// assert!(BulkheadError::ZeroLimit.as_str().contains("at least 1"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum BulkheadError {
    /// A limit of 0: every call would be rejected.
    ZeroLimit,
}

impl BulkheadError {
    /// What is wrong and how to fix it; `const`, for a `panic!` in a
    /// `static`'s `match`.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::bulkhead::BulkheadError;
    /// assert_eq!(BulkheadError::ZeroLimit.as_str(), "a bulkhead's limit must be at least 1");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            BulkheadError::ZeroLimit => "a bulkhead's limit must be at least 1",
        }
    }
}

impl core::fmt::Display for BulkheadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for BulkheadError {}

/// A copy of a [`Bulkhead`]'s counters.
///
/// Every call to `try_acquire` lands in exactly one of `admitted` or
/// `rejected`; the counters wrap after 2⁶⁴ calls.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::Bulkhead;
///
/// let bulkhead = Bulkhead::new(1).unwrap();
/// let permit = bulkhead.try_acquire().unwrap();
/// let _ = bulkhead.try_acquire(); // full
/// let m = bulkhead.metrics();
/// assert_eq!((m.limit, m.in_use, m.max_in_use, m.admitted, m.rejected), (1, 1, 1, 1, 1));
/// # drop(permit);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct BulkheadMetrics {
    /// The most permits out at once.
    pub limit: u32,
    /// Permits out now.
    pub in_use: u32,
    /// The most permits that were ever out at the same time.
    pub max_in_use: u32,
    /// Calls admitted.
    pub admitted: u64,
    /// Calls rejected because the bulkhead was full.
    pub rejected: u64,
}

impl Bulkhead {
    /// A bulkhead admitting at most `limit` calls at once; `const`, for
    /// statics.
    ///
    /// # Errors
    /// [`BulkheadError::ZeroLimit`] for `limit == 0`, which could never
    /// admit a call (to shed a dependency on purpose, stop calling it or
    /// force its breaker open).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::Bulkhead;
    /// static DB: Bulkhead = match Bulkhead::new(8) {
    ///     Ok(b) => b,
    ///     Err(e) => panic!("{}", e.as_str()), // a compile error, never a run-time panic
    /// };
    /// assert_eq!(DB.available(), 8);
    /// assert!(Bulkhead::new(0).is_err());
    /// ```
    pub const fn new(limit: u32) -> Result<Self, BulkheadError> {
        if limit == 0 {
            return Err(BulkheadError::ZeroLimit);
        }
        Ok(Bulkhead {
            limit,
            in_use: AtomicU32::new(0),
            max_in_use: AtomicU32::new(0),
            admitted: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
        })
    }

    /// Takes a slot, if one is free; the permit gives it back when dropped.
    ///
    /// Never waits and never exceeds the limit, whatever the number of
    /// concurrent callers.
    ///
    /// # Errors
    /// [`BulkheadFull`] when `limit` permits are out; counted in `rejected`.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::Bulkhead;
    ///
    /// let bulkhead = Bulkhead::new(1).unwrap();
    /// {
    ///     let _permit = bulkhead.try_acquire().unwrap();
    ///     assert!(bulkhead.try_acquire().is_err());
    /// }
    /// assert_eq!(bulkhead.in_use(), 0);
    /// ```
    pub fn try_acquire(&self) -> Result<BulkheadPermit<'_>, BulkheadFull> {
        let limit = self.limit;
        match self
            .in_use
            .fetch_update(Ordering::Acquire, Ordering::Relaxed, |n| {
                (n < limit).then_some(n.saturating_add(1))
            }) {
            Ok(before) => {
                self.admitted.fetch_add(1, Ordering::Relaxed);
                // `before < limit`, so this is exact.
                self.max_in_use
                    .fetch_max(before.saturating_add(1), Ordering::Relaxed);
                Ok(BulkheadPermit { bulkhead: self })
            }
            Err(_) => {
                self.rejected.fetch_add(1, Ordering::Relaxed);
                Err(BulkheadFull { limit })
            }
        }
    }

    /// Runs `f` in a slot, if one is free; the slot is given back when `f`
    /// returns or unwinds.
    ///
    /// # Errors
    /// [`BulkheadFull`], without running `f`.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::Bulkhead;
    /// let bulkhead = Bulkhead::new(4).unwrap();
    /// assert_eq!(bulkhead.call(|| 6 * 7), Ok(42));
    /// ```
    pub fn call<T>(&self, f: impl FnOnce() -> T) -> Result<T, BulkheadFull> {
        let _permit = self.try_acquire()?;
        Ok(f())
    }

    /// The most permits out at once.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::Bulkhead;
    /// assert_eq!(Bulkhead::new(3).unwrap().limit(), 3);
    /// ```
    #[must_use]
    pub const fn limit(&self) -> u32 {
        self.limit
    }

    /// Permits out now.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::Bulkhead;
    /// let b = Bulkhead::new(3).unwrap();
    /// let p = b.try_acquire().unwrap();
    /// assert_eq!(b.in_use(), 1);
    /// # drop(p);
    /// ```
    #[must_use]
    pub fn in_use(&self) -> u32 {
        self.in_use.load(Ordering::Relaxed)
    }

    /// Slots free now (a hint: another caller may take them first).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::Bulkhead;
    /// let b = Bulkhead::new(3).unwrap();
    /// let p = b.try_acquire().unwrap();
    /// assert_eq!(b.available(), 2);
    /// # drop(p);
    /// ```
    #[must_use]
    pub fn available(&self) -> u32 {
        self.limit.saturating_sub(self.in_use())
    }

    /// A copy of the counters. Each is read atomically, the set is not: a
    /// snapshot taken while calls run may mix instants.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::Bulkhead;
    /// let b = Bulkhead::new(3).unwrap();
    /// assert_eq!(b.call(|| ()), Ok(()));
    /// assert_eq!(b.metrics().admitted, 1);
    /// ```
    #[must_use]
    pub fn metrics(&self) -> BulkheadMetrics {
        BulkheadMetrics {
            limit: self.limit,
            in_use: self.in_use(),
            max_in_use: self.max_in_use.load(Ordering::Relaxed),
            admitted: self.admitted.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
        }
    }
}

/// A slot of a [`Bulkhead`], given back when dropped (also on unwinding).
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::Bulkhead;
/// let b = Bulkhead::new(1).unwrap();
/// let permit = b.try_acquire().unwrap();
/// assert_eq!(permit.bulkhead().in_use(), 1);
/// drop(permit);
/// assert_eq!(b.in_use(), 0);
/// ```
#[derive(Debug)]
#[must_use = "dropping the permit frees its slot at once; hold it for the length of the call"]
pub struct BulkheadPermit<'a> {
    bulkhead: &'a Bulkhead,
}

impl BulkheadPermit<'_> {
    /// The bulkhead this permit belongs to.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::Bulkhead;
    /// let b = Bulkhead::new(2).unwrap();
    /// let p = b.try_acquire().unwrap();
    /// assert_eq!(p.bulkhead().limit(), 2);
    /// # drop(p);
    /// ```
    #[must_use]
    pub const fn bulkhead(&self) -> &Bulkhead {
        self.bulkhead
    }
}

impl Drop for BulkheadPermit<'_> {
    fn drop(&mut self) {
        // Every permit was counted in by `try_acquire`, so this never goes
        // below zero.
        self.bulkhead.in_use.fetch_sub(1, Ordering::Release);
    }
}
