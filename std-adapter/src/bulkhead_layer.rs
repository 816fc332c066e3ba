//! [`BulkheadLayer`]: an [`AsyncBulkhead`] around a tower service.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;
use tripline_core::BulkheadFull;

use crate::{AsyncBulkhead, AsyncBulkheadPermit};

/// A `tower::Layer` that lets at most the bulkhead's limit of requests be
/// in flight in the inner service, across every clone of the service.
///
/// A request takes a slot when it is called (not in `poll_ready`, so a
/// ready service that is never called holds none) and keeps it until its
/// response future completes or is dropped. A full bulkhead rejects with
/// [`BulkheadServiceError::Full`] at once, or after waiting up to the bulkhead's
/// [`max_wait`](AsyncBulkhead::max_wait) for a slot; a rejected request never
/// reaches the inner service.
///
/// Put it inside the [`CircuitBreakerLayer`](crate::CircuitBreakerLayer):
/// a request the breaker rejects then takes no slot. A full bulkhead says
/// "overloaded here", not "the backend is failing", so classify
/// [`BulkheadServiceError::Full`] as [`Outcome::Ignored`](tripline_core::Outcome::Ignored)
/// in the breaker (a half-open probe then gives its slot back).
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use tower::{service_fn, ServiceBuilder, ServiceExt};
/// use tripline::{AsyncBulkhead, BulkheadLayer, BulkheadServiceError};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let pool = AsyncBulkhead::new(2).unwrap();
/// let svc = ServiceBuilder::new()
///     .layer(BulkheadLayer::new(pool.clone()))
///     .service(service_fn(|x: u32| async move { Ok::<_, std::io::Error>(x * 2) }));
/// assert_eq!(svc.oneshot(21).await.unwrap(), 42);
/// assert_eq!(pool.metrics().admitted, 1);
/// assert_eq!(pool.metrics().in_use, 0); // released when the response came
/// # let _: Option<BulkheadServiceError<()>> = None;
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct BulkheadLayer {
    bulkhead: AsyncBulkhead,
}

impl BulkheadLayer {
    /// A layer limited by `bulkhead`; its services and their clones share it.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::{AsyncBulkhead, BulkheadLayer};
    /// let layer = BulkheadLayer::new(AsyncBulkhead::new(16).unwrap());
    /// assert_eq!(layer.bulkhead().metrics().limit, 16);
    /// ```
    #[must_use]
    pub fn new(bulkhead: AsyncBulkhead) -> Self {
        BulkheadLayer { bulkhead }
    }

    /// The bulkhead.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::{AsyncBulkhead, BulkheadLayer};
    /// let layer = BulkheadLayer::new(AsyncBulkhead::new(4).unwrap());
    /// assert_eq!(layer.bulkhead().metrics().in_use, 0);
    /// ```
    #[must_use]
    pub fn bulkhead(&self) -> &AsyncBulkhead {
        &self.bulkhead
    }
}

impl<S> Layer<S> for BulkheadLayer {
    type Service = BulkheadService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BulkheadService {
            inner,
            bulkhead: self.bulkhead.clone(),
        }
    }
}

/// The service made by [`BulkheadLayer`].
///
/// The inner service must be `Clone`: a request that waits for a slot takes
/// the readied service with it and leaves a clone in its place (tower's
/// advice for a call that cannot start at once).
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use tower::{service_fn, Layer};
/// use tripline::{AsyncBulkhead, BulkheadLayer};
///
/// let svc = BulkheadLayer::new(AsyncBulkhead::new(1).unwrap())
///     .layer(service_fn(|_: ()| async { Ok::<_, ()>(()) }));
/// assert_eq!(svc.bulkhead().metrics().limit, 1);
/// ```
#[derive(Clone, Debug)]
pub struct BulkheadService<S> {
    inner: S,
    bulkhead: AsyncBulkhead,
}

impl<S> BulkheadService<S> {
    /// The bulkhead limiting this service.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tower::{service_fn, Layer};
    /// use tripline::{AsyncBulkhead, BulkheadLayer};
    ///
    /// let svc = BulkheadLayer::new(AsyncBulkhead::new(3).unwrap())
    ///     .layer(service_fn(|_: ()| async { Ok::<_, ()>(()) }));
    /// assert_eq!(svc.bulkhead().metrics().admitted, 0);
    /// ```
    #[must_use]
    pub fn bulkhead(&self) -> &AsyncBulkhead {
        &self.bulkhead
    }
}

/// Why a [`BulkheadService`] did not return the inner service's response.
///
/// Implements `std::error::Error` for every `E` that prints (tower's
/// `BoxError` included), so it converts into a `BoxError`.
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use tripline::{BulkheadFull, BulkheadServiceError};
///
/// let e: BulkheadServiceError<std::io::Error> = BulkheadServiceError::Full(BulkheadFull { limit: 8 });
/// assert!(e.is_full());
/// assert_eq!(e.to_string(), "bulkhead full: all 8 slots are in use");
/// let boxed: tower::BoxError = e.into();
/// assert!(boxed.to_string().starts_with("bulkhead full"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BulkheadServiceError<E> {
    /// No slot was free (in time); the inner service was not called.
    Full(BulkheadFull),
    /// The inner service's own error.
    Inner(E),
}

impl<E> BulkheadServiceError<E> {
    /// Whether the bulkhead was full.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::BulkheadServiceError;
    /// assert!(!BulkheadServiceError::Inner("reset").is_full());
    /// ```
    #[must_use]
    pub const fn is_full(&self) -> bool {
        matches!(self, BulkheadServiceError::Full(_))
    }

    /// The inner service's error, if it was called and failed.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::BulkheadServiceError;
    /// assert_eq!(BulkheadServiceError::Inner("reset").into_inner(), Some("reset"));
    /// ```
    pub fn into_inner(self) -> Option<E> {
        match self {
            BulkheadServiceError::Inner(e) => Some(e),
            BulkheadServiceError::Full(_) => None,
        }
    }
}

impl<E: std::fmt::Display> std::fmt::Display for BulkheadServiceError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BulkheadServiceError::Full(full) => full.fmt(f),
            BulkheadServiceError::Inner(e) => e.fmt(f),
        }
    }
}

/// As for the core's `CallError`: the message is the inner error's, and
/// `source` continues its chain where that is known (a boxed error).
impl<E: std::fmt::Debug + std::fmt::Display + 'static> std::error::Error
    for BulkheadServiceError<E>
{
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BulkheadServiceError::Full(_) => None,
            BulkheadServiceError::Inner(e) => {
                // tower's `BoxError`, the one boxed error a tower stack has.
                let any: &dyn std::any::Any = e;
                any.downcast_ref::<Box<dyn std::error::Error + Send + Sync>>()
                    .and_then(|b| b.source())
            }
        }
    }
}

impl<S, Req> Service<Req> for BulkheadService<S>
where
    S: Service<Req> + Clone,
{
    type Response = S::Response;
    type Error = BulkheadServiceError<S::Error>;
    type Future = BulkheadFuture<S, Req>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner
            .poll_ready(cx)
            .map_err(BulkheadServiceError::Inner)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let state = if let Some(permit) = self.bulkhead.try_admit() {
            Slot::Admitted {
                future: self.inner.call(request),
                permit: Some(permit),
            }
        } else if self.bulkhead.wait_limit().is_some() {
            // Wait for a slot with the readied service; a clone stays here.
            let clone = self.inner.clone();
            let bulkhead = self.bulkhead.clone();
            Slot::Waiting {
                full: BulkheadFull {
                    limit: bulkhead.metrics().limit,
                },
                acquire: Box::pin(async move { bulkhead.acquire().await }),
                call: Some((std::mem::replace(&mut self.inner, clone), request)),
            }
        } else {
            Slot::Full {
                full: self.bulkhead.reject(),
            }
        };
        BulkheadFuture { state }
    }
}

/// A wait for a slot: boxed, and only when the bulkhead was full at the call.
type Acquire = Pin<Box<dyn Future<Output = Result<AsyncBulkheadPermit, BulkheadFull>> + Send>>;

pin_project! {
    /// The response future of [`BulkheadService`]: the inner future and its
    /// slot, inline. Only a request that has to wait for a slot allocates
    /// (the wait). Dropping it frees the slot.
    pub struct BulkheadFuture<S, Req>
    where
        S: Service<Req>,
    {
        #[pin]
        state: Slot<S, Req, S::Future>,
    }
}

pin_project! {
    #[project = SlotProjection]
    enum Slot<S, Req, F> {
        // In a slot: the inner future, and the slot until it completes.
        Admitted {
            #[pin]
            future: F,
            permit: Option<AsyncBulkheadPermit>,
        },
        // Full at the call: waiting up to `max_wait` for a slot.
        Waiting {
            full: BulkheadFull,
            acquire: Acquire,
            // The readied service and the request, until a slot is free.
            call: Option<(S, Req)>,
        },
        // Full, and no waiting: resolves at once.
        Full { full: BulkheadFull },
    }
}

impl<S, Req> Future for BulkheadFuture<S, Req>
where
    S: Service<Req>,
{
    type Output = Result<S::Response, BulkheadServiceError<S::Error>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                SlotProjection::Admitted { future, permit } => {
                    let result = ready!(future.poll(cx));
                    // The slot is free before the caller sees the response.
                    drop(permit.take());
                    return Poll::Ready(result.map_err(BulkheadServiceError::Inner));
                }
                SlotProjection::Waiting {
                    full,
                    acquire,
                    call,
                } => {
                    let permit = ready!(acquire.as_mut().poll(cx));
                    // `call` is `Some` until this, the one way out of `Waiting`.
                    let (Ok(permit), Some((mut service, request))) = (permit, call.take()) else {
                        return Poll::Ready(Err(BulkheadServiceError::Full(*full)));
                    };
                    let future = service.call(request);
                    state.set(Slot::Admitted {
                        future,
                        permit: Some(permit),
                    });
                }
                SlotProjection::Full { full } => {
                    return Poll::Ready(Err(BulkheadServiceError::Full(*full)));
                }
            }
        }
    }
}

impl<S, Req> std::fmt::Debug for BulkheadFuture<S, Req>
where
    S: Service<Req>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkheadFuture").finish_non_exhaustive()
    }
}
