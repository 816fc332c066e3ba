//! [`BreakerMetrics`] (`metrics` feature): breakers reported through the
//! [`metrics`] facade, with Prometheus names.
//!
//! The facade is never touched on a call's path. The breaker already keeps lifetime
//! counters (they survive `reset`); [`BreakerMetrics::record`] folds them into
//! the installed recorder when it runs, which is when the exporter is scraped.
//! What the counters do not hold (state transitions, rejections by reason)
//! a tally of atomics counts from the breaker's own events, for breakers
//! built through [`BreakerMetrics::builder`] or [`BreakerMetrics::factory`]:
//! no lock and no allocation. Its callback asks only for state changes and
//! rejections ([`BreakerMetrics::TALLIED`]), so a healthy call keeps the
//! breaker's lock-free path and pays nothing.
//!
//! | name | type | labels | what |
//! |---|---|---|---|
//! | `tripline_calls_total` | counter | `breaker`, `outcome` = `success` \| `failure` \| `ignored` \| `cancelled` \| `stale` | admitted calls by how they ended |
//! | `tripline_slow_calls_total` | counter | `breaker`, `outcome` = `success` \| `failure` | of those successes and failures, the slow ones |
//! | `tripline_rejections_total` | counter | `breaker`, `reason` = `open` \| `half_open_full` \| `forced_open` \| `busy` (tallied), or `unknown` for a breaker without a tally | calls not admitted |
//! | `tripline_transitions_total` | counter | `breaker`, `from`, `to` (state labels) | state changes (tallied); a series appears with its first transition |
//! | `tripline_state` | gauge | `breaker`, `state` = `closed` \| `open` \| `half_open` \| `forced_open` \| `disabled` \| `metrics_only` | 1 for the current state, 0 for the others |
//! | `tripline_state_seconds` | gauge | `breaker` | time in the current state: while `state="open"`, how long it has been open |
//! | `tripline_retry_after_seconds` | gauge | `breaker` | time until a call may be admitted: until half-open when open; 0 when admitting or unknown |
//! | `tripline_in_flight_calls` | gauge | `breaker` | admitted calls without a result yet |
//! | `tripline_half_open_probes_in_flight` | gauge | `breaker` | the same, while half-open (the probes); 0 in other states |
//! | `tripline_failure_rate_ratio` | gauge | `breaker` | failures / calls in the window, 0 to 1; absent below the minimum calls |
//! | `tripline_slow_call_rate_ratio` | gauge | `breaker` | slow calls / calls in the window, 0 to 1; absent below the minimum calls |
//!
//! With [`BreakerMetrics::with_replica`] every series also carries `replica`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use metrics::{Label, Unit};
use tripline_core::{Clock, Config, Event, Interest, RejectReason, State, Window};

use crate::reading::{read, state_label, Reading};
use crate::{CircuitBreaker, CircuitBreakerBuilder, Registry};

const STATES: [State; 6] = [
    State::Closed,
    State::Open,
    State::HalfOpen,
    State::ForcedOpen,
    State::Disabled,
    State::MetricsOnly,
];

const fn state_index(state: State) -> usize {
    match state {
        State::Closed => 0,
        State::Open => 1,
        State::HalfOpen => 2,
        State::ForcedOpen => 3,
        State::Disabled => 4,
        State::MetricsOnly => 5,
    }
}

const REASONS: [&str; 4] = ["open", "half_open_full", "forced_open", "busy"];

const fn reason_index(reason: RejectReason) -> usize {
    match reason {
        RejectReason::Open => 0,
        RejectReason::HalfOpenFull => 1,
        RejectReason::ForcedOpen => 2,
        RejectReason::Busy => 3,
    }
}

/// What a breaker's events add to its own counters: fixed-size, atomics only.
#[derive(Debug, Default)]
struct Tally {
    transitions: [[AtomicU64; 6]; 6],
    rejections: [AtomicU64; 4],
}

impl Tally {
    fn on_event(&self, event: &Event) {
        let counter = match *event {
            Event::StateChanged { from, to, .. } => {
                &self.transitions[state_index(from)][state_index(to)]
            }
            Event::Rejected(r) => &self.rejections[reason_index(r.reason())],
            _ => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

type Reader = Box<dyn Fn() -> Reading + Send + Sync>;

#[derive(Default)]
struct Inner {
    replica: Option<String>,
    tallies: RwLock<BTreeMap<Arc<str>, Arc<Tally>>>,
    watched: RwLock<Vec<(Arc<str>, Reader)>>,
}

/// Reports breakers through the [`metrics`] facade; see the [module
/// docs](self) for the names. Cloning shares it.
///
/// Build breakers through it ([`builder`](Self::builder), or
/// [`factory`](Self::factory) for a [`Registry`]) to get transitions,
/// rejection reasons and slow calls; [`watch`](Self::watch) any other
/// handle for the rest. Call [`record`](Self::record) (and
/// [`record_registry`](Self::record_registry)) before rendering a scrape.
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use tripline::{BreakerMetrics, Config, Registry};
///
/// let metrics = BreakerMetrics::new();
/// let registry = Registry::with_factory(metrics.factory());
/// let payments = registry.get_or_create("payments", Config::DEFAULT);
/// let _ = payments.call(|| Ok::<_, ()>(()));
///
/// // In the `/metrics` handler, before the exporter renders:
/// metrics.record_registry(&registry);
/// ```
#[derive(Clone, Default)]
pub struct BreakerMetrics {
    inner: Arc<Inner>,
}

impl BreakerMetrics {
    /// Reports with the labels `breaker` (and those it adds).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// let metrics = tripline::BreakerMetrics::new();
    /// metrics.record();
    /// ```
    #[must_use]
    pub fn new() -> Self {
        BreakerMetrics::default()
    }

    /// As [`new`](Self::new), adding `replica = id` to every series, for
    /// fleet mode (the replica id of the fleet config, a pod name).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// let metrics = tripline::BreakerMetrics::with_replica("pod-a");
    /// metrics.record();
    /// ```
    #[must_use]
    pub fn with_replica(id: impl Into<String>) -> Self {
        BreakerMetrics {
            inner: Arc::new(Inner {
                replica: Some(id.into()),
                ..Inner::default()
            }),
        }
    }

    /// [`CircuitBreaker::builder`] with this reporter's tally as an event
    /// callback; chain the rest (config, window, clock) as usual.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::{BreakerMetrics, Config};
    ///
    /// let metrics = BreakerMetrics::new();
    /// let search = metrics.builder("search").config(Config::DEFAULT).build();
    /// metrics.watch(&search);
    /// metrics.record();
    /// ```
    pub fn builder(&self, name: impl Into<Arc<str>>) -> CircuitBreakerBuilder {
        let name = name.into();
        let tally = self.tally(&name);
        CircuitBreaker::builder(name).on_events_of(Self::TALLIED, move |e| tally.on_event(e))
    }

    /// A [`Registry::with_factory`] factory: breakers with the default
    /// window and clock, built through [`builder`](Self::builder).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::{BreakerMetrics, Registry};
    ///
    /// let metrics = BreakerMetrics::new();
    /// let registry = Registry::with_factory(metrics.factory());
    /// # drop(registry);
    /// ```
    pub fn factory(&self) -> impl Fn(Arc<str>, Config) -> CircuitBreaker + Send + Sync + 'static {
        let this = self.clone();
        move |name, config| this.builder(name).config(config).build()
    }

    /// The events the tally counts: state changes and rejections. A
    /// callback that asks for no other kind leaves successes their
    /// lock-free path.
    pub const TALLIED: Interest = Interest::STATE_CHANGED.with(Interest::REJECTED);

    /// The event callback that feeds this reporter's tally for `name`, for
    /// a breaker built another way: pass it with [`TALLIED`](Self::TALLIED)
    /// to `CircuitBreakerBuilder::on_events_of`.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::{BreakerMetrics, CircuitBreaker, CountWindow};
    ///
    /// let metrics = BreakerMetrics::new();
    /// let b = CircuitBreaker::builder("db")
    ///     .window(CountWindow::<20>::new())
    ///     .on_events_of(BreakerMetrics::TALLIED, metrics.on_event("db"))
    ///     .build();
    /// metrics.watch(&b);
    /// ```
    pub fn on_event(&self, name: &str) -> impl Fn(&Event) + Send + Sync + 'static {
        let tally = self.tally(name);
        move |e| tally.on_event(e)
    }

    /// Reports `breaker` on every [`record`](Self::record) from now on.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::{BreakerMetrics, CircuitBreaker, Config};
    ///
    /// let metrics = BreakerMetrics::new();
    /// metrics.watch(&CircuitBreaker::new("cache", Config::DEFAULT));
    /// metrics.record();
    /// ```
    pub fn watch<W, C>(&self, breaker: &CircuitBreaker<W, C>)
    where
        W: Window + Send + 'static,
        C: Clock + Send + Sync + 'static,
    {
        let name = Arc::from(breaker.name());
        let breaker = breaker.clone();
        self.inner
            .watched
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push((name, Box::new(move || read(&breaker))));
    }

    /// Folds every watched breaker into the installed recorder now.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// tripline::BreakerMetrics::new().record();
    /// ```
    pub fn record(&self) {
        describe();
        let watched = self
            .inner
            .watched
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        for (name, reader) in watched.iter() {
            self.fold(name, &reader());
        }
    }

    /// Folds every breaker of `registry` into the installed recorder now,
    /// including those created since the last time.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::{BreakerMetrics, Registry};
    /// BreakerMetrics::new().record_registry(&Registry::new());
    /// ```
    pub fn record_registry<W: Window, C: Clock>(&self, registry: &Registry<W, C>) {
        describe();
        for name in registry.names() {
            let Some(breaker) = registry.get(&name) else {
                continue;
            };
            self.fold(&name, &read(&breaker));
        }
    }

    fn tally(&self, name: &str) -> Arc<Tally> {
        let mut tallies = self
            .inner
            .tallies
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(tallies.entry(Arc::from(name)).or_default())
    }

    fn fold(&self, name: &str, reading: &Reading) {
        let mut base = vec![Label::new("breaker", name.to_string())];
        if let Some(replica) = &self.inner.replica {
            base.push(Label::new("replica", replica.clone()));
        }
        let m = &reading.metrics;
        let series = Series { base: &base };

        for (outcome, value) in [
            ("success", m.successes),
            ("failure", m.failures),
            ("ignored", m.ignored),
            ("cancelled", m.cancelled),
            ("stale", m.stale),
        ] {
            series.counter("tripline_calls_total", &[("outcome", outcome)], value);
        }

        let tally = self
            .inner
            .tallies
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned();
        for (outcome, value) in [("success", m.slow_successes), ("failure", m.slow_failures)] {
            series.counter("tripline_slow_calls_total", &[("outcome", outcome)], value);
        }
        match tally {
            Some(t) => {
                for (reason, value) in REASONS.iter().zip(&t.rejections) {
                    let value = value.load(Ordering::Relaxed);
                    series.counter("tripline_rejections_total", &[("reason", reason)], value);
                }
                for from in STATES {
                    for to in STATES {
                        let value = t.transitions[state_index(from)][state_index(to)]
                            .load(Ordering::Relaxed);
                        if value > 0 {
                            let labels = [("from", state_label(from)), ("to", state_label(to))];
                            series.counter("tripline_transitions_total", &labels, value);
                        }
                    }
                }
            }
            None => {
                series.counter(
                    "tripline_rejections_total",
                    &[("reason", "unknown")],
                    m.rejected,
                );
            }
        }

        for state in STATES {
            let on = if m.state == state { 1.0 } else { 0.0 };
            series.gauge("tripline_state", &[("state", state_label(state))], on);
        }
        series.gauge(
            "tripline_state_seconds",
            &[],
            micros_to_secs(m.time_in_state_us),
        );
        let retry_after = reading.retry_after.map_or(0.0, |d| d.as_secs_f64());
        series.gauge("tripline_retry_after_seconds", &[], retry_after);
        let in_flight = u64_to_f64(m.in_flight());
        series.gauge("tripline_in_flight_calls", &[], in_flight);
        let probes = if m.state == State::HalfOpen {
            in_flight
        } else {
            0.0
        };
        series.gauge("tripline_half_open_probes_in_flight", &[], probes);
        if let Some(rate) = m.failure_rate_permille {
            series.gauge("tripline_failure_rate_ratio", &[], f64::from(rate) / 1000.0);
        }
        if let Some(rate) = m.slow_call_rate_permille {
            series.gauge(
                "tripline_slow_call_rate_ratio",
                &[],
                f64::from(rate) / 1000.0,
            );
        }
    }
}

impl std::fmt::Debug for BreakerMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BreakerMetrics")
            .field("replica", &self.inner.replica)
            .finish_non_exhaustive()
    }
}

/// One breaker's base labels, and the series written with them.
struct Series<'a> {
    base: &'a [Label],
}

impl Series<'_> {
    fn labels(&self, extra: &[(&'static str, &'static str)]) -> Vec<Label> {
        let mut labels = self.base.to_vec();
        labels.extend(extra.iter().map(|&(k, v)| Label::new(k, v)));
        labels
    }

    fn counter(&self, name: &'static str, extra: &[(&'static str, &'static str)], value: u64) {
        metrics::counter!(name, self.labels(extra)).absolute(value);
    }

    fn gauge(&self, name: &'static str, extra: &[(&'static str, &'static str)], value: f64) {
        metrics::gauge!(name, self.labels(extra)).set(value);
    }
}

fn micros_to_secs(us: u64) -> f64 {
    std::time::Duration::from_micros(us).as_secs_f64()
}

#[allow(clippy::cast_precision_loss)] // exact below 2^53 calls in flight
fn u64_to_f64(n: u64) -> f64 {
    n as f64
}

fn describe() {
    use metrics::{describe_counter, describe_gauge};
    describe_counter!("tripline_calls_total", "Admitted calls by outcome.");
    describe_counter!("tripline_slow_calls_total", "Slow successes and failures.");
    describe_counter!(
        "tripline_rejections_total",
        "Calls not admitted, by reason."
    );
    describe_counter!(
        "tripline_transitions_total",
        "State changes, by from and to."
    );
    describe_gauge!(
        "tripline_state",
        "1 for the breaker's current state, 0 for the others."
    );
    describe_gauge!(
        "tripline_state_seconds",
        Unit::Seconds,
        "Time in the current state."
    );
    describe_gauge!(
        "tripline_retry_after_seconds",
        Unit::Seconds,
        "Time until a call may be admitted (0 when admitting)."
    );
    describe_gauge!(
        "tripline_in_flight_calls",
        "Admitted calls without a result yet."
    );
    describe_gauge!(
        "tripline_half_open_probes_in_flight",
        "Probe calls in flight while half-open."
    );
    describe_gauge!(
        "tripline_failure_rate_ratio",
        "Failures per call in the window."
    );
    describe_gauge!(
        "tripline_slow_call_rate_ratio",
        "Slow calls per call in the window."
    );
}
