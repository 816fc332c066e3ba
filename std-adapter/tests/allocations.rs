//! Allocations per call, counted by a global allocator: none in the closed
//! state, for the sync handle, its async form, and the tower service.
//!
//! The counter is process-wide, so this runs without the test harness
//! (`harness = false`): on the main thread, with no harness thread
//! allocating for its own bookkeeping while the region counts.

fn main() {
    #[cfg(all(feature = "tower", feature = "tokio"))]
    counted::closed_state_calls_allocate_nothing();
    #[cfg(all(feature = "tower", feature = "tokio", feature = "redis"))]
    counted::fleet_calls_and_state_changes_allocate_nothing();
}

#[cfg(all(feature = "tower", feature = "tokio"))]
mod counted {
    use std::alloc::System;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
    use tower::Service;
    use tripline_core::{Config, Outcome};
    use tripline_std::{CircuitBreaker, CircuitBreakerLayer};

    #[global_allocator]
    static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

    const CALLS: u64 = 1_000;

    fn poll_ready<F: Future>(fut: F) -> F::Output {
        let mut fut = pin!(fut);
        match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(out) => out,
            Poll::Pending => panic!("the test's futures complete at once"),
        }
    }

    /// Allocations made by `calls`, after one warm-up round.
    fn allocations(mut calls: impl FnMut()) -> usize {
        calls();
        let region = Region::new(GLOBAL);
        calls();
        region.change().allocations + region.change().reallocations
    }

    pub fn closed_state_calls_allocate_nothing() {
        let breaker = CircuitBreaker::new("hot", Config::DEFAULT);
        let sync = allocations(|| {
            for i in 0..CALLS {
                let _ = breaker.call(|| if i % 7 == 0 { Err(i) } else { Ok(i) });
            }
        });

        let permits = allocations(|| {
            for _ in 0..CALLS {
                if let Ok(p) = breaker.try_acquire_owned() {
                    let _ = p.record(Outcome::Success);
                }
            }
        });

        let asynchronous = allocations(|| {
            for i in 0..CALLS {
                let _ = poll_ready(breaker.call_async(async move { Ok::<_, ()>(i) }));
            }
        });

        let layer =
            CircuitBreakerLayer::new(breaker.clone()).classify(|r: &Result<u64, ()>| match r {
                Ok(503) => Outcome::Failure,
                other => Outcome::of(other),
            });
        let mut svc = tower::Layer::layer(
            &layer,
            tower::service_fn(|x: u64| std::future::ready(Ok::<_, ()>(x))),
        );
        let tower = allocations(|| {
            for i in 0..CALLS {
                let _ = poll_ready(svc.call(i));
            }
        });

        // With monitors attached: a watch receiver and a broadcast subscriber.
        let _state = breaker.watch_state();
        let mut events = breaker.subscribe();
        let monitored = allocations(|| {
            for i in 0..CALLS {
                let _ = breaker.call(|| Ok::<_, ()>(i));
                while events.try_recv().is_ok() {}
            }
        });

        let m = breaker.metrics();
        assert_eq!(m.state, tripline_core::State::Closed);
        assert_eq!(
            m.permitted,
            10 * CALLS,
            "every counted call went through the breaker"
        );
        println!(
            "allocations per {CALLS} closed calls: sync {sync}, owned permit {permits}, \
             async {asynchronous}, tower {tower}, with watch+broadcast subscribers {monitored}"
        );
        assert_eq!(
            (sync, permits, asynchronous, tower, monitored),
            (0, 0, 0, 0, 0)
        );
    }

    /// A fleet breaker's own path: closed calls, rejections and state
    /// changes (queued for the publisher) allocate nothing and do no I/O
    /// (no runtime, no Redis: the fleet is never started).
    #[cfg(feature = "redis")]
    pub fn fleet_calls_and_state_changes_allocate_nothing() {
        use std::time::Duration;
        use tripline_core::{CountWindow, MockClock};
        use tripline_std::{Fleet, FleetConfig, FleetKey};

        let clock: &'static MockClock = Box::leak(Box::new(MockClock::new()));
        let config = FleetConfig::builder("redis://127.0.0.1:1/", "a")
            .key(FleetKey::new([7; 32]).expect("a long enough key"))
            .queue(64)
            .build()
            .expect("a valid fleet config");
        let fleet = Fleet::with_builder(config, move |b| {
            b.window(CountWindow::<16>::new()).clock(clock)
        });
        let open = Duration::from_millis(5);
        let breaker = fleet.registry().get_or_create(
            "payments",
            Config::builder()
                .consecutive_failures(2)
                .open_duration(open)
                .build()
                .expect("a valid config"),
        );
        let cycles = allocations(|| {
            for i in 0..CALLS {
                let _ = breaker.call(|| Ok::<_, ()>(i));
                if i % 10 == 0 {
                    let _ = breaker.call(|| Err::<(), _>(i));
                    let _ = breaker.call(|| Err::<(), _>(i));
                    let _ = breaker.call(|| Ok::<_, ()>(i)); // rejected
                    clock.advance(open);
                    let _ = breaker.call(|| Ok::<_, ()>(i)); // probe closes
                }
            }
        });
        let stats = fleet.stats();
        assert!(stats.dropped > 0, "the queue of 64 overflowed: {stats:?}");
        println!("allocations for {CALLS} fleet calls with 200 trips and recoveries: {cycles}");
        assert_eq!(cycles, 0);
    }
}
