//! [`RetryPolicy`]: try an operation again after a [`Backoff`], a bounded
//! number of times, and never blindly past a breaker that said no.
//!
//! The loop needs no clock and no runtime: the caller hands it a sleep hook
//! (`FnMut(Duration)`: a busy-wait on a timer, `std::thread::sleep`, or a
//! `MockClock::advance` in a test). It stops for one of three reasons, and
//! the [`RetryError`] says which, with the number of attempts made.

use core::time::Duration;

use crate::backoff::Delays;
use crate::clock::duration_to_micros;
use crate::{Backoff, BackoffError, CallError, Rejected};

/// What a [`RetryPolicy`] does when the breaker rejects an attempt.
///
/// A rejection is never retried blindly: the breaker is open to give the
/// other side time, and hammering it would defeat that.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use core::time::Duration;
/// use tripline::OnRejected;
///
/// let wait = OnRejected::WaitRetryAfter { max_wait: Duration::from_secs(2) };
/// assert_ne!(wait, OnRejected::GiveUp);
/// assert_eq!(OnRejected::default(), OnRejected::GiveUp);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum OnRejected {
    /// Stop at once with [`RetryError::Rejected`] (the default).
    #[default]
    GiveUp,
    /// Sleep for the rejection's `retry_after` and try again, if the breaker
    /// says when and that is at most `max_wait`; otherwise stop as
    /// [`GiveUp`](OnRejected::GiveUp) does. The rejected try counts as an
    /// attempt, so the loop always ends.
    WaitRetryAfter {
        /// The longest wait the caller accepts.
        max_wait: Duration,
    },
}

/// Decides whether an error is worth another attempt.
///
/// Implemented by every `Fn(&E) -> bool` and by [`RetryAll`]. A validation
/// error or a 404 will fail again; a timeout or a NAK may not.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::retry::{RetryAll, Retryable};
///
/// let transient = |e: &u16| *e >= 500;
/// assert!(transient.is_retryable(&503));
/// assert!(!transient.is_retryable(&404));
/// assert!(Retryable::<u16>::is_retryable(&RetryAll, &404));
/// ```
pub trait Retryable<E> {
    /// Whether another attempt might succeed after `error`.
    fn is_retryable(&self, error: &E) -> bool;
}

/// The [`Retryable`] that retries every error: the default of a
/// [`RetryPolicy`].
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::retry::{RetryAll, Retryable};
/// assert!(Retryable::<&str>::is_retryable(&RetryAll, &"anything"));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RetryAll;

impl<E> Retryable<E> for RetryAll {
    fn is_retryable(&self, _: &E) -> bool {
        true
    }
}

impl<E, F: Fn(&E) -> bool> Retryable<E> for F {
    fn is_retryable(&self, error: &E) -> bool {
        self(error)
    }
}

/// Why a retry loop stopped without a result, and after how many attempts.
///
/// Every try counts as an attempt, including one the breaker rejected
/// without running the operation.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::RetryError;
///
/// let e: RetryError<&str> = RetryError::Exhausted { attempts: 3, last: "timeout" };
/// assert_eq!(e.attempts(), 3);
/// assert_eq!(e.into_inner(), Some("timeout"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RetryError<E> {
    /// Every attempt was used; the last one failed with `last`.
    Exhausted {
        /// Attempts made (the policy's maximum).
        attempts: u32,
        /// The error of the last attempt.
        last: E,
    },
    /// An attempt failed with an error the policy does not retry.
    NotRetryable {
        /// Attempts made, the failing one included.
        attempts: u32,
        /// That error.
        error: E,
    },
    /// The breaker rejected an attempt, and the policy gave up on it (the
    /// policy says [`OnRejected::GiveUp`], the breaker did not say when to
    /// come back or asked for more than `max_wait`, or it was the last
    /// attempt).
    Rejected {
        /// Attempts made, the rejected one included.
        attempts: u32,
        /// The breaker's answer.
        rejected: Rejected,
    },
}

impl<E> RetryError<E> {
    /// How many attempts were made.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::RetryError;
    /// let e: RetryError<()> = RetryError::NotRetryable { attempts: 1, error: () };
    /// assert_eq!(e.attempts(), 1);
    /// ```
    #[must_use]
    pub const fn attempts(&self) -> u32 {
        match self {
            RetryError::Exhausted { attempts, .. }
            | RetryError::NotRetryable { attempts, .. }
            | RetryError::Rejected { attempts, .. } => *attempts,
        }
    }

    /// The operation's last error, if the loop did not stop on a rejection.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::RetryError;
    /// let e: RetryError<u8> = RetryError::NotRetryable { attempts: 1, error: 4 };
    /// assert_eq!(e.into_inner(), Some(4));
    /// ```
    pub fn into_inner(self) -> Option<E> {
        match self {
            RetryError::Exhausted { last: e, .. } | RetryError::NotRetryable { error: e, .. } => {
                Some(e)
            }
            RetryError::Rejected { .. } => None,
        }
    }

    /// The breaker's rejection, if the loop stopped on one.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::RetryError;
    /// let e: RetryError<u8> = RetryError::Exhausted { attempts: 2, last: 4 };
    /// assert!(e.rejected().is_none());
    /// ```
    pub const fn rejected(&self) -> Option<&Rejected> {
        match self {
            RetryError::Rejected { rejected, .. } => Some(rejected),
            _ => None,
        }
    }
}

impl<E: core::fmt::Display> core::fmt::Display for RetryError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RetryError::Exhausted { attempts, last } => {
                write!(f, "gave up after {attempts} attempts: {last}")
            }
            RetryError::NotRetryable { attempts, error } => {
                write!(f, "attempt {attempts} failed and is not retryable: {error}")
            }
            RetryError::Rejected { attempts, rejected } => {
                write!(f, "attempt {attempts} was rejected: {rejected}")
            }
        }
    }
}

/// For every `E` that prints, tower's `BoxError` included, as for
/// [`CallError`]: the message names the last error or the
/// rejection, and `source` continues the last error's chain where known.
impl<E: core::fmt::Debug + core::fmt::Display + 'static> core::error::Error for RetryError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            RetryError::Exhausted { last: e, .. } | RetryError::NotRetryable { error: e, .. } => {
                crate::error::source_below(e)
            }
            RetryError::Rejected { .. } => None,
        }
    }
}

/// How to retry: at most `max_attempts` tries, a [`Backoff`] between them,
/// which errors to retry (`P`, a [`Retryable`]), and what to do when a
/// breaker rejects ([`OnRejected`]).
///
/// Between two attempts the sleep hook is called exactly once: with the next
/// backoff delay after a retryable failure, or with the breaker's
/// `retry_after` after a rejection (under
/// [`OnRejected::WaitRetryAfter`]; the backoff does not advance then).
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use core::cell::Cell;
/// use core::time::Duration;
/// use tripline::{Backoff, RetryError, RetryPolicy};
///
/// #[derive(Debug, PartialEq)]
/// enum I2cError { Nak, BadAddress }
///
/// const BACKOFF: Backoff = match Backoff::exponential(Duration::from_millis(1), 2_000).build() {
///     Ok(b) => b,
///     Err(e) => panic!("{}", e.as_str()),
/// };
/// let policy = RetryPolicy::new(4, BACKOFF)
///     .unwrap()
///     .retry_if(|e: &I2cError| *e == I2cError::Nak);
///
/// let tries = Cell::new(0);
/// let mut slept = Vec::new();
/// let read = policy.retry(
///     || {
///         tries.set(tries.get() + 1);
///         if tries.get() < 3 { Err(I2cError::Nak) } else { Ok(0x42u8) }
///     },
///     |d| slept.push(d), // a timer delay on a device; nothing here
/// );
/// assert_eq!(read, Ok(0x42));
/// assert_eq!(slept, [Duration::from_millis(1), Duration::from_millis(2)]);
///
/// let wrong = policy.retry(|| Err::<u8, _>(I2cError::BadAddress), |_| {});
/// assert_eq!(wrong, Err(RetryError::NotRetryable { attempts: 1, error: I2cError::BadAddress }));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RetryPolicy<P = RetryAll> {
    max_attempts: u32,
    backoff: Backoff,
    on_rejected: OnRejected,
    seed: u32,
    retryable: P,
}

impl RetryPolicy<RetryAll> {
    /// At most `max_attempts` tries (the first included) with `backoff`
    /// between them, retrying every error, giving up on a rejection, jitter
    /// seed 0.
    ///
    /// # Errors
    /// [`BackoffError::ZeroAttempts`] for `max_attempts == 0`.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::{Backoff, BackoffError, RetryPolicy};
    ///
    /// assert_eq!(RetryPolicy::new(0, Backoff::NONE).unwrap_err(), BackoffError::ZeroAttempts);
    /// assert_eq!(RetryPolicy::new(3, Backoff::NONE).unwrap().max_attempts(), 3);
    /// ```
    pub const fn new(max_attempts: u32, backoff: Backoff) -> Result<Self, BackoffError> {
        if max_attempts == 0 {
            return Err(BackoffError::ZeroAttempts);
        }
        Ok(RetryPolicy {
            max_attempts,
            backoff,
            on_rejected: OnRejected::GiveUp,
            seed: 0,
            retryable: RetryAll,
        })
    }
}

impl<P> RetryPolicy<P> {
    /// The same policy, retrying only the errors `predicate` accepts.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::{Backoff, RetryError, RetryPolicy};
    ///
    /// let policy = RetryPolicy::new(5, Backoff::NONE).unwrap().retry_if(|e: &u16| *e >= 500);
    /// let r = policy.retry(|| Err::<(), u16>(404), |_| {});
    /// assert_eq!(r, Err(RetryError::NotRetryable { attempts: 1, error: 404 }));
    /// ```
    pub fn retry_if<Q>(self, predicate: Q) -> RetryPolicy<Q> {
        RetryPolicy {
            max_attempts: self.max_attempts,
            backoff: self.backoff,
            on_rejected: self.on_rejected,
            seed: self.seed,
            retryable: predicate,
        }
    }

    /// The same policy, doing `on_rejected` when a breaker rejects.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::time::Duration;
    /// use tripline::{Backoff, OnRejected, RetryPolicy};
    ///
    /// let wait = OnRejected::WaitRetryAfter { max_wait: Duration::from_secs(1) };
    /// let policy = RetryPolicy::new(3, Backoff::NONE).unwrap().on_rejected(wait);
    /// assert_eq!(policy.rejection_handling(), wait);
    /// ```
    #[must_use]
    pub const fn on_rejected(mut self, on_rejected: OnRejected) -> Self {
        self.on_rejected = on_rejected;
        self
    }

    /// The same policy, seeding the backoff's jitter with `seed`.
    ///
    /// Two loops with the same seed wait the same jittered delays. Seed each
    /// device or request differently (a unique id, a hardware random word)
    /// so that clients that failed together do not retry together; for a
    /// `const` policy, `POLICY.seed(id).retry(…)` costs nothing.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::{Backoff, RetryPolicy};
    /// let policy = RetryPolicy::new(3, Backoff::NONE).unwrap().seed(0xC0FFEE);
    /// assert_eq!(policy.jitter_seed(), 0xC0FFEE);
    /// ```
    #[must_use]
    pub const fn seed(mut self, seed: u32) -> Self {
        self.seed = seed;
        self
    }

    /// The most attempts, the first included.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::{Backoff, RetryPolicy};
    /// assert_eq!(RetryPolicy::new(2, Backoff::NONE).unwrap().max_attempts(), 2);
    /// ```
    #[must_use]
    pub const fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The backoff between attempts.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::{Backoff, RetryPolicy};
    /// assert_eq!(RetryPolicy::new(2, Backoff::NONE).unwrap().backoff(), Backoff::NONE);
    /// ```
    #[must_use]
    pub const fn backoff(&self) -> Backoff {
        self.backoff
    }

    /// What the policy does when a breaker rejects.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::{Backoff, OnRejected, RetryPolicy};
    /// let policy = RetryPolicy::new(2, Backoff::NONE).unwrap();
    /// assert_eq!(policy.rejection_handling(), OnRejected::GiveUp);
    /// ```
    #[must_use]
    pub const fn rejection_handling(&self) -> OnRejected {
        self.on_rejected
    }

    /// The jitter seed.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::{Backoff, RetryPolicy};
    /// assert_eq!(RetryPolicy::new(2, Backoff::NONE).unwrap().jitter_seed(), 0);
    /// ```
    #[must_use]
    pub const fn jitter_seed(&self) -> u32 {
        self.seed
    }

    /// Runs `op` until it succeeds, fails with an error the policy does not
    /// retry, or has run `max_attempts` times, calling `sleep` with the next
    /// backoff delay between attempts.
    ///
    /// # Errors
    /// [`RetryError::NotRetryable`] or [`RetryError::Exhausted`], with the
    /// error and the number of attempts.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::time::Duration;
    /// use tripline::{Backoff, RetryError, RetryPolicy};
    ///
    /// let backoff = Backoff::fixed(Duration::from_millis(10)).build().unwrap();
    /// let policy = RetryPolicy::new(3, backoff).unwrap();
    /// let mut waited = Duration::ZERO;
    /// let r = policy.retry(|| Err::<(), _>("down"), |d| waited += d);
    /// assert_eq!(r, Err(RetryError::Exhausted { attempts: 3, last: "down" }));
    /// assert_eq!(waited, Duration::from_millis(20)); // two waits between three tries
    /// ```
    pub fn retry<T, E>(
        &self,
        mut op: impl FnMut() -> Result<T, E>,
        sleep: impl FnMut(Duration),
    ) -> Result<T, RetryError<E>>
    where
        P: Retryable<E>,
    {
        self.retry_call(|| op().map_err(CallError::Inner), sleep)
    }

    /// As [`retry`](Self::retry), for an operation that goes through a
    /// breaker (`|| breaker.call(…)`): its [`CallError::Inner`] errors are
    /// retried as the policy says, and its rejections are handled as
    /// [`OnRejected`] says, never retried blindly.
    ///
    /// # Errors
    /// [`RetryError::NotRetryable`], [`RetryError::Exhausted`], or
    /// [`RetryError::Rejected`] with the breaker's answer.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::time::Duration;
    /// use tripline::*;
    ///
    /// let clock = MockClock::new();
    /// let cfg = Config::builder().consecutive_failures(2).open_duration(Duration::from_secs(1)).build().unwrap();
    /// let mut breaker = Breaker::new(cfg, CountWindow::<4>::new(), &clock);
    /// let policy = RetryPolicy::new(5, Backoff::NONE).unwrap();
    ///
    /// // Two failures trip the breaker; the third try is rejected and the policy gives up.
    /// let r = policy.retry_call(|| breaker.call(|| Err::<(), _>("nak")), |d| clock.advance(d));
    /// assert!(matches!(r, Err(RetryError::Rejected { attempts: 3, .. })));
    /// ```
    pub fn retry_call<T, E>(
        &self,
        mut op: impl FnMut() -> Result<T, CallError<E>>,
        mut sleep: impl FnMut(Duration),
    ) -> Result<T, RetryError<E>>
    where
        P: Retryable<E>,
    {
        let mut attempts = self.attempts();
        loop {
            match attempts.after(op()) {
                Step::Wait(delay) => sleep(delay),
                Step::Done(result) => return result,
            }
        }
    }

    /// As [`retry_call`](Self::retry_call), for an async operation and a
    /// runtime's sleep (`tokio::time::sleep`, `embassy_time::Timer::after`):
    /// the adapters' retries are this, with their sleep passed in.
    ///
    /// # Errors
    /// As [`retry_call`](Self::retry_call).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::future::ready;
    /// use core::time::Duration;
    /// use tripline::{Backoff, CallError, RetryError, RetryPolicy};
    ///
    /// let backoff = Backoff::fixed(Duration::from_millis(10)).build().unwrap();
    /// let policy = RetryPolicy::new(3, backoff).unwrap();
    /// let mut slept = Duration::ZERO;
    /// # let fut = async {
    /// let r = policy
    ///     .retry_async(
    ///         || ready(Err::<(), _>(CallError::Inner("busy"))),
    ///         |d| { slept += d; ready(()) },
    ///     )
    ///     .await;
    /// assert!(matches!(r, Err(RetryError::Exhausted { attempts: 3, .. })));
    /// assert_eq!(slept, Duration::from_millis(20)); // two waits between three tries
    /// # };
    /// # let mut fut = core::pin::pin!(fut);
    /// # let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    /// # assert!(core::future::Future::poll(fut.as_mut(), &mut cx).is_ready());
    /// ```
    pub async fn retry_async<T, E, Fut, S>(
        &self,
        mut op: impl FnMut() -> Fut,
        mut sleep: impl FnMut(Duration) -> S,
    ) -> Result<T, RetryError<E>>
    where
        P: Retryable<E>,
        Fut: core::future::Future<Output = Result<T, CallError<E>>>,
        S: core::future::Future<Output = ()>,
    {
        let mut attempts = self.attempts();
        loop {
            match attempts.after(op().await) {
                Step::Wait(delay) => sleep(delay).await,
                Step::Done(result) => return result,
            }
        }
    }

    /// The decisions of one retried operation, one attempt at a time: what
    /// [`retry_call`](Self::retry_call) loops over, for runtimes whose sleep
    /// is a future (`tokio::time::sleep`, `embassy_time::Timer::after`).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::time::Duration;
    /// use tripline::{Backoff, CallError, RetryPolicy, Step};
    ///
    /// let backoff = Backoff::fixed(Duration::from_millis(5)).build().unwrap();
    /// let policy = RetryPolicy::new(2, backoff).unwrap();
    /// let mut attempts = policy.attempts();
    /// let first: Result<(), CallError<&str>> = Err(CallError::Inner("timeout"));
    /// assert_eq!(attempts.after(first), Step::Wait(Duration::from_millis(5)));
    /// assert!(matches!(attempts.after(Ok::<_, CallError<&str>>(1)), Step::Done(Ok(1))));
    /// ```
    pub fn attempts(&self) -> Attempts<'_, P> {
        Attempts {
            policy: self,
            state: self.start(),
        }
    }

    /// The decisions of one retried operation as a value that does not
    /// borrow the policy: for a future that owns both (a tower service's
    /// response future), passing the policy to each
    /// [`RetryState::after`].
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use core::time::Duration;
    /// use tripline::{Backoff, CallError, RetryPolicy, Step};
    ///
    /// let backoff = Backoff::fixed(Duration::from_millis(5)).build().unwrap();
    /// let policy = RetryPolicy::new(2, backoff).unwrap();
    /// let mut state = policy.start();
    /// let failed: Result<(), CallError<&str>> = Err(CallError::Inner("timeout"));
    /// assert_eq!(state.after(&policy, failed), Step::Wait(Duration::from_millis(5)));
    /// assert_eq!(state.count(), 1);
    /// ```
    #[must_use]
    pub fn start(&self) -> RetryState {
        RetryState {
            delays: self.backoff.delays(self.seed),
            attempts: 0,
        }
    }
}

/// One retried operation in progress; from [`RetryPolicy::attempts`].
#[derive(Debug)]
pub struct Attempts<'a, P> {
    policy: &'a RetryPolicy<P>,
    state: RetryState,
}

/// One retried operation in progress, without a borrow of its policy; from
/// [`RetryPolicy::start`]. Pass the same policy to every
/// [`after`](RetryState::after): the backoff delays were fixed at `start`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryState {
    delays: Delays,
    attempts: u32,
}

/// What to do after an attempt: wait and try again, or stop with this result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step<T, E> {
    /// Sleep this long, then make the next attempt.
    Wait(Duration),
    /// Stop: the value, or why retrying ended.
    Done(Result<T, RetryError<E>>),
}

impl<P> Attempts<'_, P> {
    /// How many attempts have been reported so far.
    #[must_use]
    pub const fn count(&self) -> u32 {
        self.state.attempts
    }

    /// Reports one attempt's result and says what comes next.
    pub fn after<T, E>(&mut self, result: Result<T, CallError<E>>) -> Step<T, E>
    where
        P: Retryable<E>,
    {
        self.state.after(self.policy, result)
    }
}

impl RetryState {
    /// How many attempts have been reported so far.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::{Backoff, RetryPolicy};
    /// assert_eq!(RetryPolicy::new(2, Backoff::NONE).unwrap().start().count(), 0);
    /// ```
    #[must_use]
    pub const fn count(&self) -> u32 {
        self.attempts
    }

    /// Reports one attempt's result and says what `policy` does next.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::{Backoff, CallError, RetryError, RetryPolicy, Step};
    ///
    /// let policy = RetryPolicy::new(1, Backoff::NONE).unwrap();
    /// let mut state = policy.start();
    /// let failed: Result<(), CallError<&str>> = Err(CallError::Inner("nak"));
    /// assert_eq!(state.after(&policy, failed), Step::Done(Err(RetryError::Exhausted { attempts: 1, last: "nak" })));
    /// ```
    pub fn after<P, T, E>(
        &mut self,
        policy: &RetryPolicy<P>,
        result: Result<T, CallError<E>>,
    ) -> Step<T, E>
    where
        P: Retryable<E>,
    {
        self.attempts = self.attempts.saturating_add(1);
        let attempts = self.attempts;
        let last = attempts >= policy.max_attempts;
        match result {
            Ok(value) => Step::Done(Ok(value)),
            Err(CallError::Inner(error)) => {
                if !policy.retryable.is_retryable(&error) {
                    Step::Done(Err(RetryError::NotRetryable { attempts, error }))
                } else if last {
                    Step::Done(Err(RetryError::Exhausted {
                        attempts,
                        last: error,
                    }))
                } else {
                    Step::Wait(Duration::from_micros(self.delays.next_micros()))
                }
            }
            Err(CallError::Rejected(rejected)) => {
                let wait_us = match policy.on_rejected {
                    OnRejected::GiveUp => None,
                    OnRejected::WaitRetryAfter { max_wait } => rejected
                        .retry_after_micros()
                        .filter(|us| *us <= duration_to_micros(max_wait)),
                };
                match wait_us {
                    Some(us) if !last => Step::Wait(Duration::from_micros(us)),
                    _ => Step::Done(Err(RetryError::Rejected { attempts, rejected })),
                }
            }
        }
    }
}
