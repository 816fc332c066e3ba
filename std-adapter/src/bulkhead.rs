//! [`AsyncBulkhead`]: a concurrency limit for tokio tasks, with an optional wait.

use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tripline_core::bulkhead::{BulkheadError, BulkheadMetrics};
use tripline_core::BulkheadFull;

/// At most `limit` calls at once across tasks, on a `tokio::sync::Semaphore`.
///
/// Without [`max_wait`](Self::max_wait) a full bulkhead rejects at once
/// (resilience4j's default); with it, a call waits that long for a slot,
/// then is rejected. Cloning shares the limit. The firmware counterpart,
/// without waiting, is the core's [`Bulkhead`](tripline_core::Bulkhead).
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use std::time::Duration;
/// use tripline::AsyncBulkhead;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() -> Result<(), tripline::bulkhead::BulkheadError> {
/// let db = AsyncBulkhead::new(2)?.max_wait(Duration::from_millis(50));
/// let a = db.acquire().await.unwrap();
/// let b = db.acquire().await.unwrap();
/// assert!(db.acquire().await.is_err()); // waited 50 ms, still full
/// drop(a);
/// assert_eq!(db.call(async { 7 }).await, Ok(7));
/// assert_eq!(db.metrics().rejected, 1);
/// # drop(b); Ok::<(), tripline::bulkhead::BulkheadError>(()) }
/// ```
#[derive(Clone, Debug)]
pub struct AsyncBulkhead {
    semaphore: Arc<Semaphore>,
    limit: u32,
    max_wait: Option<Duration>,
    counts: Arc<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    max_in_use: AtomicU32,
    admitted: AtomicU64,
    rejected: AtomicU64,
}

/// A slot of an [`AsyncBulkhead`]; the slot is free again when this drops.
#[must_use = "the slot is released as soon as the permit is dropped"]
#[derive(Debug)]
pub struct AsyncBulkheadPermit {
    _slot: OwnedSemaphorePermit,
}

impl AsyncBulkhead {
    /// A bulkhead of `limit` slots that never waits.
    ///
    /// # Errors
    /// [`BulkheadError::ZeroLimit`] for `limit == 0`, as the core's
    /// [`Bulkhead::new`](tripline_core::Bulkhead::new).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::AsyncBulkhead;
    /// use tripline::bulkhead::BulkheadError;
    ///
    /// assert_eq!(AsyncBulkhead::new(0).unwrap_err(), BulkheadError::ZeroLimit);
    /// assert_eq!(AsyncBulkhead::new(4)?.metrics().limit, 4);
    /// # Ok::<(), BulkheadError>(())
    /// ```
    pub fn new(limit: u32) -> Result<Self, BulkheadError> {
        if limit == 0 {
            return Err(BulkheadError::ZeroLimit);
        }
        Ok(AsyncBulkhead {
            semaphore: Arc::new(Semaphore::new(limit as usize)),
            limit,
            max_wait: None,
            counts: Arc::default(),
        })
    }

    /// Waits up to `max_wait` for a slot before rejecting.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use std::time::Duration;
    /// use tripline::AsyncBulkhead;
    ///
    /// let pool = AsyncBulkhead::new(8)?.max_wait(Duration::from_millis(20));
    /// assert_eq!(pool.wait_limit(), Some(Duration::from_millis(20)));
    /// # Ok::<(), tripline::bulkhead::BulkheadError>(())
    /// ```
    #[must_use]
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = Some(max_wait);
        self
    }

    /// How long a call waits for a slot before it is rejected, if it waits.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::AsyncBulkhead;
    /// assert_eq!(AsyncBulkhead::new(8)?.wait_limit(), None);
    /// # Ok::<(), tripline::bulkhead::BulkheadError>(())
    /// ```
    #[must_use]
    pub fn wait_limit(&self) -> Option<Duration> {
        self.max_wait
    }

    /// A slot now, or [`BulkheadFull`].
    ///
    /// # Errors
    /// [`BulkheadFull`] when every slot is taken.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::AsyncBulkhead;
    ///
    /// let pool = AsyncBulkhead::new(1)?;
    /// let held = pool.try_acquire().unwrap();
    /// assert!(pool.try_acquire().is_err());
    /// drop(held);
    /// assert!(pool.try_acquire().is_ok());
    /// # Ok::<(), tripline::bulkhead::BulkheadError>(())
    /// ```
    pub fn try_acquire(&self) -> Result<AsyncBulkheadPermit, BulkheadFull> {
        let slot = Arc::clone(&self.semaphore).try_acquire_owned().ok();
        self.admit(slot)
    }

    /// A slot now if one is free, counted as admitted; `None`, counted as
    /// nothing, if not (the caller then waits with [`acquire`](Self::acquire)
    /// or counts the rejection with [`reject`](Self::reject)).
    #[cfg(feature = "tower")]
    pub(crate) fn try_admit(&self) -> Option<AsyncBulkheadPermit> {
        let slot = Arc::clone(&self.semaphore).try_acquire_owned().ok()?;
        self.admit(Some(slot)).ok()
    }

    /// Counts a rejection and says why.
    #[cfg(feature = "tower")]
    pub(crate) fn reject(&self) -> BulkheadFull {
        match self.admit(None) {
            Ok(_) => BulkheadFull { limit: self.limit },
            Err(full) => full,
        }
    }

    /// A slot, waiting up to the configured `max_wait` for one.
    ///
    /// # Errors
    /// [`BulkheadFull`] when no slot came free in time.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use std::time::Duration;
    /// use tripline::AsyncBulkhead;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let pool = AsyncBulkhead::new(1).unwrap().max_wait(Duration::from_secs(1));
    /// let held = pool.acquire().await.unwrap();
    /// let start = tokio::time::Instant::now();
    /// assert!(pool.acquire().await.is_err());
    /// assert_eq!(start.elapsed(), Duration::from_secs(1));
    /// # drop(held); }
    /// ```
    pub async fn acquire(&self) -> Result<AsyncBulkheadPermit, BulkheadFull> {
        let Some(wait) = self.max_wait else {
            return self.try_acquire();
        };
        let acquire = Arc::clone(&self.semaphore).acquire_owned();
        let slot = tokio::time::timeout(wait, acquire)
            .await
            .ok()
            .and_then(Result::ok);
        self.admit(slot)
    }

    /// Runs `work` in a slot.
    ///
    /// # Errors
    /// [`BulkheadFull`] without polling `work` when no slot came free in time.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::AsyncBulkhead;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let pool = AsyncBulkhead::new(2).unwrap();
    /// assert_eq!(pool.call(async { 6 * 7 }).await, Ok(42));
    /// # }
    /// ```
    pub async fn call<T>(&self, work: impl Future<Output = T>) -> Result<T, BulkheadFull> {
        let _slot = self.acquire().await?;
        Ok(work.await)
    }

    /// The limit, slots in use, the most in use at once, admitted and rejected calls.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::AsyncBulkhead;
    ///
    /// let pool = AsyncBulkhead::new(1)?;
    /// let held = pool.try_acquire().unwrap();
    /// let _ = pool.try_acquire();
    /// let m = pool.metrics();
    /// assert_eq!((m.in_use, m.admitted, m.rejected), (1, 1, 1));
    /// # drop(held); Ok::<(), tripline::bulkhead::BulkheadError>(())
    /// ```
    #[must_use]
    pub fn metrics(&self) -> BulkheadMetrics {
        BulkheadMetrics {
            limit: self.limit,
            in_use: self.in_use(),
            max_in_use: self.counts.max_in_use.load(Ordering::Relaxed),
            admitted: self.counts.admitted.load(Ordering::Relaxed),
            rejected: self.counts.rejected.load(Ordering::Relaxed),
        }
    }

    fn in_use(&self) -> u32 {
        let free = u32::try_from(self.semaphore.available_permits()).unwrap_or(u32::MAX);
        self.limit.saturating_sub(free)
    }

    fn admit(
        &self,
        slot: Option<OwnedSemaphorePermit>,
    ) -> Result<AsyncBulkheadPermit, BulkheadFull> {
        match slot {
            Some(slot) => {
                self.counts.admitted.fetch_add(1, Ordering::Relaxed);
                self.counts
                    .max_in_use
                    .fetch_max(self.in_use(), Ordering::Relaxed);
                Ok(AsyncBulkheadPermit { _slot: slot })
            }
            None => {
                self.counts.rejected.fetch_add(1, Ordering::Relaxed);
                Err(BulkheadFull { limit: self.limit })
            }
        }
    }
}
