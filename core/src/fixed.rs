//! Where a breaker reads its configuration: a [`Config`] value it holds,
//! or a type that names a configuration fixed at compile time
//! ([`FixedConfig`]), which the compiler folds into the code.

use crate::Config;

/// A configuration fixed at compile time, named by a type.
///
/// A breaker whose configuration is a `FixedConfig` keeps none in RAM, and
/// the compiler sees every setting as a constant: the code of the rules,
/// timers and options the configuration leaves unused is not linked. On a
/// Cortex-M0 that is about a kilobyte of flash for the `&mut` breaker and
/// 72 bytes of RAM for each (see `mcu.md`). An invalid configuration is a
/// compile error.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use core::time::Duration;
/// use tripline::{Breaker, Config, CountWindow, FixedConfig, MockClock, State};
///
/// struct Sensor;
/// impl FixedConfig for Sensor {
///     const CONFIG: Config = match Config::builder()
///         .consecutive_failures(3)
///         .open_duration(Duration::from_millis(500))
///         .build()
///     {
///         Ok(config) => config,
///         Err(e) => panic!("{}", e.as_str()), // at compile time
///     };
/// }
///
/// let clock = MockClock::new();
/// let mut b = Breaker::fixed(Sensor, CountWindow::<8>::new(), &clock);
/// for _ in 0..3 {
///     let _ = b.call(|| Err::<(), _>("NAK"));
/// }
/// assert_eq!(b.state(), State::Open);
/// assert_eq!(b.config().minimum_calls(), Config::DEFAULT.minimum_calls());
/// ```
pub trait FixedConfig {
    /// The configuration.
    const CONFIG: Config;
}

/// Where a breaker reads its configuration: a [`Config`] it holds (the
/// default), or any [`FixedConfig`] type. Implemented by those only.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::{Config, ConfigSource};
///
/// fn is_default<K: ConfigSource>(source: &K) -> bool {
///     source.config() == &Config::DEFAULT
/// }
/// assert!(is_default(&Config::DEFAULT));
/// ```
pub trait ConfigSource: sealed::Sealed {
    /// The configuration, when the type fixes it (a [`FixedConfig`]).
    #[doc(hidden)]
    const FIXED: Option<&'static Config>;
    /// The configuration.
    fn config(&self) -> &Config;
}

/// `config`, or the configuration `K` fixes: named by its type, it is a
/// constant that folds into the code of an out-of-line function, where a
/// reference would keep every rule's code and the configuration in flash.
#[inline(always)]
pub(crate) fn fixed_or<K: ConfigSource>(config: &Config) -> &Config {
    match K::FIXED {
        Some(fixed) => fixed,
        None => config,
    }
}

impl ConfigSource for Config {
    const FIXED: Option<&'static Config> = None;
    #[inline(always)]
    fn config(&self) -> &Config {
        self
    }
}

impl<T: FixedConfig> ConfigSource for T {
    const FIXED: Option<&'static Config> = Some(&T::CONFIG);
    #[inline(always)]
    fn config(&self) -> &Config {
        &T::CONFIG
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::Config {}
    impl<T: super::FixedConfig> Sealed for T {}
}
