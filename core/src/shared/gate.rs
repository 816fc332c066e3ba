//! [`Gate`]: what a shared breaker publishes after each locked operation, so
//! that the healthy path and every read can go without the lock.
//!
//! - `word`: the state, the generation and whether a success is a no-op,
//!   with a `WRITING` bit while a new value is being published. The
//!   lock-free admit, reject and record read it first.
//! - `until`: when an Open breaker may go half-open, read with `word` for a
//!   lock-free rejection.
//! - `view`: the whole [`Machine`] and the window's totals, behind a
//!   sequence count (a seqlock): what `state`, `retry_after` and `metrics`
//!   read.
//!
//! Only the thread holding the breaker's lock writes; readers retry a
//! bounded number of times if a write overlaps their read.

use portable_atomic::{fence, AtomicU32, AtomicU64, Ordering};

use crate::machine::Machine;
use crate::policy::RuleSet;
use crate::tally::Counts;
use crate::window::Totals;
use crate::{Instant, State};

const STATE_MASK: u64 = 0b111;
/// A success that is on time changes nothing but the count.
pub(crate) const SUCCESS_IS_NOOP: u64 = 1 << 3;
const WRITING: u64 = 1 << 4;
/// The generation fills the rest of the word: 59 bits, which take more
/// than a century of state changes to wrap even at one per 10 ns.
const GENERATION_SHIFT: u32 = 5;

/// A decoded `word`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Word(u64);

impl Word {
    #[inline]
    pub(crate) fn state(self) -> State {
        match self.0 & STATE_MASK {
            0 => State::Closed,
            1 => State::Open,
            2 => State::HalfOpen,
            3 => State::ForcedOpen,
            4 => State::Disabled,
            _ => State::MetricsOnly,
        }
    }

    #[inline]
    pub(crate) const fn generation(self) -> u64 {
        self.0 >> GENERATION_SHIFT
    }

    /// Whether `permit_generation` is the generation of this word (the
    /// bits the word holds of it).
    #[inline]
    pub(crate) const fn is_generation(self, permit_generation: u64) -> bool {
        self.generation() == permit_generation & (u64::MAX >> GENERATION_SHIFT)
    }

    #[inline]
    pub(crate) const fn has(self, flag: u64) -> bool {
        self.0 & flag != 0
    }

    #[inline]
    const fn writing(self) -> bool {
        self.0 & WRITING != 0
    }
}

const fn state_bits(state: State) -> u64 {
    match state {
        State::Closed => 0,
        State::Open => 1,
        State::HalfOpen => 2,
        State::ForcedOpen => 3,
        State::Disabled => 4,
        State::MetricsOnly => 5,
    }
}

/// 64-bit values of a published view.
const WIDE: usize = 16;
/// 32-bit values of a published view.
const NARROW: usize = 10;
/// 32-bit words of a published view: the machine, then the window's totals.
const VIEW: usize = 2 * WIDE + NARROW;

/// How many times a read retries a view overlapped by a write before it
/// asks for the lock.
pub(crate) const READ_TRIES: u32 = 64;

/// The published state of a shared breaker.
#[derive(Debug)]
pub(crate) struct Gate {
    word: AtomicU64,
    until: AtomicU64,
    /// The latest clock reading of any operation, locked or not.
    latest: AtomicU64,
    seq: AtomicU32,
    view: [AtomicU32; VIEW],
}

impl Gate {
    /// The gate of a new breaker: nothing published, so every operation
    /// takes the lock until the first one publishes.
    #[allow(clippy::declare_interior_mutable_const)] // each use is a fresh gate
    pub(crate) const UNPUBLISHED: Gate = Gate {
        word: AtomicU64::new(WRITING),
        until: AtomicU64::new(0),
        latest: AtomicU64::new(0),
        seq: AtomicU32::new(0),
        view: [const { AtomicU32::new(0) }; VIEW],
    };

    /// The word, if no publication is under way.
    #[inline]
    pub(crate) fn word(&self) -> Option<Word> {
        let w = Word(self.word.load(Ordering::Acquire));
        (!w.writing()).then_some(w)
    }

    /// The clock reading `t`, never earlier than any reading before it:
    /// remembers `t` if it is the latest (the only write a lock-free
    /// operation makes outside its tally, and only when time has moved).
    /// `None` if `t` is more than `horizon_us` ahead of the latest reading:
    /// a jump the locked path must check (see the breaker's clock rule).
    #[inline]
    pub(crate) fn observe(&self, t: Instant, horizon_us: u64) -> Option<Instant> {
        let latest = self.latest.load(Ordering::Relaxed);
        if t.as_micros() <= latest {
            return Some(Instant::from_micros(latest));
        }
        if t.as_micros().saturating_sub(latest) > horizon_us {
            return None;
        }
        self.latest.fetch_max(t.as_micros(), Ordering::Relaxed);
        Some(t)
    }

    /// The latest clock reading seen.
    #[inline]
    pub(crate) fn latest(&self) -> Instant {
        Instant::from_micros(self.latest.load(Ordering::Relaxed))
    }

    /// The open deadline that goes with `w`, if `w` is still current.
    #[inline]
    pub(crate) fn until(&self, w: Word) -> Option<Instant> {
        let until = self.until.load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        (self.word.load(Ordering::Relaxed) == w.0).then_some(Instant::from_micros(until))
    }

    /// Publishes after a locked operation; only the lock holder calls it.
    /// `noop`: whether a success is a no-op now; `window`: the totals now.
    /// An unchanged word is not rewritten, so lock-free readers of it are
    /// not sent to retry.
    pub(crate) fn publish(&self, m: &Machine, noop: bool, window: Totals) {
        let word = word_of(m, noop);
        self.latest
            .fetch_max(m.latest.as_micros(), Ordering::Relaxed);
        let old = self.word.load(Ordering::Relaxed);
        let until = m.until.as_micros();
        if old != word || self.until.load(Ordering::Relaxed) != until {
            self.word.store(old | WRITING, Ordering::Relaxed);
            fence(Ordering::Release);
            self.until.store(until, Ordering::Relaxed);
            self.word.store(word, Ordering::Release);
        }
        let seq = self.seq.load(Ordering::Relaxed);
        self.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        for (slot, value) in self.view.iter().zip(encode(m, window)) {
            slot.store(value, Ordering::Relaxed);
        }
        self.seq.store(seq.wrapping_add(2), Ordering::Release);
    }

    /// The last published machine and window totals, unless every try
    /// overlapped a write.
    pub(crate) fn read(&self) -> Option<(Machine, Totals)> {
        if self.seq.load(Ordering::Acquire) == 0 {
            // Nothing published yet (or the count wrapped to it): ask the lock.
            return None;
        }
        for _ in 0..READ_TRIES {
            let before = self.seq.load(Ordering::Acquire);
            if before % 2 == 1 {
                core::hint::spin_loop();
                continue;
            }
            let mut words = [0u32; VIEW];
            for (w, slot) in words.iter_mut().zip(&self.view) {
                *w = slot.load(Ordering::Relaxed);
            }
            fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) == before {
                return Some(decode(&words));
            }
        }
        None
    }
}

impl Gate {
    /// The view as it reads now, even if a write overlaps (the lock-free
    /// reads' last resort; never torn on the provided locks in practice).
    pub(crate) fn read_any(&self) -> (Machine, Totals) {
        let mut words = [0u32; VIEW];
        for (w, slot) in words.iter_mut().zip(&self.view) {
            *w = slot.load(Ordering::Acquire);
        }
        decode(&words)
    }
}

const fn word_of(m: &Machine, noop: bool) -> u64 {
    (m.generation << GENERATION_SHIFT)
        | state_bits(m.state)
        | if noop { SUCCESS_IS_NOOP } else { 0 }
}

fn join(lo: u32, hi: u32) -> u64 {
    u64::from(lo) | (u64::from(hi) << 32)
}

/// The view's words: the 64-bit values as low and high halves, then the
/// 32-bit ones.
const fn encode(m: &Machine, t: Totals) -> [u32; VIEW] {
    let c = &m.counts;
    let wide = [
        m.entered_at.as_micros(),
        m.until.as_micros(),
        m.backoff_step_us,
        m.latest.as_micros(),
        c.permitted,
        c.rejected,
        c.successes,
        c.failures,
        c.slow_successes,
        c.slow_failures,
        c.ignored,
        c.cancelled,
        c.stale,
        c.duration_sum_us,
        c.duration_max_us,
        m.generation,
    ];
    let narrow = [
        state_bits(m.state) as u32 | ((m.reported.bits() as u32) << 8),
        m.open_attempts,
        m.probes_admitted as u32,
        m.probe_successes as u32,
        m.consecutive_failures,
        m.clock_glitches as u32,
        t.calls,
        t.failures,
        t.slow,
        t.slow_failures,
    ];
    let mut out = [0u32; VIEW];
    let mut i = 0;
    // 2 × WIDE + NARROW = VIEW: every index below is in bounds, and the
    // shifts and truncations split a u64 into its halves.
    #[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
    while i < VIEW {
        out[i] = if i < 2 * WIDE {
            let x = wide[i / 2];
            if i % 2 == 0 {
                x as u32
            } else {
                (x >> 32) as u32
            }
        } else {
            narrow[i - 2 * WIDE]
        };
        i += 1;
    }
    out
}

fn decode(w: &[u32; VIEW]) -> (Machine, Totals) {
    let wide = |i: usize| {
        let at = i.saturating_mul(2);
        join(
            w.get(at).copied().unwrap_or(0),
            w.get(at.saturating_add(1)).copied().unwrap_or(0),
        )
    };
    let narrow = |i: usize| w.get((2 * WIDE).saturating_add(i)).copied().unwrap_or(0);
    let head = narrow(0);
    let machine = Machine {
        state: Word(u64::from(head) & STATE_MASK).state(),
        reported: RuleSet::from_bits((head >> 8) as u8),
        generation: wide(15),
        open_attempts: narrow(1),
        probes_admitted: narrow(2) as u16,
        probe_successes: narrow(3) as u16,
        consecutive_failures: narrow(4),
        clock_glitches: narrow(5) as u16,
        entered_at: Instant::from_micros(wide(0)),
        until: Instant::from_micros(wide(1)),
        backoff_step_us: wide(2),
        latest: Instant::from_micros(wide(3)),
        counts: Counts {
            permitted: wide(4),
            rejected: wide(5),
            successes: wide(6),
            failures: wide(7),
            slow_successes: wide(8),
            slow_failures: wide(9),
            ignored: wide(10),
            cancelled: wide(11),
            stale: wide(12),
            duration_sum_us: wide(13),
            duration_max_us: wide(14),
        },
    };
    let totals = Totals {
        calls: narrow(6),
        failures: narrow(7),
        slow: narrow(8),
        slow_failures: narrow(9),
    };
    (machine, totals)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_view_reads_back_as_it_was_written() {
        let mut m = Machine::new(&crate::Config::DEFAULT);
        m.state = State::HalfOpen;
        m.generation = 0x1_DEAD_BEEF;
        m.clock_glitches = 3;
        m.until = Instant::MAX;
        m.latest = Instant::from_micros(u64::MAX - 1);
        m.counts.stale = 1 << 40;
        m.counts.duration_max_us = 77;
        m.probes_admitted = 3;
        let t = Totals {
            calls: 9,
            failures: 4,
            slow: 2,
            slow_failures: 1,
        };
        let gate = Gate::UNPUBLISHED;
        assert_eq!(gate.word(), None);
        assert_eq!(gate.read(), None);
        gate.publish(&m, true, t);
        assert_eq!(gate.read(), Some((m, t)));
        let w = gate.word().expect("not writing");
        assert_eq!(
            (w.state(), w.generation(), w.has(SUCCESS_IS_NOOP)),
            (State::HalfOpen, 0x1_DEAD_BEEF, true)
        );
        assert!(w.is_generation(0x1_DEAD_BEEF));
        assert!(!w.is_generation(0xDEAD_BEEF), "2³² generations apart");
        assert!(!w.is_generation(0x2_DEAD_BEEF));
    }
}
