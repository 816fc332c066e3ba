//! What every footprint probe shares: a clock over SysTick, an opaque sensor
//! read, and a panic handler that only halts (so a panic path the core keeps
//! is visible as `core::panicking` symbols, never as formatting code).
#![no_std]

use core::cell::RefCell;
use core::hint::black_box;

use cortex_m::interrupt::Mutex;
use cortex_m::peripheral::SYST;
use tripline_core::{Breaker, Clock, Instant, Outcome, Window};

/// A clock reading SysTick's current value as microseconds. Meaningless as
/// time, representative as code: one register read per `now()`.
#[derive(Clone, Copy, Debug)]
pub struct SysTick;

impl Clock for SysTick {
    fn now(&self) -> Instant {
        Instant::from_micros(u64::from(SYST::get_current()))
    }
}

/// A sensor read the optimiser cannot predict: `true` is a good reading.
#[must_use]
pub fn sensor_ok() -> bool {
    core::hint::black_box(SYST::get_current()) & 1 == 0
}

/// The loop every probe runs: ask, read the sensor, record, read the state,
/// with the results kept alive so nothing is optimised away. Only the
/// breaker's type (its window and config) differs between probes.
pub fn exercise<W: Window>(sensor: &Mutex<RefCell<Breaker<W, SysTick>>>) -> ! {
    loop {
        cortex_m::interrupt::free(|cs| {
            let Ok(mut b) = sensor.borrow(cs).try_borrow_mut() else {
                return;
            };
            match b.try_acquire() {
                Ok(permit) => {
                    let outcome = if sensor_ok() {
                        Outcome::Success
                    } else {
                        Outcome::Failure
                    };
                    black_box(b.record(permit, outcome));
                }
                Err(rejected) => {
                    black_box(rejected.retry_after_micros());
                }
            }
            black_box(b.state());
        });
    }
}

#[panic_handler]
fn halt(_: &core::panic::PanicInfo) -> ! {
    loop {
        cortex_m::asm::nop();
    }
}
