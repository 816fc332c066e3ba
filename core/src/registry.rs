//! [`Registry`]: a fixed number of named breakers, for firmware that wants
//! one place to report, list and reset them — no heap.
//!
//! The registry holds references (`&'a B`), typically to `static`
//! [`SharedBreaker`]s. `B` is either one breaker type, so that
//! [`get`](Registry::get) hands back a breaker you can `call`, or
//! `dyn ManagedBreaker`, so that breakers with different windows and clocks
//! share one registry (reporting and resetting only).

use crate::fixed::ConfigSource;
use crate::observe::Sink;
use crate::shared::{Busy, LockKind};
use crate::window::Window;
use crate::{Clock, Health, Metrics, SharedBreaker, State};

/// What a [`Registry`] needs of a breaker: read its state and metrics, reset
/// it. Object-safe, so `dyn ManagedBreaker` mixes breaker types in one registry.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::registry::ManagedBreaker;
/// use tripline::{Config, CountWindow, MockClock, SharedBreaker, State};
///
/// static CLOCK: MockClock = MockClock::new();
/// static A: SharedBreaker<CountWindow<8>, &MockClock> =
///     SharedBreaker::new(Config::DEFAULT, CountWindow::new(), &CLOCK);
///
/// let managed: &dyn ManagedBreaker = &A;
/// assert_eq!(managed.state(), State::Closed);
/// ```
pub trait ManagedBreaker {
    /// The state now, as [`Breaker::state`](crate::Breaker::state) reports it.
    fn state(&self) -> State;

    /// A snapshot of state and counters.
    fn metrics(&self) -> Metrics;

    /// Back to Closed, as [`Breaker::reset`](crate::Breaker::reset).
    ///
    /// # Errors
    /// [`Busy`] if called from inside the breaker's own lock.
    fn reset(&self) -> Result<(), Busy>;
}

impl<W: Window, C: Clock, O: Sink, L: LockKind, K: ConfigSource> ManagedBreaker
    for SharedBreaker<W, C, O, L, K>
{
    fn state(&self) -> State {
        SharedBreaker::state(self)
    }

    fn metrics(&self) -> Metrics {
        SharedBreaker::metrics(self)
    }

    fn reset(&self) -> Result<(), Busy> {
        SharedBreaker::reset(self)
    }
}

/// Why [`Registry::register`] refused a breaker.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::RegisterError;
/// assert!(RegisterError::Full.as_str().contains("capacity"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RegisterError {
    /// The registry already holds `N` breakers.
    Full,
    /// A breaker is already registered under this name.
    DuplicateName,
}

impl RegisterError {
    /// What went wrong and how to fix it.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::RegisterError;
    /// assert!(RegisterError::DuplicateName.as_str().contains("name"));
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            RegisterError::Full => "the registry is full: raise its capacity N",
            RegisterError::DuplicateName => "a breaker is already registered under this name",
        }
    }
}

impl core::fmt::Display for RegisterError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for RegisterError {}

/// One breaker's name and metrics, from [`Registry::snapshot`].
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::registry::Snapshot;
/// use tripline::*;
///
/// let clock = MockClock::new();
/// let b = Breaker::new(Config::default(), CountWindow::<4>::new(), &clock);
/// let s = Snapshot { name: "imu", metrics: b.metrics() };
/// assert_eq!(s.metrics.state, State::Closed);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Snapshot<'a> {
    /// The name it was registered under.
    pub name: &'a str,
    /// Its metrics when the snapshot was taken.
    pub metrics: Metrics,
}

/// Up to `N` named breakers: register at start-up, then look up by name,
/// snapshot every breaker's metrics, list the open ones, reset them all, or
/// summarise their [`Health`].
///
/// Names are compared as strings; look-ups are a linear scan, which for the
/// handful of breakers a device has beats hashing. Reads take no lock.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::registry::Registry;
/// use tripline::*;
///
/// static CLOCK: MockClock = MockClock::new();
/// type Shared = SharedBreaker<CountWindow<8>, &'static MockClock>;
/// static IMU: Shared = SharedBreaker::new(Config::DEFAULT, CountWindow::new(), &CLOCK);
/// static MODEM: Shared = SharedBreaker::new(Config::DEFAULT, CountWindow::new(), &CLOCK);
///
/// let mut registry: Registry<'static, Shared, 4> = Registry::new();
/// registry.register("imu", &IMU).unwrap();
/// registry.register("modem", &MODEM).unwrap();
/// assert_eq!(registry.register("imu", &MODEM), Err(RegisterError::DuplicateName));
///
/// registry.get("modem").unwrap().force_open().unwrap();
/// assert_eq!(registry.open().as_slice(), ["modem"]);
/// assert_eq!(registry.health().forced_open, 1);
///
/// registry.reset_all().unwrap();
/// assert!(registry.health().all_closed());
/// ```
pub struct Registry<'a, B: ?Sized, const N: usize> {
    entries: heapless::Vec<(&'a str, &'a B), N>,
}

impl<B: ?Sized, const N: usize> Default for Registry<'_, B, N> {
    fn default() -> Self {
        Registry::new()
    }
}

impl<B: ?Sized, const N: usize> core::fmt::Debug for Registry<'_, B, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|(name, _)| name))
            .finish()
    }
}

impl<'a, B: ?Sized, const N: usize> Registry<'a, B, N> {
    /// An empty registry with room for `N` breakers; `const`.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::registry::{ManagedBreaker, Registry};
    /// let r: Registry<'_, dyn ManagedBreaker, 8> = Registry::new();
    /// assert!(r.is_empty());
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Registry {
            entries: heapless::Vec::new(),
        }
    }

    /// Adds `breaker` under `name`.
    ///
    /// # Errors
    /// [`RegisterError::DuplicateName`] if `name` is taken,
    /// [`RegisterError::Full`] if `N` breakers are registered; the registry
    /// is unchanged.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::registry::{ManagedBreaker, Registry};
    /// use tripline::*;
    ///
    /// static CLOCK: MockClock = MockClock::new();
    /// static A: SharedBreaker<CountWindow<8>, &MockClock> =
    ///     SharedBreaker::new(Config::DEFAULT, CountWindow::new(), &CLOCK);
    /// static B: SharedBreaker<TimeWindow<10>, &MockClock> = SharedBreaker::new(
    ///     Config::DEFAULT,
    ///     match TimeWindow::new(core::time::Duration::from_secs(10)) { Ok(w) => w, Err(_) => panic!() },
    ///     &CLOCK,
    /// );
    ///
    /// // Different window types, one registry.
    /// let mut registry: Registry<'static, dyn ManagedBreaker, 1> = Registry::new();
    /// registry.register("a", &A).unwrap();
    /// assert_eq!(registry.register("b", &B), Err(RegisterError::Full));
    /// ```
    pub fn register(&mut self, name: &'a str, breaker: &'a B) -> Result<(), RegisterError> {
        if self.position(name).is_some() {
            return Err(RegisterError::DuplicateName);
        }
        self.entries
            .push((name, breaker))
            .map_err(|_| RegisterError::Full)
    }

    /// The breaker registered under `name`.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::registry::Registry;
    /// use tripline::*;
    ///
    /// static CLOCK: MockClock = MockClock::new();
    /// static PUMP: SharedBreaker<CountWindow<8>, &MockClock> =
    ///     SharedBreaker::new(Config::DEFAULT, CountWindow::new(), &CLOCK);
    ///
    /// let mut registry = Registry::<_, 2>::new();
    /// registry.register("pump", &PUMP).unwrap();
    /// assert_eq!(registry.get("pump").unwrap().call(|| Ok::<_, ()>(1)), Ok(1));
    /// assert!(registry.get("valve").is_none());
    /// ```
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&'a B> {
        self.position(name)
            .and_then(|i| self.entries.get(i))
            .map(|(_, b)| *b)
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.entries.iter().position(|(n, _)| *n == name)
    }

    /// How many breakers are registered.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::registry::{ManagedBreaker, Registry};
    /// assert_eq!(Registry::<'_, dyn ManagedBreaker, 3>::new().len(), 0);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no breaker is registered.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::registry::{ManagedBreaker, Registry};
    /// assert!(Registry::<'_, dyn ManagedBreaker, 3>::new().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The most breakers it can hold: `N`.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::registry::{ManagedBreaker, Registry};
    /// assert_eq!(Registry::<'_, dyn ManagedBreaker, 3>::new().capacity(), 3);
    /// ```
    #[must_use]
    pub const fn capacity(&self) -> usize {
        N
    }

    /// The names and breakers, in registration order.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::registry::Registry;
    /// use tripline::*;
    ///
    /// static CLOCK: MockClock = MockClock::new();
    /// static A: SharedBreaker<CountWindow<8>, &MockClock> =
    ///     SharedBreaker::new(Config::DEFAULT, CountWindow::new(), &CLOCK);
    ///
    /// let mut registry = Registry::<_, 2>::new();
    /// registry.register("a", &A).unwrap();
    /// assert!(registry.iter().map(|(name, _)| name).eq(["a"]));
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a B)> + '_ {
        self.entries.iter().map(|(name, b)| (*name, *b))
    }
}

impl<'a, B: ManagedBreaker + ?Sized, const N: usize> Registry<'a, B, N> {
    /// Every breaker's name and metrics, in registration order.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::registry::Registry;
    /// use tripline::*;
    ///
    /// static CLOCK: MockClock = MockClock::new();
    /// static A: SharedBreaker<CountWindow<8>, &MockClock> =
    ///     SharedBreaker::new(Config::DEFAULT, CountWindow::new(), &CLOCK);
    ///
    /// let mut registry = Registry::<_, 2>::new();
    /// registry.register("a", &A).unwrap();
    /// let _ = A.call(|| Err::<(), _>(()));
    /// let all = registry.snapshot();
    /// assert_eq!((all[0].name, all[0].metrics.failures), ("a", 1));
    /// ```
    pub fn snapshot(&self) -> heapless::Vec<Snapshot<'a>, N> {
        let mut out = heapless::Vec::new();
        for (name, breaker) in self.iter() {
            let snapshot = Snapshot {
                name,
                metrics: breaker.metrics(),
            };
            // As many entries as the registry holds: always room.
            let _ = out.push(snapshot);
        }
        out
    }

    /// The names of the breakers that reject calls because they are open:
    /// [`State::Open`] or [`State::ForcedOpen`] (not half-open), in
    /// registration order.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::registry::Registry;
    /// use tripline::*;
    ///
    /// static CLOCK: MockClock = MockClock::new();
    /// static A: SharedBreaker<CountWindow<8>, &MockClock> =
    ///     SharedBreaker::new(Config::DEFAULT, CountWindow::new(), &CLOCK);
    ///
    /// let mut registry = Registry::<_, 2>::new();
    /// registry.register("a", &A).unwrap();
    /// assert!(registry.open().is_empty());
    /// ```
    pub fn open(&self) -> heapless::Vec<&'a str, N> {
        let mut out = heapless::Vec::new();
        for (name, breaker) in self.iter() {
            if !breaker.state().admits_calls() {
                // As many names as the registry holds: always room.
                let _ = out.push(name);
            }
        }
        out
    }

    /// Resets every breaker to Closed, as [`Breaker::reset`](crate::Breaker::reset).
    ///
    /// # Errors
    /// [`Busy`] if a breaker's lock was re-entered; every other breaker is
    /// still reset.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::registry::Registry;
    /// use tripline::*;
    ///
    /// static CLOCK: MockClock = MockClock::new();
    /// static A: SharedBreaker<CountWindow<8>, &MockClock> =
    ///     SharedBreaker::new(Config::DEFAULT, CountWindow::new(), &CLOCK);
    ///
    /// let mut registry = Registry::<_, 2>::new();
    /// registry.register("a", &A).unwrap();
    /// A.force_open().unwrap();
    /// registry.reset_all().unwrap();
    /// assert_eq!(A.state(), State::Closed);
    /// ```
    pub fn reset_all(&self) -> Result<(), Busy> {
        let mut result = Ok(());
        for (_, breaker) in self.iter() {
            if let Err(busy) = breaker.reset() {
                result = Err(busy);
            }
        }
        result
    }

    /// How many of the breakers are in each state.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::registry::Registry;
    /// use tripline::*;
    ///
    /// static CLOCK: MockClock = MockClock::new();
    /// static A: SharedBreaker<CountWindow<8>, &MockClock> =
    ///     SharedBreaker::new(Config::DEFAULT, CountWindow::new(), &CLOCK);
    ///
    /// let mut registry = Registry::<_, 2>::new();
    /// registry.register("a", &A).unwrap();
    /// let health = registry.health();
    /// assert_eq!((health.total(), health.closed), (1, 1));
    /// ```
    pub fn health(&self) -> Health {
        let mut health = Health::EMPTY;
        for (_, breaker) in self.iter() {
            health.add(breaker.state());
        }
        health
    }
}
