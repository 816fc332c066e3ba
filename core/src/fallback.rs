//! Fallbacks: a breaker's call that always yields a value — the result, or
//! a stand-in when the breaker rejects or the call fails.
//!
//! Methods on [`Breaker`] and [`SharedBreaker`], kept apart from the state
//! machine: they only wrap `call`, and add no decision of their own.

use crate::fixed::ConfigSource;
use crate::observe::Sink;
use crate::shared::LockKind;
use crate::window::Window;
use crate::{Breaker, CallError, Clock, SharedBreaker};

impl<W: Window, C: Clock, O: Sink, K: ConfigSource> Breaker<W, C, O, K> {
    /// Runs `f` through the breaker; on a rejection or an error, returns
    /// `fallback` instead. The failure is counted as [`call`](Self::call)
    /// counts it.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::*;
    ///
    /// let clock = MockClock::new();
    /// let mut sensor = Breaker::new(Config::default(), CountWindow::<8>::new(), &clock);
    /// assert_eq!(sensor.call_or(|| Ok::<i16, ()>(215), i16::MIN), 215);
    /// sensor.force_open();
    /// assert_eq!(sensor.call_or(|| Ok::<i16, ()>(215), i16::MIN), i16::MIN);
    /// ```
    pub fn call_or<T, E>(&mut self, f: impl FnOnce() -> Result<T, E>, fallback: T) -> T {
        self.call(f).unwrap_or(fallback)
    }

    /// Runs `f` through the breaker; on a rejection or an error, returns what
    /// `fallback` makes of the [`CallError`] (a cached value, a degraded
    /// answer, a default that depends on why).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::*;
    ///
    /// let clock = MockClock::new();
    /// let mut api = Breaker::new(Config::default(), CountWindow::<8>::new(), &clock);
    /// let answer = |e: CallError<&str>| match e {
    ///     CallError::Rejected(_) => "cached",
    ///     CallError::Inner(_) => "degraded",
    /// };
    /// assert_eq!(api.call_or_else(|| Err("503"), answer), "degraded");
    /// api.force_open();
    /// assert_eq!(api.call_or_else(|| Ok("fresh"), answer), "cached");
    /// ```
    pub fn call_or_else<T, E>(
        &mut self,
        f: impl FnOnce() -> Result<T, E>,
        fallback: impl FnOnce(CallError<E>) -> T,
    ) -> T {
        self.call(f).unwrap_or_else(fallback)
    }

    /// Runs `f` through the breaker; on a rejection or an error, returns
    /// `T::default()`.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::*;
    ///
    /// let clock = MockClock::new();
    /// let mut b = Breaker::new(Config::default(), CountWindow::<8>::new(), &clock);
    /// assert_eq!(b.call_or_default(|| Err::<u32, _>("timeout")), 0);
    /// ```
    pub fn call_or_default<T: Default, E>(&mut self, f: impl FnOnce() -> Result<T, E>) -> T {
        self.call(f).unwrap_or_default()
    }
}

impl<W: Window, C: Clock, O: Sink, L: LockKind, K: ConfigSource> SharedBreaker<W, C, O, L, K> {
    /// Runs `f` through the breaker; on a rejection or an error, returns
    /// `fallback` instead. As [`Breaker::call_or`], through `&self`.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::*;
    ///
    /// static CLOCK: MockClock = MockClock::new();
    /// static FAN: SharedBreaker<CountWindow<4>, &MockClock> =
    ///     SharedBreaker::new(Config::DEFAULT, CountWindow::new(), &CLOCK);
    ///
    /// assert_eq!(FAN.call_or(|| Ok::<u16, ()>(1_200), 0), 1_200);
    /// FAN.force_open().unwrap();
    /// assert_eq!(FAN.call_or(|| Ok::<u16, ()>(1_200), 0), 0);
    /// ```
    pub fn call_or<T, E>(&self, f: impl FnOnce() -> Result<T, E>, fallback: T) -> T {
        self.call(f).unwrap_or(fallback)
    }

    /// Runs `f` through the breaker; on a rejection or an error, returns what
    /// `fallback` makes of the [`CallError`]. As [`Breaker::call_or_else`],
    /// through `&self`.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::*;
    ///
    /// static CLOCK: MockClock = MockClock::new();
    /// static GPS: SharedBreaker<CountWindow<4>, &MockClock> =
    ///     SharedBreaker::new(Config::DEFAULT, CountWindow::new(), &CLOCK);
    ///
    /// let fix = GPS.call_or_else(|| Err::<(i32, i32), _>("no fix"), |e| {
    ///     assert!(e.rejected().is_none()); // it ran and failed
    ///     (0, 0)
    /// });
    /// assert_eq!(fix, (0, 0));
    /// ```
    pub fn call_or_else<T, E>(
        &self,
        f: impl FnOnce() -> Result<T, E>,
        fallback: impl FnOnce(CallError<E>) -> T,
    ) -> T {
        self.call(f).unwrap_or_else(fallback)
    }

    /// Runs `f` through the breaker; on a rejection or an error, returns
    /// `T::default()`.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::*;
    ///
    /// static CLOCK: MockClock = MockClock::new();
    /// static LOG: SharedBreaker<CountWindow<4>, &MockClock> =
    ///     SharedBreaker::new(Config::DEFAULT, CountWindow::new(), &CLOCK);
    /// assert_eq!(LOG.call_or_default(|| Err::<usize, _>(())), 0);
    /// ```
    pub fn call_or_default<T: Default, E>(&self, f: impl FnOnce() -> Result<T, E>) -> T {
        self.call(f).unwrap_or_default()
    }
}
