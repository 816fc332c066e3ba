//! A task reads a flaky I²C temperature sensor through a circuit breaker,
//! on embassy's std executor (real time, about one second).
//!
//! The simulated sensor answers for 150 ms, then its bus wedges for 300 ms: some
//! reads NAK, some never answer (the breaker's timeout ends them). The
//! breaker trips after three failures in a row; while it is open the task
//! skips the bus and reports the last good value. It probes again after
//! 50 ms, then 100 ms, 200 ms (backoff), and closes once the bus recovers.
//! A second task prints every state change it receives over the breaker's
//! pub-sub event channel.
//!
//! ```sh
//! cargo run --manifest-path embassy-adapter/examples-std/Cargo.toml --example embassy_sensor
//! ```

use core::sync::atomic::{AtomicU32, Ordering};
use core::time::Duration;

use embassy_executor::Spawner;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::pubsub::WaitResult;
use embassy_time::{Instant, Timer};
use tripline_core::{Config, CountWindow, Event, TimeoutError};
use tripline_embassy::{EmbassyBreaker, EventChannel};

type Events = EventChannel<CriticalSectionRawMutex, 8, 1>;

/// The sensor's breaker, in a static as on a device: three failures in a
/// row trip it, open 50 ms doubling up to 5 s, one probe at a time.
static SENSOR: EmbassyBreaker<CountWindow<8>, CriticalSectionRawMutex, Events> =
    EmbassyBreaker::with_observer(
        Config::peripheral(),
        CountWindow::new(),
        EventChannel::new(),
    );

/// How many reads the simulated sensor has been asked for.
static READS: AtomicU32 = AtomicU32::new(0);

/// Why a read failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum I2cError {
    /// The device did not acknowledge its address.
    Nak,
}

/// Reads the sensor in centi-degrees Celsius. From 150 ms to 450 ms after
/// boot its bus is wedged: every other read NAKs after 1 ms, the others
/// never answer.
async fn read_sensor() -> Result<i16, I2cError> {
    let n = READS.fetch_add(1, Ordering::Relaxed);
    let wedged = (150..450).contains(&Instant::now().as_millis());
    Timer::after_millis(1).await;
    match n % 2 {
        0 if wedged => Err(I2cError::Nak),
        _ if wedged => core::future::pending().await,
        _ => Ok(2_150 + (n % 7) as i16),
    }
}

fn ms_since(start: Instant) -> u64 {
    start.elapsed().as_millis()
}

#[embassy_executor::task]
async fn sensor_task(start: Instant) {
    let mut last_good: Option<i16> = None;
    for period in 0..50u32 {
        let reading = SENSOR
            .call_with_timeout(read_sensor(), Duration::from_millis(5))
            .await;
        let t = ms_since(start);
        match reading {
            Ok(c) => {
                last_good = Some(c);
                println!(
                    "{t:>5} ms  #{period:<2} read     {}.{:02} °C",
                    c / 100,
                    c % 100
                );
            }
            Err(TimeoutError::Rejected(r)) => match last_good {
                Some(c) => println!(
                    "{t:>5} ms  #{period:<2} skipped  {}.{:02} °C (last good; {r})",
                    c / 100,
                    c % 100
                ),
                None => println!("{t:>5} ms  #{period:<2} skipped  no reading yet ({r})"),
            },
            Err(e) => println!("{t:>5} ms  #{period:<2} failed   {e:?}"),
        }
        Timer::after_millis(15).await;
    }

    let m = SENSOR.metrics();
    println!(
        "\nbreaker: {:?}; {} admitted ({} ok, {} failed), {} skipped, {} bus reads",
        m.state,
        m.permitted,
        m.successes,
        m.failures,
        m.rejected,
        READS.load(Ordering::Relaxed)
    );
    // Let the monitor print the last events, then end the example.
    Timer::after_millis(5).await;
    std::process::exit(0);
}

#[embassy_executor::task]
async fn monitor_task(start: Instant) {
    let Ok(mut events) = SENSOR.observer().subscriber() else {
        println!("monitor: no subscriber slot");
        return;
    };
    loop {
        match events.next_message().await {
            WaitResult::Message(Event::StateChanged {
                from, to, reason, ..
            }) => {
                println!(
                    "{:>5} ms  ** {from:?} -> {to:?} ({reason:?})",
                    ms_since(start)
                );
            }
            WaitResult::Message(_) => {}
            WaitResult::Lagged(n) => {
                println!("{:>5} ms  ** monitor missed {n} events", ms_since(start))
            }
        }
    }
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let start = Instant::now();
    spawner.spawn(monitor_task(start).expect("the monitor task's pool has room"));
    spawner.spawn(sensor_task(start).expect("the sensor task's pool has room"));
}
