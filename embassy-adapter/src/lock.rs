//! [`EmbassyLock`]: the core's `LockKind` over embassy-sync's blocking mutex.

use core::cell::RefCell;
use core::marker::PhantomData;

use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_sync::blocking_mutex::Mutex;
use tripline_core::shared::LockKind;

/// A [`LockKind`] over `embassy_sync::blocking_mutex::Mutex<M, RefCell<_>>`:
/// the breaker's lock is whatever `RawMutex` the firmware chooses.
///
/// - `CriticalSectionRawMutex`: tasks on any executor, interrupt handlers,
///   other cores. The one to use when an interrupt touches the breaker.
/// - `ThreadModeRawMutex` (Cortex-M): tasks of thread-mode executors only;
///   embassy-sync panics if it is locked from an interrupt.
/// - `NoopRawMutex`: tasks of one executor; not `Sync`, so not in a `static`.
///
/// No user code runs inside the lock; a re-entrant lock would find the
/// `RefCell` borrowed and be refused with the core's `Busy`, never alias.
/// The lock-free path (where 64-bit atomics are native) counts with the
/// core's `AtomicTally`.
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_embassy::*; }
/// use embassy_sync::blocking_mutex::raw::NoopRawMutex;
/// use tripline::{Config, CountWindow, EmbassyClock, EmbassyLock, SharedBreaker};
///
/// let b: SharedBreaker<CountWindow<8>, EmbassyClock, (), EmbassyLock<NoopRawMutex>> =
///     SharedBreaker::with_lock(Config::DEFAULT, CountWindow::new(), EmbassyClock, ());
/// assert_eq!(b.call(|| Ok::<_, ()>(3)), Ok(3));
/// ```
pub struct EmbassyLock<M>(PhantomData<M>);

impl<M: RawMutex> LockKind for EmbassyLock<M> {
    type Lock<T> = Mutex<M, RefCell<T>>;
    /// Lock-free where 64-bit atomics are native, as the critical-section lock.
    type Fast = tripline_core::shared::CriticalSectionFast;

    fn new<T>(value: T) -> Self::Lock<T> {
        Mutex::new(RefCell::new(value))
    }

    fn with<T, R>(lock: &Self::Lock<T>, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        lock.lock(|cell| {
            let mut value = cell.try_borrow_mut().ok()?;
            Some(f(&mut value))
        })
    }
}

impl<M> core::fmt::Debug for EmbassyLock<M> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("EmbassyLock")
    }
}
