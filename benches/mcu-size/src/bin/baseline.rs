//! The scaffolding alone: the sensor read in a critical section, in a loop.
#![no_std]
#![no_main]

use core::hint::black_box;

use cortex_m_rt::entry;
use tripline_core::Clock;
use tripline_mcu_size::{sensor_ok, SysTick};

#[entry]
fn main() -> ! {
    loop {
        cortex_m::interrupt::free(|_| {
            black_box(SysTick.now());
            black_box(sensor_ok());
        });
    }
}
