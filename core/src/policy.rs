//! When to trip and how long to stay open: the arithmetic of the rules,
//! in integers only (no float, no division on the hot path).

use crate::window::Totals;
use crate::{Config, Rule};

/// The shortest open time, whatever jitter or an outcome asks for.
pub(crate) const MIN_OPEN_US: u64 = 1_000;

/// Whether `part / whole >= permille / 1000`, by cross-multiplication.
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

/// The next un-jittered backoff step after `current`: `current × factor`, capped.
pub(crate) fn next_step(config: &Config, current: u64) -> u64 {
    // factor_permille / 1000 as a 16.16 fixed-point multiplier; the division
    // by 1000 is by a constant, which compiles to a multiplication.
    let q16 = (config.backoff_factor_permille as u64 * 65_536) / 1_000;
    let next = current.saturating_mul(q16) >> 16;
    next.clamp(config.open_us, config.max_open_us)
}

/// The open time for a backoff step, jittered by a hash of `nonce`, capped,
/// and never under 1 ms.
pub(crate) fn jittered(config: &Config, step: u64, nonce: u32) -> u64 {
    let d = if config.jitter_permille == 0 {
        step
    } else {
        let q16 = (config.jitter_permille as u64 * 65_536) / 1_000;
        let spread = step.min(1 << 47).saturating_mul(q16) >> 16;
        let range = spread.saturating_mul(2).saturating_add(1);
        let r = mul_shift32(range, mix(config.jitter_seed ^ nonce));
        step.saturating_sub(spread).saturating_add(r)
    };
    d.min(config.max_open_us).max(MIN_OPEN_US)
}

/// `range × r / 2³²` exactly, in 64-bit multiplications only: a uniform pick
/// in `0..range` for a uniform `r`.
const fn mul_shift32(range: u64, r: u32) -> u64 {
    let hi = range >> 32;
    let lo = range & 0xFFFF_FFFF;
    hi * r as u64 + ((lo * r as u64) >> 32)
}

/// A 32-bit integer hash with good avalanche: the seeded jitter source.
/// Pure, so the same seed and nonce always give the same open time.
const fn mix(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7FEB_352D);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846C_A68B);
    x ^= x >> 16;
    x
}
