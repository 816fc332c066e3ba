//! How a call's whole result counts for the breaker: the [`Classify`] trait,
//! the default [`ErrorsAreFailures`], and with features the HTTP
//! ([`HttpClassifier`], feature `http`) and gRPC ([`GrpcClassifier`],
//! feature `grpc`, and `tonic` for a `tonic::Status`) classifiers.
//!
//! A classifier is a plain value: a named type (not a closure) keeps a
//! guarded service nameable, so it can sit in a struct or an axum state.

use tripline_core::Outcome;

#[cfg(feature = "grpc")]
mod grpc;
#[cfg(feature = "http")]
mod status;

#[cfg(feature = "grpc")]
pub use grpc::GrpcClassifier;
#[cfg(feature = "http")]
pub use status::HttpClassifier;

/// Decides how a service's whole result counts: an `Ok` HTTP 503 can be a
/// failure, an `Err` for a 404 need not be.
///
/// Any `Fn(&Result<T, E>) -> Outcome` is one, closures and `fn` pointers
/// alike; a `fn` pointer type such as `fn(&Result<u16, ()>) -> Outcome`
/// names a guarded service's classifier where a closure cannot be named.
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use tripline::Outcome;
/// use tripline::Classify;
///
/// let by_status = |r: &Result<u16, ()>| match r {
///     Ok(500..) => Outcome::Failure,
///     Ok(_) => Outcome::Success,
///     Err(_) => Outcome::Failure,
/// };
/// assert_eq!(by_status.classify(&Ok(503)), Outcome::Failure);
///
/// fn ignore_errors(r: &Result<u16, ()>) -> Outcome {
///     if r.is_err() { Outcome::Ignored } else { Outcome::Success }
/// }
/// let named: fn(&Result<u16, ()>) -> Outcome = ignore_errors;
/// assert_eq!(named.classify(&Err(())), Outcome::Ignored);
/// ```
pub trait Classify<T, E> {
    /// How `result` counts.
    fn classify(&self, result: &Result<T, E>) -> Outcome;
}

impl<T, E, F: Fn(&Result<T, E>) -> Outcome> Classify<T, E> for F {
    fn classify(&self, result: &Result<T, E>) -> Outcome {
        self(result)
    }
}

/// The default classifier: `Ok` is a success, `Err` a failure ([`Outcome::of`]).
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use tripline::Outcome;
/// use tripline::{Classify, ErrorsAreFailures};
/// assert_eq!(ErrorsAreFailures.classify(&Err::<(), _>("reset")), Outcome::Failure);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct ErrorsAreFailures;

impl<T, E> Classify<T, E> for ErrorsAreFailures {
    fn classify(&self, result: &Result<T, E>) -> Outcome {
        Outcome::of(result)
    }
}
