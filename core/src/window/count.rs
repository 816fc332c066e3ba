use super::{Sample, Totals, Window};
use crate::Instant;

/// The last `N` counted calls, as a ring with running totals.
///
/// Recording and reading are O(1) and need no clock, so a breaker over a
/// `CountWindow` reads no time on its hot path. A call costs one byte of
/// storage (`N` bytes in all): stable Rust cannot yet size an array by `N / 4`,
/// which packing two bits per call would need.
///
/// `N` must be at least 1; `CountWindow<0>` does not compile:
///
/// ```compile_fail
/// # mod tripline { pub use tripline_core::*; }
/// let w = tripline::CountWindow::<0>::new();
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
    next: usize,
    totals: Totals,
}

const FAILED: u8 = 1;
const SLOW: u8 = 2;

impl<const N: usize> CountWindow<N> {
    const SIZE_IS_VALID: () = assert!(
        N > 0 && N <= u32::MAX as usize,
        "CountWindow<N> needs 1 <= N <= u32::MAX"
    );

    /// An empty window.
    #[must_use]
    pub const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::SIZE_IS_VALID;
        CountWindow {
            slots: [0; N],
            next: 0,
            totals: Totals::EMPTY,
        }
    }

    const fn unpack(bits: u8) -> Sample {
        Sample {
            failed: bits & FAILED != 0,
            slow: bits & SLOW != 0,
        }
    }
}

impl<const N: usize> Default for CountWindow<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Window for CountWindow<N> {
    const CAPACITY: Option<u32> = Some(N as u32);
    const NEEDS_CLOCK: bool = false;

    fn record(&mut self, _now: Instant, sample: Sample) {
        let full = self.totals.calls as usize >= N;
        if let Some(slot) = self.slots.get_mut(self.next) {
            if full {
                let old = Self::unpack(*slot);
                self.totals.remove(Totals {
                    calls: 1,
                    failures: old.failed as u32,
                    slow: old.slow as u32,
                    slow_failures: (old.slow && old.failed) as u32,
                });
            }
            // 0 or 1 times 1 or 2: at most 2.
            #[allow(clippy::arithmetic_side_effects)]
            let bits = (sample.failed as u8 * FAILED) | (sample.slow as u8 * SLOW);
            *slot = bits;
            self.totals.add(sample);
        }
        // `next < N`, so the add never saturates.
        let next = self.next.saturating_add(1);
        self.next = if next >= N { 0 } else { next };
    }

    fn totals(&self, _now: Instant) -> Totals {
        self.totals
    }

    #[inline]
    fn absorbs_success(&self) -> bool {
        // Evicting the oldest call, a success, for a success: same contents.
        self.totals.calls as usize >= N && self.totals.failures == 0 && self.totals.slow == 0
    }

    fn clear(&mut self) {
        // Slots are only read once the ring is full again, by which time every
        // one of them has been overwritten: resetting the totals is enough.
        self.next = 0;
        self.totals = Totals::EMPTY;
    }
}
