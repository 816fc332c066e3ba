//! [`Registry`]: named breakers for a service, with a health summary.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use tripline_core::{Clock, Config, Health, Metrics, State, Window};

use crate::handle::DefaultWindow;
use crate::{CircuitBreaker, StdClock};

type Factory<W, C> = dyn Fn(Arc<str>, Config) -> CircuitBreaker<W, C> + Send + Sync;

/// Named [`CircuitBreaker`]s: one per backend, created on first use.
///
/// Cloning is an `Arc` clone: every clone sees the same breakers, so hand
/// clones to tasks and handlers instead of wrapping the registry in an
/// `Arc`. Lookups take a read lock on the name map only; breaker operations
/// never hold it, so an event callback may use the registry.
///
/// A name has one breaker with one config: asking for an existing name with
/// another config returns the existing breaker, unchanged.
/// [`try_get_or_create`](Self::try_get_or_create) says so with a
/// [`ConfigMismatch`]; [`get_or_create`](Self::get_or_create) says so as a
/// `tracing` warning (with the `tracing` feature).
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
    inner: Arc<Inner<W, C>>,
}

struct Inner<W, C> {
    breakers: RwLock<BTreeMap<Arc<str>, CircuitBreaker<W, C>>>,
    factory: Box<Factory<W, C>>,
}

impl<W, C> Clone for Registry<W, C> {
    fn clone(&self) -> Self {
        Registry {
            inner: Arc::clone(&self.inner),
        }
    }
}

/// [`Registry::try_get_or_create`] found a breaker of that name with
/// another config. The breaker keeps its own config; here it is, with the
/// config that was asked for.
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use tripline::{Config, Registry};
///
/// let registry = Registry::new();
/// let strict = Config::builder().consecutive_failures(1).build()?;
/// registry.get_or_create("db", Config::DEFAULT);
/// let mismatch = registry.try_get_or_create("db", strict).unwrap_err();
/// assert_eq!(mismatch.breaker.config(), Config::DEFAULT);
/// assert_eq!(mismatch.requested, strict);
/// assert_eq!(
///     mismatch.to_string(),
///     "circuit breaker \"db\" already exists with another config; it keeps its own"
/// );
/// # Ok::<(), tripline::ConfigError>(())
/// ```
pub struct ConfigMismatch<W = DefaultWindow, C = StdClock> {
    /// The existing breaker, with the config it was created with.
    pub breaker: CircuitBreaker<W, C>,
    /// The config that was asked for and not applied.
    pub requested: Config,
}

impl<W, C> std::fmt::Display for ConfigMismatch<W, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "circuit breaker \"{}\" already exists with another config; it keeps its own",
            self.breaker.name()
        )
    }
}

impl<W, C> Clone for ConfigMismatch<W, C> {
    fn clone(&self) -> Self {
        ConfigMismatch {
            breaker: self.breaker.clone(),
            requested: self.requested,
        }
    }
}

impl<W, C> std::fmt::Debug for ConfigMismatch<W, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigMismatch")
            .field("breaker", &self.breaker)
            .field("requested", &self.requested)
            .finish()
    }
}

impl<W, C> std::error::Error for ConfigMismatch<W, C> {}

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

impl<C: Clock + Clone + Send + Sync + 'static> Registry<DefaultWindow, C> {
    /// An empty registry of breakers with the [`DefaultWindow`] and a clone
    /// of `clock` each: a `TokioClock` (paused time drives them), a
    /// `&'static MockClock` in tests, or any other [`Clock`] that clones.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use std::time::Duration;
    /// use tripline::{Config, MockClock, State};
    /// use tripline::Registry;
    ///
    /// static CLOCK: MockClock = MockClock::new();
    /// let registry = Registry::with_clock(&CLOCK);
    /// let config = Config::builder().consecutive_failures(1).open_duration(Duration::from_secs(5)).build()?;
    /// let db = registry.get_or_create("db", config);
    /// let _ = db.call(|| Err::<(), _>("down"));
    /// CLOCK.advance(Duration::from_secs(5));
    /// assert_eq!(db.state(), State::HalfOpen);
    /// # Ok::<(), tripline::ConfigError>(())
    /// ```
    pub fn with_clock(clock: C) -> Self {
        Registry::with_factory(move |name, config| {
            CircuitBreaker::builder(name)
                .config(config)
                .clock(clock.clone())
                .build()
        })
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
            inner: Arc::new(Inner {
                breakers: RwLock::new(BTreeMap::new()),
                factory: Box::new(factory),
            }),
        }
    }

    /// The breaker named `name`, created with `config` if there is none yet.
    ///
    /// An existing breaker keeps the config it was created with, even if
    /// `config` differs; with the `tracing` feature that is logged as a
    /// warning (`breaker`, `existing`, `requested`). To be told in code, use
    /// [`try_get_or_create`](Self::try_get_or_create).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::{Config, Registry};
    ///
    /// let registry = Registry::new();
    /// let a = registry.get_or_create("users", Config::DEFAULT);
    /// let b = registry.get_or_create("users", Config::DEFAULT);
    /// a.force_open().unwrap();
    /// assert_eq!(b.state(), a.state()); // the same breaker
    /// ```
    pub fn get_or_create(&self, name: &str, config: Config) -> CircuitBreaker<W, C> {
        match self.try_get_or_create(name, config) {
            Ok(breaker) => breaker,
            Err(mismatch) => {
                #[cfg(feature = "tracing")]
                tracing::warn!(
                    breaker = name,
                    existing = ?mismatch.breaker.config(),
                    requested = ?mismatch.requested,
                    "circuit breaker already exists with another config; it keeps its own"
                );
                mismatch.breaker
            }
        }
    }

    /// The breaker named `name`, created with `config` if there is none yet;
    /// a [`ConfigMismatch`] with the existing breaker if there is one whose
    /// config differs from `config` (it keeps its own).
    ///
    /// The config compared is the one the breaker was built with, by the
    /// registry's factory or before [`insert`](Self::insert).
    ///
    /// # Errors
    /// [`ConfigMismatch`], carrying the existing breaker and `config`.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::{Config, Registry};
    ///
    /// let registry = Registry::new();
    /// let lenient = Config::builder().consecutive_failures(50).build()?;
    /// assert!(registry.try_get_or_create("search", lenient).is_ok()); // created
    /// assert!(registry.try_get_or_create("search", lenient).is_ok()); // same config
    /// let other = registry.try_get_or_create("search", Config::DEFAULT);
    /// assert_eq!(other.unwrap_err().breaker.config(), lenient);
    /// # Ok::<(), tripline::ConfigError>(())
    /// ```
    pub fn try_get_or_create(
        &self,
        name: &str,
        config: Config,
    ) -> Result<CircuitBreaker<W, C>, ConfigMismatch<W, C>> {
        let breaker = match self.get(name) {
            Some(found) => found,
            None => {
                let mut map = self
                    .inner
                    .breakers
                    .write()
                    .unwrap_or_else(PoisonError::into_inner);
                map.entry(Arc::from(name))
                    .or_insert_with_key(|name| (self.inner.factory)(Arc::clone(name), config))
                    .clone()
            }
        };
        if breaker.config() == config {
            Ok(breaker)
        } else {
            Err(ConfigMismatch {
                breaker,
                requested: config,
            })
        }
    }

    /// The breaker named `name`, if there is one.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<CircuitBreaker<W, C>> {
        self.read().get(name).cloned()
    }

    /// Adds a breaker built elsewhere under its own name, returning the one it replaces.
    pub fn insert(&self, breaker: CircuitBreaker<W, C>) -> Option<CircuitBreaker<W, C>> {
        let name = Arc::from(breaker.name());
        self.inner
            .breakers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name, breaker)
    }

    /// Removes the breaker named `name`; handles already given out keep working.
    pub fn remove(&self, name: &str) -> Option<CircuitBreaker<W, C>> {
        self.inner
            .breakers
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
        self.inner
            .breakers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl<W, C> std::fmt::Debug for Registry<W, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = self
            .inner
            .breakers
            .read()
            .map(|m| m.len())
            .unwrap_or_default();
        f.debug_struct("Registry")
            .field("breakers", &names)
            .finish_non_exhaustive()
    }
}
