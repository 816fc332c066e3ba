//! Named configurations: a [`Preset`] for the kind of dependency, tuned by a
//! [`Strictness`], each a `const` [`Config`] that cannot fail.
//!
//! Every number is explained where it is set, with the default or the
//! hardware timing it comes from. They are starting points: measure, then
//! adjust with [`Preset::builder`], which returns the preset's
//! [`ConfigBuilder`] for further settings.

use core::time::Duration;

use crate::{Config, ConfigBuilder, Rate};

/// The kind of dependency a breaker guards; each picks trip rules and
/// timings for how that kind of dependency fails and recovers.
///
/// Pair the rate rules with a window at least as large as the minimum
/// calls (`CountWindow<20>` for [`Network`](Preset::Network), say); a
/// smaller count window lowers the minimum to its size.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::{Config, Preset, Strictness};
/// assert_eq!(Preset::Network.config(Strictness::Standard), Config::network());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum Preset {
    /// An HTTP or gRPC backend with steady traffic.
    ///
    /// - Trip at a 50 % failure rate once 20 calls are in the window:
    ///   resilience4j's and Hystrix's default threshold (50 %), and Hystrix's
    ///   default request volume (20): fewer calls make a rate noise.
    /// - Trip when 80 % of calls are slower than 5 s: at that point most
    ///   callers have timed out already and the backend is saturated.
    /// - Open for 5 s (Hystrix's sleep window and Polly's break duration),
    ///   doubling on every failed probe up to 60 s (resilience4j's default
    ///   wait), with ±10 % jitter so that a fleet does not probe in step.
    /// - Three probes in half-open, two must succeed: one lucky call should
    ///   not close the breaker on a backend that fails half its calls.
    Network,
    /// A database or another stateful service behind a connection pool.
    ///
    /// - Trip after 5 failures in a row (gobreaker trips after more than 5) or a 50 %
    ///   failure rate over 10 calls: a database fails all at once (failover,
    ///   pool exhausted), and traffic is lower than at an HTTP edge.
    /// - Trip when half the calls are slower than 2 s: an OLTP query that
    ///   slow is a symptom (lock contention, saturated pool), not a workload.
    /// - Open for 15 s, doubling up to 120 s: a managed-database failover
    ///   (Aurora: about 30 s; RDS Multi-AZ: one to two minutes) is not over
    ///   sooner, and each probe costs a connection.
    /// - One probe in half-open: probes are expensive here.
    Database,
    /// An I²C, SPI or UART device on a microcontroller, polled in a loop.
    ///
    /// - Trip after 3 failures in a row and no rate rule: the poll loop
    ///   makes a fixed number of calls, no window memory is needed, and a
    ///   sensor busy converting NAKs once or twice, not three times.
    /// - Open for 50 ms: longer than the SMBus clock-low timeout (35 ms at
    ///   most), after which a device holding the bus must release it.
    /// - Double on every failed probe up to 5 s: an unplugged sensor is then
    ///   probed at most every 5 s, sparing bus time and battery.
    /// - No jitter: there is one bus and one poller, no herd to spread.
    Peripheral,
    /// A service whose calls take seconds to minutes: an LLM completion, a
    /// report, a batch job.
    ///
    /// - Trip after 3 failures in a row or a 50 % failure rate over 5 calls:
    ///   at a few calls a minute, waiting for 20 would mean minutes of
    ///   failures.
    /// - Trip when half the calls are slower than 60 s: long LLM completions
    ///   take 10–30 s; past a minute the provider is degraded.
    /// - Open for 30 s, doubling up to 5 min, ±20 % jitter: rate-limited APIs
    ///   ask for waits of this size (a 429's `Retry-After`, which an outcome
    ///   can pass on as `Outcome::FailureRetryAfter`).
    /// - Half-open episodes end after 2 min: a hung probe must not keep the
    ///   breaker half-open forever. Latency is tracked for the metrics.
    SlowService,
}

/// How eagerly a [`Preset`] trips and how cautiously it recovers.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::{Preset, Strictness};
/// let strict = Preset::Peripheral.config(Strictness::Strict);
/// assert_ne!(strict, Preset::Peripheral.config(Strictness::Standard));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum Strictness {
    /// The preset as documented.
    #[default]
    Standard,
    /// Trip sooner, stay open longer, close only when every probe succeeds:
    /// for a fragile dependency that overload makes worse, or a battery that
    /// cannot afford failing calls.
    ///
    /// Consecutive failures halved (rounded up), failure and slow-call rate
    /// thresholds halved, open time and cap doubled, all probes must succeed.
    Strict,
    /// Tolerate more before tripping: for a noisy dependency where a false
    /// trip costs more than a few failed calls.
    ///
    /// Consecutive failures doubled, rate thresholds halfway to 100 %
    /// (50 % becomes 75 %), minimum calls doubled, the slow-call duration
    /// doubled.
    Lenient,
    /// Probe again soon and close quickly: for a dependency that recovers
    /// fast (an autoscaled service, a sensor that only glitches).
    ///
    /// Open time and cap divided by 5 (never under 1 ms), backoff factor
    /// 1.5× instead of 2×, one successful probe closes. For
    /// [`Preset::Peripheral`] that is 10 ms, under the SMBus timeout: only
    /// for a device that never holds the bus.
    FastRecovery,
}

/// A preset's numbers, before strictness and before the builder.
/// A zero threshold means "rule not used".
#[derive(Clone, Copy)]
struct Params {
    consecutive: u32,
    failure_rate: u16,
    min_calls: u32,
    slow_rate: u16,
    slow_us: u64,
    open_us: u64,
    factor_permille: u32,
    cap_us: u64,
    jitter_permille: u16,
    permits: u16,
    successes: u16,
    half_open_limit_us: u64,
    track_latency: bool,
}

const MS: u64 = 1_000;
const SEC: u64 = 1_000_000;

/// Tells presets' jitter generators apart from [`Config::DEFAULT`]'s.
const PRESET_SEED: u32 = 0x5EED_0007;

impl Preset {
    const fn params(self) -> Params {
        match self {
            Preset::Network => Params {
                consecutive: 0,
                failure_rate: 500,
                min_calls: 20,
                slow_rate: 800,
                slow_us: 5 * SEC,
                open_us: 5 * SEC,
                factor_permille: 2_000,
                cap_us: 60 * SEC,
                jitter_permille: 100,
                permits: 3,
                successes: 2,
                half_open_limit_us: 0,
                track_latency: false,
            },
            Preset::Database => Params {
                consecutive: 5,
                failure_rate: 500,
                min_calls: 10,
                slow_rate: 500,
                slow_us: 2 * SEC,
                open_us: 15 * SEC,
                factor_permille: 2_000,
                cap_us: 120 * SEC,
                jitter_permille: 100,
                permits: 1,
                successes: 1,
                half_open_limit_us: 0,
                track_latency: false,
            },
            Preset::Peripheral => Params {
                consecutive: 3,
                failure_rate: 0,
                min_calls: 10,
                slow_rate: 0,
                slow_us: 0,
                open_us: 50 * MS,
                factor_permille: 2_000,
                cap_us: 5 * SEC,
                jitter_permille: 0,
                permits: 1,
                successes: 1,
                half_open_limit_us: 0,
                track_latency: false,
            },
            Preset::SlowService => Params {
                consecutive: 3,
                failure_rate: 500,
                min_calls: 5,
                slow_rate: 500,
                slow_us: 60 * SEC,
                open_us: 30 * SEC,
                factor_permille: 2_000,
                cap_us: 300 * SEC,
                jitter_permille: 200,
                permits: 1,
                successes: 1,
                half_open_limit_us: 120 * SEC,
                track_latency: true,
            },
        }
    }

    /// The preset's builder, tuned by `strictness`, for further settings (a
    /// per-device jitter seed, latency tracking, an initial state) before
    /// [`build`](ConfigBuilder::build).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::{Preset, Rate, Strictness};
    ///
    /// let device_id = 0x2A;
    /// let config = Preset::Network
    ///     .builder(Strictness::Standard)
    ///     .jitter(Rate::percent(10), device_id) // same spread, this device's own sequence
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(config.minimum_calls(), 20);
    /// ```
    pub const fn builder(self, strictness: Strictness) -> ConfigBuilder {
        strictness.apply(self.params()).builder()
    }

    /// The preset's configuration, tuned by `strictness`. Cannot fail: every
    /// combination is checked when this crate compiles.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::{Config, Preset, Strictness};
    /// const SENSOR: Config = Preset::Peripheral.config(Strictness::FastRecovery);
    /// assert!(!SENSOR.measures_durations());
    /// ```
    #[must_use]
    pub const fn config(self, strictness: Strictness) -> Config {
        match self.builder(strictness).build() {
            Ok(config) => config,
            // Unreachable: a constant below fails the crate's build if any
            // combination is invalid. A value, not a panic, all the same.
            Err(_) => Config::DEFAULT,
        }
    }
}

impl Strictness {
    const fn apply(self, p: Params) -> Params {
        let mut q = p;
        match self {
            Strictness::Standard => {}
            Strictness::Strict => {
                q.consecutive = p.consecutive.div_ceil(2);
                q.failure_rate = half_rate(p.failure_rate);
                q.slow_rate = half_rate(p.slow_rate);
                q.open_us = p.open_us.saturating_mul(2);
                q.cap_us = p.cap_us.saturating_mul(2);
                q.successes = p.permits;
            }
            Strictness::Lenient => {
                q.consecutive = p.consecutive.saturating_mul(2);
                q.failure_rate = lenient_rate(p.failure_rate);
                q.slow_rate = lenient_rate(p.slow_rate);
                q.min_calls = p.min_calls.saturating_mul(2);
                q.slow_us = p.slow_us.saturating_mul(2);
            }
            Strictness::FastRecovery => {
                q.open_us = at_least_1ms(p.open_us / 5);
                q.cap_us = at_least_1ms(p.cap_us / 5);
                q.factor_permille = 1_500;
                q.successes = 1;
            }
        }
        q
    }
}

/// Half the threshold, never below 1 permille; 0 (unused) stays 0.
const fn half_rate(permille: u16) -> u16 {
    if permille == 0 {
        0
    } else {
        permille.div_ceil(2)
    }
}

/// Halfway from the threshold to 1000; 0 (unused) stays 0.
const fn lenient_rate(permille: u16) -> u16 {
    if permille == 0 || permille >= 1_000 {
        permille
    } else {
        // 0 < permille < 1000 here: no underflow, and the sum stays below 1000.
        #[allow(clippy::arithmetic_side_effects)]
        let halfway = permille + (1_000 - permille) / 2;
        halfway
    }
}

const fn at_least_1ms(us: u64) -> u64 {
    if us < MS {
        MS
    } else {
        us
    }
}

impl Params {
    const fn builder(self) -> ConfigBuilder {
        let mut b = Config::builder()
            .minimum_calls(self.min_calls)
            .open_duration(Duration::from_micros(self.open_us))
            .exponential_backoff(self.factor_permille, Duration::from_micros(self.cap_us))
            .half_open_permits(self.permits)
            .half_open_successes(self.successes)
            .track_latency(self.track_latency);
        if self.consecutive > 0 {
            b = b.consecutive_failures(self.consecutive);
        }
        if self.failure_rate > 0 {
            b = b.failure_rate(Rate::permille(self.failure_rate));
        }
        if self.slow_rate > 0 {
            b = b.slow_call_rate(
                Rate::permille(self.slow_rate),
                Duration::from_micros(self.slow_us),
            );
        }
        if self.jitter_permille > 0 {
            b = b.jitter(Rate::permille(self.jitter_permille), PRESET_SEED);
        }
        if self.half_open_limit_us > 0 {
            b = b.half_open_time_limit(Duration::from_micros(self.half_open_limit_us));
        }
        b
    }
}

// Fails this crate's build, with the builder's message, if any preset does
// not build: so `Preset::config` never needs its fallback. (An unnamed
// constant is evaluated when the crate compiles.)
// Indexing here runs at compile time only: a bad index is a compile error.
#[allow(clippy::indexing_slicing)]
const _: () = {
    let presets = [
        Preset::Network,
        Preset::Database,
        Preset::Peripheral,
        Preset::SlowService,
    ];
    let strictnesses = [
        Strictness::Standard,
        Strictness::Strict,
        Strictness::Lenient,
        Strictness::FastRecovery,
    ];
    let mut i = 0;
    while i < presets.len() {
        let mut j = 0;
        while j < strictnesses.len() {
            if let Err(e) = presets[i].builder(strictnesses[j]).build() {
                panic!("{}", e.as_str());
            }
            j += 1;
        }
        i += 1;
    }
};

impl Config {
    /// [`Preset::Network`] at [`Strictness::Standard`]: an HTTP or gRPC
    /// backend. Trips at 50 % failures over at least 20 calls, or 80 % of
    /// calls slower than 5 s; open 5 s, doubling to 60 s, ±10 % jitter;
    /// 3 probes, 2 must succeed. Why these numbers: see [`Preset::Network`].
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::Config;
    /// const CONFIG: Config = Config::network();
    /// assert_eq!(CONFIG.minimum_calls(), 20);
    /// assert!(CONFIG.measures_durations()); // the slow-call rule times calls
    /// ```
    #[must_use]
    pub const fn network() -> Config {
        Preset::Network.config(Strictness::Standard)
    }

    /// [`Preset::Database`] at [`Strictness::Standard`]: a database behind
    /// a pool. Trips after 5 failures in a row, at 50 % failures over at
    /// least 10 calls, or half the calls slower than 2 s; open 15 s,
    /// doubling to 120 s, ±10 % jitter; 1 probe. Why: see
    /// [`Preset::Database`].
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::Config;
    /// assert_eq!(Config::database().minimum_calls(), 10);
    /// ```
    #[must_use]
    pub const fn database() -> Config {
        Preset::Database.config(Strictness::Standard)
    }

    /// [`Preset::Peripheral`] at [`Strictness::Standard`]: an I²C, SPI or
    /// UART device. Trips after 3 failures in a row; open 50 ms, doubling to
    /// 5 s, no jitter; 1 probe; never reads the clock on a closed call. Why:
    /// see [`Preset::Peripheral`].
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::Config;
    /// const SENSOR: Config = Config::peripheral();
    /// assert!(!SENSOR.measures_durations());
    /// ```
    #[must_use]
    pub const fn peripheral() -> Config {
        Preset::Peripheral.config(Strictness::Standard)
    }

    /// [`Preset::SlowService`] at [`Strictness::Standard`]: an LLM API or a
    /// batch job. Trips after 3 failures in a row, at 50 % failures over at
    /// least 5 calls, or half the calls slower than 60 s; open 30 s,
    /// doubling to 5 min, ±20 % jitter; 1 probe, half-open for at most
    /// 2 min; latency tracked. Why: see [`Preset::SlowService`].
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::Config;
    /// assert_eq!(Config::slow_service().minimum_calls(), 5);
    /// ```
    #[must_use]
    pub const fn slow_service() -> Config {
        Preset::SlowService.config(Strictness::Standard)
    }

    /// Any [`Preset`] at any [`Strictness`]; the same as
    /// [`Preset::config`].
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::{Config, Preset, Strictness};
    /// const CONFIG: Config = Config::preset(Preset::Database, Strictness::Lenient);
    /// assert_eq!(CONFIG.minimum_calls(), 20); // doubled
    /// ```
    #[must_use]
    pub const fn preset(preset: Preset, strictness: Strictness) -> Config {
        preset.config(strictness)
    }
}
