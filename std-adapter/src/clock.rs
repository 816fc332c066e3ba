//! Clocks for hosts: [`StdClock`] and, with the `tokio` feature, [`TokioClock`].

use tripline_core::{Clock, Instant};

/// Monotonic time from `std::time::Instant`, counted from when the clock was made.
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use tripline::Clock;
/// use tripline::StdClock;
///
/// let clock = StdClock::new();
/// let a = clock.now();
/// assert!(clock.now() >= a);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct StdClock {
    origin: std::time::Instant,
}

impl StdClock {
    /// A clock whose zero is now.
    #[must_use]
    pub fn new() -> Self {
        StdClock {
            origin: std::time::Instant::now(),
        }
    }
}

impl Default for StdClock {
    fn default() -> Self {
        StdClock::new()
    }
}

impl Clock for StdClock {
    fn now(&self) -> Instant {
        micros(self.origin.elapsed())
    }
}

/// Time from `tokio::time::Instant`: under `tokio::time::pause()` the breaker
/// moves only when the test advances time, so transitions are deterministic.
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use std::time::Duration;
/// use tripline::{Clock, Instant};
/// use tripline::TokioClock;
///
/// #[tokio::main(flavor = "current_thread", start_paused = true)]
/// async fn main() {
///     let clock = TokioClock::new();
///     tokio::time::advance(Duration::from_secs(3)).await;
///     assert_eq!(clock.now(), Instant::from_secs(3));
/// }
/// ```
#[cfg(feature = "tokio")]
#[derive(Clone, Copy, Debug)]
pub struct TokioClock {
    origin: tokio::time::Instant,
}

#[cfg(feature = "tokio")]
impl TokioClock {
    /// A clock whose zero is now (tokio's now: paused time if paused).
    #[must_use]
    pub fn new() -> Self {
        TokioClock {
            origin: tokio::time::Instant::now(),
        }
    }
}

#[cfg(feature = "tokio")]
impl Default for TokioClock {
    fn default() -> Self {
        TokioClock::new()
    }
}

#[cfg(feature = "tokio")]
impl Clock for TokioClock {
    fn now(&self) -> Instant {
        micros(self.origin.elapsed())
    }
}

fn micros(elapsed: std::time::Duration) -> Instant {
    Instant::from_micros(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX))
}
