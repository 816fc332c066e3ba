//! Footprint probe: one `Breaker<CountWindow<16>, SysTickClock>` with the
//! README's configuration (5 consecutive failures or 50 % of the window,
//! 1 s open time doubling up to 30 s), guarding a simulated sensor in a loop
//! of `try_acquire`, `record` and `state`.
//!
//! The breaker lives in a `static`, built at compile time by the `const`
//! constructor (no construction code; its initial image is in flash), behind
//! the usual `Mutex<RefCell<_>>` of single-core firmware. Built with
//! opt-level "s" and LTO; the panic handler only halts, so any panic path the
//! core keeps shows up as `core::panicking` symbols.
#![no_std]
#![no_main]

#[path = "../probe.rs"]
mod probe;

use core::cell::RefCell;
use core::hint::black_box;
use core::time::Duration;

use cortex_m::interrupt::Mutex;
use cortex_m_rt::entry;
use tripline_core::{Breaker, Config, CountWindow, Outcome, Rate};

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

type Sensor = Breaker<CountWindow<16>, probe::SysTickClock>;

static SENSOR: Mutex<RefCell<Sensor>> = Mutex::new(RefCell::new(Breaker::new(
    CONFIG,
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
