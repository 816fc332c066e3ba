//! Footprint probe, a realistic firmware: one observed
//! `SharedBreaker<CountWindow<8>, SysTickClock>` in a `static`, shared by
//! `main` and an interrupt handler (PendSV), with consecutive failures, a
//! failure-rate rule and exponential backoff; the observer counts state
//! changes (as a status LED or a log would), held in the breaker with room
//! for the 3 events one operation can queue for it, and `main` also reads
//! `state` and `metrics`. `shared_plain` is the same firmware without the
//! observer.
#![no_std]
#![no_main]

#[path = "../probe.rs"]
mod probe;

use core::hint::black_box;
use core::sync::atomic::{AtomicU32, Ordering};
use core::time::Duration;

use cortex_m::peripheral::SCB;
use cortex_m_rt::{entry, exception};
use tripline_core::observe::{Interest, Queued};
use tripline_core::shared::CriticalSectionLock;
use tripline_core::{Config, CountWindow, Event, FixedConfig, Observer, Rate, SharedBreaker};

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

/// Counts state changes, as a firmware's status LED or log would.
struct Changes(AtomicU32);

impl Observer for Changes {
    // State changes only: no other event is built, nor its code linked.
    const INTEREST: Interest = Interest::STATE_CHANGED;

    fn on_event(&self, event: &Event) {
        if let Event::StateChanged { .. } = event {
            // No read-modify-write on the M0; a lost count costs a probe nothing.
            self.0.store(
                self.0.load(Ordering::Relaxed).wrapping_add(1),
                Ordering::Relaxed,
            );
        }
    }
}

/// The breaker, observed: its events wait in a queue inside the lock, with
/// room for 3 (the most one operation makes for an observer of state
/// changes).
static SENSOR: SharedBreaker<
    CountWindow<8>,
    probe::SysTickClock,
    Queued<Changes, 3>,
    CriticalSectionLock,
    Sensor,
> = SharedBreaker::fixed_with_observer(
    Sensor,
    CountWindow::new(),
    probe::SysTickClock,
    Queued(Changes(AtomicU32::new(0))),
);

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
        let _ = black_box(SENSOR.observer().0 .0.load(Ordering::Relaxed));
    }
}
