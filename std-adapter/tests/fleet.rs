//! Fleet mode against a real `redis-server` that each test starts on a free
//! 127.0.0.1 port (no persistence) and stops at the end. Breakers run on
//! `MockClock`s; only Redis and the network are real, and waits for them are
//! bounded polls, never sleeps that decide a transition.
#![cfg(feature = "redis")]

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant as WallClock};

use futures_util::StreamExt;
use tripline_core::{Config, CountWindow, MockClock, Reason, State};
use tripline_std::{
    fleet_status, CircuitBreaker, Fleet, FleetConfig, FleetConfigError, FleetEvent, FleetKey,
    FleetMessage, FleetTasks,
};

type Mocked = Fleet<CountWindow<16>, &'static MockClock>;

struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        Self::start_on(port)
    }

    fn start_on(port: u16) -> Self {
        Self::start_with(port, &["--port", &port.to_string()])
    }

    /// A server on `port` with `args` (which say which port is what).
    fn start_with(port: u16, args: &[&str]) -> Self {
        let child = Command::new("redis-server")
            .args(args)
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed (.ci/run installs it)");
        let deadline = WallClock::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(WallClock::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        RedisServer { child, port }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn key() -> FleetKey {
    FleetKey::new(*b"tripline fleet test key, 32 byte").expect("a long enough key")
}

fn clock() -> &'static MockClock {
    Box::leak(Box::new(MockClock::new()))
}

fn fleet(url: &str, replica: &str, clock: &'static MockClock, queue: usize) -> Mocked {
    let config = FleetConfig::builder(url, replica)
        .key(key())
        .follow_limit(2, Duration::from_secs(600))
        .queue(queue)
        .heartbeat(Duration::from_millis(500))
        .op_timeout(Duration::from_millis(250))
        .build()
        .expect("a valid fleet config");
    Fleet::with_builder(config, move |b| {
        b.window(CountWindow::<16>::new()).clock(clock)
    })
}

fn two_failures_open_for(open: Duration) -> Config {
    Config::builder()
        .consecutive_failures(2)
        .open_duration(open)
        .build()
        .expect("valid configuration")
}

/// Polls `done` every 10 ms for up to 10 s.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = WallClock::now() + Duration::from_secs(10);
    while !done() {
        assert!(WallClock::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn started(fleet: &Mocked) -> FleetTasks {
    let tasks = fleet.start();
    let deadline = WallClock::now() + Duration::from_secs(10);
    loop {
        let s = fleet.stats();
        if s.connected && s.subscribed {
            return tasks;
        }
        assert!(
            WallClock::now() < deadline,
            "the fleet did not connect: {s:?}, {:?}",
            fleet.last_error()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn trip(b: &CircuitBreaker<CountWindow<16>, &'static MockClock>) {
    for _ in 0..2 {
        let _ = b.call(|| Err::<(), _>("503"));
    }
    assert_eq!(b.state(), State::Open);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_published_in_order_as_json_and_rejections_per_second() {
    let redis = RedisServer::start();
    let clock = clock();
    let a = fleet(&redis.url(), "a", clock, 64);
    let _tasks = started(&a).await;

    let client = redis::Client::open(redis.url()).expect("a valid url");
    let mut pubsub = client.get_async_pubsub().await.expect("connects");
    pubsub
        .subscribe("tripline:breaker:payments")
        .await
        .expect("subscribes");
    let mut messages = pubsub.into_on_message();

    let b = a
        .registry()
        .get_or_create("payments", two_failures_open_for(Duration::from_secs(5)));
    trip(&b);
    for _ in 0..5 {
        assert!(b.call(|| Ok::<_, ()>(())).is_err());
    }

    let mut changes = Vec::new();
    let mut rejected = 0;
    let deadline = WallClock::now() + Duration::from_secs(10);
    // The publisher reads the open time when it publishes: the breaker stays
    // open (the mock clock stands still) until the opening is out.
    let mut recovered = false;
    while changes.len() < 3 || rejected < 5 {
        if !recovered && !changes.is_empty() {
            clock.advance(Duration::from_secs(5));
            assert_eq!(b.call(|| Ok::<_, ()>(())), Ok(()));
            assert_eq!(b.state(), State::Closed);
            recovered = true;
        }
        assert!(
            WallClock::now() < deadline,
            "saw {changes:?}, {rejected} rejections"
        );
        let next = tokio::time::timeout(Duration::from_secs(5), messages.next()).await;
        let msg = next
            .expect("a message in time")
            .expect("the stream is open");
        let payload: String = msg.get_payload().expect("a string payload");
        let message: FleetMessage = serde_json::from_str(&payload).expect("decodes");
        assert_eq!(
            (message.replica.as_str(), message.breaker.as_str()),
            ("a", "payments")
        );
        match message.kind {
            FleetEvent::StateChanged {
                from,
                to,
                reason,
                open_for_ms,
            } => changes.push((from, to, reason, open_for_ms.is_some())),
            FleetEvent::Rejections { count } => rejected += count,
        }
    }
    assert_eq!(
        changes,
        [
            (
                State::Closed,
                State::Open,
                Reason::Tripped(tripline_core::Rule::ConsecutiveFailures),
                true
            ),
            (State::Open, State::HalfOpen, Reason::OpenTimeElapsed, false),
            (
                State::HalfOpen,
                State::Closed,
                Reason::ProbesSucceeded,
                false
            ),
        ]
    );
    assert_eq!(rejected, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_opens_when_its_peer_opens_and_both_recover_on_their_own() {
    let redis = RedisServer::start();
    let (clock_a, clock_b) = (clock(), clock());
    let a = fleet(&redis.url(), "a", clock_a, 64);
    let b = fleet(&redis.url(), "b", clock_b, 64);
    b.follow("payments", Duration::from_secs(3));
    let (_ta, _tb) = (started(&a).await, started(&b).await);

    let config = two_failures_open_for(Duration::from_secs(10));
    let pa = a.registry().get_or_create("payments", config);
    let pb = b.registry().get_or_create("payments", config);
    let other = b.registry().get_or_create("search", config);

    trip(&pa);
    eventually("b to follow a", || pb.state() == State::Open).await;
    assert_eq!(b.stats().followed, 1);
    let follow_time = pb.retry_after().expect("open");
    assert!(
        follow_time <= Duration::from_secs(3),
        "capped: {follow_time:?}"
    );
    assert_eq!(
        other.state(),
        State::Closed,
        "only the named breaker follows"
    );
    assert_eq!(
        a.stats().followed,
        0,
        "a does not echo b's followed opening"
    );

    // b probes on its own clock, long before a's open time ends.
    clock_b.advance(Duration::from_secs(3));
    assert_eq!(pb.call(|| Ok::<_, ()>(())), Ok(()));
    assert_eq!(pb.state(), State::Closed);
    assert_eq!(pa.state(), State::Open);
    clock_a.advance(Duration::from_secs(10));
    assert_eq!(pa.call(|| Ok::<_, ()>(())), Ok(()));
    assert_eq!(pa.state(), State::Closed);

    let url = redis.url();
    let mut replicas = Vec::new();
    let deadline = WallClock::now() + Duration::from_secs(10);
    while replicas.len() < 2 {
        assert!(WallClock::now() < deadline, "fleet status: {replicas:?}");
        let entries = fleet_status(&url, Some(&key())).await.expect("redis is up");
        replicas = entries
            .iter()
            .filter(|e| e.breaker == "payments" && e.state == State::Closed)
            .map(|e| e.replica.clone())
            .collect();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(replicas, ["a", "b"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_never_wait_for_redis_and_the_publisher_reconnects_after_a_restart() {
    let mut redis = RedisServer::start();
    let port = redis.port;
    let clock = clock();
    let a = fleet(&redis.url(), "a", clock, 8);
    let _tasks = started(&a).await;
    let b = a
        .registry()
        .get_or_create("payments", two_failures_open_for(Duration::from_millis(5)));
    let plain: CircuitBreaker = CircuitBreaker::new("plain", Config::DEFAULT);

    let per_call = |calls: u32, f: &dyn Fn()| {
        let start = WallClock::now();
        for _ in 0..calls {
            f();
        }
        start.elapsed() / calls
    };
    let closed_call = || {
        let _ = b.call(|| Ok::<_, ()>(()));
    };
    let plain_call = || {
        let _ = plain.call(|| Ok::<_, ()>(()));
    };
    let up = per_call(100_000, &closed_call);
    let baseline = per_call(100_000, &plain_call);

    redis.stop();
    eventually("the publisher to notice", || !a.stats().connected).await;
    let down = per_call(100_000, &closed_call);
    // Trip and recover many times while Redis is away: the queue of 8 overflows.
    for _ in 0..100 {
        trip(&b);
        clock.advance(Duration::from_millis(5));
        assert_eq!(b.call(|| Ok::<_, ()>(())), Ok(()));
    }
    let m = b.metrics();
    assert_eq!(m.state, State::Closed);
    assert!(a.stats().dropped >= 300 - 8, "{:?}", a.stats());
    println!(
        "closed-state call: {baseline:?} without fleet, {up:?} with Redis up, {down:?} with Redis down"
    );

    let connects = a.stats().connects;
    let redis = RedisServer::start_on(port);
    eventually("the publisher to reconnect", || {
        a.stats().connects > connects
    })
    .await;
    eventually("the follower to resubscribe", || a.stats().subscribed).await;

    let client = redis::Client::open(redis.url()).expect("a valid url");
    let mut pubsub = client.get_async_pubsub().await.expect("connects");
    pubsub
        .subscribe("tripline:breaker:payments")
        .await
        .expect("subscribes");
    let mut messages = pubsub.into_on_message();
    trip(&b);
    let msg = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let msg = messages.next().await.expect("the stream is open");
            let payload: String = msg.get_payload().expect("a string payload");
            let message: FleetMessage = serde_json::from_str(&payload).expect("decodes");
            if matches!(
                message.kind,
                FleetEvent::StateChanged {
                    to: State::Open,
                    ..
                }
            ) {
                return message;
            }
        }
    })
    .await
    .expect("the new opening is published after the restart");
    assert_eq!(msg.breaker, "payments");
}

#[test]
fn config_extremes_are_build_errors_not_panics_in_a_task() {
    let build = |f: fn(tripline_std::FleetConfigBuilder) -> tripline_std::FleetConfigBuilder| {
        f(FleetConfig::builder("redis://127.0.0.1:1/", "a").key(key()))
            .build()
            .map(|_| ())
    };
    assert_eq!(build(|b| b), Ok(()));
    assert_eq!(
        build(|b| b.heartbeat(Duration::ZERO)),
        Err(FleetConfigError::Heartbeat)
    );
    assert_eq!(
        build(|b| b.heartbeat(Duration::MAX)),
        Err(FleetConfigError::Heartbeat)
    );
    assert_eq!(
        build(|b| b.heartbeat(FleetConfig::MAX_HEARTBEAT + Duration::from_nanos(1))),
        Err(FleetConfigError::Heartbeat)
    );
    assert_eq!(
        build(|b| b.op_timeout(Duration::ZERO)),
        Err(FleetConfigError::OpTimeout)
    );
    assert_eq!(
        build(|b| b.op_timeout(Duration::MAX)),
        Err(FleetConfigError::OpTimeout)
    );
    assert_eq!(
        build(|b| b
            .heartbeat(Duration::from_secs(1))
            .op_timeout(Duration::from_secs(2))),
        Err(FleetConfigError::OpTimeoutNotBelowHeartbeat)
    );
    assert_eq!(build(|b| b.queue(0)), Err(FleetConfigError::Queue));
    assert_eq!(build(|b| b.queue(usize::MAX)), Err(FleetConfigError::Queue));
    assert_eq!(
        FleetConfig::builder("redis://127.0.0.1/", "a")
            .build()
            .map(|_| ()),
        Err(FleetConfigError::NoKey)
    );
    assert!(FleetConfig::builder("redis://127.0.0.1/", "a")
        .insecure_no_key()
        .build()
        .is_ok());
    assert_eq!(
        FleetKey::new([0; 15]).map(|_| ()),
        Err(FleetConfigError::Key)
    );
    assert_eq!(
        build(|b| b.max_age(Duration::ZERO)),
        Err(FleetConfigError::MaxAge)
    );
    assert_eq!(
        build(|b| b.max_age(Duration::MAX)),
        Err(FleetConfigError::MaxAge)
    );
    assert_eq!(
        build(|b| b.follow_limit(0, Duration::from_secs(60))),
        Err(FleetConfigError::FollowLimit)
    );
    assert_eq!(
        build(|b| b.follow_limit(3, Duration::ZERO)),
        Err(FleetConfigError::FollowLimit)
    );
    for replica in ["", "two words", "a\nb", &"x".repeat(129)] {
        assert_eq!(
            FleetConfig::builder("redis://127.0.0.1/", replica)
                .key(key())
                .build()
                .map(|_| ()),
            Err(FleetConfigError::Replica),
            "{replica:?}"
        );
    }
    assert!(matches!(
        FleetConfig::builder("not a url", "a").build(),
        Err(FleetConfigError::Url(_))
    ));
    // Without the redis-tls feature a rediss:// URL is refused when built,
    // not left to fail without a word at every connect.
    #[cfg(not(feature = "redis-tls"))]
    assert!(matches!(
        FleetConfig::builder("rediss://127.0.0.1/", "a")
            .key(key())
            .build(),
        Err(FleetConfigError::Url(_))
    ));
}

/// Reads one `INFO` field as a number.
async fn info_field(url: &str, section: &str, field: &str) -> u64 {
    let client = redis::Client::open(url).expect("a valid url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connects");
    let info: String = redis::cmd("INFO")
        .arg(section)
        .query_async(&mut conn)
        .await
        .expect("INFO answers");
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in INFO {section}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_replica_keeps_events_flowing_without_a_reconnect_storm() {
    let master = RedisServer::start();
    let replica = RedisServer::start();
    let client = redis::Client::open(replica.url()).expect("a valid url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connects");
    let _: () = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(master.port)
        .query_async(&mut conn)
        .await
        .expect("REPLICAOF answers");
    let refused: redis::RedisResult<()> = redis::cmd("HSET")
        .arg("k")
        .arg("f")
        .arg("v")
        .query_async(&mut conn)
        .await;
    assert_eq!(
        refused.expect_err("a replica refuses writes").code(),
        Some("READONLY")
    );

    let clock = clock();
    let a = fleet(&replica.url(), "a", clock, 64);
    let _tasks = started(&a).await;
    let before = info_field(&replica.url(), "stats", "total_connections_received").await;

    let mut pubsub = client.get_async_pubsub().await.expect("connects");
    pubsub
        .subscribe("tripline:breaker:payments")
        .await
        .expect("subscribes");
    let mut messages = pubsub.into_on_message();
    let b = a
        .registry()
        .get_or_create("payments", two_failures_open_for(Duration::from_secs(5)));
    trip(&b);
    let msg = tokio::time::timeout(Duration::from_secs(10), messages.next())
        .await
        .expect("the opening is published on the read-only replica")
        .expect("the stream is open");
    let payload: String = msg.get_payload().expect("a string payload");
    let message: FleetMessage = serde_json::from_str(&payload).expect("decodes");
    assert_eq!(message.breaker, "payments");

    // Three refused heartbeats (500 ms apart) on the same connection.
    eventually("refused heartbeats", || a.stats().heartbeat_failures >= 3).await;
    let stats = a.stats();
    assert_eq!((stats.disconnects, stats.connects), (0, 2), "{stats:?}");
    assert!(stats.connected, "{stats:?}");
    let last = a.last_error();
    assert!(
        last.as_deref().is_some_and(|e| e.contains("read only")),
        "{last:?}"
    );
    let after = info_field(&replica.url(), "stats", "total_connections_received").await;
    // Only the test's own pub/sub and INFO connections are new.
    assert!(after - before <= 2, "{before} -> {after} connections");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_failures_are_counted_visible_and_backed_off() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let clock = clock();
    let a = fleet(&format!("redis://127.0.0.1:{port}/"), "a", clock, 8);
    let start = WallClock::now();
    let tasks = a.start();
    eventually("six failed connects", || a.stats().connect_failures >= 6).await;
    // Two tasks: one of them failed three times, so waited 40 ms and 80 ms
    // at least (50 ms and 100 ms, less 20 % jitter).
    assert!(start.elapsed() >= Duration::from_millis(120));
    let stats = a.stats();
    assert_eq!(stats.connects, 0);
    assert!(stats.publisher_running && stats.follower_running);
    assert!(!tasks.is_finished());
    assert!(a.last_error().is_some());
    drop(tasks);
    eventually("the tasks to end", || {
        let s = a.stats();
        !s.publisher_running && !s.follower_running
    })
    .await;
}

fn now_ms() -> u64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970");
    u64::try_from(since.as_millis()).expect("fits")
}

/// An opening of `breaker` as `replica` would publish it, signed with `key`.
fn opening(replica: &str, breaker: &str, seq: u64, key: Option<&FleetKey>) -> FleetMessage {
    let mut message = FleetMessage {
        replica: replica.into(),
        breaker: breaker.into(),
        kind: FleetEvent::StateChanged {
            from: State::Closed,
            to: State::Open,
            reason: Reason::Tripped(tripline_core::Rule::ConsecutiveFailures),
            open_for_ms: Some(u64::MAX),
        },
        sent_ms: now_ms(),
        seq,
        mac: None,
    };
    if let Some(key) = key {
        message.sign(key);
    }
    message
}

async fn publish_raw(conn: &mut redis::aio::MultiplexedConnection, channel: &str, payload: &str) {
    let _: i64 = redis::cmd("PUBLISH")
        .arg(channel)
        .arg(payload)
        .query_async(conn)
        .await
        .expect("PUBLISH answers");
}

fn json(message: &FleetMessage) -> String {
    serde_json::to_string(message).expect("encodes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_unsigned_replayed_stale_and_wrong_channel_messages_change_nothing_and_are_counted()
{
    let redis = RedisServer::start();
    let (clock_a, clock_b) = (clock(), clock());
    let a = fleet(&redis.url(), "a", clock_a, 64);
    let b = fleet(&redis.url(), "b", clock_b, 64);
    b.follow("payments", Duration::from_secs(3));
    b.follow("search", Duration::from_secs(3));
    let (_ta, _tb) = (started(&a).await, started(&b).await);

    // Record a's real, signed opening as it goes by.
    let client = redis::Client::open(redis.url()).expect("a valid url");
    let mut pubsub = client.get_async_pubsub().await.expect("connects");
    pubsub
        .subscribe("tripline:breaker:payments")
        .await
        .expect("subscribes");
    let mut messages = pubsub.into_on_message();
    let config = two_failures_open_for(Duration::from_secs(10));
    let pa = a.registry().get_or_create("payments", config);
    let pb = b.registry().get_or_create("payments", config);
    let sb = b.registry().get_or_create("search", config);
    trip(&pa);
    let recorded: String = tokio::time::timeout(Duration::from_secs(10), messages.next())
        .await
        .expect("a's opening in time")
        .expect("the stream is open")
        .get_payload()
        .expect("a string payload");
    let real: FleetMessage = serde_json::from_str(&recorded).expect("decodes");
    assert!(real.verify(&key()), "a signs what it sends");
    eventually("b to follow a", || pb.state() == State::Open).await;
    clock_b.advance(Duration::from_secs(3));
    assert_eq!(pb.call(|| Ok::<_, ()>(())), Ok(()));
    assert_eq!(pb.state(), State::Closed);
    assert_eq!(b.stats().followed, 1);

    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connects");
    let payments = "tripline:breaker:payments";
    let seq = real.seq + 1_000;
    // Unsigned, as anyone who can PUBLISH could write it.
    publish_raw(
        &mut conn,
        payments,
        &json(&opening("a", "payments", seq, None)),
    )
    .await;
    // Signed with another key.
    let other = FleetKey::new([9; 32]).expect("a long enough key");
    let forged = opening("a", "payments", seq, Some(&other));
    publish_raw(&mut conn, payments, &json(&forged)).await;
    // The real message, altered after signing.
    let mut altered = real.clone();
    altered.seq = seq;
    publish_raw(&mut conn, payments, &json(&altered)).await;
    // The real message again, byte for byte.
    publish_raw(&mut conn, payments, &recorded).await;
    // The real message on another breaker's channel.
    publish_raw(&mut conn, "tripline:breaker:search", &recorded).await;
    // Correctly signed, but a minute old.
    let mut old = opening("a", "payments", seq, None);
    old.sent_ms -= 60_000;
    old.sign(&key());
    publish_raw(&mut conn, payments, &json(&old)).await;
    // Not a fleet message at all.
    publish_raw(&mut conn, payments, "{\"type\":\"state-changed\"}").await;

    eventually("seven drops", || b.stats().drops.total() == 7).await;
    let drops = b.stats().drops;
    assert_eq!(
        (
            drops.unsigned,
            drops.bad_mac,
            drops.replayed,
            drops.wrong_channel,
            drops.stale,
            drops.malformed,
            drops.limited,
        ),
        (1, 2, 1, 1, 1, 1, 0),
        "{drops:?}"
    );
    assert_eq!(b.stats().followed, 1);
    assert_eq!(pb.state(), State::Closed);
    assert_eq!(sb.state(), State::Closed);

    // A signed hash entry copied under a forged replica's hash is not listed.
    let _: () = redis::cmd("HSET")
        .arg("tripline:fleet:mallory")
        .arg("payments")
        .arg("{\"state\":\"forced-open\",\"retry_after_ms\":null,\"rejected\":0}")
        .query_async(&mut conn)
        .await
        .expect("HSET answers");
    let listed = fleet_status(&redis.url(), Some(&key()))
        .await
        .expect("redis is up");
    assert!(listed.iter().all(|e| e.replica != "mallory"), "{listed:?}");
    assert!(listed.iter().any(|e| e.replica == "a"), "{listed:?}");
    let unverified = fleet_status(&redis.url(), None).await.expect("redis is up");
    assert!(unverified.iter().any(|e| e.replica == "mallory"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_signed_openings_reopens_a_followed_breaker_only_up_to_the_limit() {
    let redis = RedisServer::start();
    let clock_b = clock();
    let b = fleet(&redis.url(), "b", clock_b, 64); // follow limit: 2 per 10 min
    b.follow("payments", Duration::from_secs(3));
    let _tb = started(&b).await;
    let pb = b
        .registry()
        .get_or_create("payments", two_failures_open_for(Duration::from_secs(10)));
    let client = redis::Client::open(redis.url()).expect("a valid url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connects");

    // A replica gone wrong (it has the key) re-opens whenever b closes.
    let (mut calls, mut rejected) = (0, 0);
    for round in 1..=10_u64 {
        let message = opening("x", "payments", round, Some(&key()));
        publish_raw(&mut conn, "tripline:breaker:payments", &json(&message)).await;
        eventually("the opening to be followed or limited", || {
            let s = b.stats();
            s.followed + s.drops.limited == round
        })
        .await;
        for _ in 0..100 {
            calls += 1;
            if pb.call(|| Ok::<_, ()>(())).is_err() {
                rejected += 1;
            }
        }
        clock_b.advance(Duration::from_secs(3));
        assert_eq!(pb.call(|| Ok::<_, ()>(())), Ok(()));
        assert_eq!(pb.state(), State::Closed);
    }
    let s = b.stats();
    assert_eq!((s.followed, s.drops.limited), (2, 8), "{s:?}");
    assert_eq!((calls, rejected), (1_000, 200));
}

/// A loopback TCP relay to `upstream` that can be told to stop forwarding:
/// it then keeps every connection open and discards what arrives, like a
/// link that black-holes packets.
struct Relay {
    port: u16,
    forwarding: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Relay {
    async fn start(upstream: u16) -> Relay {
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let port = listener.local_addr().expect("bound").port();
        let forwarding = std::sync::Arc::new(AtomicBool::new(true));
        let on = std::sync::Arc::clone(&forwarding);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                else {
                    continue;
                };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                for (mut from, mut to) in [(cr, sw), (sr, cw)] {
                    let on = std::sync::Arc::clone(&on);
                    tokio::spawn(async move {
                        use tokio::io::{AsyncReadExt, AsyncWriteExt};
                        let mut buf = [0_u8; 4096];
                        while let Ok(n @ 1..) = from.read(&mut buf).await {
                            if on.load(Ordering::SeqCst) && to.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    });
                }
            }
        });
        Relay { port, forwarding }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn forward(&self, on: bool) {
        self.forwarding
            .store(on, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_black_holed_follower_notices_resubscribes_and_follows_again_after_it_heals() {
    let redis = RedisServer::start();
    let relay = Relay::start(redis.port).await;
    let (clock_a, clock_b) = (clock(), clock());
    let a = fleet(&redis.url(), "a", clock_a, 64);
    let b = fleet(&relay.url(), "b", clock_b, 64);
    b.follow("payments", Duration::from_secs(3));
    let (_ta, _tb) = (started(&a).await, started(&b).await);
    let config = two_failures_open_for(Duration::from_secs(10));
    let pa = a.registry().get_or_create("payments", config);
    let pb = b.registry().get_or_create("payments", config);

    relay.forward(false);
    // The PING every heartbeat (500 ms) goes unanswered for 250 ms.
    eventually("the follower to notice", || !b.stats().subscribed).await;
    eventually("the publisher to notice", || !b.stats().connected).await;
    let lost = b.stats();
    assert!(lost.disconnects >= 2, "{lost:?}");
    assert!(lost.follower_running && lost.publisher_running);

    relay.forward(true);
    eventually("the follower to resubscribe", || b.stats().subscribed).await;
    trip(&pa);
    eventually("b to follow a again", || pb.state() == State::Open).await;
    assert_eq!(b.stats().followed, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_status_scans_past_unrelated_and_wrong_type_keys() {
    let redis = RedisServer::start();
    let client = redis::Client::open(redis.url()).expect("a valid url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connects");
    for chunk in 0..100 {
        let mut mset = redis::cmd("MSET");
        for i in 0..1000 {
            mset.arg(format!("unrelated:{chunk}:{i}")).arg("v");
        }
        let _: () = mset.query_async(&mut conn).await.expect("MSET answers");
    }
    let _: () = redis::cmd("SET")
        .arg("tripline:fleet:a-string")
        .arg("not a hash")
        .query_async(&mut conn)
        .await
        .expect("SET answers");
    let _: () = redis::cmd("RPUSH")
        .arg("tripline:fleet:a-list")
        .arg("x")
        .query_async(&mut conn)
        .await
        .expect("RPUSH answers");

    let clock = clock();
    let a = fleet(&redis.url(), "a", clock, 8);
    let _tasks = started(&a).await;
    a.registry()
        .get_or_create("payments", two_failures_open_for(Duration::from_secs(5)));
    let mut listed = Vec::new();
    let deadline = WallClock::now() + Duration::from_secs(10);
    while listed.is_empty() {
        assert!(WallClock::now() < deadline, "a never listed");
        listed = fleet_status(&redis.url(), Some(&key()))
            .await
            .expect("no WRONGTYPE for the others");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        listed
            .iter()
            .map(|e| (e.replica.as_str(), e.breaker.as_str(), e.state))
            .collect::<Vec<_>>(),
        [("a", "payments", State::Closed)]
    );
    let commands: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut conn)
        .await
        .expect("INFO answers");
    assert!(commands.contains("cmdstat_scan:"), "{commands}");
    assert!(!commands.contains("cmdstat_keys:"), "{commands}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_needs_only_the_documented_acl() {
    let redis = RedisServer::start();
    let client = redis::Client::open(redis.url()).expect("a valid url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connects");
    // The line in the "running fleet mode on a shared Redis" docs.
    let acl = "replica on >s3cret resetchannels &tripline:breaker:* resetkeys ~tripline:fleet:* \
               -@all +ping +publish +subscribe +hset +pexpire";
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg(acl.split_whitespace().collect::<Vec<_>>())
        .query_async(&mut conn)
        .await
        .expect("ACL SETUSER answers");
    let url = format!("redis://replica:s3cret@127.0.0.1:{}/", redis.port);
    let (clock_a, clock_b) = (clock(), clock());
    let a = fleet(&url, "a", clock_a, 64);
    let b = fleet(&url, "b", clock_b, 64);
    b.follow("payments", Duration::from_secs(3));
    let (_ta, _tb) = (started(&a).await, started(&b).await);
    let config = two_failures_open_for(Duration::from_secs(10));
    let pa = a.registry().get_or_create("payments", config);
    let pb = b.registry().get_or_create("payments", config);
    trip(&pa);
    eventually("b to follow a", || pb.state() == State::Open).await;
    let dashboard =
        "dashboard on >r3ad resetchannels resetkeys ~tripline:fleet:* -@all +scan +hgetall";
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg(dashboard.split_whitespace().collect::<Vec<_>>())
        .query_async(&mut conn)
        .await
        .expect("ACL SETUSER answers");
    let reader = format!("redis://dashboard:r3ad@127.0.0.1:{}/", redis.port);
    let mut listed = Vec::new();
    let deadline = WallClock::now() + Duration::from_secs(10);
    while !listed
        .iter()
        .any(|e: &tripline_std::FleetEntry| e.replica == "a")
    {
        assert!(WallClock::now() < deadline, "fleet status: {listed:?}");
        listed = fleet_status(&reader, Some(&key()))
            .await
            .expect("the dashboard ACL suffices");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for s in [a.stats(), b.stats()] {
        assert_eq!(
            (
                s.subscribe_failures,
                s.publish_failures,
                s.heartbeat_failures
            ),
            (0, 0, 0),
            "{s:?}"
        );
    }
}

/// Runs `openssl` with `args` in `dir`.
#[cfg(feature = "redis-tls")]
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl is installed (.ci/test installs it)");
    assert!(status.success(), "openssl {args:?}");
}

/// A TLS-only `redis-server` whose certificate for 127.0.0.1 is signed by
/// a self-signed CA that `openssl` makes in a fresh directory; returns the
/// server and the CA's PEM.
#[cfg(feature = "redis-tls")]
fn tls_server() -> (RedisServer, Vec<u8>) {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let dir = std::env::temp_dir().join(format!("tripline-tls-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let new_key = ["-newkey", "rsa:2048", "-nodes", "-days", "1"];
    openssl(
        &dir,
        &[
            &["req", "-x509"],
            &new_key[..],
            &[
                "-subj",
                "/CN=tripline test CA",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
            ],
        ]
        .concat(),
    );
    openssl(
        &dir,
        &[
            &["req"],
            &new_key[..3],
            &[
                "-subj",
                "/CN=localhost",
                "-keyout",
                "key.pem",
                "-out",
                "server.csr",
            ],
        ]
        .concat(),
    );
    std::fs::write(
        dir.join("san.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .expect("writes");
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "san.cnf",
            "-out",
            "cert.pem",
        ],
    );
    let path = |f: &str| dir.join(f).to_string_lossy().into_owned();
    let server = RedisServer::start_with(
        port,
        &[
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--tls-cert-file",
            &path("cert.pem"),
            "--tls-key-file",
            &path("key.pem"),
            "--tls-ca-cert-file",
            &path("ca.pem"),
            "--tls-auth-clients",
            "no",
        ],
    );
    let pem = std::fs::read(dir.join("ca.pem")).expect("the CA certificate");
    // redis-server read its files when it started.
    let _ = std::fs::remove_dir_all(&dir);
    (server, pem)
}

#[cfg(feature = "redis-tls")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_works_against_a_tls_redis_and_an_untrusted_one_is_a_counted_failure() {
    let (redis, pem) = tls_server();
    let url = format!("rediss://127.0.0.1:{}/", redis.port);
    let tls = |replica: &str, clock: &'static MockClock| -> Mocked {
        let config = FleetConfig::builder(url.as_str(), replica)
            .key(key())
            .tls_root_cert(pem.clone())
            .heartbeat(Duration::from_millis(500))
            .op_timeout(Duration::from_millis(250))
            .build()
            .expect("a valid fleet config");
        Fleet::with_builder(config, move |b| {
            b.window(CountWindow::<16>::new()).clock(clock)
        })
    };
    let (clock_a, clock_b) = (clock(), clock());
    let a = tls("a", clock_a);
    let b = tls("b", clock_b);
    b.follow("payments", Duration::from_secs(3));
    let (_ta, _tb) = (started(&a).await, started(&b).await);
    let config = two_failures_open_for(Duration::from_secs(10));
    let pa = a.registry().get_or_create("payments", config);
    let pb = b.registry().get_or_create("payments", config);
    trip(&pa);
    eventually("b to follow a over TLS", || pb.state() == State::Open).await;
    let mut listed = Vec::new();
    let deadline = WallClock::now() + Duration::from_secs(10);
    while listed.len() < 2 {
        assert!(WallClock::now() < deadline, "fleet status: {listed:?}");
        listed = b.status().await.expect("redis is up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The system's roots do not include the self-signed certificate.
    let untrusted = fleet(&url, "c", clock(), 8);
    let _tc = untrusted.start();
    eventually("failed TLS connects", || {
        untrusted.stats().connect_failures >= 2
    })
    .await;
    assert_eq!(untrusted.stats().connects, 0);
    let error = untrusted.last_error().expect("the TLS error is kept");
    assert!(error.to_lowercase().contains("certificate"), "{error}");
}

/// Prints (does not assert) what signing adds per state change, on the
/// publisher (sign + encode) and the follower (decode + verify):
/// `cargo test -p tripline-std --all-features --release --test fleet signing_cost -- --nocapture`
#[test]
fn signing_cost_per_state_change() {
    const N: u32 = 20_000;
    let key = key();
    let per = |f: &mut dyn FnMut(u64) -> usize| {
        let mut sink = 0;
        let start = WallClock::now();
        for i in 0..N {
            sink += f(u64::from(i));
        }
        let each = start.elapsed() / N;
        assert!(sink > 0);
        each
    };
    let plain = per(&mut |i| json(&opening("eu-1", "payments", i, None)).len());
    let signed = per(&mut |i| json(&opening("eu-1", "payments", i, Some(&key))).len());
    let wire = json(&opening("eu-1", "payments", 1, Some(&key)));
    let decode = per(&mut |_| {
        let m: FleetMessage = serde_json::from_str(&wire).expect("decodes");
        m.breaker.len()
    });
    let verify = per(&mut |_| {
        let m: FleetMessage = serde_json::from_str(&wire).expect("decodes");
        usize::from(m.verify(&key))
    });
    println!(
        "per state change: build+encode {plain:?} unsigned, {signed:?} signed \
         (+{:?}); follower decode {decode:?}, decode+verify {verify:?} (+{:?}); {} bytes signed",
        signed.saturating_sub(plain),
        verify.saturating_sub(decode),
        wire.len()
    );
}
