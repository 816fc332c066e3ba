//! [`CircuitBreakerLayer`]: a breaker for any tower service (hyper, axum, tonic).

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;
use tripline_core::{CallError, Clock, Rejected, Window};

use crate::handle::DefaultWindow;
use crate::{CircuitBreaker, Classify, ErrorsAreFailures, OwnedPermit, StdClock};

/// A `tower::Layer` that puts a [`CircuitBreaker`] in front of a service.
///
/// The permit is taken in `call`, not `poll_ready` (a ready service that is
/// never called must not hold a half-open probe). A rejected request never
/// reaches the inner service and fails with [`CallError::Rejected`], which
/// carries the reason and `retry_after`. Nothing is allocated per request.
///
/// Stack order, outermost first: retry, then this breaker, then a timeout
/// (so a timeout counts as a failure and a retry never hammers an open breaker).
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use tower::{service_fn, ServiceBuilder, ServiceExt};
/// use tripline::{CallError, Config, Outcome};
/// use tripline::{CircuitBreaker, CircuitBreakerLayer};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let breaker = CircuitBreaker::new("backend", Config::builder().consecutive_failures(1).build().unwrap());
/// let backend = service_fn(|status: u16| async move { Ok::<u16, std::io::Error>(status) });
/// let svc = ServiceBuilder::new()
///     .layer(CircuitBreakerLayer::new(breaker.clone()).classify(|r: &Result<u16, _>| match r {
///         Ok(500..) | Err(_) => Outcome::Failure,
///         Ok(_) => Outcome::Success,
///     }))
///     .service(backend);
///
/// assert_eq!(svc.clone().oneshot(503).await.unwrap(), 503); // passed through, counted as failure
/// let rejected = svc.oneshot(200).await;
/// assert!(matches!(rejected, Err(CallError::Rejected(_))));
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct CircuitBreakerLayer<W = DefaultWindow, C = StdClock, K = ErrorsAreFailures> {
    breaker: CircuitBreaker<W, C>,
    classify: K,
}

impl<W, C> CircuitBreakerLayer<W, C> {
    /// A layer guarded by `breaker`, counting `Err` as failure.
    #[must_use]
    pub fn new(breaker: CircuitBreaker<W, C>) -> Self {
        CircuitBreakerLayer {
            breaker,
            classify: ErrorsAreFailures,
        }
    }
}

impl<W, C, K> CircuitBreakerLayer<W, C, K> {
    /// Counts results as `classify` says (see [`Classify`]).
    #[must_use]
    pub fn classify<K2>(self, classify: K2) -> CircuitBreakerLayer<W, C, K2> {
        CircuitBreakerLayer {
            breaker: self.breaker,
            classify,
        }
    }
}

impl<S, W, C, K: Clone> Layer<S> for CircuitBreakerLayer<W, C, K> {
    type Service = CircuitBreakerService<S, W, C, K>;

    fn layer(&self, inner: S) -> Self::Service {
        CircuitBreakerService {
            inner,
            breaker: self.breaker.clone(),
            classify: self.classify.clone(),
        }
    }
}

/// The service made by [`CircuitBreakerLayer`].
#[derive(Clone, Debug)]
pub struct CircuitBreakerService<S, W = DefaultWindow, C = StdClock, K = ErrorsAreFailures> {
    inner: S,
    breaker: CircuitBreaker<W, C>,
    classify: K,
}

impl<S, W, C, K> CircuitBreakerService<S, W, C, K> {
    /// The breaker guarding this service.
    pub fn breaker(&self) -> &CircuitBreaker<W, C> {
        &self.breaker
    }
}

impl<S, Req, W, C, K> Service<Req> for CircuitBreakerService<S, W, C, K>
where
    S: Service<Req>,
    W: Window,
    C: Clock,
    K: Classify<S::Response, S::Error> + Clone,
{
    type Response = S::Response;
    type Error = CallError<S::Error>;
    type Future = ResponseFuture<S::Future, W, C, K>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(CallError::Inner)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let kind = match self.breaker.try_acquire_owned() {
            Ok(permit) => Kind::Admitted {
                inner: self.inner.call(request),
                permit: Some(permit),
                classify: self.classify.clone(),
            },
            Err(rejected) => Kind::Rejected { rejected },
        };
        ResponseFuture { kind }
    }
}

pin_project! {
    /// The response future of [`CircuitBreakerService`]: the inner future
    /// and its permit, inline (no box). Dropping it before it completes
    /// cancels the permit.
    pub struct ResponseFuture<F, W, C, K>
    where
        W: Window,
        C: Clock,
    {
        #[pin]
        kind: Kind<F, W, C, K>,
    }
}

pin_project! {
    #[project = KindProjection]
    enum Kind<F, W, C, K>
    where
        W: Window,
        C: Clock,
    {
        // Admitted: the inner service's future, recorded when it completes.
        Admitted {
            #[pin]
            inner: F,
            permit: Option<OwnedPermit<W, C>>,
            classify: K,
        },
        // Rejected: resolves at once to the rejection.
        Rejected { rejected: Rejected },
    }
}

impl<F, T, E, W, C, K> Future for ResponseFuture<F, W, C, K>
where
    F: Future<Output = Result<T, E>>,
    W: Window,
    C: Clock,
    K: Classify<T, E>,
{
    type Output = Result<T, CallError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProjection::Admitted {
                inner,
                permit,
                classify,
            } => {
                let result = ready!(inner.poll(cx));
                if let Some(permit) = permit.take() {
                    let _ = permit.record(classify.classify(&result));
                }
                Poll::Ready(result.map_err(CallError::Inner))
            }
            KindProjection::Rejected { rejected } => {
                Poll::Ready(Err(CallError::Rejected(*rejected)))
            }
        }
    }
}
