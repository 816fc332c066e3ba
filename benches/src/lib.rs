//! The pieces every harness in this package shares: one protected function,
//! the breakers under test built with the same thresholds, and a way to
//! drive a tower service without a runtime.
//!
//! Used by the criterion comparison (`benches/compare.rs`), the instruction
//! counter (`src/bin/icount.rs`) and the footprint report
//! (`src/bin/footprint.rs`). See `BENCHMARKS.md` at the repository root.

use std::future::{ready, Future, Ready};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use failsafe::backoff::{self, Constant, EqualJittered};
use failsafe::failure_policy::{self, ConsecutiveFailures, OrElse, SuccessRateOverTimeWindow};
use layered::Execute;
use recloser::Recloser;
use seatbelt::RecoveryInfo;
use tower::util::ServiceFn;
use tower_layer::Layer;
use tower_service::Service;
use tripline_core::{Breaker, Config, CountWindow, MockClock, Rate, SharedBreaker, TimeWindow};
use tripline_std::{CircuitBreaker, CircuitBreakerLayer, CircuitBreakerService, StdClock};

/// How long every breaker stays open once tripped: long enough that an
/// open-state benchmark never sees the breaker go half-open.
pub const OPEN_FOR: Duration = Duration::from_secs(3600);

/// Failures in a row that trip the consecutive-failure configurations.
pub const CONSECUTIVE: u32 = 5;

/// Calls in the count windows of the failure-rate configurations, and the
/// minimum number of calls before the rate is judged (recloser judges only a
/// full ring, so every rate configuration waits for a full window).
pub const RATE_WINDOW: usize = 100;

/// The error of [`protected`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault;

/// The function every breaker protects: a call the optimiser cannot see into.
///
/// Fails only for `u64::MAX`, which the closed-path benchmarks never pass.
#[inline(never)]
pub fn protected(x: u64) -> Result<u64, Fault> {
    if x == u64::MAX {
        Err(Fault)
    } else {
        Ok(x.wrapping_add(1))
    }
}

// ----- tripline ------------------------------------------------------------

/// The `&mut` core, tripping after [`CONSECUTIVE`] failures in a row.
pub type CoreCountBreaker<C = StdClock> = Breaker<CountWindow<RATE_WINDOW>, C>;

/// The `&mut` core over a 30-bucket, 30-second time window.
pub type CoreTimeBreaker = Breaker<TimeWindow<30>, StdClock>;

/// The core's shared breaker (`&self`, critical-section lock, lock-free
/// healthy path) over a count window, shared between threads by an `Arc`.
pub type CoreShared = SharedBreaker<CountWindow<RATE_WINDOW>, StdClock>;

/// The shared std handle over a count window.
pub type StdHandle = CircuitBreaker<CountWindow<RATE_WINDOW>, StdClock>;

/// Trips after [`CONSECUTIVE`] failures in a row (failsafe's consecutive policy).
#[must_use]
pub fn consecutive_config() -> Config {
    Config::builder()
        .consecutive_failures(CONSECUTIVE)
        .open_duration(OPEN_FOR)
        .build()
        .unwrap_or(Config::DEFAULT)
}

/// Trips at a 50 % failure rate over the last [`RATE_WINDOW`] calls, judged
/// once the window is full (recloser's and tower-resilience's defaults;
/// recloser first judges on the call after its ring fills, one call later).
#[must_use]
pub fn rate_config() -> Config {
    Config::builder()
        .failure_rate(Rate::percent(50))
        .minimum_calls(RATE_WINDOW as u32)
        .open_duration(OPEN_FOR)
        .build()
        .unwrap_or(Config::DEFAULT)
}

/// failsafe's default policy in tripline terms: a failure rate above 20 %
/// (success rate below 80 %) over 30 seconds once 5 calls are in, or
/// [`CONSECUTIVE`] failures in a row.
#[must_use]
pub fn failsafe_like_config() -> Config {
    Config::builder()
        .consecutive_failures(CONSECUTIVE)
        .failure_rate(Rate::percent(20))
        .minimum_calls(5)
        .open_duration(OPEN_FOR)
        .build()
        .unwrap_or(Config::DEFAULT)
}

/// The `&mut` core with `config`, a count window and the std clock.
#[must_use]
pub fn core_count(config: Config) -> CoreCountBreaker {
    Breaker::new(config, CountWindow::new(), StdClock::new())
}

/// The `&mut` core with `config`, a 30 s time window and the std clock.
#[must_use]
pub fn core_time(config: Config) -> CoreTimeBreaker {
    let window = match TimeWindow::new(Duration::from_secs(30)) {
        Ok(w) => w,
        Err(e) => panic!("30 s over 30 buckets is valid: {e:?}"),
    };
    Breaker::new(config, window, StdClock::new())
}

/// The core's [`SharedBreaker`] with `config`, a count window and the std clock.
#[must_use]
pub fn core_shared(config: Config) -> CoreShared {
    SharedBreaker::new(config, CountWindow::new(), StdClock::new())
}

/// The `&mut` core with the consecutive configuration on a mock clock,
/// already open (tripped by [`CONSECUTIVE`] failures).
#[must_use]
pub fn core_open_mock(clock: &MockClock) -> CoreCountBreaker<&MockClock> {
    let mut b = Breaker::new(consecutive_config(), CountWindow::new(), clock);
    for _ in 0..CONSECUTIVE {
        let _ = b.call(|| protected(u64::MAX));
    }
    b
}

/// The shared std handle (`tripline_std::CircuitBreaker`) with `config`.
#[must_use]
pub fn std_handle(config: Config) -> StdHandle {
    CircuitBreaker::builder("bench")
        .config(config)
        .window(CountWindow::<RATE_WINDOW>::new())
        .build()
}

// ----- peers ---------------------------------------------------------------

/// failsafe with its consecutive-failures policy.
pub type FailsafeConsecutive = failsafe::StateMachine<ConsecutiveFailures<Constant>, ()>;

/// failsafe with its default policy (`Config::new()`).
pub type FailsafeDefault = failsafe::StateMachine<
    OrElse<SuccessRateOverTimeWindow<EqualJittered>, ConsecutiveFailures<EqualJittered>>,
    (),
>;

/// failsafe, tripping after [`CONSECUTIVE`] failures in a row.
#[must_use]
pub fn failsafe_consecutive() -> FailsafeConsecutive {
    let policy = failure_policy::consecutive_failures(CONSECUTIVE, backoff::constant(OPEN_FOR));
    failsafe::Config::new().failure_policy(policy).build()
}

/// failsafe as `Config::new().build()` makes it.
#[must_use]
pub fn failsafe_default() -> FailsafeDefault {
    failsafe::Config::new().build()
}

/// recloser at a 50 % error rate over a ring of [`RATE_WINDOW`] calls.
#[must_use]
pub fn recloser_rate() -> Recloser {
    Recloser::custom()
        .error_rate(0.5)
        .closed_len(RATE_WINDOW)
        .open_wait(OPEN_FOR)
        .build()
}

/// What [`seatbelt`] sees: a request and the protected function's result.
pub type SeatbeltOut = Result<u64, Fault>;

/// seatbelt's breaker, driven through its own (`layered`) service trait:
/// `execute(&self, request)`, an async call completed here by [`now`].
pub type SeatbeltDirect = seatbelt::breaker::Breaker<u64, SeatbeltOut, Execute<BareFn>>;

/// seatbelt's breaker around the bare tower service, as a tower service.
pub type SeatbeltTower = seatbelt::breaker::Breaker<u64, SeatbeltOut, Bare>;

/// seatbelt's layer at a 50 % failure rate once [`RATE_WINDOW`] calls are
/// in, open for [`OPEN_FOR`]: its only model is a failure rate over a
/// sampling duration (30 s here, its default), so this matches
/// [`rate_config`] on a first full window. `Err` counts as a failure.
fn seatbelt_layer() -> seatbelt::breaker::BreakerLayer<u64, SeatbeltOut> {
    // seatbelt reads the time from a `tick` clock; the breaker registers no
    // timers, so the clock's timer driver is not needed.
    let (clock, _driver) = tick::runtime::InactiveClock::default().activate();
    let context = seatbelt::ResilienceContext::new(&clock).name("bench");
    seatbelt::breaker::Breaker::layer("bench", &context)
        .recovery_with(|out: &SeatbeltOut, _| match out {
            Ok(_) => RecoveryInfo::never(),
            Err(_) => RecoveryInfo::retry(),
        })
        .rejected_input_error(|_, _| Fault)
        .failure_threshold(0.5)
        .min_throughput(RATE_WINDOW as u32)
        .sampling_duration(Duration::from_secs(30))
        .break_duration(OPEN_FOR)
}

/// seatbelt around [`protected`], called through `execute(&self)`.
#[must_use]
pub fn seatbelt_rate() -> SeatbeltDirect {
    seatbelt_layer().layer(Execute::new(bare_call as BareFn))
}

/// seatbelt around the bare service, as a tower service.
#[must_use]
pub fn seatbelt_tower_rate() -> SeatbeltTower {
    seatbelt_layer().layer(bare())
}

/// One call through seatbelt's own service trait, completed on the calling
/// thread (its future never waits: the protected function is synchronous).
pub fn seatbelt_call(svc: &SeatbeltDirect, request: u64) -> SeatbeltOut {
    now(layered::Service::execute(svc, request))
}

/// Polls `future` to completion on the calling thread with a no-op waker,
/// retrying at once on `Pending` (no runtime in the measurement).
pub fn now<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::hint::spin_loop();
    }
}

// ----- tower ---------------------------------------------------------------

/// The function behind the bare service.
pub type BareFn = fn(u64) -> Ready<Result<u64, Fault>>;

/// The bare service: [`protected`] as a `tower::service_fn`.
pub type Bare = ServiceFn<BareFn>;

fn bare_call(x: u64) -> Ready<Result<u64, Fault>> {
    ready(protected(x))
}

/// The bare service, with no breaker.
#[must_use]
pub fn bare() -> Bare {
    tower::service_fn(bare_call as BareFn)
}

/// The bare service behind `tripline_std::CircuitBreakerLayer` with `config`.
#[must_use]
pub fn tripline_tower(config: Config) -> CircuitBreakerService<Bare, CountWindow<RATE_WINDOW>> {
    CircuitBreakerLayer::new(std_handle(config)).layer(bare())
}

/// tower-resilience's circuit breaker around the bare service.
pub type ResilienceService = tower_resilience_circuitbreaker::CircuitBreaker<
    Bare,
    tower_resilience_circuitbreaker::DefaultClassifier,
>;

/// The bare service behind tower-resilience's layer, failure-rate model
/// (50 % over [`RATE_WINDOW`] calls, judged once the window is full).
#[must_use]
pub fn resilience_tower_rate() -> ResilienceService {
    let layer = tower_resilience_circuitbreaker::CircuitBreakerLayer::builder()
        .failure_rate_threshold(0.5)
        .sliding_window_size(RATE_WINDOW)
        .minimum_number_of_calls(RATE_WINDOW)
        .wait_duration_in_open(OPEN_FOR)
        .build();
    match layer {
        Ok(l) => l.layer(bare()),
        Err(e) => panic!("valid tower-resilience config: {e:?}"),
    }
}

/// The bare service behind tower-resilience's layer, consecutive-failure
/// model ([`CONSECUTIVE`] in a row).
#[must_use]
pub fn resilience_tower_consecutive() -> ResilienceService {
    let layer = tower_resilience_circuitbreaker::CircuitBreakerLayer::builder()
        .consecutive_failures(CONSECUTIVE as usize)
        .wait_duration_in_open(OPEN_FOR)
        .build();
    match layer {
        Ok(l) => l.layer(bare()),
        Err(e) => panic!("valid tower-resilience config: {e:?}"),
    }
}

/// One request through `svc`: `poll_ready`, `call`, then the response
/// future polled to completion on the calling thread with a no-op waker
/// (no runtime in the measurement). A `Pending` poll is retried at once,
/// which only a contended lock inside a peer ever causes.
pub fn drive<S: Service<u64>>(svc: &mut S, request: u64) -> Result<S::Response, S::Error> {
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        match svc.poll_ready(&mut cx) {
            Poll::Ready(Ok(())) => break,
            Poll::Ready(Err(e)) => return Err(e),
            Poll::Pending => std::hint::spin_loop(),
        }
    }
    let mut future = pin!(svc.call(request));
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::hint::spin_loop();
    }
}

/// Trips a service by sending it failing requests until it rejects one.
pub fn trip_service<S: Service<u64>>(svc: &mut S) {
    for _ in 0..10 * RATE_WINDOW {
        let _ = drive(svc, u64::MAX);
    }
}

/// Trips seatbelt by calling it with failing requests until it rejects one.
pub fn seatbelt_trip(svc: &SeatbeltDirect) {
    for _ in 0..10 * RATE_WINDOW {
        let _ = seatbelt_call(svc, u64::MAX);
    }
}

#[cfg(test)]
mod tests {
    //! The breakers compared side by side must trip at the same point, or
    //! the comparison is not like for like.

    use failsafe::CircuitBreaker as _;

    use super::*;

    /// The outcomes of a breaker under test: feed one result, then ask
    /// whether the next call is admitted.
    trait Subject {
        fn feed(&mut self, ok: bool);
        fn admits(&mut self) -> bool;
    }

    fn input(ok: bool) -> u64 {
        if ok {
            1
        } else {
            u64::MAX
        }
    }

    impl<C: tripline_core::Clock> Subject for CoreCountBreaker<C> {
        fn feed(&mut self, ok: bool) {
            let _ = self.call(|| protected(input(ok)));
        }
        fn admits(&mut self) -> bool {
            self.try_acquire()
                .is_ok_and(|p| self.cancel(p) == tripline_core::Recorded::Cancelled)
        }
    }

    impl Subject for StdHandle {
        fn feed(&mut self, ok: bool) {
            let _ = self.call(|| protected(input(ok)));
        }
        fn admits(&mut self) -> bool {
            self.try_acquire().is_ok()
        }
    }

    impl Subject for CoreShared {
        fn feed(&mut self, ok: bool) {
            let _ = self.call(|| protected(input(ok)));
        }
        fn admits(&mut self) -> bool {
            self.try_acquire().is_ok()
        }
    }

    impl Subject for SeatbeltDirect {
        fn feed(&mut self, ok: bool) {
            let _ = seatbelt_call(self, input(ok));
        }
        fn admits(&mut self) -> bool {
            // Like recloser: a counted call that succeeds, asked last.
            seatbelt_call(self, 1).is_ok()
        }
    }

    impl Subject for FailsafeConsecutive {
        fn feed(&mut self, ok: bool) {
            let _ = self.call(|| protected(input(ok)));
        }
        fn admits(&mut self) -> bool {
            self.is_call_permitted()
        }
    }

    impl Subject for Recloser {
        fn feed(&mut self, ok: bool) {
            let _ = self.call(|| protected(input(ok)));
        }
        fn admits(&mut self) -> bool {
            // A call that succeeds, and is itself counted: only used as the
            // last question, after the threshold has been crossed or not.
            !matches!(self.call(|| protected(1)), Err(recloser::Error::Rejected))
        }
    }

    /// A tower service, asked the way a client would: one request.
    struct Tower<S>(S);

    impl<S: Service<u64, Response = u64>> Subject for Tower<S> {
        fn feed(&mut self, ok: bool) {
            let _ = drive(&mut self.0, input(ok));
        }
        fn admits(&mut self) -> bool {
            drive(&mut self.0, 1).is_ok()
        }
    }

    /// Feeds `outcomes` to a fresh subject and says whether it then admits.
    fn admits_after(mut s: impl Subject, outcomes: impl IntoIterator<Item = bool>) -> bool {
        outcomes.into_iter().for_each(|ok| s.feed(ok));
        s.admits()
    }

    fn consecutive_failures(n: u32) -> impl Iterator<Item = bool> + Clone {
        // A success first, so no breaker starts from an all-failure history.
        std::iter::once(true).chain((0..n).map(|_| false))
    }

    #[test]
    fn consecutive_breakers_trip_on_the_fifth_failure_in_a_row() {
        let four = consecutive_failures(CONSECUTIVE - 1);
        let five = consecutive_failures(CONSECUTIVE);
        let cases: [(&str, bool, bool); 6] = [
            (
                "tripline core",
                admits_after(core_count(consecutive_config()), four.clone()),
                admits_after(core_count(consecutive_config()), five.clone()),
            ),
            (
                "tripline shared core",
                admits_after(core_shared(consecutive_config()), four.clone()),
                admits_after(core_shared(consecutive_config()), five.clone()),
            ),
            (
                "tripline handle",
                admits_after(std_handle(consecutive_config()), four.clone()),
                admits_after(std_handle(consecutive_config()), five.clone()),
            ),
            (
                "failsafe",
                admits_after(failsafe_consecutive(), four.clone()),
                admits_after(failsafe_consecutive(), five.clone()),
            ),
            (
                "tripline layer",
                admits_after(Tower(tripline_tower(consecutive_config())), four.clone()),
                admits_after(Tower(tripline_tower(consecutive_config())), five.clone()),
            ),
            (
                "tower-resilience",
                admits_after(Tower(resilience_tower_consecutive()), four),
                admits_after(Tower(resilience_tower_consecutive()), five),
            ),
        ];
        for (name, after_four, after_five) in cases {
            assert!(
                after_four,
                "{name}: open after {} failures",
                CONSECUTIVE - 1
            );
            assert!(
                !after_five,
                "{name}: still closed after {CONSECUTIVE} failures"
            );
        }
    }

    /// `calls` calls, the last `failures` of them failed (so no breaker can
    /// trip before its window is full).
    fn ending_with(calls: usize, failures: usize) -> impl Iterator<Item = bool> + Clone {
        (0..calls).map(move |i| i < calls - failures)
    }

    #[test]
    fn rate_breakers_trip_at_half_of_the_first_full_window() {
        let half = RATE_WINDOW / 2;
        // tripline and tower-resilience judge the 100th call. recloser judges
        // from the call after its ring fills: one leading success more, which
        // the ring then drops. (tower-resilience counts every call since the
        // last state change rather than a sliding window, so the extra call
        // would dilute its rate: the three agree on a first full window.)
        let (below, at) = (
            ending_with(RATE_WINDOW, half - 1),
            ending_with(RATE_WINDOW, half),
        );
        let (below_rc, at_rc) = (
            ending_with(RATE_WINDOW + 1, half - 1),
            ending_with(RATE_WINDOW + 1, half),
        );
        let cases: [(&str, bool, bool); 7] = [
            (
                "tripline core",
                admits_after(core_count(rate_config()), below.clone()),
                admits_after(core_count(rate_config()), at.clone()),
            ),
            (
                "tripline shared core",
                admits_after(core_shared(rate_config()), below.clone()),
                admits_after(core_shared(rate_config()), at.clone()),
            ),
            (
                "seatbelt",
                admits_after(seatbelt_rate(), below.clone()),
                admits_after(seatbelt_rate(), at.clone()),
            ),
            (
                "seatbelt tower",
                admits_after(Tower(seatbelt_tower_rate()), below.clone()),
                admits_after(Tower(seatbelt_tower_rate()), at.clone()),
            ),
            (
                "tripline handle",
                admits_after(std_handle(rate_config()), below.clone()),
                admits_after(std_handle(rate_config()), at.clone()),
            ),
            (
                "recloser",
                admits_after(recloser_rate(), below_rc),
                admits_after(recloser_rate(), at_rc),
            ),
            (
                "tower-resilience",
                admits_after(Tower(resilience_tower_rate()), below),
                admits_after(Tower(resilience_tower_rate()), at),
            ),
        ];
        for (name, below_half, at_half) in cases {
            assert!(below_half, "{name}: open below 50 % of a full window");
            assert!(!at_half, "{name}: still closed at 50 % of a full window");
        }
    }

    #[test]
    fn open_breakers_reject_without_calling() {
        let clock = MockClock::new();
        let mut core = core_open_mock(&clock);
        assert!(!core.admits(), "the open-state core admits");
        let mut svc = tripline_tower(consecutive_config());
        trip_service(&mut svc);
        assert!(!Tower(svc).admits(), "the tripped tripline layer admits");
        let mut svc = resilience_tower_consecutive();
        trip_service(&mut svc);
        assert!(
            !Tower(svc).admits(),
            "the tripped tower-resilience layer admits"
        );
        let mut sb = seatbelt_rate();
        seatbelt_trip(&sb);
        assert!(!sb.admits(), "the tripped seatbelt admits");
        let mut svc = seatbelt_tower_rate();
        trip_service(&mut svc);
        assert!(!Tower(svc).admits(), "the tripped seatbelt layer admits");
    }
}
