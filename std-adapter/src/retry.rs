//! [`retry_async`]: the core's [`RetryPolicy`], slept with tokio's timer.

use std::future::Future;

use tripline_core::retry::Retryable;
use tripline_core::{CallError, RetryError, RetryPolicy};

/// Runs `op` until it succeeds or `policy` says stop, sleeping with
/// `tokio::time::sleep` between attempts (so paused time drives it).
///
/// Every decision (which errors to retry, the backoff, never retrying a
/// breaker's rejection blindly) is the policy's, as for the sync
/// [`RetryPolicy::retry_call`]. Compose outside the breaker: retry, then
/// breaker, then timeout, so each attempt is one breaker call and an open
/// breaker ends the retries (or is waited out, per [`OnRejected`](tripline_core::OnRejected)).
///
/// # Errors
/// The policy's [`RetryError`]: not retryable, attempts exhausted, or rejected.
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use std::time::Duration;
/// use tripline::{Backoff, Config, RetryError, RetryPolicy};
/// use tripline::{retry_async, CircuitBreaker, TokioClock};
///
/// #[tokio::main(flavor = "current_thread", start_paused = true)]
/// async fn main() {
///     let breaker = CircuitBreaker::builder("api").clock(TokioClock::new()).build();
///     let backoff = Backoff::exponential(Duration::from_millis(100), 2_000).build().unwrap();
///     let policy = RetryPolicy::new(4, backoff).unwrap();
///
///     let start = tokio::time::Instant::now();
///     let r = retry_async(&policy, || breaker.call_async(async { Err::<(), _>("503") })).await;
///     assert!(matches!(r, Err(RetryError::Exhausted { attempts: 4, .. })));
///     assert_eq!(start.elapsed(), Duration::from_millis(100 + 200 + 400));
/// }
/// ```
pub async fn retry_async<T, E, P, F, Fut>(
    policy: &RetryPolicy<P>,
    op: F,
) -> Result<T, RetryError<E>>
where
    P: Retryable<E>,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CallError<E>>>,
{
    policy.retry_async(op, tokio::time::sleep).await
}
