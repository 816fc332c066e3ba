//! Calls whose work is a future: the async forms of [`SharedBreaker::call`].
//!
//! They need no runtime. The permit is taken when the returned future is
//! first polled; a rejected call never polls the work; dropping the returned
//! future mid-flight cancels the permit (a half-open slot comes back). The
//! timeout form takes the runtime's sleep as a parameter, so tokio and
//! embassy share this code and only pass `tokio::time::sleep` or
//! `embassy_time::Timer::after`.

use core::future::{poll_fn, Future};
use core::pin::pin;
use core::task::Poll;
use core::time::Duration;

use crate::fixed::ConfigSource;
use crate::observe::Sink;
use crate::shared::LockKind;
use crate::window::Window;
use crate::{CallError, Clock, Outcome, Rejected, SharedBreaker};

/// Why a call with a timeout did not return the work's value.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use core::time::Duration;
/// use tripline::TimeoutError;
///
/// let e: TimeoutError<&str> = TimeoutError::Elapsed(Duration::from_millis(200));
/// assert!(e.rejected().is_none());
/// assert_eq!(e.to_string(), "the call timed out after 200 ms");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TimeoutError<E> {
    /// The breaker did not admit the call; the work was never started.
    Rejected(Rejected),
    /// The work took longer than the timeout; it was dropped and counted as a failure.
    Elapsed(Duration),
    /// The work finished with this error (counted as the classifier said).
    Inner(E),
}

impl<E> TimeoutError<E> {
    /// The rejection, if the call was not admitted.
    pub const fn rejected(&self) -> Option<&Rejected> {
        match self {
            TimeoutError::Rejected(r) => Some(r),
            _ => None,
        }
    }

    /// The work's own error, if it finished with one.
    pub fn into_inner(self) -> Option<E> {
        match self {
            TimeoutError::Inner(e) => Some(e),
            _ => None,
        }
    }

    /// The same error in the shape retries take: a rejection stays a
    /// rejection (never retried blindly), a timeout or the work's error
    /// becomes the inner error for the retry predicate to judge.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::time::Duration;
    /// use tripline::{CallError, TimeoutError};
    ///
    /// let e: TimeoutError<()> = TimeoutError::Elapsed(Duration::from_secs(1));
    /// assert_eq!(e.into_call_error(), CallError::Inner(TimeoutError::Elapsed(Duration::from_secs(1))));
    /// ```
    pub fn into_call_error(self) -> CallError<TimeoutError<E>> {
        match self {
            TimeoutError::Rejected(r) => CallError::Rejected(r),
            other => CallError::Inner(other),
        }
    }
}

impl<E> From<CallError<E>> for TimeoutError<E> {
    fn from(e: CallError<E>) -> Self {
        match e {
            CallError::Rejected(r) => TimeoutError::Rejected(r),
            CallError::Inner(e) => TimeoutError::Inner(e),
        }
    }
}

impl<E: core::fmt::Display> core::fmt::Display for TimeoutError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            TimeoutError::Rejected(r) => core::fmt::Display::fmt(r, f),
            TimeoutError::Elapsed(d) => write!(
                f,
                "the call timed out after {}",
                crate::permit::Micros(crate::clock::duration_to_micros(*d))
            ),
            TimeoutError::Inner(e) => core::fmt::Display::fmt(e, f),
        }
    }
}

/// For every `E` that prints, tower's `BoxError` included, as for
/// [`CallError`](crate::CallError).
impl<E: core::fmt::Debug + core::fmt::Display + 'static> core::error::Error for TimeoutError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            TimeoutError::Inner(e) => crate::error::source_below(e),
            _ => None,
        }
    }
}

impl<W: Window, C: Clock, O: Sink, L: LockKind, K: ConfigSource> SharedBreaker<W, C, O, L, K> {
    /// Awaits `work` if admitted, counting `Err` as a failure.
    ///
    /// # Errors
    /// [`CallError::Rejected`] without polling `work`, or the work's own error.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::*;
    ///
    /// static CLOCK: MockClock = MockClock::new();
    /// static API: SharedBreaker<CountWindow<8>, &MockClock> =
    ///     SharedBreaker::new(Config::DEFAULT, CountWindow::new(), &CLOCK);
    ///
    /// async fn fetch() -> Result<u32, &'static str> { Ok(7) }
    ///
    /// # let fut = async {
    /// let value = API.call_async(fetch()).await;
    /// assert_eq!(value, Ok(7));
    /// # };
    /// # let mut fut = core::pin::pin!(fut);
    /// # let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    /// # assert!(core::future::Future::poll(fut.as_mut(), &mut cx).is_ready());
    /// ```
    pub async fn call_async<T, E>(
        &self,
        work: impl Future<Output = Result<T, E>>,
    ) -> Result<T, CallError<E>> {
        self.call_async_with(work, Outcome::of).await
    }

    /// Awaits `work` if admitted, recording what `classify` makes of its result.
    ///
    /// # Errors
    /// As [`call_async`](SharedBreaker::call_async).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::*;
    ///
    /// static CLOCK: MockClock = MockClock::new();
    /// static API: SharedBreaker<CountWindow<8>, &MockClock> =
    ///     SharedBreaker::new(Config::DEFAULT, CountWindow::new(), &CLOCK);
    ///
    /// async fn status() -> Result<u16, ()> { Ok(503) }
    ///
    /// # let fut = async {
    /// // An `Ok(503)` is a failure of the backend even though the request worked.
    /// let r = API.call_async_with(status(), |r| match r {
    ///     Ok(code) if *code >= 500 => Outcome::Failure,
    ///     other => Outcome::of(other),
    /// }).await;
    /// assert_eq!(r, Ok(503));
    /// assert_eq!(API.metrics().failures, 1);
    /// # };
    /// # let mut fut = core::pin::pin!(fut);
    /// # let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    /// # assert!(core::future::Future::poll(fut.as_mut(), &mut cx).is_ready());
    /// ```
    pub async fn call_async_with<T, E>(
        &self,
        work: impl Future<Output = Result<T, E>>,
        classify: impl FnOnce(&Result<T, E>) -> Outcome,
    ) -> Result<T, CallError<E>> {
        let permit = self.try_acquire().map_err(CallError::Rejected)?;
        let result = work.await;
        let _ = permit.record(classify(&result));
        result.map_err(CallError::Inner)
    }

    /// Awaits `work` if admitted, for at most `timeout`; `sleep` is the
    /// runtime's timer (`tokio::time::sleep`, `embassy_time::Timer::after`).
    ///
    /// A timeout drops the work and counts as a failure whose duration is the
    /// time waited, so slow-call rules see it too. The timer is only started
    /// once the call is admitted.
    ///
    /// # Errors
    /// [`TimeoutError::Rejected`] without polling `work`,
    /// [`TimeoutError::Elapsed`], or the work's own error.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::future::{pending, ready};
    /// use core::time::Duration;
    /// use tripline::*;
    ///
    /// static CLOCK: MockClock = MockClock::new();
    /// static API: SharedBreaker<CountWindow<8>, &MockClock> =
    ///     SharedBreaker::new(Config::DEFAULT, CountWindow::new(), &CLOCK);
    ///
    /// // A timer that has already fired, standing in for a runtime's sleep.
    /// let fired = |_: Duration| ready(());
    /// # let fut = async {
    /// let r = API
    ///     .call_async_with_timer(pending::<Result<(), ()>>(), Duration::from_secs(1), fired, Outcome::of)
    ///     .await;
    /// assert_eq!(r, Err(TimeoutError::Elapsed(Duration::from_secs(1))));
    /// assert_eq!(API.metrics().failures, 1);
    /// # };
    /// # let mut fut = core::pin::pin!(fut);
    /// # let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    /// # assert!(core::future::Future::poll(fut.as_mut(), &mut cx).is_ready());
    /// ```
    pub async fn call_async_with_timer<T, E, S: Future<Output = ()>>(
        &self,
        work: impl Future<Output = Result<T, E>>,
        timeout: Duration,
        sleep: impl FnOnce(Duration) -> S,
        classify: impl FnOnce(&Result<T, E>) -> Outcome,
    ) -> Result<T, TimeoutError<E>> {
        let permit = self.try_acquire().map_err(TimeoutError::Rejected)?;
        let finished = {
            let mut work = pin!(work);
            let mut timer = pin!(sleep(timeout));
            poll_fn(|cx| {
                if let Poll::Ready(result) = work.as_mut().poll(cx) {
                    Poll::Ready(Some(result))
                } else if timer.as_mut().poll(cx).is_ready() {
                    Poll::Ready(None)
                } else {
                    Poll::Pending
                }
            })
            .await
        };
        match finished {
            Some(result) => {
                let _ = permit.record(classify(&result));
                result.map_err(TimeoutError::Inner)
            }
            None => {
                let _ = permit.record(Outcome::Failure);
                Err(TimeoutError::Elapsed(timeout))
            }
        }
    }
}
