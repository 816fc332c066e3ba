//! A rate breaker over time: 50 % of 10+ calls in the last 10 s (TimeWindow<10>), 1 s open time; in a static behind a critical-section Mutex.
#![no_std]
#![no_main]

use core::cell::RefCell;
use core::time::Duration;

use cortex_m::interrupt::Mutex;
use cortex_m_rt::entry;
use tripline_core::{Breaker, Config, Rate, TimeWindow};
use tripline_mcu_size::SysTick;

const CONFIG: Config = match Config::builder()
    .failure_rate(Rate::percent(50))
    .minimum_calls(10)
    .open_duration(Duration::from_secs(1))
    .build()
{
    Ok(c) => c,
    Err(_) => panic!("invalid configuration"), // at compile time
};

static SENSOR: Mutex<RefCell<Breaker<TimeWindow<10>, SysTick>>> =
    Mutex::new(RefCell::new(Breaker::new(
        CONFIG,
        match TimeWindow::new(Duration::from_secs(10)) {
            Ok(w) => w,
            Err(_) => panic!("invalid window"),
        },
        SysTick,
    )));

#[entry]
fn main() -> ! {
    tripline_mcu_size::exercise(&SENSOR)
}
