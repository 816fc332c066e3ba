//! What every footprint probe shares: a clock over SysTick, an opaque sensor
//! read, and a panic handler that only halts (so a panic path the core keeps
//! is visible as `core::panicking` symbols, never as formatting code).
#![no_std]

use cortex_m::peripheral::SYST;
use tripline_core::{Clock, Instant};

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

#[panic_handler]
fn halt(_: &core::panic::PanicInfo) -> ! {
    loop {
        cortex_m::asm::nop();
    }
}
