//! The reads of a shared breaker: `state`, `retry_after`, `metrics`, from
//! what the lock holder published, or under the lock where nothing is.

use core::time::Duration;

use super::{FastPath, LockKind, SharedBreaker};
use crate::fixed::ConfigSource;
use crate::machine::Machine;
use crate::observe::Sink;
use crate::window::{Totals, Window};
use crate::{Clock, Config, Instant, Metrics, State};

/// The metrics of a breaker as just built with the default configuration:
/// what a read finds that has nothing published and the lock re-entered.
const FRESH_METRICS: Metrics = Metrics {
    state: State::Closed,
    generation: 0,
    time_in_state_us: 0,
    permitted: 0,
    rejected: 0,
    successes: 0,
    failures: 0,
    slow_successes: 0,
    slow_failures: 0,
    ignored: 0,
    cancelled: 0,
    stale: 0,
    clock_glitches: 0,
    window: Totals::EMPTY,
    failure_rate_permille: None,
    slow_call_rate_permille: None,
    consecutive_failures: 0,
    probe_successes: 0,
    open_attempts: 0,
    duration_sum_us: 0,
    duration_max_us: 0,
};

impl<W: Window, C: Clock, O: Sink, L: LockKind, K: ConfigSource> SharedBreaker<W, C, O, L, K> {
    /// Computes a read from the machine, the window's totals, the
    /// configuration and the time: from what was last published, or, where
    /// nothing is (a locked lock kind, a breaker not used yet, writes that
    /// kept overlapping the read, or `fresh_window` with a time window,
    /// whose buckets age), under the lock from what it holds, copying
    /// nothing. The clock is read first, outside the lock; the time used is
    /// never earlier than the latest the breaker has seen. `fresh` is the
    /// read of a breaker as just built with the default configuration: the
    /// answer when nothing is published and the lock is re-entered, a
    /// constant, so that `f` is not built a second time for it.
    #[inline(always)]
    fn view<R>(
        &self,
        fresh_window: bool,
        f: impl Fn(&Machine, Totals, &Config, Instant) -> R,
        fresh: impl Fn() -> R,
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
        L::with_maybe(&self.inner, |inner| {
            // Re-entered (from inside the breaker's own clock, the only code
            // that runs in its lock): the last published view, as it reads;
            // with nothing published, a breaker as just built. One call of
            // `f` for both others, so that its code is there once.
            let snapshot: (Machine, Totals);
            let (m, window, config, now) = match (inner, published) {
                (Some(b), _) => {
                    let m = b.machine();
                    let now = t.max(m.latest);
                    (m, b.window_totals(now), b.config(), now)
                }
                (None, Some(lf)) => {
                    snapshot = lf.gate.read_any();
                    let m = &snapshot.0;
                    (m, snapshot.1, K::FIXED.unwrap_or(&lf.config), m.latest)
                }
                (None, None) => return fresh(),
            };
            f(m, window, config, now)
        })
    }

    /// [`Breaker::state`](crate::Breaker::state), without the lock.
    pub fn state(&self) -> State {
        if let Some(w) = self.fast.lock_free().and_then(|lf| lf.gate.word()) {
            match w.state() {
                State::Open | State::HalfOpen => {}
                s => return s,
            }
        }
        self.view(
            false,
            |m, _, config, now| m.state_at::<K>(config, now),
            || State::Closed,
        )
    }

    /// [`Breaker::metrics`](crate::Breaker::metrics), without the lock for a count window. Counts
    /// are exact once calls stop, and never go backwards while they run. A
    /// time window's totals change as time passes, so with one the lock is
    /// taken for as long as it takes to read them.
    pub fn metrics(&self) -> Metrics {
        self.view(
            true,
            |m, window, config, now| {
                let min_calls = crate::breaker::min_calls::<W>(config);
                // Read after the machine, as the lock holder publishes it.
                let outside = self.fast.outside();
                m.metrics_at::<K>(config, min_calls, window, now, &outside)
            },
            || FRESH_METRICS,
        )
    }

    /// [`Breaker::retry_after`](crate::Breaker::retry_after), without the lock.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after_micros().map(Duration::from_micros)
    }

    /// [`Breaker::retry_after_micros`](crate::Breaker::retry_after_micros), without the lock.
    pub fn retry_after_micros(&self) -> Option<u64> {
        self.view(
            false,
            |m, _, config, now| m.retry_after_at::<K>(config, now),
            || Some(0),
        )
    }

    /// [`Breaker::generation`](crate::Breaker::generation), without the lock.
    pub fn generation(&self) -> u64 {
        self.view(false, |m, _, _, _| m.generation, || 0)
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
