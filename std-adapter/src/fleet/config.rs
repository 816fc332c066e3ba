//! A replica's fleet settings: [`FleetConfig`], its builder, and the
//! [`FleetConfigError`] a setting out of range is reported with.

use std::time::Duration;

use super::FleetKey;

/// Where and how a replica reports to Redis, validated when built: a
/// [`Fleet`](super::Fleet) never starts with a setting its tasks cannot run with.
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
    pub(super) client: redis::Client,
    url: String,
    pub(super) replica: String,
    pub(super) queue: usize,
    pub(super) heartbeat: Duration,
    pub(super) op_timeout: Duration,
    pub(super) key: Option<FleetKey>,
    pub(super) peers: Option<std::collections::BTreeSet<String>>,
    pub(super) max_age: Duration,
    pub(super) follow_limit: (u32, Duration),
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
