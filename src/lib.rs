//! tripline: a circuit breaker for a Cortex-M0 and a tokio service alike.
//!
//! This facade re-exports [`tripline_core`], the `no_std`, allocation-free
//! state machine, and behind features the adapters:
//!
//! | feature | adds |
//! |---|---|
//! | `std` | [`tripline_std`]: `CircuitBreaker` (a `Send + Sync` handle), `Registry`, `StdClock` |
//! | `tokio` | `TokioClock`, `call_async_with_timeout`, a state `watch`, an event `broadcast` |
//! | `tower` | `CircuitBreakerLayer` for any tower service |
//! | `metrics` | `BreakerMetrics`: breakers through the `metrics` facade, Prometheus names |
//! | `dashboard` | `dashboard::router`: a live HTML page of a `Registry` over server-sent events |
//! | `serde`, `tracing`, `defmt` | serialization, tracing records, firmware logging |
//!
//! ```
//! use tripline::{Breaker, Config, CountWindow, MockClock, State};
//!
//! let clock = MockClock::new();
//! let mut breaker = Breaker::new(Config::default(), CountWindow::<16>::new(), &clock);
//! assert_eq!(breaker.call(|| Ok::<_, ()>(7)), Ok(7));
//! assert_eq!(breaker.state(), State::Closed);
//! ```
#![no_std]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

pub use tripline_core::*;
#[cfg(feature = "embassy")]
pub use tripline_embassy::*;
#[cfg(feature = "std")]
pub use tripline_std::*;
