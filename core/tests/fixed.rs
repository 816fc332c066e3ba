//! A breaker whose configuration is a `FixedConfig` behaves exactly as one
//! that holds the same `Config`: the same results, states, waits, metrics
//! and events, step by step, over long pseudo-random runs of every
//! operation (calls with every outcome, held and cancelled permits, forced
//! states, resets, time passing), for the `&mut` and the shared breaker.

use std::cell::RefCell;
use std::time::Duration;

use tripline_core::shared::CriticalSectionLock;
use tripline_core::{
    Breaker, Config, CountWindow, Event, FixedConfig, MockClock, Observer, Outcome, Permit, Rate,
    SharedBreaker, State, TimeWindow, Window,
};

/// Every rule, backoff with jitter, a half-open limit and timing.
struct Busy;
impl FixedConfig for Busy {
    const CONFIG: Config = match Config::builder()
        .consecutive_failures(3)
        .failure_rate(Rate::percent(50))
        .slow_call_rate(Rate::percent(60), Duration::from_millis(30))
        .minimum_calls(4)
        .open_duration(Duration::from_millis(200))
        .exponential_backoff(1_500, Duration::from_secs(3))
        .jitter(Rate::percent(20), 11)
        .half_open_permits(2)
        .half_open_successes(2)
        .half_open_time_limit(Duration::from_millis(500))
        .build()
    {
        Ok(c) => c,
        Err(e) => panic!("{}", e.as_str()),
    };
}

/// The smallest: one rule, fixed open time.
struct Plain;
impl FixedConfig for Plain {
    const CONFIG: Config = match Config::builder().consecutive_failures(2).build() {
        Ok(c) => c,
        Err(e) => panic!("{}", e.as_str()),
    };
}

/// Records every event.
#[derive(Default)]
struct Log(RefCell<Vec<Event>>);
impl Observer for Log {
    fn on_event(&self, e: &Event) {
        self.0.borrow_mut().push(*e);
    }
}

/// Operations per run: fewer under miri, which interprets every one.
const STEPS: u32 = if cfg!(miri) { 100 } else { 20_000 };

/// xorshift64*: a reproducible stream of operations.
struct Ops(u64);
impl Ops {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

fn outcome(ops: &mut Ops) -> Outcome {
    match ops.next(6) {
        0 | 1 => Outcome::Success,
        2 | 3 => Outcome::Failure,
        4 => Outcome::Ignored,
        _ => Outcome::FailureRetryAfter(Duration::from_millis(ops.next(900))),
    }
}

/// Drives two `&mut` breakers with the same operations, comparing all they show.
fn same_mut<W: Window + Clone, K: FixedConfig>(fixed: K, window: W, seed: u64) {
    let (c1, c2) = (MockClock::new(), MockClock::new());
    let mut a = Breaker::new(K::CONFIG, window.clone(), &c1).with_observer(Log::default());
    let mut b = Breaker::fixed(fixed, window, &c2).with_observer(Log::default());
    let mut held: Vec<(Permit, Permit)> = Vec::new();
    let mut ops = Ops(seed);
    for step in 0..STEPS {
        match ops.next(10) {
            0..=3 => {
                let (ra, rb) = (a.try_acquire(), b.try_acquire());
                assert_eq!(ra.is_ok(), rb.is_ok(), "step {step}");
                if let (Ok(pa), Ok(pb)) = (ra, rb) {
                    held.push((pa, pb));
                }
            }
            4 | 5 if !held.is_empty() => {
                let (pa, pb) = held.swap_remove(ops.next(held.len() as u64) as usize);
                let d = Duration::from_millis(ops.next(60));
                c1.advance(d);
                c2.advance(d);
                let o = outcome(&mut ops);
                assert_eq!(a.record(pa, o), b.record(pb, o), "step {step}");
            }
            6 if !held.is_empty() => {
                let (pa, pb) = held.swap_remove(0);
                assert_eq!(a.cancel(pa), b.cancel(pb), "step {step}");
            }
            7 => {
                let d = Duration::from_millis(ops.next(400));
                c1.advance(d);
                c2.advance(d);
            }
            8 => {
                let ((), ()) = match ops.next(8) {
                    0 => (a.force_open(), b.force_open()),
                    1 => (a.force_closed(), b.force_closed()),
                    2 => (a.reset(), b.reset()),
                    3 => (a.disable(), b.disable()),
                    4 => (a.metrics_only(), b.metrics_only()),
                    _ => {
                        let d = Duration::from_millis(ops.next(300));
                        (a.open_for(d), b.open_for(d))
                    }
                };
            }
            _ => {
                let fail = ops.next(2) == 0;
                let call = || if fail { Err(()) } else { Ok(()) };
                assert_eq!(a.call(call).is_ok(), b.call(call).is_ok(), "step {step}");
            }
        }
        assert_eq!(a.state(), b.state(), "step {step}");
        assert_eq!(a.retry_after(), b.retry_after(), "step {step}");
        assert_eq!(a.metrics(), b.metrics(), "step {step}");
    }
    let events = a.observer().0.borrow();
    assert_eq!(*events, *b.observer().0.borrow());
    // The runs are long enough to visit every state (shortened under miri).
    for state in [State::Open, State::HalfOpen, State::Closed]
        .iter()
        .filter(|_| !cfg!(miri))
    {
        let state = *state;
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::StateChanged { to, .. } if *to == state)),
            "the run entered {state:?}"
        );
    }
}

#[test]
fn a_fixed_mut_breaker_is_the_same_as_one_holding_its_config() {
    let seeds: &[u64] = if cfg!(miri) {
        &[1]
    } else {
        &[1, 2, 0xDEAD_BEEF]
    };
    for &seed in seeds {
        same_mut(Busy, CountWindow::<8>::new(), seed);
        same_mut(Plain, CountWindow::<3>::new(), seed);
        same_mut(
            Busy,
            TimeWindow::<4>::new(Duration::from_secs(1)).expect("valid span"),
            seed,
        );
    }
}

#[test]
fn a_fixed_shared_breaker_is_the_same_as_one_holding_its_config() {
    let (c1, c2) = (MockClock::new(), MockClock::new());
    let (l1, l2) = (Log::default(), Log::default());
    let a = SharedBreaker::with_observer(Busy::CONFIG, CountWindow::<8>::new(), &c1, &l1);
    let b: SharedBreaker<CountWindow<8>, &MockClock, &Log, CriticalSectionLock, Busy> =
        SharedBreaker::fixed_with_observer(Busy, CountWindow::new(), &c2, &l2);
    let mut ops = Ops(7);
    for step in 0..STEPS {
        match ops.next(6) {
            0..=2 => {
                let o = outcome(&mut ops);
                let d = Duration::from_millis(ops.next(50));
                let ra = a.try_acquire().map(|p| {
                    c1.advance(d);
                    p.record(o)
                });
                let rb = b.try_acquire().map(|p| {
                    c2.advance(d);
                    p.record(o)
                });
                assert_eq!(ra, rb, "step {step}");
            }
            3 => {
                let (pa, pb) = (a.try_acquire(), b.try_acquire());
                assert_eq!(pa.is_ok(), pb.is_ok(), "step {step}"); // dropped: cancelled
            }
            4 => {
                let d = Duration::from_millis(ops.next(600));
                c1.advance(d);
                c2.advance(d);
            }
            _ => match ops.next(4) {
                0 => assert_eq!(a.force_open(), b.force_open()),
                1 => assert_eq!(a.reset(), b.reset()),
                2 => assert_eq!(a.force_closed(), b.force_closed()),
                _ => {
                    let d = Duration::from_millis(ops.next(300));
                    assert_eq!(a.open_for(d), b.open_for(d));
                }
            },
        }
        assert_eq!(a.state(), b.state(), "step {step}");
        assert_eq!(a.retry_after(), b.retry_after(), "step {step}");
        assert_eq!(a.metrics(), b.metrics(), "step {step}");
    }
    assert_eq!(*l1.0.borrow(), *l2.0.borrow());
    assert_eq!(b.config(), Busy::CONFIG);
    let events = l1.0.borrow();
    assert!(events.iter().any(|e| matches!(
        e,
        Event::StateChanged {
            to: State::HalfOpen,
            ..
        }
    )));
}
