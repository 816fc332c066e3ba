//! Fleet mode (`redis` feature): a replica's breakers publish their events
//! and states to Redis, and may follow a peer replica's openings.
//!
//! Redis is never on a call's path. A breaker's observer only pushes state
//! changes into a bounded queue (dropping the oldest when full, counted) and
//! bumps a per-breaker rejection counter; a background task drains the queue
//! to Redis, publishes rejection counts once per second, refreshes this
//! replica's state hash, and reconnects with the core's [`Backoff`](tripline_core::Backoff). With
//! Redis slow or down, the breakers behave exactly as on one machine.
//!
//! Keys and channels:
//! - `tripline:breaker:<name>`: pub/sub channel, one JSON [`FleetMessage`] per event;
//! - `tripline:fleet:<replica>`: hash of breaker name → JSON [`FleetEntry`],
//!   expiring unless the replica keeps refreshing it.
//!
//! Following is a core decision ([`Breaker::follow_peer`](tripline_core::Breaker::follow_peer)):
//! only a closed breaker opens, for the peer's remaining open time capped
//! locally, then probes on its own.

mod config;
mod follower;
mod link;
mod message;
mod publisher;
mod stats;
mod status;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tripline_core::{Clock, Config, Event, Window};

use crate::handle::DefaultWindow;
use crate::{CircuitBreaker, CircuitBreakerBuilder, Registry, StdClock};

pub use config::{FleetConfig, FleetConfigBuilder, FleetConfigError};
pub use message::{FleetEntry, FleetEvent, FleetKey, FleetMessage};
pub use stats::{FleetDrops, FleetStats};
pub use status::fleet_status;

use stats::{Counts, Dropped};

/// A replica's breakers, reporting to and following the fleet through Redis.
///
/// ```no_run
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use std::time::Duration;
/// use tripline::{Config, Fleet, FleetConfig};
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let fleet = Fleet::new(FleetConfig::builder("redis://127.0.0.1:6379/", "replica-a").key(tripline::FleetKey::new([7; 32])?).build()?);
/// fleet.follow("payments", Duration::from_secs(30)); // open when a peer's opens, at most 30 s
/// let _tasks = fleet.start(); // background publisher and follower; stop on drop
/// let payments = fleet.registry().get_or_create("payments", Config::network());
/// let _ = payments.call(|| Ok::<_, ()>(()));
/// # Ok(()) }
/// ```
pub struct Fleet<W = DefaultWindow, C = StdClock> {
    shared: Arc<Shared>,
    registry: Arc<Registry<W, C>>,
}

/// The state the observers and the background tasks share.
struct Shared {
    config: FleetConfig,
    queue: Mutex<VecDeque<(Arc<str>, Event)>>,
    wake: Notify,
    rejections: Mutex<HashMap<Arc<str>, Arc<AtomicU64>>>,
    followed: Mutex<HashMap<String, Duration>>,
    follows_changed: Notify,
    last_error: Mutex<Option<String>>,
    /// The next message's sequence number.
    seq: AtomicU64,
    counts: Counts,
}

impl Fleet {
    /// A fleet of breakers with the [`DefaultWindow`] and a [`StdClock`].
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// let fleet = tripline::Fleet::new(tripline::FleetConfig::builder("redis://127.0.0.1/", "a").key(tripline::FleetKey::new([7; 32])?).build()?);
    /// assert!(fleet.registry().is_empty());
    /// # Ok::<(), tripline::FleetConfigError>(())
    /// ```
    #[must_use]
    pub fn new(config: FleetConfig) -> Self {
        Fleet::with_builder(config, |b| b)
    }
}

impl<W: Window + Send + 'static, C: Clock + Send + Sync + 'static> Fleet<W, C> {
    /// A fleet whose breakers `customize` shapes (window, clock, callbacks);
    /// the fleet adds its observer and builds them.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::{Config, CountWindow, Fleet, FleetConfig};
    /// let config = FleetConfig::builder("redis://127.0.0.1/", "a").key(tripline::FleetKey::new([7; 32])?).build()?;
    /// let fleet = Fleet::with_builder(config, |b| b.window(CountWindow::<32>::new()));
    /// let db = fleet.registry().get_or_create("db", Config::DEFAULT);
    /// assert_eq!(db.name(), "db");
    /// # Ok::<(), tripline::FleetConfigError>(())
    /// ```
    pub fn with_builder(
        config: FleetConfig,
        customize: impl Fn(CircuitBreakerBuilder) -> CircuitBreakerBuilder<W, C> + Send + Sync + 'static,
    ) -> Self {
        let shared = Arc::new(Shared {
            // Never grows: a state change on a call's path does not allocate.
            queue: Mutex::new(VecDeque::with_capacity(config.queue)),
            config,
            wake: Notify::new(),
            rejections: Mutex::new(HashMap::new()),
            followed: Mutex::new(HashMap::new()),
            follows_changed: Notify::new(),
            last_error: Mutex::new(None),
            seq: AtomicU64::new(unix_micros()),
            counts: Counts::default(),
        });
        let observed = Arc::clone(&shared);
        let registry = Registry::with_factory(move |name: Arc<str>, config: Config| {
            let rejected = Arc::new(AtomicU64::new(0));
            lock(&observed.rejections).insert(Arc::clone(&name), Arc::clone(&rejected));
            let shared = Arc::clone(&observed);
            let own = Arc::clone(&name);
            customize(CircuitBreaker::builder(name))
                .config(config)
                .on_event(move |event| shared.observe(&own, &rejected, event))
                .build()
        });
        Fleet {
            shared,
            registry: Arc::new(registry),
        }
    }

    /// This replica's breakers; create them here so they report to the fleet.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// let fleet = tripline::Fleet::new(tripline::FleetConfig::builder("redis://127.0.0.1/", "a").key(tripline::FleetKey::new([7; 32])?).build()?);
    /// fleet.registry().get_or_create("db", tripline::Config::DEFAULT);
    /// assert_eq!(fleet.registry().names(), ["db"]);
    /// # Ok::<(), tripline::FleetConfigError>(())
    /// ```
    #[must_use]
    pub fn registry(&self) -> &Arc<Registry<W, C>> {
        &self.registry
    }

    /// Removes the breaker named `name` from the registry and frees what the
    /// fleet kept for it (its rejection counter); handles already given out
    /// keep working but no longer count rejections for the fleet.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// let fleet = tripline::Fleet::new(tripline::FleetConfig::builder("redis://127.0.0.1/", "a").key(tripline::FleetKey::new([7; 32])?).build()?);
    /// fleet.registry().get_or_create("db", tripline::Config::DEFAULT);
    /// assert!(fleet.remove("db").is_some());
    /// assert!(fleet.registry().is_empty());
    /// # Ok::<(), tripline::FleetConfigError>(())
    /// ```
    pub fn remove(&self, name: &str) -> Option<CircuitBreaker<W, C>> {
        let removed = self.registry.remove(name);
        lock(&self.shared.rejections).remove(name);
        removed
    }

    /// Opts the breaker named `breaker` in to following peers: when another
    /// replica reports that its breaker of that name opened, this one opens
    /// too (if closed) for the peer's time, at most `cap`. The follower
    /// subscribes to that breaker's channel only (`SUBSCRIBE`, not a pattern).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use std::time::Duration;
    /// let fleet = tripline::Fleet::new(tripline::FleetConfig::builder("redis://127.0.0.1/", "a").key(tripline::FleetKey::new([7; 32])?).build()?);
    /// fleet.follow("payments", Duration::from_secs(30));
    /// # Ok::<(), tripline::FleetConfigError>(())
    /// ```
    pub fn follow(&self, breaker: &str, cap: Duration) {
        lock(&self.shared.followed).insert(breaker.to_string(), cap);
        self.shared.follows_changed.notify_one();
    }

    /// Starts the publisher and the follower on the current tokio runtime.
    /// They stop when the returned [`FleetTasks`] is dropped.
    ///
    /// ```no_run
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// # #[tokio::main] async fn main() -> Result<(), tripline::FleetConfigError> {
    /// let fleet = tripline::Fleet::new(tripline::FleetConfig::builder("redis://127.0.0.1/", "a").key(tripline::FleetKey::new([7; 32])?).build()?);
    /// let tasks = fleet.start();
    /// assert!(!tasks.is_finished());
    /// # Ok(()) }
    /// ```
    #[must_use = "the fleet's tasks stop when this is dropped"]
    pub fn start(&self) -> FleetTasks {
        let c = &self.shared.counts;
        c.publisher_running.store(true, Ordering::Relaxed);
        c.follower_running.store(true, Ordering::Relaxed);
        let publisher = tokio::spawn(publisher::publish(
            Arc::clone(&self.shared),
            Arc::clone(&self.registry),
        ));
        let follower = tokio::spawn(follower::follow(
            Arc::clone(&self.shared),
            Arc::clone(&self.registry),
        ));
        FleetTasks {
            tasks: [publisher, follower],
        }
    }

    /// What the fleet glue has done so far.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// let fleet = tripline::Fleet::new(tripline::FleetConfig::builder("redis://127.0.0.1/", "a").key(tripline::FleetKey::new([7; 32])?).build()?);
    /// assert_eq!(fleet.stats().published, 0);
    /// # Ok::<(), tripline::FleetConfigError>(())
    /// ```
    #[must_use]
    pub fn stats(&self) -> FleetStats {
        self.shared.counts.stats()
    }

    /// [`fleet_status`] through this fleet's client (its TLS settings) and
    /// key: the entries of every replica that verify.
    ///
    /// # Errors
    /// Redis' error if it cannot be reached.
    ///
    /// ```no_run
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let fleet = tripline::Fleet::new(tripline::FleetConfig::builder("redis://127.0.0.1/", "a")
    ///     .key(tripline::FleetKey::new([7; 32])?).build()?);
    /// for e in fleet.status().await? {
    ///     println!("{} {} {}", e.replica, e.breaker, e.state);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn status(&self) -> redis::RedisResult<Vec<FleetEntry>> {
        status::status(&self.shared.config.client, self.shared.config.key.as_ref()).await
    }

    /// The last error Redis (or the link to it) gave either task, for a log
    /// line or a health page: a refused connection, a TLS failure, `READONLY`.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// let fleet = tripline::Fleet::new(tripline::FleetConfig::builder("redis://127.0.0.1/", "a").key(tripline::FleetKey::new([7; 32])?).build()?);
    /// assert_eq!(fleet.last_error(), None);
    /// # Ok::<(), tripline::FleetConfigError>(())
    /// ```
    #[must_use]
    pub fn last_error(&self) -> Option<String> {
        lock(&self.shared.last_error).clone()
    }
}

/// The fleet's background tasks; dropping this stops them.
///
/// ```no_run
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// # #[tokio::main] async fn main() -> Result<(), tripline::FleetConfigError> {
/// let fleet = tripline::Fleet::new(tripline::FleetConfig::builder("redis://127.0.0.1/", "a").key(tripline::FleetKey::new([7; 32])?).build()?);
/// let tasks = fleet.start();
/// drop(tasks); // both tasks stop
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct FleetTasks {
    tasks: [tokio::task::JoinHandle<()>; 2],
}

impl FleetTasks {
    /// Whether either task has ended (they run until dropped, so an end
    /// before that is a panic; [`FleetStats`] says which).
    ///
    /// ```no_run
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// # #[tokio::main] async fn main() -> Result<(), tripline::FleetConfigError> {
    /// let fleet = tripline::Fleet::new(tripline::FleetConfig::builder("redis://127.0.0.1/", "a").key(tripline::FleetKey::new([7; 32])?).build()?);
    /// assert!(!fleet.start().is_finished());
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.tasks.iter().any(tokio::task::JoinHandle::is_finished)
    }
}

impl Drop for FleetTasks {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Clears a task's running flag however the task ends: returned, panicked
/// (unwinding drops it) or aborted (its future is dropped).
struct Running<'a>(&'a AtomicBool);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

/// The key prefix of the replicas' state hashes.
const FLEET_PREFIX: &str = "tripline:fleet:";
/// The channel prefix of the breakers' events.
const CHANNEL_PREFIX: &str = "tripline:breaker:";

impl Shared {
    /// Runs on the calling thread after the breaker's lock is released: no
    /// I/O, no waiting, no allocation (the queue's capacity is reserved), a
    /// short queue lock only on state changes.
    fn observe(&self, breaker: &Arc<str>, rejected: &AtomicU64, event: &Event) {
        match event {
            Event::Rejected(_) => {
                rejected.fetch_add(1, Ordering::Relaxed);
            }
            Event::StateChanged { .. } => {
                let mut queue = lock(&self.queue);
                if queue.len() >= self.config.queue {
                    queue.pop_front();
                    self.counts.dropped.fetch_add(1, Ordering::Relaxed);
                }
                queue.push_back((Arc::clone(breaker), *event));
                drop(queue);
                self.wake.notify_one();
            }
            _ => {}
        }
    }

    fn channel(breaker: &str) -> String {
        format!("{CHANNEL_PREFIX}{breaker}")
    }

    fn hash(&self) -> String {
        format!("{FLEET_PREFIX}{}", self.config.replica)
    }

    /// A message from this replica: stamped, numbered and signed.
    fn message(&self, breaker: &str, kind: FleetEvent) -> FleetMessage {
        let mut message = FleetMessage {
            replica: self.config.replica.clone(),
            breaker: breaker.to_string(),
            kind,
            sent_ms: unix_millis(),
            seq: self.seq.fetch_add(1, Ordering::Relaxed),
            mac: None,
        };
        if let Some(key) = &self.config.key {
            message.sign(key);
        }
        message
    }

    fn drop_message(&self, why: Dropped) {
        self.counts.drops[why as usize].fetch_add(1, Ordering::Relaxed);
    }
}

/// The one place the fleet changes a breaker: follow a peer's opening.
fn follow_peer<W: Window, C: Clock>(
    breaker: &CircuitBreaker<W, C>,
    peer: Duration,
    cap: Duration,
) -> bool {
    breaker.follow_peer(peer, cap) == Ok(true)
}

/// The one place the fleet reads a breaker (lock-free): its metrics and,
/// if open, how long it stays so.
fn read<W: Window, C: Clock>(
    breaker: &CircuitBreaker<W, C>,
) -> (tripline_core::Metrics, Option<Duration>) {
    (breaker.metrics(), breaker.retry_after())
}

fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, millis)
}

fn unix_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A jitter seed per replica, so a fleet does not reconnect in step.
fn seed(replica: &str) -> u32 {
    replica.bytes().fold(0x811C_9DC5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}
