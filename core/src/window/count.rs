use super::{Sample, Totals, Window};
use crate::Instant;

/// The last `N` counted calls, as a ring with running totals.
///
/// Recording and reading are O(1) and need no clock, so a breaker over a
/// `CountWindow` reads no time on its hot path. A call costs one byte of
/// storage, plus ten bytes for the running totals and the ring's position
/// (`N + 10` in all): stable Rust cannot yet size an array by `N / 4`,
/// which packing two bits per call would need.
///
/// `N` is from 1 to 65,535 (a rate over more calls than that changes too
/// slowly to guard anything); `CountWindow<0>` does not compile, nor does
/// `CountWindow<65536>`:
///
/// ```compile_fail
/// # mod tripline { pub use tripline_core::*; }
/// let w = tripline::CountWindow::<0>::new();
/// ```
///
/// ```compile_fail
/// # mod tripline { pub use tripline_core::*; }
/// let w = tripline::CountWindow::<65536>::new();
/// ```
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::window::{CountWindow, Sample, Window};
/// use tripline::Instant;
///
/// let mut w = CountWindow::<4>::new();
/// w.record(Instant::ZERO, Sample { failed: true, slow: true });
/// w.record(Instant::ZERO, Sample::default());
/// let t = w.totals(Instant::ZERO);
/// assert_eq!((t.calls, t.failures, t.slow), (2, 1, 1));
/// ```
#[derive(Clone, Debug)]
pub struct CountWindow<const N: usize> {
    /// Bit 0: failed; bit 1: slow.
    slots: [u8; N],
    /// Where the next call goes; the oldest call once the ring is full.
    next: u16,
    /// The running totals, in 16 bits: `N` bounds every count.
    calls: u16,
    failures: u16,
    slow: u16,
    slow_failures: u16,
}

const FAILED: u8 = 1;
const SLOW: u8 = 2;

impl<const N: usize> CountWindow<N> {
    const SIZE_IS_VALID: () = assert!(
        N > 0 && N <= u16::MAX as usize,
        "CountWindow<N> needs 1 <= N <= 65535"
    );

    /// An empty window.
    #[must_use]
    pub const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::SIZE_IS_VALID;
        CountWindow {
            slots: [0; N],
            next: 0,
            calls: 0,
            failures: 0,
            slow: 0,
            slow_failures: 0,
        }
    }

    /// Adds `sign` (1 or `u16::MAX`, that is −1) for each of `bits`' marks
    /// to the totals. Counts stay within `0..=N`: the ring removes only
    /// what it added.
    const fn tally(&mut self, bits: u8, sign: u16) {
        let failed = (bits & FAILED != 0) as u16;
        let slow = (bits & SLOW != 0) as u16;
        self.calls = self.calls.wrapping_add(sign);
        self.failures = self.failures.wrapping_add(sign & failed.wrapping_neg());
        self.slow = self.slow.wrapping_add(sign & slow.wrapping_neg());
        self.slow_failures = self
            .slow_failures
            .wrapping_add(sign & (failed & slow).wrapping_neg());
    }
}

impl<const N: usize> Default for CountWindow<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Window for CountWindow<N> {
    // N <= u16::MAX (checked in `new`).
    #[allow(clippy::cast_possible_truncation)]
    const CAPACITY: Option<u32> = Some(N as u32);
    const NEEDS_CLOCK: bool = false;

    fn record(&mut self, _now: Instant, sample: Sample) {
        let full = self.calls as usize >= N;
        if let Some(slot) = self.slots.get_mut(self.next as usize) {
            let old = *slot;
            // 0 or 1 times 1 or 2: at most 2.
            #[allow(clippy::arithmetic_side_effects)]
            let bits = (sample.failed as u8 * FAILED) | (sample.slow as u8 * SLOW);
            *slot = bits;
            if full {
                self.tally(old, u16::MAX);
            }
            self.tally(bits, 1);
        }
        // `next < N <= u16::MAX`, so the add never wraps.
        let next = self.next.wrapping_add(1);
        self.next = if next as usize >= N { 0 } else { next };
    }

    fn totals(&self, _now: Instant) -> Totals {
        Totals {
            calls: self.calls as u32,
            failures: self.failures as u32,
            slow: self.slow as u32,
            slow_failures: self.slow_failures as u32,
        }
    }

    #[inline]
    fn absorbs_success(&self) -> bool {
        // Evicting the oldest call, a success, for a success: same contents.
        self.calls as usize >= N && self.failures == 0 && self.slow == 0
    }

    fn clear(&mut self) {
        // Slots are only read once the ring is full again, by which time every
        // one of them has been overwritten: resetting the totals is enough.
        self.next = 0;
        self.calls = 0;
        self.failures = 0;
        self.slow = 0;
        self.slow_failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "196,000 records: too slow to interpret")]
    fn the_largest_window_keeps_exact_16_bit_totals_as_it_wraps() {
        const N: usize = u16::MAX as usize;
        let mut w = CountWindow::<N>::new();
        let slow_failure = Sample {
            failed: true,
            slow: true,
        };
        for _ in 0..N + 7 {
            w.record(Instant::ZERO, slow_failure);
        }
        let full = Totals {
            calls: N as u32,
            failures: N as u32,
            slow: N as u32,
            slow_failures: N as u32,
        };
        assert_eq!(w.totals(Instant::ZERO), full);
        assert!(!w.absorbs_success());
        for _ in 0..N {
            w.record(Instant::ZERO, Sample::default());
        }
        let t = w.totals(Instant::ZERO);
        assert_eq!(
            (t.calls, t.failures, t.slow, t.slow_failures),
            (N as u32, 0, 0, 0)
        );
        assert!(w.absorbs_success());
        w.clear();
        assert_eq!(w.totals(Instant::ZERO), Totals::EMPTY);
    }
}
