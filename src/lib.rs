//! tripline: a circuit breaker for a Cortex-M0 and a tokio service alike.
//!
//! This facade re-exports [`tripline_core`], the `no_std`, allocation-free
//! state machine; features add the adapters as they land.
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

pub use tripline_core::*;
