//! [`PerThreadTally`]: each thread counts its lock-free calls in a slot of
//! its own, so a healthy call writes no cache line another thread writes.

use std::sync::atomic::{AtomicU64, Ordering};

use thread_local::ThreadLocal;
use tripline_core::tally::{AddTo, Count, Counts, Tally};

/// The [`Tally`] of every std breaker: one cache-line-aligned slot per
/// thread that has used the breaker, written only by that thread (a load
/// and a store, no atomic read-modify-write) and added up on read.
///
/// A slot is made the first time a thread uses the breaker (one small
/// allocation per thread and breaker), and reused by a later thread once its
/// thread has ended, so counts are never lost.
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use tripline::tally::{AddTo, Count, Tally};
/// use tripline::PerThreadTally;
///
/// let tally = PerThreadTally::ZERO;
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| {
///             let mine = tally.local(); // this thread's slot
///             (0..1000).for_each(|_| mine.add(Count::Success));
///         });
///     }
/// });
/// assert_eq!(tally.read().successes, 4000);
/// ```
#[derive(Debug)]
pub struct PerThreadTally {
    slots: ThreadLocal<Slot>,
}

/// One thread's counts, on a cache line (two, for adjacent-line prefetch) of its own.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Slot {
    counts: [AtomicU64; 7],
    duration_sum_us: AtomicU64,
    duration_max_us: AtomicU64,
}

/// Adds to a counter only its own thread writes: no read-modify-write needed.
#[inline(always)]
fn bump(counter: &AtomicU64, order: Ordering) {
    counter.store(counter.load(Ordering::Relaxed).wrapping_add(1), order);
}

impl PerThreadTally {
    /// This thread's slot.
    #[inline]
    fn slot(&self) -> &Slot {
        match self.slots.get() {
            Some(slot) => slot,
            None => self.new_slot(),
        }
    }

    /// The first use from this thread: out of line, so the common case stays small.
    #[cold]
    #[inline(never)]
    fn new_slot(&self) -> &Slot {
        self.slots.get_or_default()
    }
}

/// A thread's own slot, from [`Tally::local`]; only that thread writes it.
#[derive(Debug, Clone, Copy)]
pub struct ThreadSlot<'a>(&'a Slot);

impl AddTo for ThreadSlot<'_> {
    #[inline]
    fn add(&self, count: Count) {
        if let Some(c) = self.0.counts.get(count as usize) {
            bump(c, Ordering::Release);
        }
    }

    #[inline]
    fn add_duration(&self, us: u64) {
        // Saturating, as the breaker's own sum: the two add up exactly.
        let sum = &self.0.duration_sum_us;
        sum.store(
            sum.load(Ordering::Relaxed).saturating_add(us),
            Ordering::Relaxed,
        );
        if us > self.0.duration_max_us.load(Ordering::Relaxed) {
            self.0.duration_max_us.store(us, Ordering::Relaxed);
        }
    }
}

impl Tally for PerThreadTally {
    type Local<'a> = ThreadSlot<'a>;

    #[allow(clippy::declare_interior_mutable_const)] // each use is a fresh tally
    const ZERO: Self = PerThreadTally {
        slots: ThreadLocal::new(),
    };

    #[inline]
    fn local(&self) -> ThreadSlot<'_> {
        ThreadSlot(self.slot())
    }

    fn read(&self) -> Counts {
        let sum = |c: Count| {
            self.slots.iter().fold(0u64, |acc, slot| {
                acc.wrapping_add(slot.counts[c as usize].load(Ordering::Acquire))
            })
        };
        // Outcomes before admissions, so a read never shows more outcomes
        // than admissions.
        let mut counts = Counts {
            successes: sum(Count::Success),
            failures: sum(Count::Failure),
            ignored: sum(Count::Ignored),
            cancelled: sum(Count::Cancelled),
            stale: sum(Count::Stale),
            rejected: sum(Count::Rejected),
            ..Counts::ZERO
        };
        for slot in &self.slots {
            counts.duration_sum_us = counts
                .duration_sum_us
                .saturating_add(slot.duration_sum_us.load(Ordering::Relaxed));
            counts.duration_max_us = counts
                .duration_max_us
                .max(slot.duration_max_us.load(Ordering::Relaxed));
        }
        counts.permitted = sum(Count::Permitted);
        counts
    }
}
