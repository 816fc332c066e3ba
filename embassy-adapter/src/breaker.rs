//! [`EmbassyBreaker`]: the core's shared breaker with an embassy clock, lock
//! and timer.

use core::cell::RefCell;
use core::future::Future;
use core::ops::Deref;
use core::time::Duration;

use embassy_sync::blocking_mutex::raw::{CriticalSectionRawMutex, RawMutex};
use embassy_sync::blocking_mutex::Mutex;
use tripline_core::observe::Sink;
use tripline_core::shared::{CriticalSectionFast, Inner};
use tripline_core::window::Window;
use tripline_core::{
    CallError, Config, ConfigSource, FixedConfig, Outcome, SharedBreaker, State, TimeoutError,
};

use crate::clock::timer_after;
use crate::{EmbassyClock, EmbassyLock};

/// The core's [`SharedBreaker`] with the embassy clock and lock: what an
/// [`EmbassyBreaker`] holds and dereferences to.
pub type EmbassySharedBreaker<W, M = CriticalSectionRawMutex, O = (), K = Config> =
    SharedBreaker<W, EmbassyClock, O, EmbassyLock<M>, K>;

/// A circuit breaker for embassy tasks and interrupt handlers: `W` is the
/// failure window, `M` the embassy-sync `RawMutex` guarding it, `O` the
/// observer (such as an [`EventChannel`](crate::EventChannel)), `K` where
/// the configuration lives: a [`Config`] it holds, or a
/// [`FixedConfig`] type naming one fixed at compile time (see
/// [`fixed`](EmbassyBreaker::fixed)).
///
/// It is the core's [`SharedBreaker`] (it dereferences to one, for
/// `state`, `metrics`, `try_acquire`, the sync `call`, `force_open`, `reset`),
/// plus the async forms that need embassy-time: [`call`](Self::call),
/// [`call_with_timeout`](Self::call_with_timeout) and
/// [`wait_until_ready`](Self::wait_until_ready). Every decision, the
/// guarantee that a rejected call never polls its future, and the permit
/// a dropped call cancels, come from the core.
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_embassy::*; }
/// use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
/// use tripline::{Config, CountWindow};
/// use tripline::EmbassyBreaker;
///
/// static RADIO: EmbassyBreaker<CountWindow<16>, CriticalSectionRawMutex> =
///     EmbassyBreaker::new(Config::network(), CountWindow::new());
///
/// // From an interrupt handler: the sync form, no await.
/// fn on_dma_done(ok: bool) {
///     let _ = RADIO.shared().call(|| if ok { Ok(()) } else { Err(()) });
/// }
/// on_dma_done(true);
/// assert_eq!(RADIO.metrics().successes, 1);
/// ```
pub struct EmbassyBreaker<W, M: RawMutex = CriticalSectionRawMutex, O: Sink = (), K = Config> {
    shared: EmbassySharedBreaker<W, M, O, K>,
}

/// Why [`wait_until_ready`](EmbassyBreaker::wait_until_ready) returned
/// without the breaker being ready: it has no time at which it will be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum NotReady {
    /// Forced open by hand: it admits nothing until someone releases it.
    ForcedOpen,
    /// Half-open, every probe slot taken, and no half-open time limit: a
    /// slot comes back only when a probe in flight ends.
    ProbesInFlight,
}

impl core::fmt::Display for NotReady {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            NotReady::ForcedOpen => "the breaker is forced open",
            NotReady::ProbesInFlight => "every half-open probe slot is taken",
        })
    }
}

impl core::error::Error for NotReady {}

impl<W: Window, M: RawMutex> EmbassyBreaker<W, M, ()> {
    /// A breaker with no observer; `const`, for statics.
    #[must_use]
    pub const fn new(config: Config, window: W) -> Self {
        Self::with_observer(config, window, ())
    }
}

impl<W: Window, M: RawMutex, O: Sink> EmbassyBreaker<W, M, O> {
    /// A breaker reporting its events to `observer`; `const`, for statics.
    #[must_use]
    pub const fn with_observer(config: Config, window: W, observer: O) -> Self {
        let inner = EmbassySharedBreaker::<W, M, O>::unlocked(config, window);
        Self::around(CriticalSectionFast::new(&config), inner, observer)
    }
}

impl<W: Window, M: RawMutex, K: FixedConfig> EmbassyBreaker<W, M, (), K> {
    /// A breaker whose configuration is `K::CONFIG`, fixed at compile time:
    /// none of it in RAM, and the code of what it leaves unused not linked;
    /// `const`, for statics.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_embassy::*; }
    /// use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
    /// use tripline::{Config, CountWindow, FixedConfig};
    /// use tripline::EmbassyBreaker;
    ///
    /// struct Radio;
    /// impl FixedConfig for Radio {
    ///     const CONFIG: Config = Config::DEFAULT;
    /// }
    ///
    /// static RADIO: EmbassyBreaker<CountWindow<16>, CriticalSectionRawMutex, (), Radio> =
    ///     EmbassyBreaker::fixed(Radio, CountWindow::new());
    /// assert!(RADIO.shared().call(|| Ok::<(), ()>(())).is_ok());
    /// ```
    #[must_use]
    pub const fn fixed(config: K, window: W) -> Self {
        Self::fixed_with_observer(config, window, ())
    }
}

impl<W: Window, M: RawMutex, O: Sink, K: FixedConfig> EmbassyBreaker<W, M, O, K> {
    /// As [`fixed`](EmbassyBreaker::fixed), reporting events to `observer`.
    #[must_use]
    pub const fn fixed_with_observer(config: K, window: W, observer: O) -> Self {
        let inner = EmbassySharedBreaker::<W, M, O, K>::unlocked_fixed(config, window);
        Self::around(CriticalSectionFast::new(&K::CONFIG), inner, observer)
    }
}

impl<W: Window, M: RawMutex, O: Sink, K> EmbassyBreaker<W, M, O, K> {
    /// The breaker around `inner`, in an embassy mutex, with the embassy clock.
    const fn around(fast: CriticalSectionFast, inner: Inner<W, O, K>, observer: O) -> Self {
        EmbassyBreaker {
            shared: SharedBreaker::from_lock(
                fast,
                Mutex::new(RefCell::new(inner)),
                EmbassyClock,
                observer,
            ),
        }
    }
}

impl<W: Window, M: RawMutex, O: Sink, K: ConfigSource> EmbassyBreaker<W, M, O, K> {
    /// The core's shared breaker inside; from a `static`, a
    /// `&'static` one, so `SharedBreaker::try_acquire_via(B.shared())`
    /// hands out a permit that can move into another task.
    pub const fn shared(&self) -> &EmbassySharedBreaker<W, M, O, K> {
        &self.shared
    }

    /// Awaits `work` if admitted, counting `Err` as a failure.
    ///
    /// A rejected call returns at once without polling `work`; dropping the
    /// returned future before it finishes cancels the permit (a half-open
    /// probe slot comes back).
    ///
    /// # Errors
    /// [`CallError::Rejected`], or the work's own error.
    pub async fn call<T, E>(
        &self,
        work: impl Future<Output = Result<T, E>>,
    ) -> Result<T, CallError<E>> {
        self.shared.call_async(work).await
    }

    /// As [`call`](Self::call), recording what `classify` makes of the result.
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub async fn call_with<T, E>(
        &self,
        work: impl Future<Output = Result<T, E>>,
        classify: impl FnOnce(&Result<T, E>) -> Outcome,
    ) -> Result<T, CallError<E>> {
        self.shared.call_async_with(work, classify).await
    }

    /// Awaits `work` if admitted, for at most `timeout` on an
    /// `embassy_time::Timer`, counting `Err` and the timeout as failures.
    ///
    /// The timer starts once the call is admitted. A timeout drops `work`
    /// and is a failure whose duration the breaker's clock measured, so
    /// slow-call rules count it too.
    ///
    /// # Errors
    /// [`TimeoutError::Rejected`] without polling `work`,
    /// [`TimeoutError::Elapsed`], or the work's own error.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_embassy::*; }
    /// use core::time::Duration;
    /// use embassy_futures::{block_on, select::{select, Either}};
    /// use embassy_time::{MockDriver, Timer};
    /// use tripline::{Config, CountWindow, TimeoutError};
    /// use tripline::EmbassyBreaker;
    ///
    /// let bus: EmbassyBreaker<CountWindow<8>> = EmbassyBreaker::new(Config::DEFAULT, CountWindow::new());
    /// let stuck = async { Timer::after_secs(10).await; Ok::<u8, ()>(0) };
    /// let call = bus.call_with_timeout(stuck, Duration::from_millis(30));
    /// // Move the mock time on while the call waits.
    /// let clock = async { loop { MockDriver::get().advance(embassy_time::Duration::from_millis(10)); embassy_futures::yield_now().await } };
    /// let Either::First(r) = block_on(select(call, clock)) else { unreachable!() };
    /// assert_eq!(r, Err(TimeoutError::Elapsed(Duration::from_millis(30))));
    /// assert_eq!(bus.metrics().failures, 1);
    /// ```
    pub async fn call_with_timeout<T, E>(
        &self,
        work: impl Future<Output = Result<T, E>>,
        timeout: Duration,
    ) -> Result<T, TimeoutError<E>> {
        self.call_with_timeout_by(work, timeout, Outcome::of).await
    }

    /// As [`call_with_timeout`](Self::call_with_timeout), recording what
    /// `classify` makes of a result that beat the timeout.
    ///
    /// # Errors
    /// As [`call_with_timeout`](Self::call_with_timeout).
    pub async fn call_with_timeout_by<T, E>(
        &self,
        work: impl Future<Output = Result<T, E>>,
        timeout: Duration,
        classify: impl FnOnce(&Result<T, E>) -> Outcome,
    ) -> Result<T, TimeoutError<E>> {
        self.shared
            .call_async_with_timer(work, timeout, timer_after, classify)
            .await
    }

    /// Sleeps on an `embassy_time::Timer` until the breaker would admit a
    /// call: returns at once when it would now (closed, a free half-open
    /// slot, disabled), otherwise sleeps for exactly its `retry_after` and
    /// checks again. It takes no permit: another task may win the slot.
    ///
    /// # Errors
    /// When there is no time to wait for, at once, so the caller decides:
    /// [`NotReady::ForcedOpen`] (released only by hand),
    /// or [`NotReady::ProbesInFlight`] (half-open, full, no time limit).
    /// [`wait_until_ready_polling`](Self::wait_until_ready_polling)
    /// waits those out instead.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_embassy::*; }
    /// use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
    /// use tripline::{Breaker, Config, CountWindow};
    /// use tripline::{EmbassyBreaker, NotReady};
    ///
    /// let b: EmbassyBreaker<CountWindow<8>> = EmbassyBreaker::new(Config::DEFAULT, CountWindow::new());
    /// embassy_futures::block_on(async {
    ///     assert_eq!(b.wait_until_ready().await, Ok(())); // closed: at once
    ///     b.force_open().unwrap();
    ///     assert_eq!(b.wait_until_ready().await, Err(NotReady::ForcedOpen));
    /// });
    /// ```
    pub async fn wait_until_ready(&self) -> Result<(), NotReady> {
        loop {
            let wait = match self.shared.retry_after() {
                Some(wait) => wait,
                None if self.shared.state() == State::ForcedOpen => {
                    return Err(NotReady::ForcedOpen)
                }
                None => return Err(NotReady::ProbesInFlight),
            };
            if wait.is_zero() {
                return Ok(());
            }
            timer_after(wait).await;
        }
    }

    /// As [`wait_until_ready`](Self::wait_until_ready), but when the
    /// breaker has no time to wait for (forced open, half-open full without
    /// a time limit) it sleeps `every` (at least 1 ms) and checks again,
    /// until it would admit a call.
    pub async fn wait_until_ready_polling(&self, every: Duration) {
        let every = every.max(Duration::from_millis(1));
        while self.wait_until_ready().await.is_err() {
            timer_after(every).await;
        }
    }
}

impl<W, M: RawMutex, O: Sink, K> Deref for EmbassyBreaker<W, M, O, K> {
    type Target = EmbassySharedBreaker<W, M, O, K>;

    fn deref(&self) -> &Self::Target {
        &self.shared
    }
}

impl<W, M: RawMutex, O: Sink, K> core::fmt::Debug for EmbassyBreaker<W, M, O, K> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EmbassyBreaker").finish_non_exhaustive()
    }
}
