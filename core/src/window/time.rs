use core::time::Duration;

use super::{Sample, Totals, Window};
use crate::clock::duration_to_micros;
use crate::{ConfigError, Instant};

/// The calls of the last time span, in `B` buckets of `span / B` each.
///
/// A call is forgotten when its bucket falls out of the span, so the window
/// covers between `span - span / B` and `span` of history: more buckets,
/// finer edges. Buckets expire as time moves, however long the clock stood
/// still (an idle gap longer than the span empties the window). Recording is
/// O(1) except right after time moved past bucket edges, when it is O(number
/// of edges crossed, at most `B`); it never divides.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use core::time::Duration;
/// use tripline::window::{Sample, TimeWindow, Window};
/// use tripline::Instant;
///
/// // 10 s in 10 buckets of 1 s.
/// let mut w = TimeWindow::<10>::new(Duration::from_secs(10)).unwrap();
/// w.record(Instant::from_secs(0), Sample { failed: true, slow: false });
/// w.record(Instant::from_secs(5), Sample::default());
/// assert_eq!(w.totals(Instant::from_secs(5)).calls, 2);
/// // At 10 s the first bucket has left the span.
/// assert_eq!(w.totals(Instant::from_secs(10)).failures, 0);
/// // After an idle minute, nothing is left.
/// assert_eq!(w.totals(Instant::from_secs(70)).calls, 0);
/// ```
///
/// Build it in a `const` (or a `static`) and even the one division that
/// splits the span happens at compile time:
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use core::time::Duration;
/// use tripline::TimeWindow;
///
/// const WINDOW: TimeWindow<8> = match TimeWindow::new(Duration::from_secs(4)) {
///     Ok(w) => w,
///     Err(e) => panic!("{}", e.as_str()),
/// };
/// ```
#[derive(Clone, Debug)]
pub struct TimeWindow<const B: usize> {
    buckets: [Totals; B],
    /// The newest bucket; the one after it (cyclically) is the oldest.
    head: usize,
    /// When the head bucket began, or `None` for an empty, unanchored window.
    head_start: Option<Instant>,
    bucket_us: u64,
    totals: Totals,
}

impl<const B: usize> TimeWindow<B> {
    const SIZE_IS_VALID: () = assert!(B > 0, "TimeWindow<B> needs at least one bucket");

    /// A window over the last `span`, split into `B` buckets.
    ///
    /// # Errors
    /// [`ConfigError::ZeroWindowSpan`] for a zero span, and
    /// [`ConfigError::WindowSpanTooShort`] if `span` is shorter than `B`
    /// microseconds (a bucket must last at least 1 µs).
    pub const fn new(span: Duration) -> Result<Self, ConfigError> {
        #[allow(clippy::let_unit_value)]
        let () = Self::SIZE_IS_VALID;
        let span_us = duration_to_micros(span);
        if span_us == 0 {
            return Err(ConfigError::ZeroWindowSpan);
        }
        // B > 0, asserted at compile time by SIZE_IS_VALID above.
        #[allow(clippy::arithmetic_side_effects)]
        let bucket_us = span_us / B as u64;
        if bucket_us == 0 {
            return Err(ConfigError::WindowSpanTooShort {
                span_us,
                buckets: B,
            });
        }
        Ok(TimeWindow {
            buckets: [Totals::EMPTY; B],
            head: 0,
            head_start: None,
            bucket_us,
            totals: Totals::EMPTY,
        })
    }

    /// How long each bucket lasts, in microseconds.
    #[must_use]
    pub const fn bucket_micros(&self) -> u64 {
        self.bucket_us
    }

    const fn after(i: usize) -> usize {
        // `i < B`, so the add never saturates; saturating says so without a check.
        let next = i.saturating_add(1);
        if next >= B {
            0
        } else {
            next
        }
    }

    /// How many bucket edges lie between the head bucket's start and `now`,
    /// capped at `B` (everything expired).
    fn edges_crossed(&self, now: Instant) -> usize {
        let Some(start) = self.head_start else {
            return 0;
        };
        let mut edge = start.saturating_add_micros(self.bucket_us);
        let mut crossed = 0;
        while crossed < B && now >= edge {
            // Bounded by the loop condition `crossed < B`.
            crossed = crossed.saturating_add(1);
            edge = edge.saturating_add_micros(self.bucket_us);
        }
        crossed
    }

    /// Expires the buckets that `now` has left behind.
    fn advance(&mut self, now: Instant) {
        let crossed = self.edges_crossed(now);
        if crossed >= B {
            self.clear();
        }
        let Some(start) = self.head_start else {
            self.head_start = Some(now);
            return;
        };
        let mut start = start;
        for _ in 0..crossed {
            self.head = Self::after(self.head);
            if let Some(bucket) = self.buckets.get_mut(self.head) {
                self.totals.remove(*bucket);
                *bucket = Totals::EMPTY;
            }
            start = start.saturating_add_micros(self.bucket_us);
        }
        self.head_start = Some(start);
    }
}

impl<const B: usize> Window for TimeWindow<B> {
    const CAPACITY: Option<u32> = None;
    const NEEDS_CLOCK: bool = true;

    fn record(&mut self, now: Instant, sample: Sample) {
        self.advance(now);
        if let Some(bucket) = self.buckets.get_mut(self.head) {
            bucket.add(sample);
            self.totals.add(sample);
        }
    }

    fn totals(&self, now: Instant) -> Totals {
        let crossed = self.edges_crossed(now);
        if crossed >= B {
            return Totals::EMPTY;
        }
        let mut totals = self.totals;
        let mut i = self.head;
        for _ in 0..crossed {
            i = Self::after(i);
            if let Some(bucket) = self.buckets.get(i) {
                totals.remove(*bucket);
            }
        }
        totals
    }

    fn clear(&mut self) {
        self.buckets = [Totals::EMPTY; B];
        self.head = 0;
        self.head_start = None;
        self.totals = Totals::EMPTY;
    }
}
