//! The operations a shared breaker performs without its lock: admitting
//! while Closed, rejecting while Open, counting an outcome that changes
//! nothing but a count. Each returns [`Fast::Slow`] where the lock must decide.

use super::fast::LockFree;
use super::gate::SUCCESS_IS_NOOP;
use super::{Fast, LockKind, SharedBreaker, TallyOf};
use crate::fixed::ConfigSource;
use crate::observe::{Interest, Sink};
use crate::tally::{AddTo, Count};
use crate::window::Window;
use crate::{Clock, Instant, OnCancel, Outcome, Permit, Recorded, RejectReason, Rejected, State};

impl<W: Window, C: Clock, O: Sink, L: LockKind, K: ConfigSource> SharedBreaker<W, C, O, L, K> {
    /// The time for a lock-free operation, unless the clock jumped further
    /// ahead than the locked path would accept without a second reading.
    #[inline(always)]
    fn observe(&self, lf: &LockFree<TallyOf<L>>) -> Option<Instant> {
        lf.gate
            .observe(self.clock.now(), lf.config.clock_horizon_us())
    }

    /// Admits in Closed, MetricsOnly and Disabled, and rejects in Open (not
    /// yet due) and ForcedOpen, without the lock.
    #[inline(always)]
    pub(super) fn fast_acquire(
        &self,
        lf: &LockFree<TallyOf<L>>,
        tally: &impl AddTo,
    ) -> Fast<Result<Permit, Rejected>> {
        let Some(w) = lf.gate.word() else {
            return Fast::Slow;
        };
        match w.state() {
            State::Closed | State::MetricsOnly | State::Disabled => {
                let started = if lf.config.measures_durations() {
                    match self.observe(lf) {
                        Some(now) => now,
                        None => return Fast::Slow,
                    }
                } else {
                    Instant::ZERO
                };
                tally.add(Count::Permitted);
                Fast::Done(Ok(Permit {
                    generation: w.generation(),
                    started,
                }))
            }
            _ if self.observer.interest().intersects(Interest::REJECTED) => Fast::Slow,
            State::ForcedOpen => {
                tally.add(Count::Rejected);
                Fast::Done(Err(Rejected::new(RejectReason::ForcedOpen, None)))
            }
            State::Open => {
                let Some(now) = self.observe(lf) else {
                    return Fast::Slow;
                };
                match lf.gate.until(w) {
                    Some(until) if now < until => {
                        tally.add(Count::Rejected);
                        let wait = until.saturating_micros_since(now);
                        Fast::Done(Err(Rejected::new(RejectReason::Open, Some(wait))))
                    }
                    _ => Fast::Slow,
                }
            }
            State::HalfOpen => Fast::Slow,
        }
    }

    /// Counts, without the lock, an outcome that changes nothing but a
    /// count: a stale result or an ignored or cancelled call outside Open
    /// and HalfOpen, a success that is a no-op, anything while Disabled.
    #[inline(always)]
    pub(super) fn fast_settle(
        &self,
        lf: &LockFree<TallyOf<L>>,
        permit: &Permit,
        outcome: Option<Outcome>,
        tally: &impl AddTo,
    ) -> Fast<Recorded> {
        let Some(w) = lf.gate.word() else {
            return Fast::Slow;
        };
        // Disabled reports no outcome: any observer lets it go lock-free.
        let state = w.state();
        let interest = if state == State::Disabled {
            Interest::NONE
        } else {
            self.observer.interest()
        };
        if !w.is_generation(permit.generation) {
            // Open and HalfOpen have timers an operation must catch up with.
            if interest.intersects(Interest::STALE)
                || matches!(state, State::Open | State::HalfOpen)
            {
                return Fast::Slow;
            }
            tally.add(Count::Stale);
            return Fast::Done(Recorded::Stale);
        }
        let closed_like = matches!(state, State::Closed | State::MetricsOnly | State::Disabled);
        let (count, kind, recorded) = match outcome {
            Some(Outcome::Ignored) if closed_like => {
                (Count::Ignored, Interest::IGNORED, Recorded::Ignored)
            }
            None if closed_like && lf.config.on_cancel == OnCancel::Release => {
                (Count::Cancelled, Interest::CANCELLED, Recorded::Cancelled)
            }
            Some(Outcome::Success) if state == State::Disabled || w.has(SUCCESS_IS_NOOP) => {
                (Count::Success, Interest::SUCCESS, Recorded::Counted)
            }
            Some(Outcome::Failure | Outcome::FailureRetryAfter(_)) if state == State::Disabled => {
                (Count::Failure, Interest::FAILURE, Recorded::Counted)
            }
            _ => return Fast::Slow,
        };
        if interest.intersects(kind) {
            return Fast::Slow;
        }
        if recorded == Recorded::Counted && lf.config.measures_durations() {
            let Some(now) = self.observe(lf) else {
                return Fast::Slow;
            };
            let took = now.saturating_micros_since(permit.started);
            if lf.config.slow_rate_permille > 0 && took > lf.config.slow_call_us {
                return Fast::Slow;
            }
            tally.add_duration(took);
        }
        tally.add(count);
        Fast::Done(recorded)
    }
}
