//! What the fleet glue did: the counters the tasks bump, and the
//! [`FleetStats`] and [`FleetDrops`] they are read as.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

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
    /// Not a fleet message (not UTF-8, not the JSON of a [`FleetMessage`](super::FleetMessage)).
    pub malformed: u64,
    /// The breaker named in the message is not the channel's.
    pub wrong_channel: u64,
    /// No tag, with a fleet key set.
    pub unsigned: u64,
    /// A tag that does not verify under the fleet key.
    pub bad_mac: u64,
    /// From a replica outside [`FleetConfigBuilder::peers`](super::FleetConfigBuilder::peers).
    pub unknown_replica: u64,
    /// Sent longer ago (or further ahead) than [`FleetConfigBuilder::max_age`](super::FleetConfigBuilder::max_age).
    pub stale: u64,
    /// A sequence number not above the last one seen from that replica.
    pub replayed: u64,
    /// An opening past [`FleetConfigBuilder::follow_limit`](super::FleetConfigBuilder::follow_limit).
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
pub(super) enum Dropped {
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
    /// followed by a backoff wait. [`Fleet::last_error`](super::Fleet::last_error) says why.
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
    /// [`FleetTasks`](super::FleetTasks) is dropped, or if it ended by a panic).
    pub publisher_running: bool,
    /// Whether the follower task is running.
    pub follower_running: bool,
}

#[derive(Default)]
pub(super) struct Counts {
    pub(super) published: AtomicU64,
    pub(super) dropped: AtomicU64,
    pub(super) connects: AtomicU64,
    pub(super) connect_failures: AtomicU64,
    pub(super) disconnects: AtomicU64,
    pub(super) publish_failures: AtomicU64,
    pub(super) heartbeat_failures: AtomicU64,
    pub(super) subscribe_failures: AtomicU64,
    pub(super) followed: AtomicU64,
    pub(super) drops: [AtomicU64; 8],
    pub(super) connected: AtomicBool,
    pub(super) subscribed: AtomicBool,
    pub(super) publisher_running: AtomicBool,
    pub(super) follower_running: AtomicBool,
}

impl Counts {
    /// The counters now, as a [`FleetStats`].
    pub(super) fn stats(&self) -> FleetStats {
        let c = self;
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
}
