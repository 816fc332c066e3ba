//! The README's breaker: 5 in a row or 50 % of 10+ calls, 1 s open time doubling to 30 s, CountWindow<16>; in a static behind a critical-section Mutex.
#![no_std]
#![no_main]

use core::cell::RefCell;
use core::time::Duration;

use cortex_m::interrupt::Mutex;
use cortex_m_rt::entry;
use tripline_core::{Breaker, Config, CountWindow, Rate};
use tripline_mcu_size::SysTick;

const CONFIG: Config = match Config::builder()
    .consecutive_failures(5)
    .failure_rate(Rate::percent(50))
    .minimum_calls(10)
    .open_duration(Duration::from_secs(1))
    .exponential_backoff(2_000, Duration::from_secs(30))
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
