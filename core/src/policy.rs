//! When to trip and how long to stay open: the arithmetic of the rules,
//! in integers only (no float, no division on the hot path).

use crate::fixed::{fixed_or, ConfigSource};
use crate::window::Totals;
use crate::{Config, Rule};

/// The shortest open time, whatever jitter or an outcome asks for.
pub(crate) const MIN_OPEN_US: u64 = 1_000;

/// Whether `part / whole >= permille / 1000`, by cross-multiplication.
// u32 × 1000 < 2⁴² and u16 × u32 < 2⁴⁸: neither product overflows a u64.
#[allow(clippy::arithmetic_side_effects)]
const fn rate_reached(part: u32, whole: u32, permille: u16) -> bool {
    part as u64 * 1_000 >= permille as u64 * whole as u64
}

/// The rules reached by a window's totals and a failure streak, in the
/// order consecutive failures, failure rate, slow-call rate.
pub(crate) fn reached(config: &Config, totals: Totals, streak: u32, min_calls: u32) -> RuleSet {
    let mut set = RuleSet::EMPTY;
    if config.consecutive_failures > 0 && streak >= config.consecutive_failures {
        set.insert(Rule::ConsecutiveFailures);
    }
    if totals.calls >= min_calls {
        if config.failure_rate_permille > 0
            && rate_reached(totals.failures, totals.calls, config.failure_rate_permille)
        {
            set.insert(Rule::FailureRate);
        }
        if config.slow_rate_permille > 0
            && rate_reached(totals.slow, totals.calls, config.slow_rate_permille)
        {
            set.insert(Rule::SlowCallRate);
        }
    }
    set
}

/// The rule's configured threshold and its current value (a count for
/// consecutive failures, permille for rates). Divides: only for events.
pub(crate) fn measure(config: &Config, rule: Rule, totals: Totals, streak: u32) -> (u32, u32) {
    match rule {
        Rule::ConsecutiveFailures => (streak, config.consecutive_failures),
        Rule::FailureRate => (
            totals.failure_rate_permille().unwrap_or(0) as u32,
            config.failure_rate_permille as u32,
        ),
        Rule::SlowCallRate => (
            totals.slow_rate_permille().unwrap_or(0) as u32,
            config.slow_rate_permille as u32,
        ),
    }
}

/// A small set of [`Rule`]s, as bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RuleSet(u8);

impl RuleSet {
    pub(crate) const EMPTY: RuleSet = RuleSet(0);
    pub(crate) const ALL: [Rule; 3] = [
        Rule::ConsecutiveFailures,
        Rule::FailureRate,
        Rule::SlowCallRate,
    ];

    const fn bit(rule: Rule) -> u8 {
        match rule {
            Rule::ConsecutiveFailures => 1,
            Rule::FailureRate => 2,
            Rule::SlowCallRate => 4,
        }
    }
    pub(crate) const fn bits(self) -> u8 {
        self.0
    }

    pub(crate) const fn from_bits(bits: u8) -> RuleSet {
        RuleSet(bits)
    }

    pub(crate) fn insert(&mut self, rule: Rule) {
        self.0 |= Self::bit(rule);
    }
    pub(crate) const fn contains(self, rule: Rule) -> bool {
        self.0 & Self::bit(rule) != 0
    }
    /// The rules in `self` but not in `other`.
    pub(crate) const fn without(self, other: RuleSet) -> RuleSet {
        RuleSet(self.0 & !other.0)
    }
    pub(crate) fn first(self) -> Option<Rule> {
        Self::ALL.into_iter().find(|r| self.contains(*r))
    }
}

/// The next un-jittered backoff step after `current`: `current × factor`,
/// capped. Out of line: opening and the reads of a pending time-out share it.
#[inline(never)]
pub(crate) fn next_step<K: ConfigSource>(config: &Config, current: u64) -> u64 {
    let config = fixed_or::<K>(config);
    let whole = config.backoff_whole;
    let next = if whole != 0 {
        // A whole factor (2×, the common one): a product, saturating, in two
        // halves that cannot overflow (each below 2³² × 2¹⁶).
        let w = u64::from(whole);
        let hi = (current >> 32).wrapping_mul(w);
        let lo = (current & 0xFFFF_FFFF).wrapping_mul(w);
        if hi >> 32 == 0 {
            (hi << 32).saturating_add(lo)
        } else {
            u64::MAX
        }
    } else {
        // Exactly ⌊current × factor / 1000⌋, saturating: with current = 1000·q + r,
        // that is q·factor + ⌊r·factor / 1000⌋. (A 16.16 fixed-point factor was
        // off by a microsecond or more per step, and a saturating product shrank
        // steps above 2⁴⁸ µs.)
        let factor = u64::from(config.backoff_factor_permille);
        let q = div1000(current);
        // q·1000 <= current, and r < 1000 with factor < 2³² keeps r·factor < 2⁴².
        #[allow(clippy::arithmetic_side_effects)]
        let part = div1000((current - q * 1_000) * factor);
        q.saturating_mul(factor).saturating_add(part)
    };
    // `min` then `max`, not `clamp`: clamp asserts its bounds, a panic path.
    next.min(config.max_open_us).max(config.open_us)
}

/// The jitter nonce of a generation: both halves, so that every generation
/// draws anew.
#[allow(clippy::cast_possible_truncation)]
pub(crate) const fn nonce(generation: u64) -> u32 {
    (generation ^ (generation >> 32)) as u32
}

/// The open time for a backoff step, jittered by a hash of `nonce`, capped,
/// and never under 1 ms.
pub(crate) fn jittered<K: ConfigSource>(config: &Config, step: u64, nonce: u32) -> u64 {
    let config = fixed_or::<K>(config);
    let d = if config.jitter_permille == 0 {
        step
    } else {
        let q16 = div1000((config.jitter_permille as u64) << 16);
        let spread = step.min(1 << 47).saturating_mul(q16) >> 16;
        let range = spread.saturating_mul(2).saturating_add(1);
        let r = mul_shift32(range, mix(config.jitter_seed ^ nonce) as u64);
        step.saturating_sub(spread).saturating_add(r)
    };
    d.min(config.max_open_us).max(MIN_OPEN_US)
}

/// `⌊x / 1000⌋` for every `u64`, by a multiplication and shifts.
///
/// On 32-bit targets a `u64` division is a libcall (`__aeabi_uldivmod`, about
/// 1.4 KiB with its helpers on thumbv6m, measured in `tests/mcu`); LLVM does
/// not turn a 64-bit division by a constant into a multiplication there.
/// `x / 1000 = (x >> 3) / 125`, and with `M = ⌈2⁶⁸ / 125⌉` (`125·M − 2⁶⁸ = 19`)
/// the error of `y·M / 2⁶⁸` for `y < 2⁶¹` stays under `1/125`, so the floor
/// is exact.
// y < 2⁶¹ and M < 2⁶²: the u128 product is below 2¹²³.
#[allow(clippy::arithmetic_side_effects)]
#[inline(never)]
pub(crate) const fn div1000(x: u64) -> u64 {
    (((x >> 3) as u128 * 0x20C4_9BA5_E353_F7CF) >> 68) as u64
}

/// `range × r / 2³²` rounded down, for `r <= 2³²`, in 64-bit
/// multiplications only: a uniform pick in `0..range` for a uniform 32-bit
/// `r`, or a fraction `r / 2³²` of `range`. Shared by the breaker's jitter
/// and [`Backoff`](crate::Backoff)'s.
pub(crate) const fn mul_shift32(range: u64, r: u64) -> u64 {
    let hi = range >> 32;
    let lo = range & 0xFFFF_FFFF;
    // hi, lo < 2³² and r <= 2³²: neither product overflows; saturating in
    // case a caller passes a larger `r`.
    hi.saturating_mul(r)
        .saturating_add(lo.saturating_mul(r) >> 32)
}

/// A 32-bit integer hash with full avalanche (Wellons' "lowbias32"): the
/// seeded jitter source. Pure, so the same seed and nonce always give the
/// same open time.
pub(crate) const fn mix(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7FEB_352D);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846C_A68B);
    x ^= x >> 16;
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    #[test]
    fn div1000_is_exact_at_the_edges_and_on_a_million_values() {
        let mut edges = [
            0u64,
            1,
            999,
            1_000,
            1_001,
            7_999,
            8_000,
            u64::MAX,
            u64::MAX - 1,
        ]
        .to_vec();
        edges.extend((1..20u32).map(|k| u64::MAX / 1_000 * 1_000 - u64::from(k)));
        edges.extend((0..64).flat_map(|b| [1u64 << b, (1u64 << b) - 1]));
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        // Miri interprets each step: a thousand there, a million natively.
        for _ in 0..if cfg!(miri) { 1_000 } else { 1_000_000 } {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            edges.push(x);
            edges.push(x >> (x % 64));
        }
        for v in edges {
            assert_eq!(div1000(v), v / 1_000, "x = {v}");
        }
    }

    #[test]
    fn mul_shift32_matches_wide_arithmetic() {
        for range in [0u64, 1, 7, 1 << 31, (1 << 32) + 5, u64::MAX >> 8] {
            for r in [
                0u64,
                1,
                12_345,
                u64::from(u32::MAX / 2),
                u64::from(u32::MAX),
                1 << 32,
            ] {
                let wide = ((range as u128 * r as u128) >> 32) as u64;
                assert_eq!(mul_shift32(range, r), wide, "range {range}, r {r}");
            }
        }
    }

    #[test]
    fn jitter_stays_within_its_bound_and_uses_the_whole_range() {
        let config = Config::builder()
            .consecutive_failures(1)
            .open_duration(Duration::from_secs(10))
            .exponential_backoff(1_000, Duration::from_secs(20))
            .jitter(crate::Rate::percent(20), 7)
            .build()
            .unwrap();
        let (mut lo, mut hi) = (u64::MAX, 0);
        for nonce in 0..10_000 {
            let d = jittered::<Config>(&config, 10_000_000, nonce);
            assert!((8_000_000..=12_000_000).contains(&d), "{d}");
            lo = lo.min(d);
            hi = hi.max(d);
        }
        // 10,000 uniform picks reach within 1 % of both ends.
        assert!(lo < 8_100_000 && hi > 11_900_000, "{lo}..{hi}");
    }

    #[test]
    fn backoff_steps_grow_by_the_factor_and_stop_at_the_cap() {
        let config = Config::builder()
            .consecutive_failures(1)
            .open_duration(Duration::from_secs(1))
            .exponential_backoff(1_500, Duration::from_secs(5))
            .build()
            .unwrap();
        let mut step = config.open_us;
        let mut steps = [0u64; 6];
        for s in &mut steps {
            *s = step;
            step = next_step::<Config>(&config, step);
        }
        assert_eq!(
            steps,
            [1_000_000, 1_500_000, 2_250_000, 3_375_000, 5_000_000, 5_000_000]
        );
    }

    #[test]
    fn a_step_is_exactly_the_floor_of_step_times_factor_whole_factors_included() {
        // The wide-arithmetic definition, for factors whole (a product) and
        // not (the division-free split), at the edges and at random.
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for factor in [1_000, 1_001, 1_500, 2_000, 3_000, 999_999, 1_000_000] {
            let config = Config::builder()
                .consecutive_failures(1)
                .open_duration(Duration::from_millis(1))
                .exponential_backoff(factor, Duration::MAX)
                .build()
                .unwrap();
            assert_eq!(config.backoff_whole != 0, factor % 1_000 == 0);
            let edges = [
                1_000,
                u64::MAX / 2,
                u64::MAX / 1_000,
                u64::MAX - 1,
                u64::MAX,
                1 << 54,
            ];
            let randoms = (0..if cfg!(miri) { 100 } else { 20_000 }).map(|i| next() >> (i % 64));
            for current in edges.into_iter().chain(randoms) {
                let wide = u128::from(current) * u128::from(factor) / 1_000;
                let want = u64::try_from(wide)
                    .unwrap_or(u64::MAX)
                    .min(config.max_open_us)
                    .max(config.open_us);
                assert_eq!(
                    next_step::<Config>(&config, current),
                    want,
                    "{current} × {factor} ‰"
                );
            }
        }
    }
}
