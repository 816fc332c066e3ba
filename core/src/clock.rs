//! Time as the breaker sees it: a monotonic [`Instant`], the [`Clock`] that
//! reads it, and a [`MockClock`] that tests move by hand.
//!
//! The breaker never sleeps and never asks the operating system for the time
//! directly; it asks its `Clock`. Firmware plugs in a timer peripheral or
//! embassy-time, servers plug in `std::time::Instant` or tokio's clock, and
//! tests plug in a `MockClock` so that every transition happens exactly when
//! the test says so.

use core::time::Duration;
use portable_atomic::{AtomicU64, Ordering};

/// A point in time: microseconds since an arbitrary, clock-defined origin.
///
/// A plain `u64`, so it costs two registers on a Cortex-M0 and nothing to
/// copy. Arithmetic saturates: adding past [`Instant::MAX`] stays at `MAX`,
/// and subtracting a later instant gives zero instead of panicking, so a clock
/// that jumps backwards reads as "no time passed".
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use core::time::Duration;
/// use tripline::Instant;
///
/// let t = Instant::from_millis(5);
/// assert_eq!(t.as_micros(), 5_000);
/// assert_eq!(t.saturating_add(Duration::from_micros(1)).as_micros(), 5_001);
/// assert_eq!(Instant::ZERO.saturating_micros_since(t), 0); // never negative
/// assert_eq!(Instant::MAX.saturating_add(Duration::from_secs(1)), Instant::MAX);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Instant(u64);

impl Instant {
    /// The clock's origin.
    pub const ZERO: Instant = Instant(0);
    /// The latest representable instant; deadlines that would pass it stay here.
    pub const MAX: Instant = Instant(u64::MAX);

    /// The instant `micros` microseconds after the origin.
    #[must_use]
    pub const fn from_micros(micros: u64) -> Self {
        Instant(micros)
    }

    /// The instant `millis` milliseconds after the origin (saturating).
    #[must_use]
    pub const fn from_millis(millis: u64) -> Self {
        Instant(scale(millis, 1_000))
    }

    /// The instant `secs` seconds after the origin (saturating).
    #[must_use]
    pub const fn from_secs(secs: u64) -> Self {
        Instant(scale(secs, 1_000_000))
    }

    /// Microseconds since the origin.
    #[must_use]
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// `self + micros`, saturating at [`Instant::MAX`].
    #[must_use]
    pub const fn saturating_add_micros(self, micros: u64) -> Self {
        Instant(self.0.saturating_add(micros))
    }

    /// `self + duration`, saturating at [`Instant::MAX`].
    #[must_use]
    pub const fn saturating_add(self, duration: Duration) -> Self {
        self.saturating_add_micros(duration_to_micros(duration))
    }

    /// Microseconds from `earlier` to `self`, or zero if `earlier` is later.
    #[must_use]
    pub const fn saturating_micros_since(self, earlier: Instant) -> u64 {
        self.0.saturating_sub(earlier.0)
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    #[must_use]
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.saturating_micros_since(earlier))
    }
}

/// `clock.now()`, out of line. A shared breaker reads its clock from
/// several places (each locked operation, each read): one copy of the
/// clock's code serves them all, which on a microcontroller is worth more
/// than the call it costs.
#[inline(never)]
pub(crate) fn read<C: Clock + ?Sized>(clock: &C) -> Instant {
    clock.now()
}

/// `value × unit`, saturating at `u64::MAX`. The bound is a constant for a
/// constant unit, so on a chip without a 64-bit multiplier this is a
/// compare and a multiplication, not a full-width overflow check (a clock
/// calls it on every reading).
#[inline(always)]
const fn scale(value: u64, unit: u64) -> u64 {
    match u64::MAX.checked_div(unit) {
        Some(bound) if value <= bound => value.wrapping_mul(unit),
        _ => u64::MAX,
    }
}

/// Whole microseconds in `d`, saturating at `u64::MAX` (about 584,000 years).
///
/// Used once per configured duration, when the configuration is built, so the
/// breaker itself only ever adds and compares integers.
pub(crate) const fn duration_to_micros(d: Duration) -> u64 {
    d.as_secs()
        .saturating_mul(1_000_000)
        .saturating_add(d.subsec_micros() as u64)
}

/// A source of monotonic time for a breaker.
///
/// `now` should never go backwards; if it does, the breaker treats it as
/// "no time passed" and keeps the latest instant it has seen. It must be cheap
/// (the breaker reads it only when a decision needs time) and must not call
/// back into the breaker that owns it.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::{Clock, Instant};
///
/// /// A 32 kHz tick counter from a low-power timer, say.
/// struct Ticks(u64);
/// impl Clock for Ticks {
///     fn now(&self) -> Instant {
///         // 1 tick = 1/32768 s; keep it in integers.
///         Instant::from_micros(self.0.saturating_mul(1_000_000) >> 15)
///     }
/// }
/// assert_eq!(Ticks(32_768).now(), Instant::from_secs(1));
/// ```
pub trait Clock {
    /// The current instant.
    fn now(&self) -> Instant;
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Instant {
        (**self).now()
    }
}

/// A clock that moves only when told to: the way to test a breaker.
///
/// It is shareable by `&` (an atomic inside), so a test keeps it while the
/// breaker holds a reference to it, and a `static` one works across threads.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use core::time::Duration;
/// use tripline::{Clock, Instant, MockClock};
///
/// let clock = MockClock::new();
/// assert_eq!(clock.now(), Instant::ZERO);
/// clock.advance(Duration::from_millis(250));
/// assert_eq!(clock.now(), Instant::from_millis(250));
/// clock.set(Instant::from_secs(10));
/// assert_eq!(clock.now(), Instant::from_secs(10));
/// ```
#[derive(Debug, Default)]
pub struct MockClock {
    micros: AtomicU64,
}

impl MockClock {
    /// A clock standing at [`Instant::ZERO`].
    #[must_use]
    pub const fn new() -> Self {
        Self::starting_at(Instant::ZERO)
    }

    /// A clock standing at `start`.
    #[must_use]
    pub const fn starting_at(start: Instant) -> Self {
        MockClock {
            micros: AtomicU64::new(start.0),
        }
    }

    /// Moves the clock to `instant`, forwards or backwards.
    pub fn set(&self, instant: Instant) {
        self.micros.store(instant.0, Ordering::SeqCst);
    }

    /// Moves the clock forwards by `by`, saturating at [`Instant::MAX`].
    pub fn advance(&self, by: Duration) {
        let by = duration_to_micros(by);
        // `fetch_update` only fails if the closure returns `None`; ours never does.
        let _ = self
            .micros
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(by))
            });
    }
}

impl Clock for MockClock {
    fn now(&self) -> Instant {
        Instant(self.micros.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_and_secs_convert_exactly_and_saturate_past_the_range() {
        for (ms, us) in [
            (0, 0),
            (1, 1_000),
            (u64::MAX / 1_000, u64::MAX / 1_000 * 1_000),
        ] {
            assert_eq!(Instant::from_millis(ms).as_micros(), us);
        }
        for ms in [u64::MAX / 1_000 + 1, u64::MAX] {
            assert_eq!(Instant::from_millis(ms), Instant::MAX);
        }
        let secs = u64::MAX / 1_000_000;
        assert_eq!(Instant::from_secs(secs).as_micros(), secs * 1_000_000);
        assert_eq!(Instant::from_secs(secs + 1), Instant::MAX);
        assert_eq!(Instant::from_secs(7).as_micros(), 7_000_000);
    }
}
