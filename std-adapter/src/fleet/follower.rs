//! The following task: subscribes to the followed breakers' channels,
//! checks every message (shape, channel, tag, sender, age, sequence), and
//! lets a closed breaker follow a peer's opening within the follow limit.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tripline_core::{Clock, Reason, State, Window};

use super::link::{Fault, RECONNECT};
use super::stats::Dropped;
use super::{
    follow_peer, lock, millis, seed, unix_millis, FleetEvent, FleetMessage, Running, Shared,
    CHANNEL_PREFIX,
};
use crate::Registry;

/// Subscribes to the followed breakers' channels and lets them follow
/// peers. The link is checked with a `PING` every heartbeat; a missing
/// answer, like a failed connection, is followed by the next [`RECONNECT`]
/// wait and a new subscription.
pub(super) async fn follow<W: Window, C: Clock>(
    shared: Arc<Shared>,
    registry: Arc<Registry<W, C>>,
) {
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
