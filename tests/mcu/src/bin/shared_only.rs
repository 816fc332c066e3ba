//! Footprint probe: the `core_only` firmware with the breaker shared
//! (`SharedBreaker<CountWindow<16>, SysTickClock>` in a `static`, as an
//! interrupt handler would use it): `call`, `state` and `metrics` in a loop.
#![no_std]
#![no_main]

#[path = "../probe.rs"]
mod probe;

use core::hint::black_box;
use core::time::Duration;

use cortex_m_rt::entry;
use tripline_core::{Config, CountWindow, Rate, SharedBreaker};

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

static SENSOR: SharedBreaker<CountWindow<16>, probe::SysTickClock> =
    SharedBreaker::new(CONFIG, CountWindow::new(), probe::SysTickClock);

#[entry]
fn main() -> ! {
    probe::start_clock();
    loop {
        let _ = black_box(SENSOR.call(|| if probe::sensor_ok() { Ok(()) } else { Err(()) }));
        let _ = black_box(SENSOR.state());
        let _ = black_box(SENSOR.metrics());
    }
}
