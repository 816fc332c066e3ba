//! [`SharedPermit`]: a [`SharedBreaker`]'s permit, which cancels itself if
//! dropped unrecorded.

use core::ops::Deref;

use super::{Busy, LockKind, SharedBreaker};
use crate::fixed::ConfigSource;
use crate::observe::Sink;
use crate::window::Window;
use crate::{Clock, Outcome, Permit, Recorded};

/// A permit of a [`SharedBreaker`]: record the outcome, or drop it to cancel.
///
/// `B` is how the permit reaches its breaker: `&SharedBreaker` from
/// [`try_acquire`](SharedBreaker::try_acquire), or an owning pointer such as
/// an `Arc` from [`try_acquire_via`](SharedBreaker::try_acquire_via). Dropping
/// it unrecorded (an early return, a dropped future, a panic unwinding through
/// it) cancels the call, so a half-open slot is never lost. The permit stays
/// in the guard until the breaker has taken it back: a clock that panics
/// while it is being recorded leaves it to be cancelled.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::*;
///
/// static CLOCK: MockClock = MockClock::new();
/// static BUS: SharedBreaker<CountWindow<8>, &MockClock> =
///     SharedBreaker::new(Config::DEFAULT, CountWindow::new(), &CLOCK);
///
/// let permit = BUS.try_acquire().unwrap();
/// assert_eq!(permit.record(Outcome::Ignored), Ok(Recorded::Ignored));
/// ```
#[must_use = "dropping a permit cancels it; record the outcome instead"]
pub struct SharedPermit<B: BreakerRef> {
    breaker: B,
    permit: Option<Permit>,
}

impl<B: BreakerRef> SharedPermit<B> {
    pub(super) fn new(breaker: B, permit: Permit) -> Self {
        SharedPermit {
            breaker,
            permit: Some(permit),
        }
    }

    pub(super) fn breaker(&self) -> &B {
        &self.breaker
    }

    /// Where the permit waits until the breaker takes it back.
    pub(super) fn slot(&mut self) -> &mut Option<Permit> {
        &mut self.permit
    }

    /// Records the call's outcome, as [`Breaker::record`](crate::Breaker::record).
    ///
    /// # Errors
    /// [`Busy`] if re-entered; the permit is then cancelled on drop instead.
    #[inline]
    pub fn record(mut self, outcome: Outcome) -> Result<Recorded, Busy> {
        self.breaker.settle(&mut self.permit, Some(outcome))
    }
}

impl<B: BreakerRef> Drop for SharedPermit<B> {
    #[inline]
    fn drop(&mut self) {
        if self.permit.is_some() {
            let _ = self.breaker.settle(&mut self.permit, None);
        }
    }
}

impl<B: BreakerRef> core::fmt::Debug for SharedPermit<B> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SharedPermit")
            .field("permit", &self.permit)
            .finish_non_exhaustive()
    }
}

/// A way to reach a [`SharedBreaker`]: `&SharedBreaker`, `Arc<SharedBreaker>`,
/// any `Deref` to one. What a [`SharedPermit`] holds; implemented for you.
pub trait BreakerRef {
    /// Records `outcome` for the permit in `slot` (or cancels it if `None`);
    /// empties the slot once the breaker has taken the permit back, and
    /// leaves it there on [`Busy`].
    ///
    /// # Errors
    /// [`Busy`] if re-entered.
    fn settle(&self, slot: &mut Option<Permit>, outcome: Option<Outcome>)
        -> Result<Recorded, Busy>;
}

impl<B, W, C, O, L, K> BreakerRef for B
where
    B: Deref<Target = SharedBreaker<W, C, O, L, K>>,
    W: Window,
    C: Clock,
    O: Sink,
    L: LockKind,
    K: ConfigSource,
{
    #[inline]
    fn settle(
        &self,
        slot: &mut Option<Permit>,
        outcome: Option<Outcome>,
    ) -> Result<Recorded, Busy> {
        let breaker: &SharedBreaker<W, C, O, L, K> = self;
        breaker.settle(slot, outcome)
    }
}
