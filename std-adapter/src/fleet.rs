//! Fleet mode (`redis` feature): a replica's breakers publish their events
//! and states to Redis, and may follow a peer replica's openings.
//!
//! Redis is never on a call's path. A breaker's observer only pushes state
//! changes into a bounded queue (dropping the oldest when full, counted) and
//! bumps a per-breaker rejection counter; a background task drains the queue
//! to Redis, publishes rejection counts once per second, refreshes this
//! replica's state hash, and reconnects with the core's [`Backoff`]. With
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

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::MultiplexedConnection;
use redis::AsyncCommands;
use tokio::sync::Notify;
use tripline_core::{Backoff, Clock, Config, Event, Jitter, Reason, State, Window};

use crate::handle::DefaultWindow;
use crate::{CircuitBreaker, CircuitBreakerBuilder, Registry, StdClock};

/// Where and how a replica reports to Redis.
///
/// ```
/// use tripline_std::FleetConfig;
/// let config = FleetConfig::new("redis://127.0.0.1:6379/", "checkout-7f9c");
/// assert_eq!(config.queue, 1024);
/// ```
#[derive(Clone, Debug)]
pub struct FleetConfig {
    /// The Redis URL, e.g. `redis://127.0.0.1:6379/`.
    pub url: String,
    /// This replica's id (a pod name, a host name); unique in the fleet.
    pub replica: String,
    /// State changes held while Redis is unreachable; the oldest are dropped beyond it.
    pub queue: usize,
    /// How often this replica's state hash is refreshed; it expires after three misses.
    pub heartbeat: Duration,
    /// The longest one Redis command may take before the connection is deemed broken.
    pub op_timeout: Duration,
}

impl FleetConfig {
    /// A config with a 1024-event queue, a 5 s heartbeat and a 500 ms command timeout.
    #[must_use]
    pub fn new(url: impl Into<String>, replica: impl Into<String>) -> Self {
        FleetConfig {
            url: url.into(),
            replica: replica.into(),
            queue: 1024,
            heartbeat: Duration::from_secs(5),
            op_timeout: Duration::from_millis(500),
        }
    }
}

/// One event on a breaker's channel, as JSON.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FleetMessage {
    /// The replica that sent it.
    pub replica: String,
    /// The breaker's name.
    pub breaker: String,
    /// What happened.
    #[serde(flatten)]
    pub kind: FleetEvent,
}

/// What a [`FleetMessage`] reports.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum FleetEvent {
    /// The breaker changed state.
    StateChanged {
        /// The state it left.
        from: State,
        /// The state it entered.
        to: State,
        /// Why.
        reason: Reason,
        /// For Open: how long it stays open from when this was sent, in ms.
        open_for_ms: Option<u64>,
    },
    /// Calls rejected since the last such message (sent at most once per second).
    Rejections {
        /// How many.
        count: u64,
    },
}

/// One breaker of one replica, from the fleet's state hashes.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FleetEntry {
    /// The replica.
    #[serde(default)]
    pub replica: String,
    /// The breaker's name.
    #[serde(default)]
    pub breaker: String,
    /// Its state at the last refresh.
    pub state: State,
    /// How long it stays open, in ms, if open.
    pub retry_after_ms: Option<u64>,
    /// Calls it rejected since it started.
    pub rejected: u64,
}

/// What the fleet glue did: for a health check or a dashboard.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct FleetStats {
    /// Messages published to Redis.
    pub published: u64,
    /// State changes dropped because the queue was full while Redis was away.
    pub dropped: u64,
    /// Connections to Redis made (the first one included).
    pub connects: u64,
    /// Attempts to connect that failed.
    pub connect_failures: u64,
    /// Peer openings this replica followed.
    pub followed: u64,
    /// Whether the publisher is connected now.
    pub connected: bool,
    /// Whether the follower is subscribed to the fleet's channels now.
    pub subscribed: bool,
}

/// A replica's breakers, reporting to and following the fleet through Redis.
///
/// ```no_run
/// use std::time::Duration;
/// use tripline_core::Config;
/// use tripline_std::{Fleet, FleetConfig};
///
/// # #[tokio::main] async fn main() {
/// let fleet = Fleet::new(FleetConfig::new("redis://127.0.0.1:6379/", "replica-a"));
/// fleet.follow("payments", Duration::from_secs(30)); // open when a peer's opens, at most 30 s
/// let _tasks = fleet.start(); // background publisher and follower; stop on drop
/// let payments = fleet.registry().get_or_create("payments", Config::network());
/// let _ = payments.call(|| Ok::<_, ()>(()));
/// # }
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
    counts: Counts,
}

#[derive(Default)]
struct Counts {
    published: AtomicU64,
    dropped: AtomicU64,
    connects: AtomicU64,
    connect_failures: AtomicU64,
    followed: AtomicU64,
    connected: AtomicBool,
    subscribed: AtomicBool,
}

impl Fleet {
    /// A fleet of breakers with the [`DefaultWindow`] and a [`StdClock`].
    #[must_use]
    pub fn new(config: FleetConfig) -> Self {
        Fleet::with_builder(config, |b| b)
    }
}

impl<W: Window + Send + 'static, C: Clock + Send + Sync + 'static> Fleet<W, C> {
    /// A fleet whose breakers `customize` shapes (window, clock, callbacks);
    /// the fleet adds its observer and builds them.
    pub fn with_builder(
        config: FleetConfig,
        customize: impl Fn(CircuitBreakerBuilder) -> CircuitBreakerBuilder<W, C> + Send + Sync + 'static,
    ) -> Self {
        let shared = Arc::new(Shared {
            config,
            queue: Mutex::new(VecDeque::new()),
            wake: Notify::new(),
            rejections: Mutex::new(HashMap::new()),
            followed: Mutex::new(HashMap::new()),
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
    #[must_use]
    pub fn registry(&self) -> &Arc<Registry<W, C>> {
        &self.registry
    }

    /// Opts the breaker named `breaker` in to following peers: when another
    /// replica reports that its breaker of that name opened, this one opens
    /// too (if closed) for the peer's time, at most `cap`.
    pub fn follow(&self, breaker: &str, cap: Duration) {
        lock(&self.shared.followed).insert(breaker.to_string(), cap);
    }

    /// Starts the publisher and the follower on the current tokio runtime.
    /// They stop when the returned [`FleetTasks`] is dropped.
    #[must_use = "the fleet's tasks stop when this is dropped"]
    pub fn start(&self) -> FleetTasks {
        let publisher = tokio::spawn(publish(
            Arc::clone(&self.shared),
            Arc::clone(&self.registry),
        ));
        let follower = tokio::spawn(follow(Arc::clone(&self.shared), Arc::clone(&self.registry)));
        FleetTasks {
            tasks: [publisher, follower],
        }
    }

    /// What the fleet glue has done so far.
    #[must_use]
    pub fn stats(&self) -> FleetStats {
        let c = &self.shared.counts;
        FleetStats {
            published: c.published.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            connects: c.connects.load(Ordering::Relaxed),
            connect_failures: c.connect_failures.load(Ordering::Relaxed),
            followed: c.followed.load(Ordering::Relaxed),
            connected: c.connected.load(Ordering::Relaxed),
            subscribed: c.subscribed.load(Ordering::Relaxed),
        }
    }
}

/// The fleet's background tasks; dropping this stops them.
#[derive(Debug)]
pub struct FleetTasks {
    tasks: [tokio::task::JoinHandle<()>; 2],
}

impl Drop for FleetTasks {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Shared {
    /// Runs on the calling thread after the breaker's lock is released: no
    /// I/O, no waiting, a short queue lock only on state changes.
    fn observe(&self, breaker: &Arc<str>, rejected: &AtomicU64, event: &Event) {
        match event {
            Event::Rejected(_) => {
                rejected.fetch_add(1, Ordering::Relaxed);
            }
            Event::StateChanged { .. } => {
                let mut queue = lock(&self.queue);
                if queue.len() >= self.config.queue.max(1) {
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
        format!("tripline:breaker:{breaker}")
    }

    fn hash(&self) -> String {
        format!("tripline:fleet:{}", self.config.replica)
    }

    /// Connection attempts back off exponentially, with jitter, up to 5 s.
    fn reconnect_backoff() -> Backoff {
        Backoff::exponential(Duration::from_millis(50), 2_000)
            .max_delay(Duration::from_secs(5))
            .jitter(Jitter::Bounded(200))
            .build()
            .unwrap_or(Backoff::NONE)
    }

    async fn connect(&self) -> Option<MultiplexedConnection> {
        let client = redis::Client::open(self.config.url.as_str()).ok()?;
        let connecting = client.get_multiplexed_async_connection();
        match tokio::time::timeout(self.config.op_timeout, connecting).await {
            Ok(Ok(conn)) => {
                self.counts.connects.fetch_add(1, Ordering::Relaxed);
                Some(conn)
            }
            _ => {
                self.counts.connect_failures.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Runs one command with the op timeout; `false` if the connection is broken.
    async fn run<T: redis::FromRedisValue>(
        &self,
        cmd: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> bool {
        matches!(
            tokio::time::timeout(self.config.op_timeout, cmd).await,
            Ok(Ok(_))
        )
    }
}

/// Drains the queue to Redis, publishes rejection counts each second and
/// refreshes the state hash each heartbeat; reconnects with backoff.
async fn publish<W: Window, C: Clock>(shared: Arc<Shared>, registry: Arc<Registry<W, C>>) {
    let mut delays = Shared::reconnect_backoff().delays(seed(&shared.config.replica));
    let mut second = tokio::time::interval(Duration::from_secs(1));
    let mut heartbeat = tokio::time::interval(shared.config.heartbeat);
    loop {
        shared.counts.connected.store(false, Ordering::Relaxed);
        let Some(mut conn) = shared.connect().await else {
            tokio::time::sleep(delays.next().unwrap_or(Duration::from_secs(1))).await;
            continue;
        };
        delays = Shared::reconnect_backoff().delays(seed(&shared.config.replica));
        shared.counts.connected.store(true, Ordering::Relaxed);
        let mut healthy = refresh(&shared, &registry, &mut conn).await;
        while healthy {
            tokio::select! {
                () = shared.wake.notified() => healthy = drain(&shared, &registry, &mut conn).await,
                _ = second.tick() => healthy = rejections(&shared, &mut conn).await
                    && drain(&shared, &registry, &mut conn).await,
                _ = heartbeat.tick() => healthy = refresh(&shared, &registry, &mut conn).await,
            }
        }
    }
}

/// Publishes queued state changes, oldest first; a failed one goes back.
async fn drain<W: Window, C: Clock>(
    shared: &Shared,
    registry: &Registry<W, C>,
    conn: &mut MultiplexedConnection,
) -> bool {
    loop {
        let Some((name, event)) = lock(&shared.queue).pop_front() else {
            return true;
        };
        let Event::StateChanged {
            from, to, reason, ..
        } = event
        else {
            continue;
        };
        let breaker = registry.get(&name);
        let open_for_ms = breaker
            .as_ref()
            .and_then(|b| b.retry_after())
            .filter(|_| to == State::Open)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let message = FleetMessage {
            replica: shared.config.replica.clone(),
            breaker: name.to_string(),
            kind: FleetEvent::StateChanged {
                from,
                to,
                reason,
                open_for_ms,
            },
        };
        let sent = send(shared, conn, &message).await
            && match &breaker {
                Some(b) => store(shared, conn, b).await,
                None => true,
            };
        if !sent {
            lock(&shared.queue).push_front((name, event));
            return false;
        }
    }
}

/// Publishes the rejections counted since the last second, per breaker.
async fn rejections(shared: &Shared, conn: &mut MultiplexedConnection) -> bool {
    let counters: Vec<(Arc<str>, Arc<AtomicU64>)> = lock(&shared.rejections)
        .iter()
        .map(|(name, count)| (Arc::clone(name), Arc::clone(count)))
        .collect();
    for (name, counter) in counters {
        let count = counter.swap(0, Ordering::Relaxed);
        if count == 0 {
            continue;
        }
        let message = FleetMessage {
            replica: shared.config.replica.clone(),
            breaker: name.to_string(),
            kind: FleetEvent::Rejections { count },
        };
        if !send(shared, conn, &message).await {
            counter.fetch_add(count, Ordering::Relaxed);
            return false;
        }
    }
    true
}

/// Writes every breaker's entry to this replica's hash and renews its expiry.
async fn refresh<W: Window, C: Clock>(
    shared: &Shared,
    registry: &Registry<W, C>,
    conn: &mut MultiplexedConnection,
) -> bool {
    for name in registry.names() {
        if let Some(b) = registry.get(&name) {
            if !store(shared, conn, &b).await {
                return false;
            }
        }
    }
    let ttl = i64::try_from(shared.config.heartbeat.as_secs().saturating_mul(3).max(1))
        .unwrap_or(i64::MAX);
    shared.run::<()>(conn.expire(shared.hash(), ttl)).await
}

async fn store<W: Window, C: Clock>(
    shared: &Shared,
    conn: &mut MultiplexedConnection,
    breaker: &CircuitBreaker<W, C>,
) -> bool {
    let m = breaker.metrics();
    let entry = FleetEntry {
        replica: shared.config.replica.clone(),
        breaker: breaker.name().to_string(),
        state: m.state,
        retry_after_ms: breaker
            .retry_after()
            .filter(|_| m.state == State::Open)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        rejected: m.rejected,
    };
    let Ok(json) = serde_json::to_string(&entry) else {
        return true;
    };
    shared
        .run::<()>(conn.hset(shared.hash(), breaker.name(), json))
        .await
}

async fn send(shared: &Shared, conn: &mut MultiplexedConnection, message: &FleetMessage) -> bool {
    let Ok(json) = serde_json::to_string(message) else {
        return true;
    };
    let ok = shared
        .run::<()>(conn.publish(Shared::channel(&message.breaker), json))
        .await;
    if ok {
        shared.counts.published.fetch_add(1, Ordering::Relaxed);
    }
    ok
}

/// Listens to every breaker channel and lets followed breakers follow peers.
async fn follow<W: Window, C: Clock>(shared: Arc<Shared>, registry: Arc<Registry<W, C>>) {
    let mut delays =
        Shared::reconnect_backoff().delays(seed(&shared.config.replica).rotate_left(7));
    loop {
        if let Ok(client) = redis::Client::open(shared.config.url.as_str()) {
            let subscribed = tokio::time::timeout(shared.config.op_timeout, async {
                let mut pubsub = client.get_async_pubsub().await?;
                pubsub.psubscribe(Shared::channel("*")).await?;
                Ok::<_, redis::RedisError>(pubsub)
            })
            .await;
            if let Ok(Ok(pubsub)) = subscribed {
                delays =
                    Shared::reconnect_backoff().delays(seed(&shared.config.replica).rotate_left(7));
                let mut messages = pubsub.into_on_message();
                shared.counts.subscribed.store(true, Ordering::Relaxed);
                while let Some(msg) = messages.next().await {
                    let Ok(payload) = msg.get_payload::<String>() else {
                        continue;
                    };
                    if let Ok(message) = serde_json::from_str::<FleetMessage>(&payload) {
                        shared.follow_one(&registry, &message);
                    }
                }
                shared.counts.subscribed.store(false, Ordering::Relaxed);
            }
        }
        tokio::time::sleep(delays.next().unwrap_or(Duration::from_secs(1))).await;
    }
}

impl Shared {
    /// A peer's opening, applied to a followed local breaker of the same name.
    /// Openings that were themselves followed are not passed on (no echo).
    fn follow_one<W: Window, C: Clock>(&self, registry: &Registry<W, C>, message: &FleetMessage) {
        let FleetEvent::StateChanged {
            to: State::Open,
            reason,
            open_for_ms: Some(open_for_ms),
            ..
        } = message.kind
        else {
            return;
        };
        if message.replica == self.config.replica || reason == Reason::Peer {
            return;
        }
        let Some(cap) = lock(&self.followed).get(&message.breaker).copied() else {
            return;
        };
        let Some(breaker) = registry.get(&message.breaker) else {
            return;
        };
        let peer = Duration::from_millis(open_for_ms);
        if breaker.follow_peer(peer, cap) == Ok(true) {
            self.counts.followed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Every breaker of every replica whose state hash has not expired.
///
/// # Errors
/// Redis' error if it cannot be reached.
///
/// ```no_run
/// # #[tokio::main] async fn main() -> redis::RedisResult<()> {
/// for e in tripline_std::fleet_status("redis://127.0.0.1:6379/").await? {
///     println!("{:>12} {:>10} {}", e.replica, e.breaker, e.state);
/// }
/// # Ok(()) }
/// ```
pub async fn fleet_status(url: &str) -> redis::RedisResult<Vec<FleetEntry>> {
    let client = redis::Client::open(url)?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let mut keys: Vec<String> = conn.keys("tripline:fleet:*").await?;
    keys.sort();
    let mut entries = Vec::new();
    for key in keys {
        let replica = key.trim_start_matches("tripline:fleet:").to_string();
        let fields: Vec<(String, String)> = conn.hgetall(&key).await?;
        for (breaker, json) in fields {
            if let Ok(mut entry) = serde_json::from_str::<FleetEntry>(&json) {
                entry.replica.clone_from(&replica);
                entry.breaker = breaker;
                entries.push(entry);
            }
        }
    }
    Ok(entries)
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
