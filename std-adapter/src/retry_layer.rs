//! [`RetryLayer`]: the core's [`RetryPolicy`] around a tower service,
//! slept with tokio's timer.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;
use tokio::time::Sleep;
use tower_layer::Layer;
use tower_service::Service;
use tripline_core::retry::{RetryAll, RetryState, Retryable};
use tripline_core::{CallError, RetryError, RetryPolicy, Step};

/// A `tower::Layer` that retries requests as a [`RetryPolicy`] says:
/// outermost, around a [`CircuitBreakerLayer`](crate::CircuitBreakerLayer).
///
/// Every decision is the policy's ([`RetryState::after`]): which errors to
/// retry (`retry_if`), the [`Backoff`](tripline_core::Backoff) between
/// attempts, and what a rejection does ([`OnRejected`](tripline_core::OnRejected)).
/// The layer only sleeps (`tokio::time::sleep`, so paused time drives it)
/// and issues the request again. The inner service's errors must be
/// [`CallError`]s, as the breaker layer's are: a
/// [`CallError::Rejected`] is never retried blindly; the layer waits for
/// the rejection's `retry_after` or gives up, as the policy decides, and
/// does not call the inner service while it waits.
///
/// Requests must be `Clone` (each attempt sends a clone) and so must the
/// inner service: as tower advises, a request's future takes the service
/// that `poll_ready` readied and leaves a clone in its place, and before
/// each later attempt it waits for that service's `poll_ready` again.
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
/// use tower::{service_fn, ServiceBuilder, ServiceExt};
/// use tripline::{Backoff, CircuitBreaker, CircuitBreakerLayer, Config, RetryError, RetryLayer, RetryPolicy, TokioClock};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let breaker = CircuitBreaker::builder("backend").clock(TokioClock::new()).build();
/// let backoff = Backoff::fixed(Duration::from_millis(100)).build().unwrap();
/// let policy = RetryPolicy::new(3, backoff).unwrap();
/// let calls = Arc::new(AtomicU32::new(0));
/// let seen = Arc::clone(&calls);
/// let svc = ServiceBuilder::new()
///     .layer(RetryLayer::new(policy))
///     .layer(CircuitBreakerLayer::new(breaker))
///     .service(service_fn(move |_: u8| {
///         let n = seen.fetch_add(1, Ordering::Relaxed) + 1;
///         async move { if n < 3 { Err("503") } else { Ok(n) } }
///     }));
///
/// let start = tokio::time::Instant::now();
/// assert_eq!(svc.oneshot(7).await.unwrap(), 3);
/// assert_eq!(start.elapsed(), Duration::from_millis(200)); // two waits
/// assert_eq!(calls.load(Ordering::Relaxed), 3);
/// # }
/// ```
#[derive(Debug)]
pub struct RetryLayer<P = RetryAll> {
    policy: Arc<RetryPolicy<P>>,
}

impl<P> RetryLayer<P> {
    /// A layer retrying as `policy` says; its services share the policy.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::{Backoff, RetryLayer, RetryPolicy};
    ///
    /// let policy = RetryPolicy::new(3, Backoff::NONE).unwrap().retry_if(|e: &u16| *e >= 500);
    /// let layer = RetryLayer::new(policy);
    /// assert_eq!(layer.policy().max_attempts(), 3);
    /// ```
    #[must_use]
    pub fn new(policy: RetryPolicy<P>) -> Self {
        RetryLayer {
            policy: Arc::new(policy),
        }
    }

    /// The policy.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::{Backoff, OnRejected, RetryLayer, RetryPolicy};
    /// let layer = RetryLayer::new(RetryPolicy::new(2, Backoff::NONE).unwrap());
    /// assert_eq!(layer.policy().rejection_handling(), OnRejected::GiveUp);
    /// ```
    #[must_use]
    pub fn policy(&self) -> &RetryPolicy<P> {
        &self.policy
    }
}

impl<P> Clone for RetryLayer<P> {
    fn clone(&self) -> Self {
        RetryLayer {
            policy: Arc::clone(&self.policy),
        }
    }
}

impl<S, P> Layer<S> for RetryLayer<P> {
    type Service = RetryService<S, P>;

    fn layer(&self, inner: S) -> Self::Service {
        RetryService {
            inner,
            policy: Arc::clone(&self.policy),
        }
    }
}

/// The service made by [`RetryLayer`].
///
/// Its error is the policy's [`RetryError`] over the inner [`CallError`]'s
/// error. An inner service that fails in `poll_ready` is spent (tower's
/// contract), so that ends the request: with
/// [`RetryError::NotRetryable`] (or [`RetryError::Rejected`]) counting the
/// attempts made, 0 when it failed before the first.
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use tower::{service_fn, ServiceExt, Layer};
/// use tripline::{Backoff, CallError, RetryError, RetryLayer, RetryPolicy};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let policy = RetryPolicy::new(4, Backoff::NONE).unwrap().retry_if(|e: &u16| *e >= 500);
/// let backend = service_fn(|_: ()| async { Err::<(), _>(CallError::Inner(404u16)) });
/// let svc = RetryLayer::new(policy).layer(backend);
/// let e = svc.oneshot(()).await.unwrap_err();
/// assert_eq!(e, RetryError::NotRetryable { attempts: 1, error: 404 });
/// # }
/// ```
#[derive(Debug)]
pub struct RetryService<S, P = RetryAll> {
    inner: S,
    policy: Arc<RetryPolicy<P>>,
}

impl<S, P> RetryService<S, P> {
    /// The policy.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tower::{service_fn, Layer};
    /// use tripline::{Backoff, CallError, RetryLayer, RetryPolicy};
    ///
    /// let backend = service_fn(|_: ()| async { Ok::<(), CallError<()>>(()) });
    /// let svc = RetryLayer::new(RetryPolicy::new(2, Backoff::NONE).unwrap()).layer(backend);
    /// assert_eq!(svc.policy().max_attempts(), 2);
    /// ```
    #[must_use]
    pub fn policy(&self) -> &RetryPolicy<P> {
        &self.policy
    }
}

impl<S: Clone, P> Clone for RetryService<S, P> {
    fn clone(&self) -> Self {
        RetryService {
            inner: self.inner.clone(),
            policy: Arc::clone(&self.policy),
        }
    }
}

impl<S, Req, T, E, P> Service<Req> for RetryService<S, P>
where
    S: Service<Req, Response = T, Error = CallError<E>> + Clone,
    Req: Clone,
    P: Retryable<E>,
{
    type Response = T;
    type Error = RetryError<E>;
    type Future = RetryFuture<S, Req, P>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(|e| spent(e, 0))
    }

    fn call(&mut self, request: Req) -> Self::Future {
        // The readied service makes this attempt; a clone waits for the next
        // request's `poll_ready`.
        let clone = self.inner.clone();
        let mut service = std::mem::replace(&mut self.inner, clone);
        let first = service.call(request.clone());
        RetryFuture {
            service,
            request,
            retry: self.policy.start(),
            policy: Arc::clone(&self.policy),
            state: Attempt::Calling { future: first },
        }
    }
}

/// The error that ends a request whose service failed in `poll_ready`.
fn spent<E>(error: CallError<E>, attempts: u32) -> RetryError<E> {
    match error {
        CallError::Inner(error) => RetryError::NotRetryable { attempts, error },
        CallError::Rejected(rejected) => RetryError::Rejected { attempts, rejected },
    }
}

pin_project! {
    /// The response future of [`RetryService`]: the current attempt or the
    /// wait before the next one, inline (no box).
    pub struct RetryFuture<S, Req, P>
    where
        S: Service<Req>,
    {
        service: S,
        request: Req,
        policy: Arc<RetryPolicy<P>>,
        retry: RetryState,
        #[pin]
        state: Attempt<S::Future>,
    }
}

pin_project! {
    #[project = AttemptProjection]
    enum Attempt<F> {
        // An attempt in flight.
        Calling { #[pin] future: F },
        // The wait the policy asked for.
        Sleeping { #[pin] sleep: Sleep },
        // Waiting for the service's `poll_ready` before the next attempt.
        Readying,
    }
}

impl<S, Req, T, E, P> Future for RetryFuture<S, Req, P>
where
    S: Service<Req, Response = T, Error = CallError<E>>,
    Req: Clone,
    P: Retryable<E>,
{
    type Output = Result<T, RetryError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                AttemptProjection::Calling { future } => {
                    let result = ready!(future.poll(cx));
                    match this.retry.after(this.policy, result) {
                        Step::Done(done) => return Poll::Ready(done),
                        Step::Wait(delay) if delay.is_zero() => {
                            this.state.set(Attempt::Readying);
                        }
                        Step::Wait(delay) => this.state.set(Attempt::Sleeping {
                            sleep: tokio::time::sleep(delay),
                        }),
                    }
                }
                AttemptProjection::Sleeping { sleep } => {
                    ready!(sleep.poll(cx));
                    this.state.set(Attempt::Readying);
                }
                AttemptProjection::Readying => {
                    if let Err(e) = ready!(this.service.poll_ready(cx)) {
                        return Poll::Ready(Err(spent(e, this.retry.count())));
                    }
                    let future = this.service.call(this.request.clone());
                    this.state.set(Attempt::Calling { future });
                }
            }
        }
    }
}

impl<S, Req, P> std::fmt::Debug for RetryFuture<S, Req, P>
where
    S: Service<Req>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryFuture")
            .field("attempts", &self.retry.count())
            .finish_non_exhaustive()
    }
}
