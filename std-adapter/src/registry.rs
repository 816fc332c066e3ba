//! [`Registry`]: named breakers for a service, with a health summary.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use tripline_core::{Clock, Config, Health, Metrics, State, Window};

use crate::handle::DefaultWindow;
use crate::{CircuitBreaker, StdClock};

type Factory<W, C> = dyn Fn(Arc<str>, Config) -> CircuitBreaker<W, C> + Send + Sync;

/// Named [`CircuitBreaker`]s: one per backend, created on first use.
///
/// Lookups take a read lock on the name map only; breaker operations never
/// hold it, so an event callback may use the registry.
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use tripline::{Breaker, Config, State};
/// use tripline::Registry;
///
/// let registry = Registry::new();
/// let users = registry.get_or_create("users", Config::DEFAULT);
/// let orders = registry.get_or_create("orders", Config::DEFAULT);
/// orders.force_open().unwrap();
///
/// assert_eq!(registry.open(), vec!["orders".to_string()]);
/// let health = registry.health();
/// assert_eq!((health.closed, health.forced_open), (1, 1));
///
/// registry.reset_all();
/// assert_eq!(orders.state(), State::Closed);
/// # drop(users);
/// ```
pub struct Registry<W = DefaultWindow, C = StdClock> {
    breakers: RwLock<BTreeMap<Arc<str>, CircuitBreaker<W, C>>>,
    factory: Box<Factory<W, C>>,
}

/// One breaker's name and metrics, from [`Registry::snapshot`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Snapshot {
    /// The breaker's name.
    pub name: String,
    /// Its metrics when the snapshot was taken.
    pub metrics: Metrics,
}

impl Registry {
    /// An empty registry of breakers with the [`DefaultWindow`] and a [`StdClock`].
    #[must_use]
    pub fn new() -> Self {
        Registry::with_factory(CircuitBreaker::new)
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

impl<W: Window, C: Clock> Registry<W, C> {
    /// An empty registry whose breakers `factory` builds from a name and a
    /// config: another window or clock, event callbacks, tracing.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::{Config, CountWindow};
    /// use tripline::{CircuitBreaker, Registry};
    ///
    /// let registry = Registry::with_factory(|name, config| {
    ///     CircuitBreaker::builder(name).config(config).window(CountWindow::<20>::new()).build()
    /// });
    /// assert_eq!(registry.get_or_create("a", Config::DEFAULT).name(), "a");
    /// ```
    pub fn with_factory(
        factory: impl Fn(Arc<str>, Config) -> CircuitBreaker<W, C> + Send + Sync + 'static,
    ) -> Self {
        Registry {
            breakers: RwLock::new(BTreeMap::new()),
            factory: Box::new(factory),
        }
    }

    /// The breaker named `name`, created with `config` if there is none yet.
    /// An existing breaker keeps the config it was created with.
    pub fn get_or_create(&self, name: &str, config: Config) -> CircuitBreaker<W, C> {
        if let Some(found) = self.get(name) {
            return found;
        }
        let mut map = self
            .breakers
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        map.entry(Arc::from(name))
            .or_insert_with_key(|name| (self.factory)(Arc::clone(name), config))
            .clone()
    }

    /// The breaker named `name`, if there is one.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<CircuitBreaker<W, C>> {
        self.read().get(name).cloned()
    }

    /// Adds a breaker built elsewhere under its own name, returning the one it replaces.
    pub fn insert(&self, breaker: CircuitBreaker<W, C>) -> Option<CircuitBreaker<W, C>> {
        let name = Arc::from(breaker.name());
        self.breakers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name, breaker)
    }

    /// Removes the breaker named `name`; handles already given out keep working.
    pub fn remove(&self, name: &str) -> Option<CircuitBreaker<W, C>> {
        self.breakers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name)
    }

    /// The names, in order.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        self.read().keys().map(|k| k.to_string()).collect()
    }

    /// Every breaker's metrics, by name.
    #[must_use]
    pub fn snapshot(&self) -> Vec<Snapshot> {
        self.all()
            .into_iter()
            .map(|b| Snapshot {
                name: b.name().to_string(),
                metrics: b.metrics(),
            })
            .collect()
    }

    /// The names of the breakers rejecting calls now (open or forced open).
    #[must_use]
    pub fn open(&self) -> Vec<String> {
        self.all()
            .into_iter()
            .filter(|b| matches!(b.state(), State::Open | State::ForcedOpen))
            .map(|b| b.name().to_string())
            .collect()
    }

    /// How many breakers are in each state.
    #[must_use]
    pub fn health(&self) -> Health {
        self.all().iter().map(|b| b.state()).collect()
    }

    /// Resets every breaker (see [`Breaker::reset`](tripline_core::Breaker::reset)).
    pub fn reset_all(&self) {
        for b in self.all() {
            let _ = b.reset();
        }
    }

    /// How many breakers there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// The handles, copied out so no breaker is used under the map's lock.
    fn all(&self) -> Vec<CircuitBreaker<W, C>> {
        self.read().values().cloned().collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<Arc<str>, CircuitBreaker<W, C>>> {
        self.breakers.read().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<W, C> std::fmt::Debug for Registry<W, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = self.breakers.read().map(|m| m.len()).unwrap_or_default();
        f.debug_struct("Registry")
            .field("breakers", &names)
            .finish_non_exhaustive()
    }
}
