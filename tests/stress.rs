//! 64 threads on one `tripline_std::CircuitBreaker`: a half-open breaker
//! admits exactly its configured probes however the threads race, episode
//! after episode, and under churn every call lands in exactly one metric.
//! Time moves only through `MockClock`; nothing sleeps.
#![cfg(feature = "std")]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use tripline::{
    CircuitBreaker, Config, CountWindow, MockClock, Outcome, Rate, Recorded, RejectReason, State,
};

const THREADS: usize = 64;

type Mocked = CircuitBreaker<CountWindow<16>, &'static MockClock>;

fn mocked(name: &str, config: Config) -> (Mocked, &'static MockClock) {
    let clock: &'static MockClock = Box::leak(Box::new(MockClock::new()));
    let b = CircuitBreaker::builder(name)
        .config(config)
        .window(CountWindow::<16>::new())
        .clock(clock)
        .build();
    (b, clock)
}

#[test]
fn sixty_four_threads_get_exactly_the_half_open_probes_every_episode() {
    for permits in [1u16, 3, 7] {
        let config = Config::builder()
            .consecutive_failures(1)
            .open_duration(Duration::from_secs(1))
            .half_open_permits(permits)
            .half_open_successes(permits)
            .build()
            .expect("valid configuration");
        let (b, clock) = mocked("probes", config);
        let rounds = 20u64;
        let tries = 20u64;
        for round in 0..rounds {
            let _ = b.call(|| Err::<(), _>("down"));
            assert_eq!(b.state(), State::Open, "round {round}");
            clock.advance(Duration::from_secs(1));

            let start = Arc::new(Barrier::new(THREADS));
            let held = Arc::new(Barrier::new(THREADS));
            let workers: Vec<_> = (0..THREADS)
                .map(|_| {
                    let (b, start, held) = (b.clone(), Arc::clone(&start), Arc::clone(&held));
                    std::thread::spawn(move || {
                        start.wait();
                        let mut permits = Vec::new();
                        for _ in 0..tries {
                            match b.try_acquire_owned() {
                                Ok(p) => permits.push(p),
                                Err(r) => assert_eq!(r.reason(), RejectReason::HalfOpenFull),
                            }
                        }
                        let admitted = permits.len();
                        held.wait(); // every thread tried while the others held theirs
                        for p in permits {
                            assert!(p.record(Outcome::Success).is_ok());
                        }
                        admitted
                    })
                })
                .collect();
            let admitted: usize = workers.into_iter().map(|w| w.join().expect("ran")).sum();
            assert_eq!(
                admitted, permits as usize,
                "round {round}, {permits} permits"
            );
            assert_eq!(b.state(), State::Closed, "the probes closed it");
        }
        let m = b.metrics();
        // One tripping call and `permits` probes per round; the rest rejected.
        assert_eq!(m.permitted, rounds * (1 + u64::from(permits)));
        assert_eq!(
            m.rejected,
            rounds * (THREADS as u64 * tries - u64::from(permits))
        );
        assert_eq!(m.failures, rounds);
        assert_eq!(m.successes, rounds * u64::from(permits));
        assert_eq!(m.in_flight(), 0);
    }
}

#[test]
fn sixty_four_threads_of_churn_count_every_call_exactly_once() {
    let config = Config::builder()
        .failure_rate(Rate::percent(40))
        .minimum_calls(6)
        .consecutive_failures(4)
        .open_duration(Duration::from_millis(1))
        .half_open_permits(3)
        .half_open_successes(2)
        .build()
        .expect("valid configuration");
    let (b, clock) = mocked("churn", config);
    // Before the threads, one of each outcome the churn may or may not
    // produce, so the end state is known to include them: a stale result
    // (a permit from before a trip), a rejection, three generations.
    let early = b.try_acquire_owned().expect("closed admits");
    for _ in 0..4 {
        let _ = b.call(|| Err::<(), _>(()));
    }
    assert_eq!(early.record(Outcome::Success), Ok(Recorded::Stale));
    assert!(b.call(|| Ok::<_, ()>(())).is_err(), "open rejects");
    assert!(b.reset().is_ok());
    let setup = 6u64; // the calls above: 5 admitted, 1 rejected
    let calls = 1_500u64;
    let tried = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..THREADS as u64)
        .map(|t| {
            let (b, tried) = (b.clone(), Arc::clone(&tried));
            std::thread::spawn(move || {
                for i in 0..calls {
                    tried.fetch_add(1, Ordering::Relaxed);
                    let outcome = match (t * 7 + i) % 9 {
                        0 => None, // dropped: cancelled
                        1 => Some(Outcome::Ignored),
                        2..=4 => Some(Outcome::Failure),
                        _ => Some(Outcome::Success),
                    };
                    if let Ok(p) = b.try_acquire_owned() {
                        match outcome {
                            Some(o) => assert!(p.record(o).is_ok()),
                            None => drop(p),
                        }
                    }
                    if i % 50 == 0 {
                        clock.advance(Duration::from_micros(300));
                    }
                    if t == 0 && i % 500 == 499 {
                        assert!(b.reset().is_ok());
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("ran");
    }
    let m = b.metrics();
    assert_eq!(tried.load(Ordering::Relaxed), THREADS as u64 * calls);
    assert_eq!(m.permitted + m.rejected, THREADS as u64 * calls + setup);
    assert_eq!(
        m.successes + m.failures + m.ignored + m.cancelled + m.stale,
        m.permitted
    );
    assert_eq!(m.in_flight(), 0);
    assert!(m.window.calls <= 16);
    assert!(
        m.rejected >= 1 && m.stale >= 1 && m.generation >= 2,
        "{m:?}"
    );
}

#[test]
fn sixty_four_threads_on_the_lock_free_path_are_counted_exactly_and_reads_never_go_back() {
    // A healthy backend: the window fills with successes, after which every
    // success, ignored outcome and cancellation takes the lock-free path.
    let config = Config::builder()
        .consecutive_failures(1_000_000)
        .build()
        .expect("valid configuration");
    let (b, _clock) = mocked("healthy", config);
    let calls = 2_000u64;
    let done = Arc::new(AtomicU64::new(0));
    let reader = {
        let (b, done) = (b.clone(), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut last = b.metrics();
            // Bounded: at most this many reads, and it stops once the workers are done.
            for _ in 0..100_000 {
                let m = b.metrics();
                for (now, before) in [
                    (m.permitted, last.permitted),
                    (m.successes, last.successes),
                    (m.ignored, last.ignored),
                    (m.cancelled, last.cancelled),
                ] {
                    assert!(now >= before, "a count went back: {last:?} then {m:?}");
                }
                assert!(
                    m.successes + m.ignored + m.cancelled <= m.permitted,
                    "{m:?}"
                );
                last = m;
                if done.load(Ordering::Acquire) == THREADS as u64 {
                    break;
                }
            }
        })
    };
    let workers: Vec<_> = (0..THREADS as u64)
        .map(|t| {
            let (b, done) = (b.clone(), Arc::clone(&done));
            std::thread::spawn(move || {
                for i in 0..calls {
                    match (t + i) % 10 {
                        0 => drop(b.try_acquire().expect("closed admits")),
                        1 => {
                            let p = b.try_acquire().expect("closed admits");
                            assert_eq!(p.record(Outcome::Ignored), Ok(Recorded::Ignored));
                        }
                        _ => assert!(b.call(|| Ok::<_, ()>(())).is_ok()),
                    }
                }
                done.fetch_add(1, Ordering::Release);
            })
        })
        .collect();
    for w in workers {
        w.join().expect("ran");
    }
    reader.join().expect("every read was monotonic");
    let m = b.metrics();
    let total = THREADS as u64 * calls;
    assert_eq!(m.permitted, total);
    assert_eq!(m.cancelled, total / 10);
    assert_eq!(m.ignored, total / 10);
    assert_eq!(m.successes, total - total / 5);
    assert_eq!((m.state, m.in_flight(), m.rejected), (State::Closed, 0, 0));
}
