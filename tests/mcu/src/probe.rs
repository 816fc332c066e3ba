//! What the two footprint probes share, so that their difference is the
//! breaker alone: a SysTick millisecond clock extended to 64 bits, a "sensor"
//! the optimiser cannot predict, and a panic handler that only halts.
//!
//! The probes are measured, never run. A real nRF51 has no SysTick (its
//! firmware would tick from RTC1); the clock is the same in both probes, so
//! its cost cancels out of the difference either way.

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::Peripherals;
use cortex_m_rt::exception;
use tripline_core::{Clock, Instant};

/// Milliseconds since start, low word.
static MILLIS_LO: AtomicU32 = AtomicU32::new(0);
/// Milliseconds since start, high word.
static MILLIS_HI: AtomicU32 = AtomicU32::new(0);

/// Core clock of the emulated boards is 12 MHz (lm3s6965) or 16 MHz (nRF51);
/// the tick rate does not change the code size.
const TICKS_PER_MS: u32 = 12_000;

/// Starts SysTick at 1 kHz.
pub fn start_clock() {
    if let Some(mut p) = Peripherals::take() {
        p.SYST.set_clock_source(SystClkSource::Core);
        p.SYST.set_reload(TICKS_PER_MS - 1);
        p.SYST.clear_current();
        p.SYST.enable_interrupt();
        p.SYST.enable_counter();
    }
}

#[exception]
fn SysTick() {
    // Only this handler writes, so load + store is enough (no CAS on the M0).
    let lo = MILLIS_LO.load(Ordering::Relaxed).wrapping_add(1);
    if lo == 0 {
        let hi = MILLIS_HI.load(Ordering::Relaxed).wrapping_add(1);
        MILLIS_HI.store(hi, Ordering::Relaxed);
    }
    MILLIS_LO.store(lo, Ordering::Release);
}

/// A `Clock` over the SysTick millisecond counter.
pub struct SysTickClock;

impl Clock for SysTickClock {
    fn now(&self) -> Instant {
        // Re-read if the high word moved while the low word was read.
        loop {
            let hi = MILLIS_HI.load(Ordering::Acquire);
            let lo = MILLIS_LO.load(Ordering::Acquire);
            if MILLIS_HI.load(Ordering::Acquire) == hi {
                return Instant::from_millis((u64::from(hi) << 32) | u64::from(lo));
            }
        }
    }
}

/// Whether the simulated sensor answered: one call in four fails.
pub fn sensor_ok() -> bool {
    MILLIS_LO.load(Ordering::Relaxed) & 3 != 0
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
