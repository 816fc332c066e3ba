//! The reads of a shared breaker: `state`, `retry_after`, `metrics`, from
//! what the lock holder published, or under the lock where nothing is.

use core::time::Duration;

use super::{FastPath, LockKind, SharedBreaker};
use crate::machine::Machine;
use crate::observe::Sink;
use crate::window::{Totals, Window};
use crate::{Clock, Config, Instant, Metrics, State};

/// What a read computes from: the machine, the window's totals, the
/// configuration and the time.
struct Snapshot {
    m: Machine,
    window: Totals,
    config: Config,
    now: Instant,
}

impl<W: Window, C: Clock, O: Sink, L: LockKind> SharedBreaker<W, C, O, L> {
    /// What was last published, or, where nothing is published (a locked
    /// lock kind, a breaker not used yet, writes that kept overlapping the
    /// read, or `fresh_window` with a time window, whose buckets age), what
    /// the lock holds now.
    fn snapshot(&self, fresh_window: bool) -> Snapshot {
        let published = self.fast.lock_free();
        if let Some(lf) = published.filter(|_| !(fresh_window && W::NEEDS_CLOCK)) {
            if let Some((m, window)) = lf.gate.read() {
                let now = self.clock.now().max(m.latest).max(lf.gate.latest());
                return Snapshot {
                    m,
                    window,
                    config: lf.config,
                    now,
                };
            }
        }
        let latest = published.map_or(Instant::ZERO, |lf| lf.gate.latest());
        let locked = L::with(&self.inner, |b| {
            let m = *b.machine();
            let now = self.clock.now().max(m.latest).max(latest);
            Snapshot {
                m,
                window: b.window_totals(now),
                config: *b.config(),
                now,
            }
        });
        match (locked, published) {
            (Some(s), _) => s,
            // Re-entered (from inside the breaker's own clock, the only code
            // that runs in its lock): the last published view, as it reads;
            // with nothing published, a breaker as just built.
            (None, Some(lf)) => {
                let (m, window) = lf.gate.read_any();
                Snapshot {
                    m,
                    window,
                    config: lf.config,
                    now: m.latest,
                }
            }
            (None, None) => Snapshot {
                m: Machine::new(&Config::DEFAULT),
                window: Totals::EMPTY,
                config: Config::DEFAULT,
                now: Instant::ZERO,
            },
        }
    }

    /// [`Breaker::state`](crate::Breaker::state), without the lock.
    pub fn state(&self) -> State {
        if let Some(w) = self.fast.lock_free().and_then(|lf| lf.gate.word()) {
            match w.state() {
                State::Open | State::HalfOpen => {}
                s => return s,
            }
        }
        let s = self.snapshot(false);
        s.m.state_at(&s.config, s.now)
    }

    /// [`Breaker::metrics`](crate::Breaker::metrics), without the lock for a count window. Counts
    /// are exact once calls stop, and never go backwards while they run. A
    /// time window's totals change as time passes, so with one the lock is
    /// taken for as long as it takes to read them.
    pub fn metrics(&self) -> Metrics {
        let s = self.snapshot(true);
        let extra = self.fast.counts();
        let min_calls = crate::breaker::min_calls::<W>(&s.config);
        s.m.metrics_at(&s.config, min_calls, s.window, extra, s.now)
    }

    /// [`Breaker::retry_after`](crate::Breaker::retry_after), without the lock.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after_micros().map(Duration::from_micros)
    }

    /// [`Breaker::retry_after_micros`](crate::Breaker::retry_after_micros), without the lock.
    pub fn retry_after_micros(&self) -> Option<u64> {
        let s = self.snapshot(false);
        s.m.retry_after_at(&s.config, s.now)
    }

    /// [`Breaker::generation`](crate::Breaker::generation), without the lock.
    pub fn generation(&self) -> u64 {
        self.snapshot(false).m.generation
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
