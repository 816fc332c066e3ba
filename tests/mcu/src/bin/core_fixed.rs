//! Footprint probe: `core_only` with its configuration fixed at compile
//! time (`FixedConfig`): the same breaker, loop and configuration, none of
//! it in RAM, and the code of what the configuration leaves unused folded
//! away.
#![no_std]
#![no_main]

#[path = "../probe.rs"]
mod probe;

use core::cell::RefCell;
use core::hint::black_box;
use core::time::Duration;

use cortex_m::interrupt::Mutex;
use cortex_m_rt::entry;
use tripline_core::{Breaker, Config, CountWindow, FixedConfig, Outcome, Rate};

/// The README's configuration, as a type.
struct Readme;

impl FixedConfig for Readme {
    const CONFIG: Config = match Config::builder()
        .consecutive_failures(5)
        .failure_rate(Rate::percent(50))
        .minimum_calls(10)
        .open_duration(Duration::from_secs(1))
        .exponential_backoff(2_000, Duration::from_secs(30))
        .build()
    {
        Ok(config) => config,
        Err(_) => panic!("invalid configuration"), // at compile time
    };
}

type Sensor = Breaker<CountWindow<16>, probe::SysTickClock, (), Readme>;

static SENSOR: Mutex<RefCell<Sensor>> = Mutex::new(RefCell::new(Breaker::fixed(
    Readme,
    CountWindow::new(),
    probe::SysTickClock,
)));

#[entry]
fn main() -> ! {
    probe::start_clock();
    loop {
        cortex_m::interrupt::free(|cs| {
            // `try_borrow_mut`, not `borrow_mut`: no panic path from here.
            let Ok(mut breaker) = SENSOR.borrow(cs).try_borrow_mut() else {
                return;
            };
            match breaker.try_acquire() {
                Ok(permit) => {
                    let outcome = if probe::sensor_ok() {
                        Outcome::Success
                    } else {
                        Outcome::Failure
                    };
                    black_box(breaker.record(permit, outcome));
                }
                Err(rejected) => {
                    black_box(rejected.retry_after_micros());
                }
            }
            black_box(breaker.state());
        });
    }
}
