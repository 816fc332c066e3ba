//! [`EmbassyClock`]: the breaker reads `embassy_time::Instant`.

use tripline_core::{Clock, Instant};

/// The [`Clock`] of an embassy firmware: `embassy_time::Instant::now()`,
/// in microseconds since boot.
///
/// Whatever tick rate and driver the firmware selected, and on the host
/// embassy-time's mock driver, which is how tests move the breaker's time.
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_embassy::*; }
/// use embassy_time::{Duration, MockDriver};
/// use tripline::{Clock, Instant};
/// use tripline::EmbassyClock;
///
/// let start = EmbassyClock.now();
/// MockDriver::get().advance(Duration::from_millis(5));
/// assert_eq!(EmbassyClock.now(), start.saturating_add(core::time::Duration::from_millis(5)));
/// assert!(start >= Instant::ZERO);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct EmbassyClock;

impl Clock for EmbassyClock {
    fn now(&self) -> Instant {
        Instant::from_micros(embassy_time::Instant::now().as_micros())
    }
}

/// The most microseconds embassy-time can turn into ticks without its
/// multiplication overflowing: `u64::MAX / (TICK_HZ / gcd(TICK_HZ, 10^6))`,
/// less a second of headroom for its rounding up.
const MAX_MICROS: u64 = {
    let (mut a, mut b) = (embassy_time::TICK_HZ, 1_000_000);
    while b != 0 {
        (a, b) = (b, a % b);
    }
    (u64::MAX / (embassy_time::TICK_HZ / a)).saturating_sub(1_000_000)
};

/// A timer that fires `after` from now, saturating instead of overflowing
/// (embassy-time's `Timer::after` panics on overflow).
pub(crate) fn timer_after(after: core::time::Duration) -> embassy_time::Timer {
    let micros = u64::try_from(after.as_micros())
        .unwrap_or(u64::MAX)
        .min(MAX_MICROS);
    let deadline = embassy_time::Instant::now()
        .checked_add(embassy_time::Duration::from_micros(micros))
        .unwrap_or(embassy_time::Instant::MAX);
    embassy_time::Timer::at(deadline)
}
