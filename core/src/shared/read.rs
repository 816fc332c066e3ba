//! The reads of a shared breaker: `state`, `retry_after`, `metrics`, from
//! what the lock holder published, or under the lock where nothing is.

use core::time::Duration;

use super::{FastPath, LockKind, SharedBreaker};
use crate::fixed::ConfigSource;
use crate::machine::Machine;
use crate::observe::Sink;
use crate::window::{Totals, Window};
use crate::{Clock, Config, Instant, Metrics, State};

/// A breaker as just built, for a read that finds nothing published and
/// the lock re-entered: a `static`, so reads borrow it instead of building one.
static FRESH: Machine = Machine::new(&Config::DEFAULT);

impl<W: Window, C: Clock, O: Sink, L: LockKind, K: ConfigSource> SharedBreaker<W, C, O, L, K> {
    /// Computes a read from the machine, the window's totals, the
    /// configuration and the time: from what was last published, or, where
    /// nothing is (a locked lock kind, a breaker not used yet, writes that
    /// kept overlapping the read, or `fresh_window` with a time window,
    /// whose buckets age), under the lock from what it holds, copying
    /// nothing. The clock is read first, outside the lock; the time used is
    /// never earlier than the latest the breaker has seen.
    #[inline(always)]
    fn view<R>(
        &self,
        fresh_window: bool,
        f: impl Fn(&Machine, Totals, &Config, Instant) -> R,
    ) -> R {
        let t = crate::clock::read(&self.clock);
        let published = self.fast.lock_free();
        if let Some(lf) = published.filter(|_| !(fresh_window && W::NEEDS_CLOCK)) {
            if let Some((m, window)) = lf.gate.read() {
                let now = t.max(m.latest).max(lf.gate.latest());
                return f(&m, window, K::FIXED.unwrap_or(&lf.config), now);
            }
        }
        let t = published.map_or(t, |lf| t.max(lf.gate.latest()));
        L::with_or(
            &self.inner,
            |b| {
                let m = b.machine();
                let now = t.max(m.latest);
                f(m, b.window_totals(now), b.config(), now)
            },
            // Re-entered (from inside the breaker's own clock, the only code
            // that runs in its lock): the last published view, as it reads;
            // with nothing published, a breaker as just built.
            || match published {
                Some(lf) => {
                    let (m, window) = lf.gate.read_any();
                    f(&m, window, K::FIXED.unwrap_or(&lf.config), m.latest)
                }
                None => f(
                    &FRESH,
                    Totals::EMPTY,
                    K::FIXED.unwrap_or(&Config::DEFAULT),
                    Instant::ZERO,
                ),
            },
        )
    }

    /// [`Breaker::state`](crate::Breaker::state), without the lock.
    pub fn state(&self) -> State {
        if let Some(w) = self.fast.lock_free().and_then(|lf| lf.gate.word()) {
            match w.state() {
                State::Open | State::HalfOpen => {}
                s => return s,
            }
        }
        self.view(false, |m, _, config, now| m.state_at(config, now))
    }

    /// [`Breaker::metrics`](crate::Breaker::metrics), without the lock for a count window. Counts
    /// are exact once calls stop, and never go backwards while they run. A
    /// time window's totals change as time passes, so with one the lock is
    /// taken for as long as it takes to read them.
    pub fn metrics(&self) -> Metrics {
        self.view(true, |m, window, config, now| {
            let min_calls = crate::breaker::min_calls::<W>(config);
            // Read after the machine, as the lock holder publishes it.
            let outside = self.fast.outside();
            m.metrics_at(config, min_calls, window, now, &outside)
        })
    }

    /// [`Breaker::retry_after`](crate::Breaker::retry_after), without the lock.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after_micros().map(Duration::from_micros)
    }

    /// [`Breaker::retry_after_micros`](crate::Breaker::retry_after_micros), without the lock.
    pub fn retry_after_micros(&self) -> Option<u64> {
        self.view(false, |m, _, config, now| m.retry_after_at(config, now))
    }

    /// [`Breaker::generation`](crate::Breaker::generation), without the lock.
    pub fn generation(&self) -> u64 {
        self.view(false, |m, _, _, _| m.generation)
    }

    /// The configuration it was built with. Lock-free where the lock kind
    /// has lock-free paths; otherwise read under the lock (from inside the
    /// breaker's own clock, the default configuration).
    pub fn config(&self) -> Config {
        match self.fast.lock_free() {
            Some(lf) => lf.config,
            None => L::with(&self.inner, |b| *b.config()).unwrap_or(Config::DEFAULT),
        }
    }
}
