//! [`EmbassyBulkhead`]: a concurrency limit for embassy tasks, with an optional wait.

use core::cell::Cell;
use core::future::Future;
use core::time::Duration;

use embassy_sync::blocking_mutex::raw::{CriticalSectionRawMutex, RawMutex};
use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::semaphore::{GreedySemaphore, Semaphore, SemaphoreReleaser};
use tripline_core::bulkhead::BulkheadMetrics;
use tripline_core::BulkheadFull;

use crate::clock::timer_after;

/// At most `limit` calls at once across embassy tasks, on embassy-sync's
/// semaphore; `const`, for statics.
///
/// `try_acquire` never waits; `acquire(max_wait)` waits up to `max_wait`
/// for a slot. The counting (in use, max seen, admitted, rejected) is the
/// same [`BulkheadMetrics`] as the core's `Bulkhead`, which is the choice
/// where nothing should wait.
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_embassy::*; }
/// use core::time::Duration;
/// use tripline::EmbassyBulkhead;
///
/// static SPI: EmbassyBulkhead = EmbassyBulkhead::new(1);
///
/// # let fut = async {
/// let first = SPI.try_acquire().unwrap();
/// assert!(SPI.try_acquire().is_err());
/// drop(first);
/// assert_eq!(SPI.call(async { 3 }, Duration::ZERO).await, Ok(3));
/// assert_eq!(SPI.metrics().rejected, 1);
/// # };
/// # let mut fut = core::pin::pin!(fut);
/// # let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
/// # assert!(core::future::Future::poll(fut.as_mut(), &mut cx).is_ready());
/// ```
pub struct EmbassyBulkhead<M: RawMutex = CriticalSectionRawMutex> {
    slots: GreedySemaphore<M>,
    counts: Mutex<M, Cell<BulkheadMetrics>>,
}

/// A slot of an [`EmbassyBulkhead`]; free again when this drops.
#[must_use = "the slot is released as soon as the permit is dropped"]
pub struct EmbassyBulkheadPermit<'a, M: RawMutex> {
    bulkhead: &'a EmbassyBulkhead<M>,
    _slot: SemaphoreReleaser<'a, GreedySemaphore<M>>,
}

impl<M: RawMutex> Drop for EmbassyBulkheadPermit<'_, M> {
    fn drop(&mut self) {
        self.bulkhead
            .count(|m| m.in_use = m.in_use.saturating_sub(1));
    }
}

impl<M: RawMutex> EmbassyBulkhead<M> {
    /// A bulkhead of `limit` slots; a limit of 0 rejects everything.
    #[must_use]
    pub const fn new(limit: u32) -> Self {
        EmbassyBulkhead {
            slots: GreedySemaphore::new(limit as usize),
            counts: Mutex::new(Cell::new(BulkheadMetrics {
                limit,
                in_use: 0,
                max_in_use: 0,
                admitted: 0,
                rejected: 0,
            })),
        }
    }

    /// A slot now, or [`BulkheadFull`].
    ///
    /// # Errors
    /// [`BulkheadFull`] when every slot is taken.
    pub fn try_acquire(&self) -> Result<EmbassyBulkheadPermit<'_, M>, BulkheadFull> {
        self.admit(self.slots.try_acquire(1))
    }

    /// A slot, waiting up to `max_wait` for one (`Duration::ZERO`: no wait).
    ///
    /// # Errors
    /// [`BulkheadFull`] when no slot came free in time.
    pub async fn acquire(
        &self,
        max_wait: Duration,
    ) -> Result<EmbassyBulkheadPermit<'_, M>, BulkheadFull> {
        if max_wait.is_zero() {
            return self.try_acquire();
        }
        let slot = first(self.slots.acquire(1), timer_after(max_wait)).await;
        self.admit(slot.and_then(Result::ok))
    }

    /// Runs `work` in a slot, waiting up to `max_wait` for one.
    ///
    /// # Errors
    /// [`BulkheadFull`] without polling `work` when no slot came free in time.
    pub async fn call<T>(
        &self,
        work: impl Future<Output = T>,
        max_wait: Duration,
    ) -> Result<T, BulkheadFull> {
        let _slot = self.acquire(max_wait).await?;
        Ok(work.await)
    }

    /// The limit, slots in use, the most in use at once, admitted and rejected calls.
    #[must_use]
    pub fn metrics(&self) -> BulkheadMetrics {
        self.counts.lock(Cell::get)
    }

    fn count(&self, update: impl FnOnce(&mut BulkheadMetrics)) -> BulkheadMetrics {
        self.counts.lock(|cell| {
            let mut m = cell.get();
            update(&mut m);
            cell.set(m);
            m
        })
    }

    fn admit<'a>(
        &'a self,
        slot: Option<SemaphoreReleaser<'a, GreedySemaphore<M>>>,
    ) -> Result<EmbassyBulkheadPermit<'a, M>, BulkheadFull> {
        match slot {
            Some(slot) => {
                self.count(|m| {
                    m.in_use = m.in_use.saturating_add(1);
                    m.max_in_use = m.max_in_use.max(m.in_use);
                    m.admitted = m.admitted.saturating_add(1);
                });
                Ok(EmbassyBulkheadPermit {
                    bulkhead: self,
                    _slot: slot,
                })
            }
            None => {
                let m = self.count(|m| m.rejected = m.rejected.saturating_add(1));
                Err(BulkheadFull { limit: m.limit })
            }
        }
    }
}

/// The first of `a` and `b` to finish: `Some` with `a`'s output, `None` if `b` won.
async fn first<A: Future, B: Future>(a: A, b: B) -> Option<A::Output> {
    let mut a = core::pin::pin!(a);
    let mut b = core::pin::pin!(b);
    core::future::poll_fn(|cx| {
        if let core::task::Poll::Ready(out) = a.as_mut().poll(cx) {
            core::task::Poll::Ready(Some(out))
        } else if b.as_mut().poll(cx).is_ready() {
            core::task::Poll::Ready(None)
        } else {
            core::task::Poll::Pending
        }
    })
    .await
}
