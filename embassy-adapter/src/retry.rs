//! [`retry`]: the core's [`RetryPolicy`], slept with embassy-time's timer.

use core::future::Future;

use tripline_core::retry::Retryable;
use tripline_core::{CallError, RetryError, RetryPolicy};

use crate::clock::timer_after;

/// Runs `op` until it succeeds or `policy` says stop, sleeping with
/// `embassy_time::Timer` between attempts.
///
/// Every decision (which errors to retry, the backoff, never retrying a
/// breaker's rejection blindly) is the policy's, shared with the sync
/// [`RetryPolicy::retry_call`] and tokio's `retry_async`. Put the retry
/// outside the breaker, so each attempt is one breaker call.
///
/// # Errors
/// The policy's [`RetryError`]: not retryable, attempts exhausted, or rejected.
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_embassy::*; }
/// use core::time::Duration;
/// use tripline::{Backoff, CallError, RetryPolicy};
/// use tripline::retry;
///
/// async fn read_register() -> Result<u8, CallError<&'static str>> { Ok(0x42) }
///
/// # let fut = async {
/// let backoff = Backoff::fixed(Duration::from_millis(5)).build().unwrap();
/// let policy = RetryPolicy::new(3, backoff).unwrap();
/// assert_eq!(retry(&policy, read_register).await, Ok(0x42));
/// # };
/// # let mut fut = core::pin::pin!(fut);
/// # let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
/// # assert!(core::future::Future::poll(fut.as_mut(), &mut cx).is_ready());
/// ```
pub async fn retry<T, E, P, F, Fut>(policy: &RetryPolicy<P>, op: F) -> Result<T, RetryError<E>>
where
    P: Retryable<E>,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CallError<E>>>,
{
    policy.retry_async(op, timer_after).await
}
