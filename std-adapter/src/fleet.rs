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
use hmac::{Hmac, KeyInit, Mac};
use redis::aio::MultiplexedConnection;
use redis::AsyncCommands;
use sha2::Sha256;
use tokio::sync::Notify;
use tripline_core::{Backoff, Clock, Config, Event, Jitter, Reason, State, Window};

use crate::handle::DefaultWindow;
use crate::{CircuitBreaker, CircuitBreakerBuilder, Registry, StdClock};

/// Where and how a replica reports to Redis, validated when built: a
/// [`Fleet`] never starts with a setting its tasks cannot run with.
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use std::time::Duration;
/// use tripline::{FleetConfig, FleetConfigError, FleetKey};
///
/// let key = FleetKey::from_hex(&std::env::var("TRIPLINE_FLEET_KEY").unwrap_or_else(|_| "ab".repeat(32)))?;
/// let config = FleetConfig::builder("redis://127.0.0.1:6379/", "checkout-7f9c")
///     .key(key)
///     .heartbeat(Duration::from_secs(2))
///     .build()?;
/// assert_eq!(config.queue(), 1024);
///
/// let zero = FleetConfig::builder("redis://127.0.0.1:6379/", "a").heartbeat(Duration::ZERO).build();
/// assert_eq!(zero.unwrap_err(), FleetConfigError::Heartbeat);
/// # Ok::<(), FleetConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct FleetConfig {
    client: redis::Client,
    url: String,
    replica: String,
    queue: usize,
    heartbeat: Duration,
    op_timeout: Duration,
    key: Option<FleetKey>,
    peers: Option<std::collections::BTreeSet<String>>,
    max_age: Duration,
    follow_limit: (u32, Duration),
}

/// A [`FleetConfig`] setting out of range, from [`FleetConfigBuilder::build`].
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use tripline::{FleetConfig, FleetConfigError};
/// let err = FleetConfig::builder("redis://127.0.0.1/", "").build().unwrap_err();
/// assert_eq!(err, FleetConfigError::Replica);
/// assert!(err.to_string().contains("replica"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FleetConfigError {
    /// The URL does not parse, or asks for TLS (`rediss://`) without the `redis-tls` feature.
    Url(String),
    /// The replica id is empty, longer than 128 bytes, or has a space or control character.
    Replica,
    /// The queue is not in `1..=65536` state changes.
    Queue,
    /// The heartbeat is not in [`FleetConfig::MIN_HEARTBEAT`]`..=`[`FleetConfig::MAX_HEARTBEAT`].
    Heartbeat,
    /// The command timeout is not in [`FleetConfig::MIN_OP_TIMEOUT`]`..=`[`FleetConfig::MAX_OP_TIMEOUT`].
    OpTimeout,
    /// The command timeout is not shorter than the heartbeat, so a slow
    /// command would overlap the next heartbeat.
    OpTimeoutNotBelowHeartbeat,
    /// No fleet key, and no explicit [`FleetConfigBuilder::insecure_no_key`].
    NoKey,
    /// A fleet key shorter than [`FleetKey::MIN_LEN`] bytes, or not hex.
    Key,
    /// The largest accepted message age is not in 1 s..=1 hour.
    MaxAge,
    /// The follow limit is not 1..=1000 openings per 1 s..=1 day.
    FollowLimit,
}

impl std::fmt::Display for FleetConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FleetConfigError::Url(e) => write!(f, "the Redis URL is not usable: {e}"),
            FleetConfigError::Replica => f.write_str(
                "the replica id must be 1 to 128 bytes without spaces or control characters",
            ),
            FleetConfigError::Queue => f.write_str("the queue must hold 1 to 65536 state changes"),
            FleetConfigError::Heartbeat => f.write_str("the heartbeat must be 100 ms to 1 hour"),
            FleetConfigError::OpTimeout => f.write_str("the command timeout must be 10 ms to 60 s"),
            FleetConfigError::OpTimeoutNotBelowHeartbeat => {
                f.write_str("the command timeout must be shorter than the heartbeat")
            }
            FleetConfigError::NoKey => {
                f.write_str("a fleet key is required (or opt out explicitly with insecure_no_key)")
            }
            FleetConfigError::Key => {
                f.write_str("the fleet key must be at least 16 bytes (32 hex digits or more)")
            }
            FleetConfigError::MaxAge => {
                f.write_str("the largest message age must be 1 s to 1 hour")
            }
            FleetConfigError::FollowLimit => {
                f.write_str("the follow limit must be 1 to 1000 openings per 1 s to 1 day")
            }
        }
    }
}

impl std::error::Error for FleetConfigError {}

impl FleetConfig {
    /// The shortest heartbeat: anything faster only loads Redis.
    pub const MIN_HEARTBEAT: Duration = Duration::from_millis(100);
    /// The longest heartbeat: a state hash expires after three, so a day-long
    /// heartbeat would keep a dead replica listed for days.
    pub const MAX_HEARTBEAT: Duration = Duration::from_secs(3600);
    /// The shortest command timeout.
    pub const MIN_OP_TIMEOUT: Duration = Duration::from_millis(10);
    /// The longest command timeout.
    pub const MAX_OP_TIMEOUT: Duration = Duration::from_secs(60);

    /// A builder with a 1024-event queue, a 5 s heartbeat and a 500 ms command timeout.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// let config = tripline::FleetConfig::builder("redis://127.0.0.1/", "a").key(tripline::FleetKey::new([7; 32])?).build()?;
    /// assert_eq!(config.replica(), "a");
    /// # Ok::<(), tripline::FleetConfigError>(())
    /// ```
    pub fn builder(url: impl Into<String>, replica: impl Into<String>) -> FleetConfigBuilder {
        FleetConfigBuilder {
            url: url.into(),
            replica: replica.into(),
            queue: 1024,
            heartbeat: Duration::from_secs(5),
            op_timeout: Duration::from_millis(500),
            key: None,
            insecure: false,
            peers: None,
            max_age: Duration::from_secs(30),
            follow_limit: (3, Duration::from_secs(600)),
            #[cfg(feature = "redis-tls")]
            tls_root_cert: None,
        }
    }

    /// The Redis URL.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// let config = tripline::FleetConfig::builder("redis://127.0.0.1/", "a").key(tripline::FleetKey::new([7; 32])?).build()?;
    /// assert_eq!(config.url(), "redis://127.0.0.1/");
    /// # Ok::<(), tripline::FleetConfigError>(())
    /// ```
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// This replica's id.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// let config = tripline::FleetConfig::builder("redis://127.0.0.1/", "eu-1").key(tripline::FleetKey::new([7; 32])?).build()?;
    /// assert_eq!(config.replica(), "eu-1");
    /// # Ok::<(), tripline::FleetConfigError>(())
    /// ```
    #[must_use]
    pub fn replica(&self) -> &str {
        &self.replica
    }

    /// State changes held while Redis is unreachable.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// let config = tripline::FleetConfig::builder("redis://127.0.0.1/", "a").queue(8).key(tripline::FleetKey::new([7; 32])?).build()?;
    /// assert_eq!(config.queue(), 8);
    /// # Ok::<(), tripline::FleetConfigError>(())
    /// ```
    #[must_use]
    pub fn queue(&self) -> usize {
        self.queue
    }

    /// How often the state hash is refreshed and the follower's link checked.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use std::time::Duration;
    /// let config = tripline::FleetConfig::builder("redis://127.0.0.1/", "a").key(tripline::FleetKey::new([7; 32])?).build()?;
    /// assert_eq!(config.heartbeat(), Duration::from_secs(5));
    /// # Ok::<(), tripline::FleetConfigError>(())
    /// ```
    #[must_use]
    pub fn heartbeat(&self) -> Duration {
        self.heartbeat
    }

    /// The longest one Redis command may take before the link is deemed broken.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use std::time::Duration;
    /// let config = tripline::FleetConfig::builder("redis://127.0.0.1/", "a").key(tripline::FleetKey::new([7; 32])?).build()?;
    /// assert_eq!(config.op_timeout(), Duration::from_millis(500));
    /// # Ok::<(), tripline::FleetConfigError>(())
    /// ```
    #[must_use]
    pub fn op_timeout(&self) -> Duration {
        self.op_timeout
    }

    /// How many times a followed breaker may be opened by peers per window.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use std::time::Duration;
    /// let config = tripline::FleetConfig::builder("redis://127.0.0.1/", "a")
    ///     .key(tripline::FleetKey::new([7; 32])?)
    ///     .build()?;
    /// assert_eq!(config.follow_limit(), (3, Duration::from_secs(600)));
    /// # Ok::<(), tripline::FleetConfigError>(())
    /// ```
    #[must_use]
    pub fn follow_limit(&self) -> (u32, Duration) {
        self.follow_limit
    }
}

/// The secret shared by a fleet's replicas: every message is signed with
/// HMAC-SHA256 under it, and a follower drops what does not verify.
///
/// Make one with `openssl rand -hex 32`, hand it to every replica as a
/// secret (an environment variable, a mounted file), and read it with
/// [`from_hex`](FleetKey::from_hex).
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use tripline::{FleetConfigError, FleetKey};
/// let key = FleetKey::from_hex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")?;
/// assert_eq!(format!("{key:?}"), "FleetKey(..)"); // never printed
/// assert_eq!(FleetKey::new(b"short").unwrap_err(), FleetConfigError::Key);
/// # Ok::<(), FleetConfigError>(())
/// ```
#[derive(Clone)]
pub struct FleetKey {
    mac: Hmac<Sha256>,
}

impl FleetKey {
    /// The shortest key accepted, in bytes; 32 is what `openssl rand -hex 32` gives.
    pub const MIN_LEN: usize = 16;

    /// A key of raw bytes.
    ///
    /// # Errors
    /// [`FleetConfigError::Key`] if shorter than [`MIN_LEN`](FleetKey::MIN_LEN).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// assert!(tripline::FleetKey::new([1; 32]).is_ok());
    /// ```
    pub fn new(key: impl AsRef<[u8]>) -> Result<Self, FleetConfigError> {
        let key = key.as_ref();
        if key.len() < FleetKey::MIN_LEN {
            return Err(FleetConfigError::Key);
        }
        let mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(key).map_err(|_| FleetConfigError::Key)?;
        Ok(FleetKey { mac })
    }

    /// A key written in hex (surrounding whitespace ignored).
    ///
    /// # Errors
    /// [`FleetConfigError::Key`] if not hex or shorter than [`MIN_LEN`](FleetKey::MIN_LEN) bytes.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// assert!(tripline::FleetKey::from_hex("not hex").is_err());
    /// ```
    pub fn from_hex(hex: &str) -> Result<Self, FleetConfigError> {
        let hex = hex.trim().as_bytes();
        if !hex.len().is_multiple_of(2) {
            return Err(FleetConfigError::Key);
        }
        let bytes: Option<Vec<u8>> = hex
            .chunks_exact(2)
            .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
            .collect();
        FleetKey::new(bytes.ok_or(FleetConfigError::Key)?)
    }
}

impl std::fmt::Debug for FleetKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FleetKey(..)")
    }
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

/// Feeds one length-prefixed field to a MAC, so no two field lists encode alike.
fn field(mac: &mut Hmac<Sha256>, bytes: &[u8]) {
    mac.update(&(bytes.len() as u64).to_le_bytes());
    mac.update(bytes);
}

/// Checks a hex tag in constant time (the comparison is `hmac`'s).
fn verify_tag(mac: Hmac<Sha256>, tag: Option<&str>) -> bool {
    let Some(tag) = tag else {
        return false;
    };
    let tag = tag.as_bytes();
    if tag.len() != 64 {
        return false;
    }
    let mut raw = [0_u8; 32];
    for (out, pair) in raw.iter_mut().zip(tag.chunks_exact(2)) {
        let (Some(hi), Some(lo)) = (nibble(pair[0]), nibble(pair[1])) else {
            return false;
        };
        *out = hi << 4 | lo;
    }
    mac.verify_slice(&raw).is_ok()
}

/// Builds a [`FleetConfig`]; see [`FleetConfig::builder`].
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use std::time::Duration;
/// let config = tripline::FleetConfig::builder("redis://127.0.0.1/", "a")
///     .queue(64)
///     .heartbeat(Duration::from_secs(1))
///     .op_timeout(Duration::from_millis(200))
///     .key(tripline::FleetKey::new([7; 32])?)
///     .build()?;
/// assert_eq!(config.queue(), 64);
/// # Ok::<(), tripline::FleetConfigError>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct FleetConfigBuilder {
    url: String,
    replica: String,
    queue: usize,
    heartbeat: Duration,
    op_timeout: Duration,
    key: Option<FleetKey>,
    insecure: bool,
    peers: Option<std::collections::BTreeSet<String>>,
    max_age: Duration,
    follow_limit: (u32, Duration),
    #[cfg(feature = "redis-tls")]
    tls_root_cert: Option<Vec<u8>>,
}

impl FleetConfigBuilder {
    /// With `rediss://`, trust only this CA (PEM), such as a private CA or
    /// a self-signed server certificate, instead of the system's roots.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// let pem = std::fs::read("/etc/redis/ca.pem").unwrap_or_default();
    /// let config = tripline::FleetConfig::builder("rediss://redis.internal:6380/", "a")
    ///     .key(tripline::FleetKey::new([7; 32])?)
    ///     .tls_root_cert(pem)
    ///     .build()?;
    /// # drop(config);
    /// # Ok::<(), tripline::FleetConfigError>(())
    /// ```
    #[cfg(feature = "redis-tls")]
    pub fn tls_root_cert(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls_root_cert = Some(pem.into());
        self
    }

    /// The fleet key every message is signed and checked with. Required,
    /// unless [`insecure_no_key`](FleetConfigBuilder::insecure_no_key).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// let none = tripline::FleetConfig::builder("redis://127.0.0.1/", "a").build();
    /// assert_eq!(none.unwrap_err(), tripline::FleetConfigError::NoKey);
    /// ```
    pub fn key(mut self, key: FleetKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Opts out of authentication: messages go unsigned and the follower
    /// believes any message on a followed channel, so anyone who can
    /// `PUBLISH` on the Redis can open this replica's followed breakers
    /// (each time for at most the cap, within the follow limit). Only for
    /// a Redis that nothing else can reach.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// let config = tripline::FleetConfig::builder("redis://127.0.0.1/", "a").insecure_no_key().build();
    /// assert!(config.is_ok());
    /// ```
    pub fn insecure_no_key(mut self) -> Self {
        self.insecure = true;
        self
    }

    /// Only these replicas are followed; a correctly signed message from
    /// any other is dropped (and counted as `unknown_replica`).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// let config = tripline::FleetConfig::builder("redis://127.0.0.1/", "eu-1")
    ///     .key(tripline::FleetKey::new([7; 32])?)
    ///     .peers(["eu-2", "eu-3"])
    ///     .build()?;
    /// # drop(config);
    /// # Ok::<(), tripline::FleetConfigError>(())
    /// ```
    pub fn peers<S: Into<String>>(mut self, peers: impl IntoIterator<Item = S>) -> Self {
        self.peers = Some(peers.into_iter().map(Into::into).collect());
        self
    }

    /// The oldest (or furthest in the future) a message may be, by its
    /// sender's clock against this one's; 30 s unless set. Older messages
    /// are dropped as `stale`, so a recorded message cannot be replayed
    /// later; keep replicas' clocks in step (NTP) well within it.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use std::time::Duration;
    /// let err = tripline::FleetConfig::builder("redis://127.0.0.1/", "a")
    ///     .insecure_no_key()
    ///     .max_age(Duration::ZERO)
    ///     .build();
    /// assert_eq!(err.unwrap_err(), tripline::FleetConfigError::MaxAge);
    /// ```
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// A followed breaker is opened by peers at most `opens` times per
    /// `per`; further peer openings in that window are dropped (counted as
    /// `limited`). The default, 3 per 10 minutes, follows a real outage at
    /// its start and a couple of relapses, which is when following pays;
    /// past that, this replica's own calls open the breaker if the backend
    /// is still down. It bounds what a replica gone wrong (or a stolen key)
    /// can do: with a 30 s cap, peers keep a breaker open at most 15 % of
    /// the time.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use std::time::Duration;
    /// let config = tripline::FleetConfig::builder("redis://127.0.0.1/", "a")
    ///     .key(tripline::FleetKey::new([7; 32])?)
    ///     .follow_limit(1, Duration::from_secs(60))
    ///     .build()?;
    /// assert_eq!(config.follow_limit().0, 1);
    /// # Ok::<(), tripline::FleetConfigError>(())
    /// ```
    pub fn follow_limit(mut self, opens: u32, per: Duration) -> Self {
        self.follow_limit = (opens, per);
        self
    }

    /// State changes held while Redis is unreachable (1 to 65536); the oldest are dropped beyond it.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// let err = tripline::FleetConfig::builder("redis://127.0.0.1/", "a").queue(0).build();
    /// assert_eq!(err.unwrap_err(), tripline::FleetConfigError::Queue);
    /// ```
    pub fn queue(mut self, queue: usize) -> Self {
        self.queue = queue;
        self
    }

    /// How often the state hash is refreshed (it expires after three misses)
    /// and the follower's link is checked with a `PING`.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use std::time::Duration;
    /// let err = tripline::FleetConfig::builder("redis://127.0.0.1/", "a").heartbeat(Duration::MAX).build();
    /// assert_eq!(err.unwrap_err(), tripline::FleetConfigError::Heartbeat);
    /// ```
    pub fn heartbeat(mut self, heartbeat: Duration) -> Self {
        self.heartbeat = heartbeat;
        self
    }

    /// The longest one Redis command (or a connection attempt) may take
    /// before the link is deemed broken; shorter than the heartbeat.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use std::time::Duration;
    /// let err = tripline::FleetConfig::builder("redis://127.0.0.1/", "a")
    ///     .heartbeat(Duration::from_secs(1))
    ///     .op_timeout(Duration::from_secs(1))
    ///     .build();
    /// assert_eq!(err.unwrap_err(), tripline::FleetConfigError::OpTimeoutNotBelowHeartbeat);
    /// ```
    pub fn op_timeout(mut self, op_timeout: Duration) -> Self {
        self.op_timeout = op_timeout;
        self
    }

    #[cfg(not(feature = "redis-tls"))]
    fn client(&self) -> redis::RedisResult<redis::Client> {
        redis::Client::open(self.url.as_str())
    }

    #[cfg(feature = "redis-tls")]
    fn client(&self) -> redis::RedisResult<redis::Client> {
        // The process-wide rustls provider, unless the application set one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        match &self.tls_root_cert {
            None => redis::Client::open(self.url.as_str()),
            Some(pem) => redis::Client::build_with_tls(
                self.url.as_str(),
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem.clone()),
                },
            ),
        }
    }

    /// Checks every setting.
    ///
    /// # Errors
    /// The first [`FleetConfigError`] found.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// let err = tripline::FleetConfig::builder("http://127.0.0.1/", "a").build();
    /// assert!(matches!(err, Err(tripline::FleetConfigError::Url(_))));
    /// ```
    pub fn build(self) -> Result<FleetConfig, FleetConfigError> {
        let client = self
            .client()
            .map_err(|e| FleetConfigError::Url(e.to_string()))?;
        let replica_ok = !self.replica.is_empty()
            && self.replica.len() <= 128
            && !self
                .replica
                .chars()
                .any(|c| c.is_whitespace() || c.is_control());
        if !replica_ok {
            return Err(FleetConfigError::Replica);
        }
        if !(1..=65_536).contains(&self.queue) {
            return Err(FleetConfigError::Queue);
        }
        if !(FleetConfig::MIN_HEARTBEAT..=FleetConfig::MAX_HEARTBEAT).contains(&self.heartbeat) {
            return Err(FleetConfigError::Heartbeat);
        }
        if !(FleetConfig::MIN_OP_TIMEOUT..=FleetConfig::MAX_OP_TIMEOUT).contains(&self.op_timeout) {
            return Err(FleetConfigError::OpTimeout);
        }
        if self.op_timeout >= self.heartbeat {
            return Err(FleetConfigError::OpTimeoutNotBelowHeartbeat);
        }
        if self.key.is_none() && !self.insecure {
            return Err(FleetConfigError::NoKey);
        }
        if !(Duration::from_secs(1)..=Duration::from_secs(3600)).contains(&self.max_age) {
            return Err(FleetConfigError::MaxAge);
        }
        let (opens, per) = self.follow_limit;
        if !(1..=1000).contains(&opens)
            || !(Duration::from_secs(1)..=Duration::from_secs(86_400)).contains(&per)
        {
            return Err(FleetConfigError::FollowLimit);
        }
        Ok(FleetConfig {
            client,
            url: self.url,
            replica: self.replica,
            queue: self.queue,
            heartbeat: self.heartbeat,
            op_timeout: self.op_timeout,
            key: self.key,
            peers: self.peers,
            max_age: self.max_age,
            follow_limit: self.follow_limit,
        })
    }
}

/// One event on a breaker's channel, as JSON, signed with the fleet key.
///
/// The tag is HMAC-SHA256 over a fixed label, the replica, the breaker,
/// the event, the send time and the sequence number, each length-prefixed:
/// changing any of them, or moving the message to another breaker's
/// channel, makes a follower drop it.
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use tripline::{FleetEvent, FleetKey, FleetMessage};
///
/// let key = FleetKey::new([7; 32])?;
/// let mut message = FleetMessage {
///     replica: "eu-1".into(),
///     breaker: "payments".into(),
///     kind: FleetEvent::Rejections { count: 3 },
///     sent_ms: 1_700_000_000_000,
///     seq: 1,
///     mac: None,
/// };
/// message.sign(&key);
/// assert!(message.verify(&key));
/// message.kind = FleetEvent::Rejections { count: 4 };
/// assert!(!message.verify(&key));
/// # Ok::<(), tripline::FleetConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FleetMessage {
    /// The replica that sent it.
    pub replica: String,
    /// The breaker's name; a follower drops a message whose name is not its channel's.
    pub breaker: String,
    /// What happened.
    #[serde(flatten)]
    pub kind: FleetEvent,
    /// When it was sent: ms since the Unix epoch, by the sender's clock.
    #[serde(default)]
    pub sent_ms: u64,
    /// The sender's sequence number: rises by one per message, and starts
    /// from the time the sender started (µs since the epoch), so it keeps
    /// rising across restarts.
    #[serde(default)]
    pub seq: u64,
    /// The HMAC-SHA256 tag, in hex; absent when the fleet runs without a key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

impl FleetMessage {
    fn tag(&self, key: &FleetKey) -> Hmac<Sha256> {
        let mut mac = key.mac.clone();
        mac.update(b"tripline-fleet-message-v1");
        field(&mut mac, self.replica.as_bytes());
        field(&mut mac, self.breaker.as_bytes());
        field(
            &mut mac,
            &serde_json::to_vec(&self.kind).unwrap_or_default(),
        );
        mac.update(&self.sent_ms.to_le_bytes());
        mac.update(&self.seq.to_le_bytes());
        mac
    }

    /// Sets [`mac`](FleetMessage::mac) to this message's tag under `key`.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// # use tripline::{FleetEvent, FleetKey, FleetMessage};
    /// # let mut message = FleetMessage { replica: "a".into(), breaker: "b".into(),
    /// #     kind: FleetEvent::Rejections { count: 1 }, sent_ms: 0, seq: 0, mac: None };
    /// message.sign(&FleetKey::new([7; 32])?);
    /// assert_eq!(message.mac.as_ref().map(String::len), Some(64));
    /// # Ok::<(), tripline::FleetConfigError>(())
    /// ```
    pub fn sign(&mut self, key: &FleetKey) {
        self.mac = Some(to_hex(&self.tag(key).finalize().into_bytes()));
    }

    /// Whether [`mac`](FleetMessage::mac) is this message's tag under `key`
    /// (compared in constant time).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// # use tripline::{FleetEvent, FleetKey, FleetMessage};
    /// # let mut message = FleetMessage { replica: "a".into(), breaker: "b".into(),
    /// #     kind: FleetEvent::Rejections { count: 1 }, sent_ms: 0, seq: 0, mac: None };
    /// let key = FleetKey::new([7; 32])?;
    /// assert!(!message.verify(&key)); // unsigned
    /// message.sign(&FleetKey::new([8; 32])?);
    /// assert!(!message.verify(&key)); // another key
    /// # Ok::<(), tripline::FleetConfigError>(())
    /// ```
    #[must_use]
    pub fn verify(&self, key: &FleetKey) -> bool {
        verify_tag(self.tag(key), self.mac.as_deref())
    }
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
    /// When the entry was written: ms since the Unix epoch, by the replica's clock.
    #[serde(default)]
    pub sent_ms: u64,
    /// The HMAC-SHA256 tag over the replica, breaker, state, open time,
    /// rejections and write time, in hex; absent without a fleet key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

impl FleetEntry {
    fn tag(&self, key: &FleetKey) -> Hmac<Sha256> {
        let mut mac = key.mac.clone();
        mac.update(b"tripline-fleet-entry-v1");
        field(&mut mac, self.replica.as_bytes());
        field(&mut mac, self.breaker.as_bytes());
        let body = (&self.state, self.retry_after_ms, self.rejected);
        field(&mut mac, &serde_json::to_vec(&body).unwrap_or_default());
        mac.update(&self.sent_ms.to_le_bytes());
        mac
    }

    /// Sets [`mac`](FleetEntry::mac) to this entry's tag under `key`.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::{FleetEntry, FleetKey, State};
    /// let key = FleetKey::new([7; 32])?;
    /// let mut entry = FleetEntry { replica: "eu-1".into(), breaker: "db".into(), state: State::Closed,
    ///     retry_after_ms: None, rejected: 0, sent_ms: 0, mac: None };
    /// entry.sign(&key);
    /// assert!(entry.verify(&key));
    /// entry.replica = "eu-2".into(); // copied under another replica's hash
    /// assert!(!entry.verify(&key));
    /// # Ok::<(), tripline::FleetConfigError>(())
    /// ```
    pub fn sign(&mut self, key: &FleetKey) {
        self.mac = Some(to_hex(&self.tag(key).finalize().into_bytes()));
    }

    /// Whether [`mac`](FleetEntry::mac) is this entry's tag under `key`.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::{FleetEntry, FleetKey, State};
    /// let entry = FleetEntry { replica: "eu-1".into(), breaker: "db".into(), state: State::Open,
    ///     retry_after_ms: Some(5_000), rejected: 9, sent_ms: 0, mac: None };
    /// assert!(!entry.verify(&FleetKey::new([7; 32])?));
    /// # Ok::<(), tripline::FleetConfigError>(())
    /// ```
    #[must_use]
    pub fn verify(&self, key: &FleetKey) -> bool {
        verify_tag(self.tag(key), self.mac.as_deref())
    }
}

/// Messages a follower dropped, by reason.
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// let drops = tripline::FleetDrops::default();
/// assert_eq!(drops.total(), 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct FleetDrops {
    /// Not a fleet message (not UTF-8, not the JSON of a [`FleetMessage`]).
    pub malformed: u64,
    /// The breaker named in the message is not the channel's.
    pub wrong_channel: u64,
    /// No tag, with a fleet key set.
    pub unsigned: u64,
    /// A tag that does not verify under the fleet key.
    pub bad_mac: u64,
    /// From a replica outside [`FleetConfigBuilder::peers`].
    pub unknown_replica: u64,
    /// Sent longer ago (or further ahead) than [`FleetConfigBuilder::max_age`].
    pub stale: u64,
    /// A sequence number not above the last one seen from that replica.
    pub replayed: u64,
    /// An opening past [`FleetConfigBuilder::follow_limit`].
    pub limited: u64,
}

impl FleetDrops {
    /// All dropped messages.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// assert_eq!(tripline::FleetDrops::default().total(), 0);
    /// ```
    #[must_use]
    pub fn total(&self) -> u64 {
        self.malformed
            + self.wrong_channel
            + self.unsigned
            + self.bad_mac
            + self.unknown_replica
            + self.stale
            + self.replayed
            + self.limited
    }
}

/// Why a follower dropped a message: an index into the drop counters.
#[derive(Clone, Copy)]
enum Dropped {
    Malformed,
    WrongChannel,
    Unsigned,
    BadMac,
    UnknownReplica,
    Stale,
    Replayed,
    Limited,
}

/// What the fleet glue did: for a health check or a dashboard.
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// let fleet = tripline::Fleet::new(tripline::FleetConfig::builder("redis://127.0.0.1/", "a").key(tripline::FleetKey::new([7; 32])?).build()?);
/// let stats = fleet.stats();
/// assert_eq!((stats.connects, stats.publisher_running), (0, false));
/// # Ok::<(), tripline::FleetConfigError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct FleetStats {
    /// Messages published to Redis.
    pub published: u64,
    /// State changes dropped because the queue was full while Redis was away.
    pub dropped: u64,
    /// Connections to Redis made by the publisher and the follower.
    pub connects: u64,
    /// Attempts to connect (or subscribe) that failed or timed out; each is
    /// followed by a backoff wait. [`Fleet::last_error`] says why.
    pub connect_failures: u64,
    /// Links given up as broken (an I/O error, a command or `PING` timeout);
    /// each is followed by a backoff wait before reconnecting.
    pub disconnects: u64,
    /// `PUBLISH` commands Redis answered with an error; the message is dropped
    /// and the connection kept.
    pub publish_failures: u64,
    /// State-hash writes (`HSET`, `PEXPIRE`) Redis answered with an error, as a
    /// read-only replica does; events are still published.
    pub heartbeat_failures: u64,
    /// `SUBSCRIBE` commands Redis answered with an error (an ACL without the channel).
    pub subscribe_failures: u64,
    /// Peer openings this replica followed.
    pub followed: u64,
    /// Messages the follower dropped, by reason.
    pub drops: FleetDrops,
    /// Whether the publisher is connected now.
    pub connected: bool,
    /// Whether the follower has a live subscription connection now, with
    /// every followed channel subscribed (or refused, counted in `subscribe_failures`).
    pub subscribed: bool,
    /// Whether the publisher task is running (false before `start`, after
    /// [`FleetTasks`] is dropped, or if it ended by a panic).
    pub publisher_running: bool,
    /// Whether the follower task is running.
    pub follower_running: bool,
}

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

#[derive(Default)]
struct Counts {
    published: AtomicU64,
    dropped: AtomicU64,
    connects: AtomicU64,
    connect_failures: AtomicU64,
    disconnects: AtomicU64,
    publish_failures: AtomicU64,
    heartbeat_failures: AtomicU64,
    subscribe_failures: AtomicU64,
    followed: AtomicU64,
    drops: [AtomicU64; 8],
    connected: AtomicBool,
    subscribed: AtomicBool,
    publisher_running: AtomicBool,
    follower_running: AtomicBool,
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
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// let fleet = tripline::Fleet::new(tripline::FleetConfig::builder("redis://127.0.0.1/", "a").key(tripline::FleetKey::new([7; 32])?).build()?);
    /// assert_eq!(fleet.stats().published, 0);
    /// # Ok::<(), tripline::FleetConfigError>(())
    /// ```
    #[must_use]
    pub fn stats(&self) -> FleetStats {
        let c = &self.shared.counts;
        let get = |n: &AtomicU64| n.load(Ordering::Relaxed);
        FleetStats {
            published: get(&c.published),
            dropped: get(&c.dropped),
            connects: get(&c.connects),
            connect_failures: get(&c.connect_failures),
            disconnects: get(&c.disconnects),
            publish_failures: get(&c.publish_failures),
            heartbeat_failures: get(&c.heartbeat_failures),
            subscribe_failures: get(&c.subscribe_failures),
            followed: get(&c.followed),
            drops: FleetDrops {
                malformed: get(&c.drops[Dropped::Malformed as usize]),
                wrong_channel: get(&c.drops[Dropped::WrongChannel as usize]),
                unsigned: get(&c.drops[Dropped::Unsigned as usize]),
                bad_mac: get(&c.drops[Dropped::BadMac as usize]),
                unknown_replica: get(&c.drops[Dropped::UnknownReplica as usize]),
                stale: get(&c.drops[Dropped::Stale as usize]),
                replayed: get(&c.drops[Dropped::Replayed as usize]),
                limited: get(&c.drops[Dropped::Limited as usize]),
            },
            connected: c.connected.load(Ordering::Relaxed),
            subscribed: c.subscribed.load(Ordering::Relaxed),
            publisher_running: c.publisher_running.load(Ordering::Relaxed),
            follower_running: c.follower_running.load(Ordering::Relaxed),
        }
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
        status(&self.shared.config.client, self.shared.config.key.as_ref()).await
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

/// Why a command did not succeed.
enum Fault {
    /// Redis answered with an error: that command failed, the link is fine.
    Refused,
    /// An I/O error or a timeout: the link is given up.
    Broken,
}

/// Connection attempts back off exponentially, with jitter, from 50 ms up to 5 s.
const RECONNECT: Backoff = match Backoff::exponential(Duration::from_millis(50), 2_000)
    .max_delay(Duration::from_secs(5))
    .jitter(Jitter::Bounded(200))
    .build()
{
    Ok(b) => b,
    Err(e) => panic!("{}", e.as_str()),
};

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

    fn note_error(&self, error: &dyn std::fmt::Display) {
        *lock(&self.last_error) = Some(error.to_string());
    }

    async fn connect(&self) -> Option<MultiplexedConnection> {
        let connecting = self.config.client.get_multiplexed_async_connection();
        match tokio::time::timeout(self.config.op_timeout, connecting).await {
            Ok(Ok(conn)) => {
                self.counts.connects.fetch_add(1, Ordering::Relaxed);
                Some(conn)
            }
            Ok(Err(e)) => {
                self.note_error(&e);
                self.counts.connect_failures.fetch_add(1, Ordering::Relaxed);
                None
            }
            Err(_) => {
                self.note_error(&"connecting to Redis timed out");
                self.counts.connect_failures.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Runs one command with the op timeout.
    async fn run<T>(
        &self,
        cmd: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, Fault> {
        match tokio::time::timeout(self.config.op_timeout, cmd).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                self.note_error(&e);
                Err(fault(&e))
            }
            Err(_) => {
                self.note_error(&"a Redis command timed out");
                Err(Fault::Broken)
            }
        }
    }
}

/// An error reply (`READONLY`, `NOPERM`, `WRONGTYPE`, an out-of-range
/// argument) fails one command; anything else means the link is gone.
fn fault(e: &redis::RedisError) -> Fault {
    let broken = e.is_io_error()
        || e.is_connection_dropped()
        || e.is_timeout()
        || e.is_unrecoverable_error()
        || matches!(e.kind(), redis::ErrorKind::Parse);
    if broken {
        Fault::Broken
    } else {
        Fault::Refused
    }
}

/// Drains the queue to Redis, publishes rejection counts each second and
/// refreshes the state hash each heartbeat. A broken link, like a failed
/// connection, is followed by the next [`RECONNECT`] wait; the waits start
/// over once a command succeeds on a new link.
async fn publish<W: Window, C: Clock>(shared: Arc<Shared>, registry: Arc<Registry<W, C>>) {
    let _running = Running(&shared.counts.publisher_running);
    let fresh = || RECONNECT.delays(seed(&shared.config.replica));
    let mut delays = fresh();
    let mut second = tokio::time::interval(Duration::from_secs(1));
    second.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut heartbeat = tokio::time::interval(shared.config.heartbeat);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if let Some(mut conn) = shared.connect().await {
            shared.counts.connected.store(true, Ordering::Relaxed);
            heartbeat.reset_immediately();
            let mut proven = false;
            loop {
                let step = tokio::select! {
                    () = shared.wake.notified() => drain(&shared, &registry, &mut conn).await,
                    _ = second.tick() => match rejections(&shared, &registry, &mut conn).await {
                        Ok(()) => drain(&shared, &registry, &mut conn).await,
                        Err(e) => Err(e),
                    },
                    _ = heartbeat.tick() => refresh(&shared, &registry, &mut conn).await,
                };
                match step {
                    Ok(true) if !proven => {
                        proven = true;
                        delays = fresh();
                    }
                    Ok(_) => {}
                    Err(Fault::Broken | Fault::Refused) => break,
                }
            }
            shared.counts.connected.store(false, Ordering::Relaxed);
            shared.counts.disconnects.fetch_add(1, Ordering::Relaxed);
        }
        tokio::time::sleep(delays.next().unwrap_or(Duration::from_secs(5))).await;
    }
}

/// Publishes queued state changes, oldest first. A message Redis refuses is
/// dropped and counted; one the link lost goes back to the queue.
/// `Ok(true)` when some command succeeded.
async fn drain<W: Window, C: Clock>(
    shared: &Shared,
    registry: &Registry<W, C>,
    conn: &mut MultiplexedConnection,
) -> Result<bool, Fault> {
    let mut any = false;
    loop {
        let Some((name, event)) = lock(&shared.queue).pop_front() else {
            return Ok(any);
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
            .map(millis);
        let message = shared.message(
            &name,
            FleetEvent::StateChanged {
                from,
                to,
                reason,
                open_for_ms,
            },
        );
        match send(shared, conn, &message).await {
            Ok(()) => any = true,
            Err(Fault::Refused) => {}
            Err(Fault::Broken) => {
                lock(&shared.queue).push_front((name, event));
                return Err(Fault::Broken);
            }
        }
        if let Some(b) = &breaker {
            any |= store(shared, conn, b).await?;
        }
    }
}

/// Publishes the rejections counted since the last second, per breaker, and
/// frees the counters of breakers no longer in the registry.
async fn rejections<W: Window, C: Clock>(
    shared: &Shared,
    registry: &Registry<W, C>,
    conn: &mut MultiplexedConnection,
) -> Result<(), Fault> {
    for (name, counter) in counters(shared, registry) {
        let count = counter.swap(0, Ordering::Relaxed);
        if count == 0 {
            continue;
        }
        let message = shared.message(&name, FleetEvent::Rejections { count });
        match send(shared, conn, &message).await {
            Ok(()) | Err(Fault::Refused) => {}
            Err(Fault::Broken) => {
                counter.fetch_add(count, Ordering::Relaxed);
                return Err(Fault::Broken);
            }
        }
    }
    Ok(())
}

/// The rejection counters of the breakers in the registry; the counters of
/// breakers removed from it are freed.
fn counters<W: Window, C: Clock>(
    shared: &Shared,
    registry: &Registry<W, C>,
) -> Vec<(Arc<str>, Arc<AtomicU64>)> {
    let all: Vec<(Arc<str>, Arc<AtomicU64>)> = lock(&shared.rejections)
        .iter()
        .map(|(name, count)| (Arc::clone(name), Arc::clone(count)))
        .collect();
    let mut live = Vec::with_capacity(all.len());
    for (name, counter) in all {
        if registry.get(&name).is_some() {
            live.push((name, counter));
            continue;
        }
        let mut map = lock(&shared.rejections);
        if map.get(&name).is_some_and(|c| Arc::ptr_eq(c, &counter)) {
            map.remove(&name);
        }
    }
    live
}

/// Writes every breaker's entry to this replica's hash and renews its
/// expiry (three heartbeats). A refused write is counted once per heartbeat.
async fn refresh<W: Window, C: Clock>(
    shared: &Shared,
    registry: &Registry<W, C>,
    conn: &mut MultiplexedConnection,
) -> Result<bool, Fault> {
    for name in registry.names() {
        if let Some(b) = registry.get(&name) {
            if !store(shared, conn, &b).await? {
                return Ok(false);
            }
        }
    }
    let ttl_ms =
        i64::try_from(shared.config.heartbeat.as_millis().saturating_mul(3)).unwrap_or(i64::MAX);
    match shared.run::<()>(conn.pexpire(shared.hash(), ttl_ms)).await {
        Ok(()) => Ok(true),
        Err(Fault::Refused) => {
            shared
                .counts
                .heartbeat_failures
                .fetch_add(1, Ordering::Relaxed);
            Ok(false)
        }
        Err(Fault::Broken) => Err(Fault::Broken),
    }
}

/// Writes one breaker's entry; `Ok(false)` (and counted) when Redis refuses it.
async fn store<W: Window, C: Clock>(
    shared: &Shared,
    conn: &mut MultiplexedConnection,
    breaker: &CircuitBreaker<W, C>,
) -> Result<bool, Fault> {
    let (m, retry_after) = read(breaker);
    let mut entry = FleetEntry {
        replica: shared.config.replica.clone(),
        breaker: breaker.name().to_string(),
        state: m.state,
        retry_after_ms: retry_after.filter(|_| m.state == State::Open).map(millis),
        rejected: m.rejected,
        sent_ms: unix_millis(),
        mac: None,
    };
    if let Some(key) = &shared.config.key {
        entry.sign(key);
    }
    let Ok(json) = serde_json::to_string(&entry) else {
        return Ok(true);
    };
    match shared
        .run::<()>(conn.hset(shared.hash(), breaker.name(), json))
        .await
    {
        Ok(()) => Ok(true),
        Err(Fault::Refused) => {
            shared
                .counts
                .heartbeat_failures
                .fetch_add(1, Ordering::Relaxed);
            Ok(false)
        }
        Err(Fault::Broken) => Err(Fault::Broken),
    }
}

async fn send(
    shared: &Shared,
    conn: &mut MultiplexedConnection,
    message: &FleetMessage,
) -> Result<(), Fault> {
    let Ok(json) = serde_json::to_string(message) else {
        return Ok(());
    };
    match shared
        .run::<()>(conn.publish(Shared::channel(&message.breaker), json))
        .await
    {
        Ok(()) => {
            shared.counts.published.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        Err(Fault::Refused) => {
            shared
                .counts
                .publish_failures
                .fetch_add(1, Ordering::Relaxed);
            Err(Fault::Refused)
        }
        Err(Fault::Broken) => Err(Fault::Broken),
    }
}

/// Subscribes to the followed breakers' channels and lets them follow
/// peers. The link is checked with a `PING` every heartbeat; a missing
/// answer, like a failed connection, is followed by the next [`RECONNECT`]
/// wait and a new subscription.
async fn follow<W: Window, C: Clock>(shared: Arc<Shared>, registry: Arc<Registry<W, C>>) {
    let _running = Running(&shared.counts.follower_running);
    let fresh = || RECONNECT.delays(seed(&shared.config.replica).rotate_left(7));
    let mut delays = fresh();
    let mut memory = Memory::default();
    loop {
        let connecting = shared.config.client.get_async_pubsub();
        match tokio::time::timeout(shared.config.op_timeout, connecting).await {
            Ok(Ok(pubsub)) => {
                shared.counts.connects.fetch_add(1, Ordering::Relaxed);
                if listen(&shared, &registry, pubsub, &mut memory).await {
                    delays = fresh();
                }
                shared.counts.subscribed.store(false, Ordering::Relaxed);
                shared.counts.disconnects.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Err(e)) => {
                shared.note_error(&e);
                shared
                    .counts
                    .connect_failures
                    .fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                shared.note_error(&"subscribing to Redis timed out");
                shared
                    .counts
                    .connect_failures
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
        tokio::time::sleep(delays.next().unwrap_or(Duration::from_secs(5))).await;
    }
}

/// One subscription's life: returns when the link is found broken, with
/// whether a `PING` was answered on it first.
async fn listen<W: Window, C: Clock>(
    shared: &Shared,
    registry: &Registry<W, C>,
    pubsub: redis::aio::PubSub,
    memory: &mut Memory,
) -> bool {
    let mut proven = false;
    let (mut sink, mut stream) = pubsub.split();
    let mut channels: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut ping = tokio::time::interval(shared.config.heartbeat);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ping.tick().await;
    loop {
        let wanted: Vec<String> = lock(&shared.followed)
            .keys()
            .map(|name| Shared::channel(name))
            .filter(|channel| !channels.contains(channel))
            .collect();
        for channel in wanted {
            match shared.run(sink.subscribe(&channel)).await {
                Ok(()) => {
                    channels.insert(channel);
                }
                Err(Fault::Refused) => {
                    shared
                        .counts
                        .subscribe_failures
                        .fetch_add(1, Ordering::Relaxed);
                    channels.insert(channel);
                }
                Err(Fault::Broken) => return proven,
            }
        }
        shared.counts.subscribed.store(true, Ordering::Relaxed);
        tokio::select! {
            msg = stream.next() => {
                let Some(msg) = msg else { return proven };
                shared.on_message(registry, &msg, memory);
            }
            _ = ping.tick() => {
                match shared.run(sink.ping::<redis::Value>()).await {
                    Ok(_) => proven = true,
                    Err(Fault::Refused) => {}
                    Err(Fault::Broken) => return proven,
                }
            }
            () = shared.follows_changed.notified() => {}
        }
    }
}

/// What the follower remembers across subscriptions: the last sequence
/// number seen from each replica, and each followed breaker's recent
/// openings by peers.
#[derive(Default)]
struct Memory {
    last_seq: HashMap<String, u64>,
    opened: HashMap<String, VecDeque<tokio::time::Instant>>,
}

/// Replicas remembered at most; only verified messages add one, so more
/// than this means no key (or a fleet this large), and forgetting them all
/// leaves replays to the age check.
const REMEMBERED_REPLICAS: usize = 4096;

impl Shared {
    /// One message on a followed channel: checked, in order, for shape,
    /// channel, tag, sender, age and sequence, then maybe followed.
    fn on_message<W: Window, C: Clock>(
        &self,
        registry: &Registry<W, C>,
        msg: &redis::Msg,
        memory: &mut Memory,
    ) {
        match self.check(msg, memory) {
            Ok(Some(message)) => self.follow_one(registry, &message, memory),
            Ok(None) => {}
            Err(why) => self.drop_message(why),
        }
    }

    /// The message if it is to be acted on, `None` if it is this replica's own.
    fn check(
        &self,
        msg: &redis::Msg,
        memory: &mut Memory,
    ) -> Result<Option<FleetMessage>, Dropped> {
        let payload = msg
            .get_payload::<String>()
            .map_err(|_| Dropped::Malformed)?;
        let message =
            serde_json::from_str::<FleetMessage>(&payload).map_err(|_| Dropped::Malformed)?;
        let named = msg
            .get_channel_name()
            .strip_prefix(CHANNEL_PREFIX)
            .is_some_and(|name| name == message.breaker);
        if !named {
            return Err(Dropped::WrongChannel);
        }
        if let Some(key) = &self.config.key {
            if message.mac.is_none() {
                return Err(Dropped::Unsigned);
            }
            if !message.verify(key) {
                return Err(Dropped::BadMac);
            }
        }
        if message.replica == self.config.replica {
            return Ok(None);
        }
        if let Some(peers) = &self.config.peers {
            if !peers.contains(&message.replica) {
                return Err(Dropped::UnknownReplica);
            }
        }
        if unix_millis().abs_diff(message.sent_ms) > millis(self.config.max_age) {
            return Err(Dropped::Stale);
        }
        if let Some(&last) = memory.last_seq.get(&message.replica) {
            if message.seq <= last {
                return Err(Dropped::Replayed);
            }
        } else if memory.last_seq.len() >= REMEMBERED_REPLICAS {
            memory.last_seq.clear();
        }
        memory.last_seq.insert(message.replica.clone(), message.seq);
        Ok(Some(message))
    }

    /// A peer's opening, applied to a followed local breaker of the same
    /// name if it is closed and the follow limit allows. Openings that were
    /// themselves followed are not passed on (no echo).
    fn follow_one<W: Window, C: Clock>(
        &self,
        registry: &Registry<W, C>,
        message: &FleetMessage,
        memory: &mut Memory,
    ) {
        let FleetEvent::StateChanged {
            to: State::Open,
            reason,
            open_for_ms: Some(open_for_ms),
            ..
        } = message.kind
        else {
            return;
        };
        if reason == Reason::Peer {
            return;
        }
        let Some(cap) = lock(&self.followed).get(&message.breaker).copied() else {
            return;
        };
        let Some(breaker) = registry.get(&message.breaker) else {
            return;
        };
        if breaker.state() != State::Closed {
            return;
        }
        let (opens, per) = self.config.follow_limit;
        let now = tokio::time::Instant::now();
        let opened = memory.opened.entry(message.breaker.clone()).or_default();
        while opened
            .front()
            .is_some_and(|&t| now.duration_since(t) >= per)
        {
            opened.pop_front();
        }
        if opened.len() >= opens as usize {
            self.drop_message(Dropped::Limited);
            return;
        }
        if follow_peer(&breaker, Duration::from_millis(open_for_ms), cap) {
            opened.push_back(now);
            self.counts.followed.fetch_add(1, Ordering::Relaxed);
        }
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

/// Every breaker of every replica whose state hash has not expired, read
/// with `SCAN` (never `KEYS`, which blocks a large Redis); a key under the
/// prefix that is not a hash, or an entry that does not decode, is skipped.
/// With a `key`, so is every entry whose tag does not verify for the
/// replica whose hash holds it: forged hashes do not show up as replicas.
///
/// # Errors
/// Redis' error if it cannot be reached.
///
/// ```no_run
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let key = tripline::FleetKey::from_hex(&std::env::var("TRIPLINE_FLEET_KEY")?)?;
/// for e in tripline::fleet_status("redis://127.0.0.1:6379/", Some(&key)).await? {
///     println!("{:>12} {:>10} {}", e.replica, e.breaker, e.state);
/// }
/// # Ok(()) }
/// ```
pub async fn fleet_status(
    url: &str,
    fleet_key: Option<&FleetKey>,
) -> redis::RedisResult<Vec<FleetEntry>> {
    status(&redis::Client::open(url)?, fleet_key).await
}

async fn status(
    client: &redis::Client,
    fleet_key: Option<&FleetKey>,
) -> redis::RedisResult<Vec<FleetEntry>> {
    let mut conn = client.get_multiplexed_async_connection().await?;
    let mut keys: Vec<String> = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{FLEET_PREFIX}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await?;
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    keys.sort();
    keys.dedup();
    let mut entries = Vec::new();
    for key in keys {
        let replica = key.trim_start_matches(FLEET_PREFIX).to_string();
        let fields: Vec<(String, String)> = match conn.hgetall(&key).await {
            Ok(fields) => fields,
            Err(e) if matches!(fault(&e), Fault::Refused) => continue,
            Err(e) => return Err(e),
        };
        for (breaker, json) in fields {
            if let Ok(mut entry) = serde_json::from_str::<FleetEntry>(&json) {
                entry.replica.clone_from(&replica);
                entry.breaker = breaker;
                if fleet_key.is_none_or(|k| entry.verify(k)) {
                    entries.push(entry);
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_name_counters_are_freed_with_their_breaker() {
        let config = FleetConfig::builder("redis://127.0.0.1:1/", "a")
            .insecure_no_key()
            .build()
            .expect("a valid config");
        let fleet = Fleet::new(config);
        for i in 0..100 {
            fleet
                .registry()
                .get_or_create(&format!("b{i}"), Config::DEFAULT);
        }
        assert_eq!(lock(&fleet.shared.rejections).len(), 100);
        for i in 0..50 {
            assert!(fleet.remove(&format!("b{i}")).is_some());
        }
        assert_eq!(lock(&fleet.shared.rejections).len(), 50);
        // Removed from the registry directly: freed on the publisher's next pass.
        for i in 50..100 {
            assert!(fleet.registry().remove(&format!("b{i}")).is_some());
        }
        let again = fleet.registry().get_or_create("b99", Config::DEFAULT);
        let live = counters(&fleet.shared, fleet.registry());
        assert_eq!(live.len(), 1);
        assert_eq!(&*live[0].0, again.name());
        assert_eq!(lock(&fleet.shared.rejections).len(), 1);
    }
}
