//! [`CircuitBreaker`]: the `Send + Sync`, cheap-to-clone breaker handle for std.

use std::collections::BTreeSet;
use std::future::Future;
use std::ops::Deref;
use std::sync::{Arc, Mutex, PoisonError};

use tripline_core::shared::SharedBreaker;
use tripline_core::{
    CallError, Clock, Config, CountWindow, Event, Interest, Observer, Outcome, Rejected,
    SharedPermit, State, TimeoutError, Window,
};

use crate::{EventFn, Hub, StdClock, StdLock};

/// The window a [`CircuitBreaker`] uses unless told otherwise: the last 100
/// calls (resilience4j's default sliding window), 120 bytes.
pub type DefaultWindow = CountWindow<100>;

/// The core breaker inside a [`CircuitBreaker`]: a per-breaker mutex and a [`Hub`].
pub type StdSharedBreaker<W = DefaultWindow, C = StdClock> = SharedBreaker<W, C, Hub, StdLock>;

/// A permit that owns a handle to its breaker, so it can travel into a
/// `'static` future or another thread. Dropping it unrecorded cancels it.
pub type OwnedPermit<W = DefaultWindow, C = StdClock> = SharedPermit<Arc<StdSharedBreaker<W, C>>>;

/// A named circuit breaker for threads and async tasks.
///
/// Cloning is an `Arc` clone: every clone is the same breaker. It derefs to
/// the core [`SharedBreaker`], so `call`, `call_with`, `call_async`,
/// `try_acquire`, `state`, `metrics`, `retry_after`, `reset`, `force_open`,
/// `disable` and the rest are all here, with one decision procedure shared
/// with the firmware build. A healthy call takes no lock and writes no
/// cache line another thread writes; each breaker has its own lock for the
/// calls that change its state, and events reach observers after it is
/// released. Reads (`state`, `metrics`, `retry_after`) take no lock.
///
/// The calls that can be rejected (`try_acquire`, `try_acquire_owned`,
/// `call`, `call_with`, `call_async`, `call_async_with`, the timeout forms
/// and `call_or_else`) are the handle's own: they are the core's, and set
/// the breaker's name on the [`Rejected`] (one store on the rejection path),
/// so it prints `circuit breaker "inventory" is open; retry in 9.9 s`.
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use std::time::Duration;
/// use tripline::{CallError, Config, State};
/// use tripline::CircuitBreaker;
///
/// let config = Config::builder()
///     .consecutive_failures(3)
///     .open_duration(Duration::from_secs(10))
///     .build()?;
/// let backend = CircuitBreaker::new("inventory", config);
///
/// for _ in 0..3 {
///     let _ = backend.call(|| Err::<(), _>("connection refused"));
/// }
/// assert_eq!(backend.state(), State::Open);
/// match backend.call(|| Ok::<_, &str>("never runs")) {
///     Err(CallError::Rejected(r)) => assert!(r.retry_after() <= Some(Duration::from_secs(10))),
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct CircuitBreaker<W = DefaultWindow, C = StdClock> {
    shared: Arc<StdSharedBreaker<W, C>>,
    /// The name, interned once at build, for rejections.
    name: &'static str,
}

/// The names of every breaker built in this process, each leaked once.
static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());

/// `name` as a `&'static str`: the one copy for this name in the process,
/// made (leaked) the first time the name is seen.
fn intern(name: &str) -> &'static str {
    let mut names = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = names.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(Box::from(name));
    names.insert(leaked);
    leaked
}

impl CircuitBreaker {
    /// A breaker named `name` with `config`, the [`DefaultWindow`] and a [`StdClock`].
    #[must_use]
    pub fn new(name: impl Into<Arc<str>>, config: Config) -> Self {
        CircuitBreaker::builder(name).config(config).build()
    }

    /// A builder, for another window, clock, or event callbacks.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use std::time::Duration;
    /// use tripline::{Config, Rate, TimeWindow};
    /// use tripline::{CircuitBreaker, StdClock};
    ///
    /// let breaker = CircuitBreaker::builder("search")
    ///     .config(Config::builder().failure_rate(Rate::percent(50)).minimum_calls(20).build()?)
    ///     .window(TimeWindow::<10>::new(Duration::from_secs(60))?)
    ///     .clock(StdClock::new())
    ///     .on_event(|e| eprintln!("search: {e:?}"))
    ///     .build();
    /// assert_eq!(breaker.name(), "search");
    /// # Ok::<(), tripline::ConfigError>(())
    /// ```
    pub fn builder(name: impl Into<Arc<str>>) -> CircuitBreakerBuilder {
        CircuitBreakerBuilder {
            name: name.into(),
            config: Config::DEFAULT,
            window: CountWindow::new(),
            clock: StdClock::new(),
            callbacks: Vec::new(),
        }
    }
}

impl<W, C> CircuitBreaker<W, C> {
    /// The name it was built with.
    #[must_use]
    pub fn name(&self) -> &str {
        self.shared.observer().name()
    }
}

impl<W: Window, C: Clock> CircuitBreaker<W, C> {
    /// As the core's [`try_acquire`](SharedBreaker::try_acquire), with the
    /// breaker's name on a rejection.
    ///
    /// # Errors
    /// The [`Rejected`] reason and `retry_after`, naming this breaker.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::{CircuitBreaker, Config};
    ///
    /// let b = CircuitBreaker::new("db", Config::DEFAULT);
    /// b.force_open().unwrap();
    /// let rejected = b.try_acquire().unwrap_err();
    /// assert_eq!(rejected.breaker_name(), Some("db"));
    /// assert_eq!(rejected.to_string(), "circuit breaker \"db\" is forced open");
    /// ```
    #[inline]
    pub fn try_acquire(&self) -> Result<SharedPermit<&StdSharedBreaker<W, C>>, Rejected> {
        self.shared
            .try_acquire()
            .map_err(|r| r.with_name(self.name))
    }

    /// As the core's [`call`](SharedBreaker::call), with the breaker's name
    /// on a rejection.
    ///
    /// # Errors
    /// [`CallError::Rejected`] without running `f`, or `f`'s own error.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::{CallError, CircuitBreaker, Config};
    ///
    /// let b = CircuitBreaker::new("search", Config::DEFAULT);
    /// assert_eq!(b.call(|| Ok::<_, ()>(3)), Ok(3));
    /// b.force_open().unwrap();
    /// let e = b.call(|| Ok::<_, ()>(3)).unwrap_err();
    /// assert_eq!(e.rejected().and_then(|r| r.breaker_name()), Some("search"));
    /// ```
    #[inline]
    pub fn call<T, E>(&self, f: impl FnOnce() -> Result<T, E>) -> Result<T, CallError<E>> {
        self.named(self.shared.call(f))
    }

    /// As the core's [`call_with`](SharedBreaker::call_with), with the
    /// breaker's name on a rejection.
    ///
    /// # Errors
    /// As [`call`](Self::call).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::{CircuitBreaker, Config, Outcome};
    ///
    /// let b = CircuitBreaker::new("search", Config::DEFAULT);
    /// let r = b.call_with(|| Ok::<u16, ()>(503), |r| match r {
    ///     Ok(500..) => Outcome::Failure,
    ///     other => Outcome::of(other),
    /// });
    /// assert_eq!(r, Ok(503));
    /// assert_eq!(b.metrics().failures, 1);
    /// ```
    #[inline]
    pub fn call_with<T, E>(
        &self,
        f: impl FnOnce() -> Result<T, E>,
        classify: impl FnOnce(&Result<T, E>) -> Outcome,
    ) -> Result<T, CallError<E>> {
        self.named(self.shared.call_with(f, classify))
    }

    /// As the core's [`call_or_else`](SharedBreaker::call_or_else), with the
    /// breaker's name on the rejection `fallback` may receive.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::{CircuitBreaker, Config};
    ///
    /// let b = CircuitBreaker::new("prices", Config::DEFAULT);
    /// b.force_open().unwrap();
    /// let why = b.call_or_else(|| Ok::<_, &str>(String::new()), |e| e.to_string());
    /// assert_eq!(why, "circuit breaker \"prices\" is forced open");
    /// ```
    pub fn call_or_else<T, E>(
        &self,
        f: impl FnOnce() -> Result<T, E>,
        fallback: impl FnOnce(CallError<E>) -> T,
    ) -> T {
        self.call(f).unwrap_or_else(fallback)
    }

    /// As the core's [`call_async`](SharedBreaker::call_async), with the
    /// breaker's name on a rejection.
    ///
    /// # Errors
    /// [`CallError::Rejected`] without polling `work`, or the work's own error.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::{CircuitBreaker, Config};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let b = CircuitBreaker::new("quotes", Config::DEFAULT);
    /// b.force_open().unwrap();
    /// let e = b.call_async(async { Ok::<_, &str>(1) }).await.unwrap_err();
    /// assert_eq!(e.to_string(), "circuit breaker \"quotes\" is forced open");
    /// # }
    /// ```
    pub async fn call_async<T, E>(
        &self,
        work: impl Future<Output = Result<T, E>>,
    ) -> Result<T, CallError<E>> {
        self.named(self.shared.call_async(work).await)
    }

    /// As the core's [`call_async_with`](SharedBreaker::call_async_with),
    /// with the breaker's name on a rejection.
    ///
    /// # Errors
    /// As [`call_async`](Self::call_async).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::{CircuitBreaker, Config, Outcome};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let b = CircuitBreaker::new("quotes", Config::DEFAULT);
    /// let r = b.call_async_with(async { Err::<(), _>(404) }, |_| Outcome::Ignored).await;
    /// assert!(r.is_err());
    /// assert_eq!(b.metrics().ignored, 1);
    /// # }
    /// ```
    pub async fn call_async_with<T, E>(
        &self,
        work: impl Future<Output = Result<T, E>>,
        classify: impl FnOnce(&Result<T, E>) -> Outcome,
    ) -> Result<T, CallError<E>> {
        self.named(self.shared.call_async_with(work, classify).await)
    }

    /// As the core's
    /// [`call_async_with_timer`](SharedBreaker::call_async_with_timer), with
    /// the breaker's name on a rejection.
    ///
    /// # Errors
    /// [`TimeoutError::Rejected`], [`TimeoutError::Elapsed`], or the work's error.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use std::future::{pending, ready};
    /// use std::time::Duration;
    /// use tripline::{CircuitBreaker, Config, Outcome, TimeoutError};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let b = CircuitBreaker::new("quotes", Config::DEFAULT);
    /// let fired = |_: Duration| ready(()); // a timer that has already fired
    /// let r = b.call_async_with_timer(pending::<Result<(), ()>>(), Duration::from_secs(1), fired, Outcome::of).await;
    /// assert_eq!(r, Err(TimeoutError::Elapsed(Duration::from_secs(1))));
    /// # }
    /// ```
    pub async fn call_async_with_timer<T, E, S: Future<Output = ()>>(
        &self,
        work: impl Future<Output = Result<T, E>>,
        timeout: std::time::Duration,
        sleep: impl FnOnce(std::time::Duration) -> S,
        classify: impl FnOnce(&Result<T, E>) -> Outcome,
    ) -> Result<T, TimeoutError<E>> {
        let result = self
            .shared
            .call_async_with_timer(work, timeout, sleep, classify)
            .await;
        match result {
            Err(TimeoutError::Rejected(r)) => Err(TimeoutError::Rejected(r.with_name(self.name))),
            other => other,
        }
    }

    /// The name on a rejection; everything else as it was.
    #[inline]
    fn named<T, E>(&self, result: Result<T, CallError<E>>) -> Result<T, CallError<E>> {
        match result {
            Err(CallError::Rejected(r)) => Err(CallError::Rejected(r.with_name(self.name))),
            other => other,
        }
    }

    /// As [`try_acquire`](SharedBreaker::try_acquire), for a permit that can
    /// leave this scope (into a spawned task, a tower response future).
    ///
    /// # Errors
    /// The [`Rejected`] reason and `retry_after`, naming this breaker.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::{Config, Outcome, Recorded};
    /// use tripline::CircuitBreaker;
    ///
    /// let b = CircuitBreaker::new("db", Config::DEFAULT);
    /// let permit = b.try_acquire_owned()?;
    /// let worker = std::thread::spawn(move || permit.record(Outcome::Success));
    /// assert_eq!(worker.join().unwrap(), Ok(Recorded::Counted));
    /// # Ok::<(), tripline::Rejected>(())
    /// ```
    #[inline]
    pub fn try_acquire_owned(&self) -> Result<OwnedPermit<W, C>, tripline_core::Rejected> {
        SharedBreaker::try_acquire_via(Arc::clone(&self.shared)).map_err(|r| r.with_name(self.name))
    }

    /// Awaits `work` for at most `timeout` (tokio's timer, so paused time
    /// drives it), counting `Err` and the timeout as failures.
    ///
    /// A timeout drops `work` and is recorded as a failure lasting
    /// `timeout`, so slow-call rules count it too. A rejected call never
    /// polls `work`; dropping the returned future cancels the permit.
    ///
    /// # Errors
    /// [`TimeoutError::Rejected`], [`TimeoutError::Elapsed`], or the work's error.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use std::time::Duration;
    /// use tripline::{Config, TimeoutError};
    /// use tripline::{CircuitBreaker, TokioClock};
    ///
    /// #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// async fn main() {
    ///     let b = CircuitBreaker::builder("api").clock(TokioClock::new()).build();
    ///     let slow = async {
    ///         tokio::time::sleep(Duration::from_secs(5)).await;
    ///         Ok::<_, std::io::Error>("late")
    ///     };
    ///     let r = b.call_async_with_timeout(slow, Duration::from_secs(1)).await;
    ///     assert!(matches!(r, Err(TimeoutError::Elapsed(_))));
    ///     assert_eq!(b.metrics().failures, 1);
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn call_async_with_timeout<T, E>(
        &self,
        work: impl Future<Output = Result<T, E>>,
        timeout: std::time::Duration,
    ) -> Result<T, TimeoutError<E>> {
        self.call_async_with_timeout_by(work, timeout, Outcome::of)
            .await
    }

    /// As [`call_async_with_timeout`](CircuitBreaker::call_async_with_timeout),
    /// recording what `classify` makes of a result that beat the timeout.
    ///
    /// # Errors
    /// As [`call_async_with_timeout`](CircuitBreaker::call_async_with_timeout).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use std::time::Duration;
    /// use tripline::{Config, Outcome};
    /// use tripline::{CircuitBreaker, TokioClock};
    ///
    /// #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// async fn main() {
    ///     let b = CircuitBreaker::builder("api").clock(TokioClock::new()).build();
    ///     let status = async { Ok::<u16, ()>(503) };
    ///     let by_status = |r: &Result<u16, ()>| match r {
    ///         Ok(s) if *s >= 500 => Outcome::Failure,
    ///         other => Outcome::of(other),
    ///     };
    ///     let r = b.call_async_with_timeout_by(status, Duration::from_secs(1), by_status).await;
    ///     assert_eq!(r, Ok(503));
    ///     assert_eq!(b.metrics().failures, 1);
    /// }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn call_async_with_timeout_by<T, E>(
        &self,
        work: impl Future<Output = Result<T, E>>,
        timeout: std::time::Duration,
        classify: impl FnOnce(&Result<T, E>) -> Outcome,
    ) -> Result<T, TimeoutError<E>> {
        self.call_async_with_timer(work, timeout, tokio::time::sleep, classify)
            .await
    }

    /// The state as of the last state change, for a monitoring task.
    ///
    /// Open → HalfOpen is committed when the breaker is next used (a call or
    /// a permit; the core decides lazily), so a watcher sees it then, not at
    /// the instant the open time ends. `state()` reports the due state at once.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::{shared::SharedBreaker, Breaker, State};
    /// use tripline::CircuitBreaker;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let b = CircuitBreaker::new("cache", Default::default());
    /// let mut state = b.watch_state();
    /// b.force_open().unwrap();
    /// state.changed().await.unwrap();
    /// assert_eq!(*state.borrow(), State::ForcedOpen);
    /// # }
    /// ```
    #[cfg(feature = "tokio")]
    #[must_use]
    pub fn watch_state(&self) -> tokio::sync::watch::Receiver<State> {
        self.shared.observer().watch_state()
    }

    /// Every event from now on; a subscriber more than 64 events behind
    /// gets `RecvError::Lagged` and continues.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::{Event, Breaker};
    /// use tripline::CircuitBreaker;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let b = CircuitBreaker::new("cache", Default::default());
    /// let mut events = b.subscribe();
    /// let _ = b.call(|| Ok::<_, ()>(()));
    /// assert!(matches!(events.recv().await, Ok(Event::Success { .. })));
    /// # }
    /// ```
    #[cfg(feature = "tokio")]
    #[must_use]
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.shared.observer().subscribe()
    }
}

impl<W, C> Clone for CircuitBreaker<W, C> {
    fn clone(&self) -> Self {
        CircuitBreaker {
            shared: Arc::clone(&self.shared),
            name: self.name,
        }
    }
}

impl<W, C> Deref for CircuitBreaker<W, C> {
    type Target = StdSharedBreaker<W, C>;

    fn deref(&self) -> &Self::Target {
        &self.shared
    }
}

impl<W, C> std::fmt::Debug for CircuitBreaker<W, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}

/// Builds a [`CircuitBreaker`]; from [`CircuitBreaker::builder`].
#[must_use = "a builder does nothing until `build` is called"]
pub struct CircuitBreakerBuilder<W = DefaultWindow, C = StdClock> {
    name: Arc<str>,
    config: Config,
    window: W,
    clock: C,
    callbacks: Vec<(Interest, EventFn)>,
}

impl<W: Window, C: Clock> CircuitBreakerBuilder<W, C> {
    /// The configuration (default: [`Config::DEFAULT`]).
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Another window (default: [`DefaultWindow`]).
    pub fn window<W2: Window>(self, window: W2) -> CircuitBreakerBuilder<W2, C> {
        CircuitBreakerBuilder {
            name: self.name,
            config: self.config,
            window,
            clock: self.clock,
            callbacks: self.callbacks,
        }
    }

    /// Another clock (default: [`StdClock`]; under tokio, a `TokioClock` so
    /// that paused time drives the breaker).
    pub fn clock<C2: Clock>(self, clock: C2) -> CircuitBreakerBuilder<W, C2> {
        CircuitBreakerBuilder {
            name: self.name,
            config: self.config,
            window: self.window,
            clock,
            callbacks: self.callbacks,
        }
    }

    /// Calls `f` with every event, in order, after the lock is released.
    /// `f` may call back into the breaker.
    ///
    /// A callback that wants every event (successes included) costs every
    /// call the lock-free path; [`on_state_change`](Self::on_state_change)
    /// does not.
    pub fn on_event(self, f: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        self.on_events_of(Interest::ALL, f)
    }

    /// Calls `f` with the events of the kinds in `interest` only, in order.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::sync::Arc;
    /// use tripline::{CircuitBreaker, Interest};
    ///
    /// let rejections = Arc::new(AtomicU32::new(0));
    /// let seen = Arc::clone(&rejections);
    /// let b = CircuitBreaker::builder("db")
    ///     .on_events_of(Interest::REJECTED, move |_| {
    ///         seen.fetch_add(1, Ordering::Relaxed);
    ///     })
    ///     .build();
    /// b.force_open().unwrap();
    /// let _ = b.call(|| Ok::<_, ()>(()));
    /// assert_eq!(rejections.load(Ordering::Relaxed), 1);
    /// ```
    pub fn on_events_of(
        mut self,
        interest: Interest,
        f: impl Fn(&Event) + Send + Sync + 'static,
    ) -> Self {
        self.callbacks.push((interest, Box::new(f)));
        self
    }

    /// Calls `f` with every state change, in order: `(from, to)`.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use std::sync::{Arc, Mutex};
    /// use tripline::{CircuitBreaker, State};
    ///
    /// let log = Arc::new(Mutex::new(Vec::new()));
    /// let sink = Arc::clone(&log);
    /// let b = CircuitBreaker::builder("db")
    ///     .on_state_change(move |from, to| sink.lock().unwrap().push((from, to)))
    ///     .build();
    /// b.force_open().unwrap();
    /// assert_eq!(*log.lock().unwrap(), [(State::Closed, State::ForcedOpen)]);
    /// ```
    pub fn on_state_change(self, f: impl Fn(State, State) + Send + Sync + 'static) -> Self {
        self.on_events_of(Interest::STATE_CHANGED, move |e| {
            if let Event::StateChanged { from, to, .. } = *e {
                f(from, to);
            }
        })
    }

    /// Sends `observer` (a core [`Observer`]) the events its
    /// [`interest`](Observer::interest) names when the breaker is built.
    pub fn observer(self, observer: impl Observer + Send + Sync + 'static) -> Self {
        let interest = observer.interest();
        self.on_events_of(interest, move |e| observer.on_event(e))
    }

    /// The breaker.
    ///
    /// Its name is interned here, so that every rejection can carry it as a
    /// `&'static str` without a lock or an allocation on the call path: the
    /// first breaker of each distinct name in the process leaks one copy of
    /// it (a process-wide set, never freed), later breakers of that name
    /// share it. A program that builds breakers from unbounded input (one
    /// per URL, say) should bound the names (one per host).
    pub fn build(self) -> CircuitBreaker<W, C> {
        let name = intern(&self.name);
        let hub = Hub::new(self.name, self.config.initial_state(), self.callbacks);
        CircuitBreaker {
            shared: Arc::new(SharedBreaker::with_lock(
                self.config,
                self.window,
                self.clock,
                hub,
            )),
            name,
        }
    }
}
