//! The `no_std`, allocation-free core of the tripline circuit breaker.
//!
//! One state machine for a Cortex-M0 and a tokio service: no heap, no float,
//! no panic on any path, and every transition driven by a [`Clock`] you
//! choose, so tests move time with a [`MockClock`] instead of sleeping.
//!
//! ```
//! # mod tripline { pub use tripline_core::*; }
//! use core::time::Duration;
//! use tripline::{Breaker, Config, CountWindow, MockClock, Rate, State};
//!
//! let clock = MockClock::new();
//! let config = Config::builder()
//!     .failure_rate(Rate::percent(50)) // trip at 50 % failures…
//!     .minimum_calls(4)           // …once 4 calls are in the window
//!     .open_duration(Duration::from_secs(1))
//!     .build()
//!     .unwrap();
//! let mut breaker = Breaker::new(config, CountWindow::<8>::new(), &clock);
//!
//! for ok in [true, false, true, false] {
//!     let _ = breaker.call(|| if ok { Ok(()) } else { Err("i2c NAK") });
//! }
//! assert_eq!(breaker.state(), State::Open);
//! clock.advance(Duration::from_secs(1));
//! assert_eq!(breaker.state(), State::HalfOpen);
//! ```
//!
//! Modules, one concept each: [`clock`], [`window`], [`Config`] (`config`)
//! with its [`Rate`]s (`rate`),
//! the trip and backoff arithmetic (`policy`, private), [`Breaker`]
//! (`breaker`), [`observe`], [`Metrics`] (`metrics`), [`SharedBreaker`]
//! (`shared`), the async calls and [`TimeoutError`] (`future`), [`Health`]
//! (`health`).
//! Resilience companions: [`Backoff`] (`backoff`), [`RetryPolicy`]
//! (`retry`), [`Bulkhead`] (`bulkhead`), fallbacks on the breakers
//! (`fallback`), the firmware [`registry`], [`Preset`]s (`presets`).
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
// No panic path in the core's code: each `allow` below these names the
// proof that its operation cannot panic, at the narrowest scope. The
// link-time check in tests/panic-free proves the same for the whole image.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

// Only for recognising boxed errors in error chains (`error::source_below`):
// the core never allocates.
#[cfg(feature = "alloc")]
extern crate alloc;

pub mod backoff;
mod breaker;
pub mod bulkhead;
pub mod clock;
mod config;
mod error;
mod fallback;
mod fixed;
mod future;
mod health;
mod machine;
mod metrics;
pub mod observe;
mod permit;
mod policy;
mod presets;
mod rate;
pub mod registry;
pub mod retry;
pub mod shared;
mod state;
pub mod tally;
pub mod window;

pub use backoff::{Backoff, BackoffError, Jitter};
pub use breaker::Breaker;
pub use bulkhead::{Bulkhead, BulkheadError, BulkheadFull, BulkheadPermit};
pub use clock::{Clock, Instant, MockClock};
pub use config::{Config, ConfigBuilder, OnCancel};
pub use error::{ConfigError, TransitionError};
pub use fixed::{ConfigSource, FixedConfig};
pub use future::TimeoutError;
pub use health::Health;
pub use metrics::Metrics;
pub use observe::{Event, Interest, Observer, Queued, Sink};
pub use permit::{CallError, Outcome, Permit, Recorded, RejectReason, Rejected};
pub use presets::{Preset, Strictness};
pub use rate::Rate;
// `registry::Registry` stays under its module: the facade also re-exports
// tripline-std's `Registry` at its root.
pub use registry::RegisterError;
pub use retry::{Attempts, OnRejected, RetryError, RetryPolicy, RetryState, Step};
pub use shared::{SharedBreaker, SharedPermit};
pub use state::{Reason, Rule, State};
pub use window::{CountWindow, TimeWindow, Window};
