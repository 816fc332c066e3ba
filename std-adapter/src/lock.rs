//! [`StdLock`]: one `std::sync::Mutex` per breaker, never a process-wide lock.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use tripline_core::shared::LockKind;

/// The [`LockKind`] of every std breaker: a mutex of its own, which notices a
/// re-entrant call from the thread holding it and refuses it (the core turns
/// that into a typed `Busy`) instead of deadlocking.
///
/// No user code runs while the lock is held; should a panic happen there
/// anyway, it does not poison the breaker: the next caller proceeds.
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use tripline::{Config, CountWindow, SharedBreaker, StdClock, StdLock};
///
/// let b: SharedBreaker<CountWindow<8>, StdClock, (), StdLock> =
///     SharedBreaker::with_lock(Config::DEFAULT, CountWindow::new(), StdClock::new(), ());
/// assert!(b.call(|| Ok::<_, ()>(1)).is_ok());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct StdLock;

/// The mutex behind a [`StdLock`], with the holding thread's token.
#[derive(Debug)]
pub struct StdMutex<T> {
    owner: AtomicUsize,
    value: Mutex<T>,
}

impl LockKind for StdLock {
    type Lock<T> = StdMutex<T>;
    type Fast = tripline_core::shared::LockFree<crate::PerThreadTally>;

    fn new<T>(value: T) -> StdMutex<T> {
        StdMutex {
            owner: AtomicUsize::new(NO_OWNER),
            value: Mutex::new(value),
        }
    }

    fn with<T, R>(lock: &StdMutex<T>, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let me = thread_token();
        // Only this thread ever stores `me`, so seeing it means we hold the lock.
        if me != NO_OWNER && lock.owner.load(Ordering::Relaxed) == me {
            return None;
        }
        let mut value = lock.value.lock().unwrap_or_else(PoisonError::into_inner);
        lock.owner.store(me, Ordering::Relaxed);
        let _release = ClearOwner(&lock.owner);
        Some(f(&mut value))
    }
}

const NO_OWNER: usize = 0;

/// Clears the owner before the guard unlocks, on return and on unwinding.
struct ClearOwner<'a>(&'a AtomicUsize);

impl Drop for ClearOwner<'_> {
    fn drop(&mut self) {
        self.0.store(NO_OWNER, Ordering::Relaxed);
    }
}

/// A number unique to the calling thread while it lives: the address of a
/// thread-local. `NO_OWNER` while the thread's locals are being destroyed
/// (the lock then works, without re-entrance detection).
fn thread_token() -> usize {
    thread_local!(static TOKEN: u8 = const { 0 });
    TOKEN
        .try_with(|t| core::ptr::from_ref(t) as usize)
        .unwrap_or(NO_OWNER)
}
