//! Footprint baseline: `core_only` without the breaker. It starts the same
//! clock and reads it and the sensor in the same critical section in a loop,
//! so that `core_only` minus this binary is what the breaker itself costs.
#![no_std]
#![no_main]

#[path = "../probe.rs"]
mod probe;

use core::hint::black_box;

use cortex_m_rt::entry;
use tripline_core::Clock;

#[entry]
fn main() -> ! {
    probe::start_clock();
    let clock = probe::SysTickClock;
    loop {
        cortex_m::interrupt::free(|_| {
            black_box(clock.now());
            black_box(probe::sensor_ok());
        });
    }
}
