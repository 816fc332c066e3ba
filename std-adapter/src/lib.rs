//! std, tokio and tower glue for the tripline circuit breaker.
//!
//! Every decision is made by [`tripline_core`]; this crate brings a clock
//! ([`StdClock`], [`TokioClock`]), a per-breaker lock ([`StdLock`]), a
//! cheap-to-clone `Send + Sync` handle ([`CircuitBreaker`]), a named
//! [`Registry`], and with features: `tokio` (timeouts, a `watch` of the
//! state, a `broadcast` of events), `tower` ([`CircuitBreakerLayer`]),
//! `serde`, `tracing`.
//!
//! ```
//! use std::time::Duration;
//! use tripline_core::{CallError, Config};
//! use tripline_std::Registry;
//!
//! let breakers = Registry::new();
//! let config = Config::builder().consecutive_failures(2).build()?;
//! let payments = breakers.get_or_create("payments", config);
//!
//! let charge = payments.call(|| Err::<(), _>("503"));
//! assert!(matches!(charge, Err(CallError::Inner("503"))));
//! assert_eq!(breakers.health().closed, 1);
//! # Ok::<(), tripline_core::ConfigError>(())
//! ```
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod clock;
mod handle;
#[cfg(feature = "tower")]
mod layer;
mod lock;
mod observe;
mod registry;

pub use clock::StdClock;
#[cfg(feature = "tokio")]
pub use clock::TokioClock;
pub use handle::{
    CircuitBreaker, CircuitBreakerBuilder, DefaultWindow, OwnedPermit, StdSharedBreaker,
};
#[cfg(feature = "tower")]
pub use layer::{
    CircuitBreakerLayer, CircuitBreakerService, Classify, ErrorsAreFailures, ResponseFuture,
};
pub use lock::{StdLock, StdMutex};
pub use observe::{EventFn, Hub};
pub use registry::{Registry, Snapshot};
