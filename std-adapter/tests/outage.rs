//! A real outage on loopback: eight tasks load an HTTP backend through the
//! tower layer, the backend is killed (listener closed, every connection
//! dropped, so new connections are refused), then restarted on the same port.
//!
//! Only the network is real. The breaker's time is a `MockClock` that moves
//! only when the test says the backend is back, so which state the breaker
//! is in never depends on how fast the machine is: the test waits for
//! conditions (counts and states), never for sleeps to race each other.
#![cfg(all(feature = "tower", feature = "tokio"))]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tower::{ServiceBuilder, ServiceExt};
use tripline_core::{CallError, Config, CountWindow, MockClock, Outcome, RejectReason, State};
use tripline_std::{CircuitBreaker, CircuitBreakerLayer};

/// Concurrent client tasks.
const TASKS: usize = 8;
/// Hard bound on the requests one task may send (about ten times what the
/// scenario needs), so the test is bounded in requests as well as in time.
const MAX_PER_TASK: u32 = 1_000;
/// The breaker opens after this many failures in a row.
const TRIP_AFTER: u32 = 5;
const OPEN_FOR: Duration = Duration::from_secs(30);
/// Probes needed (and admitted at once) in half-open.
const PROBES: u16 = 2;
/// Responses, or rejections, each phase waits for before moving on.
const PER_PHASE: u64 = 200;
/// No single request may take longer than this (none should come close).
const REQUEST_BOUND: Duration = Duration::from_secs(2);
/// The whole scenario, load included; with the final drain (at most
/// `REQUEST_BOUND`) the test ends within 10 s or fails. It takes under 1 s.
const SCENARIO_BOUND: Duration = Duration::from_secs(7);

/// A running backend: dropping the task drops the listener and, through the
/// `JoinSet`, every connection it accepted.
struct Backend {
    task: JoinHandle<()>,
}

impl Backend {
    async fn start(listener: TcpListener, hits: Arc<AtomicU64>) -> Backend {
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let hits = Arc::clone(&hits);
                        connections.spawn(async move {
                            let service = service_fn(move |_: Request<hyper::body::Incoming>| {
                                hits.fetch_add(1, Ordering::SeqCst);
                                async { Ok::<_, Infallible>(Response::new(Empty::<Bytes>::new())) }
                            });
                            let _ = http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Backend { task }
    }

    /// Kills the server: returns once its listener is closed.
    async fn kill(self) {
        self.task.abort();
        let ended = self.task.await;
        assert!(
            ended.as_ref().is_err_and(|e| e.is_cancelled()),
            "the server was aborted"
        );
    }
}

/// What the clients saw, request by request.
#[derive(Default)]
struct Seen {
    sent: AtomicU64,
    ok: AtomicU64,
    not_ok: AtomicU64,
    transport_errors: AtomicU64,
    rejected_open: AtomicU64,
    rejected_half_open: AtomicU64,
    rejected_other: AtomicU64,
    /// Open rejections whose `retry_after` was not the full open time
    /// (the mock clock stands still while the backend is down).
    wrong_retry_after: AtomicU64,
    hung: AtomicU64,
    /// Calls that got past the breaker into the HTTP client.
    reached_client: AtomicU64,
}

fn load(seen: &AtomicU64) -> u64 {
    seen.load(Ordering::SeqCst)
}

/// Polls `done` every millisecond until it holds; fails the test after `bound`.
async fn wait_for(what: &str, bound: Duration, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + bound;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_load_a_killed_backend_opens_the_breaker_and_a_restart_closes_it() {
    let hits = Arc::new(AtomicU64::new(0));
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr: SocketAddr = listener.local_addr().expect("bound");
    assert!(addr.ip().is_loopback());
    let backend = Backend::start(listener, Arc::clone(&hits)).await;

    let clock: &'static MockClock = Box::leak(Box::new(MockClock::new()));
    let breaker = CircuitBreaker::builder("backend")
        .config(
            Config::builder()
                .consecutive_failures(TRIP_AFTER)
                .open_duration(OPEN_FOR)
                .half_open_permits(PROBES)
                .half_open_successes(PROBES)
                .build()
                .expect("valid configuration"),
        )
        .window(CountWindow::<32>::new())
        .clock(clock)
        .build();

    // No connection pool: each request connects afresh, so once the server
    // is gone every request is refused, and a probe never meets a stale
    // connection left from before the outage.
    let client = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build_http::<Empty<Bytes>>();
    let seen = Arc::new(Seen::default());
    let counted = Arc::clone(&seen);
    let svc = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(breaker.clone()).classify(
            |r: &Result<Response<hyper::body::Incoming>, _>| match r {
                Ok(resp) if resp.status().is_server_error() => Outcome::Failure,
                Ok(_) => Outcome::Success,
                Err(_) => Outcome::Failure,
            },
        ))
        .map_request(move |req: Request<Empty<Bytes>>| {
            counted.reached_client.fetch_add(1, Ordering::SeqCst);
            req
        })
        .service(client);

    let stop = Arc::new(AtomicBool::new(false));
    let mut load_tasks = JoinSet::new();
    for _ in 0..TASKS {
        let (svc, seen, stop) = (svc.clone(), Arc::clone(&seen), Arc::clone(&stop));
        load_tasks.spawn(async move {
            let mut sent = 0u32;
            while !stop.load(Ordering::SeqCst) && sent < MAX_PER_TASK {
                sent += 1;
                seen.sent.fetch_add(1, Ordering::SeqCst);
                let request = Request::get(format!("http://{addr}/"))
                    .body(Empty::<Bytes>::new())
                    .expect("a valid request");
                let counter =
                    match tokio::time::timeout(REQUEST_BOUND, svc.clone().oneshot(request)).await {
                        Err(_) => &seen.hung,
                        Ok(Ok(resp)) if resp.status() == StatusCode::OK => &seen.ok,
                        Ok(Ok(_)) => &seen.not_ok,
                        Ok(Err(CallError::Inner(_))) => &seen.transport_errors,
                        Ok(Err(CallError::Rejected(r))) => match r.reason() {
                            RejectReason::Open => {
                                if r.retry_after() != Some(OPEN_FOR) {
                                    seen.wrong_retry_after.fetch_add(1, Ordering::SeqCst);
                                }
                                &seen.rejected_open
                            }
                            RejectReason::HalfOpenFull => &seen.rejected_half_open,
                            _ => &seen.rejected_other,
                        },
                    };
                counter.fetch_add(1, Ordering::SeqCst);
                // Paces the load; no transition depends on it.
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
    }

    let scenario = async {
        // 1. Healthy, under load.
        wait_for("healthy responses", SCENARIO_BOUND, || {
            load(&seen.ok) >= PER_PHASE
        })
        .await;
        assert_eq!(breaker.state(), State::Closed);
        assert!(
            load(&hits) >= PER_PHASE,
            "the responses came from the backend"
        );

        // 2. Killed mid-load: requests in flight fail or still get their
        //    response; new connections are refused. The breaker opens once
        //    TRIP_AFTER failures are recorded in a row. A success recorded
        //    after the kill (a response already on its way) restarts the
        //    count, so each one may add at most TRIP_AFTER - 1 failures.
        let before_kill = breaker.metrics();
        assert_eq!(before_kill.failures, 0, "a healthy backend never failed");
        backend.kill().await;
        let after_kill = breaker.metrics();
        wait_for("the breaker to open", SCENARIO_BOUND, || {
            breaker.state() == State::Open
        })
        .await;
        let at_open = breaker.metrics();
        assert!(
            at_open.successes - after_kill.successes <= TASKS as u64,
            "once it is killed, only a request already in flight can succeed"
        );
        let late_successes = at_open.successes - before_kill.successes;
        assert!(
            at_open.failures >= u64::from(TRIP_AFTER)
                && at_open.failures
                    <= u64::from(TRIP_AFTER) + late_successes * u64::from(TRIP_AFTER - 1),
            "opened on the configured failures in a row: {} failures, {late_successes} late successes",
            at_open.failures
        );

        // 3. Down: the load is rejected without reaching the client.
        let reached_when_open = load(&seen.reached_client);
        wait_for(
            "rejections while the backend is down",
            SCENARIO_BOUND,
            || load(&seen.rejected_open) >= PER_PHASE,
        )
        .await;
        assert_eq!(breaker.state(), State::Open);
        // Calls admitted before the breaker opened may still be finishing,
        // but no call is admitted while it is open.
        assert!(
            load(&seen.reached_client) - reached_when_open < TASKS as u64,
            "an open breaker sends nothing"
        );

        // 4. Restarted on the same port; the open time passes (mock time):
        //    probes go through, succeed, and the breaker closes.
        let listener = TcpListener::bind(addr)
            .await
            .expect("the same port, free again");
        let backend = Backend::start(listener, Arc::clone(&hits)).await;
        let ok_before_restart = load(&seen.ok);
        clock.advance(OPEN_FOR);
        wait_for("the breaker to close", SCENARIO_BOUND, || {
            breaker.state() == State::Closed
        })
        .await;
        wait_for("responses after recovery", SCENARIO_BOUND, || {
            load(&seen.ok) >= ok_before_restart + PER_PHASE
        })
        .await;
        assert_eq!(breaker.state(), State::Closed);
        (backend, at_open)
    };
    let (backend, at_open) = tokio::time::timeout(SCENARIO_BOUND, scenario)
        .await
        .expect("the scenario finishes in time");

    stop.store(true, Ordering::SeqCst);
    let drained = tokio::time::timeout(REQUEST_BOUND, async {
        while let Some(joined) = load_tasks.join_next().await {
            joined.expect("a load task ran to its end");
        }
    })
    .await;
    assert!(drained.is_ok(), "every load task stopped");
    backend.kill().await;

    // Every request ended as a response or a typed rejection/error.
    let sent = load(&seen.sent);
    let (ok, errors) = (load(&seen.ok), load(&seen.transport_errors));
    let rejected = load(&seen.rejected_open) + load(&seen.rejected_half_open);
    assert_eq!(load(&seen.hung), 0, "no request hung");
    assert_eq!(load(&seen.not_ok), 0, "the backend only answers 200");
    assert_eq!(
        load(&seen.rejected_other),
        0,
        "only open / half-open rejections"
    );
    assert_eq!(
        load(&seen.wrong_retry_after),
        0,
        "while down, retry_after is the whole open time (the clock stood still)"
    );
    assert_eq!(ok + errors + rejected, sent, "no request lost");
    assert!(sent <= TASKS as u64 * u64::from(MAX_PER_TASK));

    // The breaker's metrics add up to what was sent.
    let m = breaker.metrics();
    assert_eq!(m.permitted + m.rejected, sent);
    assert_eq!(m.rejected, rejected);
    assert_eq!(
        m.permitted,
        load(&seen.reached_client),
        "admitted = sent on"
    );
    // A result that came back after the state it was admitted in had ended
    // (in flight when the breaker opened) is counted as stale, whatever it was.
    assert_eq!(m.successes + m.failures + m.stale, ok + errors);
    assert!(m.successes <= ok && m.failures <= errors);
    assert_eq!(
        m.failures, at_open.failures,
        "no failure after the breaker opened: every probe succeeded"
    );
    assert!(
        m.stale < TASKS as u64,
        "only calls in flight when it opened"
    );
    assert_eq!((m.cancelled, m.ignored, m.in_flight()), (0, 0, 0));
    assert_eq!(m.state, State::Closed);
    // Every success reached the backend; a request the server counted just
    // as it was killed may have lost its response.
    let hits = load(&hits);
    assert!(
        ok <= hits && hits <= ok + TASKS as u64,
        "ok={ok} hits={hits}"
    );
    println!(
        "sent {sent}: {ok} ok, {errors} transport errors ({} counted, {} stale), \
         {} rejected open, {} rejected half-open; backend hits {hits}; \
         opened after {} failures",
        m.failures,
        m.stale,
        load(&seen.rejected_open),
        load(&seen.rejected_half_open),
        at_open.failures
    );
}
