//! Footprint probe: `shared_only` without its observer. One
//! `SharedBreaker<CountWindow<8>, SysTickClock>` in a `static`, shared by
//! `main` and an interrupt handler (PendSV), with consecutive failures, a
//! failure-rate rule and exponential backoff; `main` also reads `state`
//! and `metrics`. Its static is the RAM one unobserved breaker costs.
#![no_std]
#![no_main]

#[path = "../probe.rs"]
mod probe;

use core::hint::black_box;
use core::time::Duration;

use cortex_m::peripheral::SCB;
use cortex_m_rt::{entry, exception};
use tripline_core::shared::CriticalSectionLock;
use tripline_core::{Config, CountWindow, FixedConfig, Rate, SharedBreaker};

/// The configuration, fixed at compile time: the compiler folds what it
/// leaves unused, and none of it is kept in RAM.
struct Sensor;

impl FixedConfig for Sensor {
    const CONFIG: Config = match Config::builder()
        .consecutive_failures(5)
        .failure_rate(Rate::percent(50))
        .minimum_calls(8)
        .open_duration(Duration::from_secs(1))
        .exponential_backoff(2_000, Duration::from_secs(30))
        .build()
    {
        Ok(config) => config,
        Err(_) => panic!("invalid configuration"), // at compile time
    };
}

/// The breaker, without an observer: no event is built or queued.
static SENSOR: SharedBreaker<CountWindow<8>, probe::SysTickClock, (), CriticalSectionLock, Sensor> =
    SharedBreaker::fixed(Sensor, CountWindow::new(), probe::SysTickClock);

#[exception]
fn PendSV() {
    let _ = black_box(SENSOR.call(|| if probe::sensor_ok() { Ok(()) } else { Err(()) }));
}

#[entry]
fn main() -> ! {
    probe::start_clock();
    loop {
        let _ = black_box(SENSOR.call(|| if probe::sensor_ok() { Ok(()) } else { Err(()) }));
        SCB::set_pendsv();
        let _ = black_box(SENSOR.state());
        // By reference: the whole struct is built, as a report would read it.
        let _ = black_box(&SENSOR.metrics());
    }
}
