//! The publishing task: drains the queued state changes to the breakers'
//! channels, publishes rejection counts, and keeps this replica's state
//! hash fresh.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::AsyncCommands;
use tripline_core::{Clock, Event, State, Window};

use super::link::{Fault, RECONNECT};
use super::{
    lock, millis, read, seed, unix_millis, FleetEntry, FleetEvent, FleetMessage, Running, Shared,
};
use crate::{CircuitBreaker, Registry};

/// Drains the queue to Redis, publishes rejection counts each second and
/// refreshes the state hash each heartbeat. A broken link, like a failed
/// connection, is followed by the next [`RECONNECT`] wait; the waits start
/// over once a command succeeds on a new link.
pub(super) async fn publish<W: Window, C: Clock>(
    shared: Arc<Shared>,
    registry: Arc<Registry<W, C>>,
) {
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

#[cfg(test)]
mod tests {
    use tripline_core::Config;

    use super::*;
    use crate::fleet::{Fleet, FleetConfig};

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
