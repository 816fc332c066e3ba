//! embassy glue for the tripline circuit breaker.
//!
//! Every decision is made by [`tripline_core`]; this crate brings what an
//! embassy firmware has: a clock ([`EmbassyClock`], over
//! `embassy_time::Instant`), a lock ([`EmbassyLock`], over embassy-sync's
//! blocking mutex, generic over its `RawMutex`), async calls whose timeouts
//! run on `embassy_time::Timer`, a wait for the breaker to admit a probe,
//! and events for monitoring tasks through a pub-sub channel
//! ([`EventChannel`]).
//!
//! [`EmbassyBreaker`] is the core's [`SharedBreaker`](tripline_core::SharedBreaker) over those two, with a
//! `const fn` constructor so it lives in a `static` that tasks and interrupt
//! handlers share:
//!
//! ```
//! # mod tripline { pub use tripline_core::*; pub use tripline_embassy::*; }
//! use core::time::Duration;
//! use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
//! use tripline::{CallError, Config, CountWindow, State};
//! use tripline::EmbassyBreaker;
//!
//! static SENSOR: EmbassyBreaker<CountWindow<8>, CriticalSectionRawMutex> =
//!     EmbassyBreaker::new(Config::peripheral(), CountWindow::new());
//!
//! async fn read_temperature() -> Result<i16, &'static str> { Err("i2c NAK") }
//!
//! # embassy_futures::block_on(async {
//! // In a task: the bus is skipped while the breaker is open.
//! for _ in 0..3 {
//!     let r = SENSOR.call_with_timeout(read_temperature(), Duration::from_millis(20)).await;
//!     assert!(r.is_err());
//! }
//! assert_eq!(SENSOR.state(), State::Open);
//! assert!(matches!(SENSOR.call(read_temperature()).await, Err(CallError::Rejected(_))));
//! // Sleep (no polling) until a probe may go, then try again.
//! # embassy_time::MockDriver::get().advance(embassy_time::Duration::from_millis(50));
//! SENSOR.wait_until_ready().await.unwrap();
//! assert_eq!(SENSOR.state(), State::HalfOpen);
//! # });
//! ```
//!
//! The library enables no `embassy-time` tick rate, driver or queue
//! feature: the firmware picks them. Time is converted to the core's
//! microseconds with embassy-time's own arithmetic; at the default
//! 1 MHz tick that is a copy.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
// No panic path in this crate's code, as in the core.
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

mod breaker;
mod bulkhead;
mod clock;
mod events;
mod lock;
mod retry;

pub use breaker::{EmbassyBreaker, EmbassySharedBreaker, NotReady};
pub use bulkhead::{EmbassyBulkhead, EmbassyBulkheadPermit};
pub use clock::EmbassyClock;
pub use events::EventChannel;
pub use lock::EmbassyLock;
pub use retry::retry;
