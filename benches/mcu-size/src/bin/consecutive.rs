//! The smallest useful breaker: 5 failures in a row, a fixed 1 s open time, CountWindow<16>; in a static behind a critical-section Mutex.
#![no_std]
#![no_main]

use core::cell::RefCell;
use core::time::Duration;

use cortex_m::interrupt::Mutex;
use cortex_m_rt::entry;
use tripline_core::{Breaker, Config, CountWindow};
use tripline_mcu_size::SysTick;

const CONFIG: Config = match Config::builder()
    .consecutive_failures(5)
    .open_duration(Duration::from_secs(1))
    .build()
{
    Ok(c) => c,
    Err(_) => panic!("invalid configuration"), // at compile time
};

static SENSOR: Mutex<RefCell<Breaker<CountWindow<16>, SysTick>>> = Mutex::new(RefCell::new(
    Breaker::new(CONFIG, CountWindow::new(), SysTick),
));

#[entry]
fn main() -> ! {
    tripline_mcu_size::exercise(&SENSOR)
}
