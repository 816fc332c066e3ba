//! Two embassy tasks share one `tripline-embassy` breaker guarding a
//! simulated flaky sensor, on qemu's lm3s6965evb (Cortex-M3, 12 MHz core
//! clock), with time from a SysTick driver of our own at 1 kHz.
//!
//! A supervisor task makes the sensor fail, keeps it failing through the
//! first probe, then heals it, and checks what it observed: the five state
//! changes in order with their reasons, open times of exactly 50 ms then
//! 100 ms (the backoff), rejected calls that never reached the sensor, and
//! every call counted once. Verdicts go out over semihosting; the exit code
//! is non-zero on any failed check, panic, HardFault or deadline.
#![no_std]
#![no_main]

use core::cell::{Cell, RefCell};
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use core::time::Duration;

use critical_section::Mutex;
use embassy_executor::Spawner;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_time::{Instant as EmbassyInstant, Timer};
use tripline_core::{
    Config, CountWindow, Event, Instant, Observer, Reason, Rule, State, TimeoutError,
};
use tripline_embassy::EmbassyBreaker;
use tripline_mcu::{ensure, ensure_eq, exit, failing_handlers, Fail};

failing_handlers!();

/// The SysTick time driver: 1 kHz ticks from the 12 MHz core clock, a
/// 64-bit tick count, and embassy's generic timer queue.
mod driver {
    use core::cell::{Cell, RefCell};
    use core::task::Waker;

    use cortex_m::peripheral::syst::SystClkSource;
    use cortex_m::peripheral::SYST;
    use cortex_m_rt::exception;
    use critical_section::Mutex;
    use embassy_time_driver::Driver;
    use embassy_time_queue_utils::Queue;

    /// The core clock of qemu's lm3s6965evb.
    const CORE_HZ: u64 = 12_000_000;
    /// SysTick counts `RELOAD + 1` core cycles per tick.
    const RELOAD: u32 = (CORE_HZ / embassy_time_driver::TICK_HZ) as u32 - 1;

    pub(crate) struct SysTickDriver {
        ticks: Mutex<Cell<u64>>,
        queue: Mutex<RefCell<Queue>>,
    }

    impl Driver for SysTickDriver {
        fn now(&self) -> u64 {
            critical_section::with(|cs| self.ticks.borrow(cs).get())
        }

        fn schedule_wake(&self, at: u64, waker: &Waker) {
            critical_section::with(|cs| {
                let now = self.ticks.borrow(cs).get();
                let mut queue = self.queue.borrow_ref_mut(cs);
                queue.schedule_wake(at, waker);
                // Wakes it at once if `at` has already come.
                queue.next_expiration(now);
            });
        }
    }

    // The macro exports the two `#[no_mangle]` functions embassy-time links to.
    #[allow(unsafe_code)]
    mod registration {
        use super::*;
        embassy_time_driver::time_driver_impl!(static DRIVER: SysTickDriver = SysTickDriver {
            ticks: Mutex::new(Cell::new(0)),
            queue: Mutex::new(RefCell::new(Queue::new())),
        });

        pub(crate) fn tick() {
            critical_section::with(|cs| {
                let ticks = DRIVER.ticks.borrow(cs);
                let now = ticks.get().wrapping_add(1);
                ticks.set(now);
                DRIVER.queue.borrow_ref_mut(cs).next_expiration(now);
            });
        }
    }

    /// Starts the 1 kHz tick.
    pub(crate) fn start(mut syst: SYST) {
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(RELOAD);
        syst.clear_current();
        syst.enable_interrupt();
        syst.enable_counter();
    }

    #[exception]
    fn SysTick() {
        registration::tick();
    }
}

// ----- the breaker and what it reports -----------------------------------------------

const OPEN: Duration = Duration::from_millis(50);

const CONFIG: Config = match Config::builder()
    .consecutive_failures(3)
    .open_duration(OPEN)
    .exponential_backoff(2_000, Duration::from_secs(1))
    .half_open_permits(2)
    .half_open_successes(2)
    .build()
{
    Ok(config) => config,
    Err(_) => panic!("invalid configuration"), // at compile time
};

/// One state change: from, to, why, when.
type Change = (State, State, Reason, Instant);

/// Keeps the first sixteen state changes.
struct Changes {
    seen: Mutex<RefCell<[Option<Change>; 16]>>,
    len: Mutex<Cell<usize>>,
}

impl Observer for Changes {
    fn on_event(&self, event: &Event) {
        if let Event::StateChanged {
            from,
            to,
            reason,
            at,
        } = *event
        {
            critical_section::with(|cs| {
                let len = self.len.borrow(cs);
                if let Some(slot) = self.seen.borrow_ref_mut(cs).get_mut(len.get()) {
                    *slot = Some((from, to, reason, at));
                    len.set(len.get() + 1);
                }
            });
        }
    }
}

static SENSOR: EmbassyBreaker<CountWindow<8>, CriticalSectionRawMutex, Changes> =
    EmbassyBreaker::with_observer(
        CONFIG,
        CountWindow::new(),
        Changes {
            seen: Mutex::new(RefCell::new([None; 16])),
            len: Mutex::new(Cell::new(0)),
        },
    );

// ----- the simulated peripheral ----------------------------------------------------

/// Whether the sensor answers.
static HEALTHY: AtomicBool = AtomicBool::new(true);
/// Reads that reached the sensor.
static READS: AtomicU32 = AtomicU32::new(0);
/// Reads that reached the sensor while the breaker was open: must stay 0.
static READS_WHILE_OPEN: AtomicU32 = AtomicU32::new(0);
/// Tells the readers to stop.
static STOP: AtomicBool = AtomicBool::new(false);

/// The sensor: 2 ms on the bus, then a value or a NAK.
async fn read_sensor() -> Result<u16, &'static str> {
    // First poll: the breaker admitted this call, so it cannot be open.
    READS.fetch_add(1, Ordering::Relaxed);
    if SENSOR.state() == State::Open {
        READS_WHILE_OPEN.fetch_add(1, Ordering::Relaxed);
    }
    Timer::after_millis(2).await;
    if HEALTHY.load(Ordering::Relaxed) {
        Ok(21)
    } else {
        Err("i2c NAK")
    }
}

/// What one reader task saw.
struct Tally {
    calls: AtomicU32,
    ok: AtomicU32,
    failed: AtomicU32,
    rejected: AtomicU32,
}

impl Tally {
    const fn new() -> Self {
        Tally {
            calls: AtomicU32::new(0),
            ok: AtomicU32::new(0),
            failed: AtomicU32::new(0),
            rejected: AtomicU32::new(0),
        }
    }
}

static TALLIES: [Tally; 2] = [Tally::new(), Tally::new()];

/// Reads the sensor through the shared breaker every 10 ms, starting at
/// `offset_ms`, until told to stop.
#[embassy_executor::task(pool_size = 2)]
async fn reader(tally: &'static Tally, offset_ms: u64) {
    Timer::after_millis(offset_ms).await;
    while !STOP.load(Ordering::Relaxed) {
        tally.calls.fetch_add(1, Ordering::Relaxed);
        let counter = match SENSOR
            .call_with_timeout(read_sensor(), Duration::from_millis(20))
            .await
        {
            Ok(_) => &tally.ok,
            Err(TimeoutError::Rejected(_)) => &tally.rejected,
            Err(_) => &tally.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        Timer::after_millis(10).await;
    }
}

// ----- the supervisor ------------------------------------------------------------------

/// Polls every millisecond until `done` holds; fails after `within_ms`.
async fn wait_for(within_ms: u64, mut done: impl FnMut() -> bool) -> Result<(), Fail> {
    let deadline = EmbassyInstant::now() + embassy_time::Duration::from_millis(within_ms);
    while !done() {
        if EmbassyInstant::now() >= deadline {
            return Err(Fail::here());
        }
        Timer::after_millis(1).await;
    }
    Ok(())
}

fn state() -> Option<State> {
    Some(SENSOR.state())
}

async fn scenario() -> Result<(), Fail> {
    // Healthy for a while: both readers get through.
    Timer::after_millis(40).await;
    ensure_eq(state(), Some(State::Closed))?;
    // The sensor starts failing: three failures in a row open the breaker.
    HEALTHY.store(false, Ordering::Relaxed);
    wait_for(200, || state() == Some(State::Open)).await?;
    // Still failing when the first probe goes: it re-opens, for 100 ms now.
    wait_for(200, || {
        SENSOR.metrics().open_attempts == 2 && state() == Some(State::Open)
    })
    .await?;
    // Healed: after the open time, two probes close it.
    HEALTHY.store(true, Ordering::Relaxed);
    wait_for(400, || state() == Some(State::Closed)).await?;
    Timer::after_millis(30).await;
    STOP.store(true, Ordering::Relaxed);
    Timer::after_millis(40).await; // the readers finish their last call
    Ok(())
}

fn check_changes() -> Result<(), Fail> {
    use State::{Closed, HalfOpen, Open};
    let (seen, len) = critical_section::with(|cs| {
        (
            *SENSOR.observer().seen.borrow_ref(cs),
            SENSOR.observer().len.borrow(cs).get(),
        )
    });
    let expected = [
        (Closed, Open, Reason::Tripped(Rule::ConsecutiveFailures)),
        (Open, HalfOpen, Reason::OpenTimeElapsed),
        (HalfOpen, Open, Reason::ProbeFailed),
        (Open, HalfOpen, Reason::OpenTimeElapsed),
        (HalfOpen, Closed, Reason::ProbesSucceeded),
    ];
    cortex_m_semihosting::hprintln!("  state changes observed: {}", len);
    for (from, to, reason, at) in seen.iter().flatten() {
        cortex_m_semihosting::hprintln!(
            "    {:?} -> {:?} ({:?}) at {} ms",
            from,
            to,
            reason,
            at.as_micros() / 1_000
        );
    }
    ensure_eq(len, expected.len())?;
    for (got, want) in seen.iter().zip(expected) {
        ensure_eq(got.map(|(f, t, r, _)| (f, t, r)), Some(want))?;
    }
    // Half-open exactly when the open time ran out: 50 ms, then 100 ms.
    let at = |i: usize| seen.get(i).copied().flatten().map(|c| c.3);
    let gap = |a: usize, b: usize| match (at(a), at(b)) {
        (Some(a), Some(b)) => Some(b.saturating_duration_since(a)),
        _ => None,
    };
    ensure_eq(gap(0, 1), Some(OPEN))?;
    ensure_eq(gap(2, 3), Some(OPEN * 2))
}

fn check_calls() -> Result<(), Fail> {
    let sum = |f: fn(&Tally) -> &AtomicU32| -> u32 {
        TALLIES.iter().map(|t| f(t).load(Ordering::Relaxed)).sum()
    };
    let calls = sum(|t| &t.calls);
    let ok = sum(|t| &t.ok);
    let failed = sum(|t| &t.failed);
    let rejected = sum(|t| &t.rejected);
    cortex_m_semihosting::hprintln!(
        "  calls {} = ok {} + failed {} + rejected {}; sensor reads {}",
        calls,
        ok,
        failed,
        rejected,
        READS.load(Ordering::Relaxed)
    );
    ensure_eq(calls, ok + failed + rejected)?;
    // Both tasks got through, and both were turned away while it was open.
    for tally in &TALLIES {
        ensure(tally.ok.load(Ordering::Relaxed) > 0)?;
        ensure(tally.rejected.load(Ordering::Relaxed) > 0)?;
    }
    // A rejected call never reaches the sensor.
    ensure_eq(READS.load(Ordering::Relaxed), ok + failed)?;
    ensure_eq(READS_WHILE_OPEN.load(Ordering::Relaxed), 0)?;
    let m = SENSOR.metrics();
    ensure_eq(m.rejected, u64::from(rejected))?;
    ensure_eq(m.permitted, u64::from(ok + failed))?;
    ensure_eq(
        m.successes + m.failures + m.stale + m.cancelled + m.ignored,
        m.permitted,
    )?;
    ensure_eq(m.in_flight(), 0)
}

#[embassy_executor::task]
async fn supervisor() {
    cortex_m_semihosting::hprintln!(
        "tripline-embassy on Cortex-M3 (qemu lm3s6965evb): two tasks, one breaker"
    );
    let mut failed = 0u32;
    let mut verdict = |name: &str, result: Result<(), Fail>| match result {
        Ok(()) => cortex_m_semihosting::hprintln!("  {} ... ok", name),
        Err(fail) => {
            failed += 1;
            cortex_m_semihosting::hprintln!(
                "  {} ... FAIL at {}:{}",
                name,
                fail.location.file(),
                fail.location.line()
            );
        }
    };
    let ran = scenario().await;
    verdict("scenario_reaches_each_state_in_time", ran);
    verdict(
        "transitions_in_order_with_exact_open_times",
        check_changes(),
    );
    verdict("rejected_calls_never_reach_the_sensor", check_calls());
    cortex_m_semihosting::hprintln!("mcu: {} passed, {} failed", 3 - failed, failed);
    exit(failed == 0)
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let Some(peripherals) = cortex_m::Peripherals::take() else {
        exit(false)
    };
    driver::start(peripherals.SYST);
    let spawned = [
        reader(&TALLIES[0], 0).map(|t| spawner.spawn(t)),
        reader(&TALLIES[1], 5).map(|t| spawner.spawn(t)),
        supervisor().map(|t| spawner.spawn(t)),
    ];
    if spawned.iter().any(Result::is_err) {
        cortex_m_semihosting::hprintln!("could not spawn the tasks");
        exit(false)
    }
}
