//! Footprint on the host: `size_of` of the windows and breakers per window
//! size, and heap allocations per call of every breaker in the comparison
//! (counted by an instrumented global allocator, outside any timing).
//!
//! `cargo run --release --bin footprint` from `benches/`.

use std::alloc::System;
use std::hint::black_box;
use std::mem::size_of;

use failsafe::CircuitBreaker as _;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use tripline_benches::{
    bare, consecutive_config, core_count, core_time, drive, failsafe_consecutive, failsafe_default,
    failsafe_like_config, protected, rate_config, recloser_rate, resilience_tower_consecutive,
    resilience_tower_rate, std_handle, tripline_tower,
};
use tripline_core::{Breaker, CountWindow, MockClock, SharedBreaker, TimeWindow};
use tripline_std::{CircuitBreaker, StdClock, StdSharedBreaker};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Calls made per case when counting allocations.
const CALLS: u64 = 10_000;

macro_rules! count_row {
    ($($n:literal),*) => {$(
        println!(
            "| {} | {} | {} | {} |",
            $n,
            size_of::<CountWindow<$n>>(),
            size_of::<Breaker<CountWindow<$n>, &MockClock>>(),
            size_of::<SharedBreaker<CountWindow<$n>, &MockClock>>(),
        );
    )*};
}

macro_rules! time_row {
    ($($b:literal),*) => {$(
        println!(
            "| {} | {} | {} | {} |",
            $b,
            size_of::<TimeWindow<$b>>(),
            size_of::<Breaker<TimeWindow<$b>, &MockClock>>(),
            size_of::<SharedBreaker<TimeWindow<$b>, &MockClock>>(),
        );
    )*};
}

/// Allocations (and bytes) per call of `call`, after one warm-up call.
fn allocations(name: &str, mut call: impl FnMut(u64)) {
    call(0);
    let region = Region::new(GLOBAL);
    for i in 0..CALLS {
        call(black_box(i));
    }
    let s = region.change();
    println!(
        "| {name} | {:.2} | {:.1} |",
        s.allocations as f64 / CALLS as f64,
        s.bytes_allocated as f64 / CALLS as f64
    );
}

fn main() {
    println!(
        "## size_of on {} ({}-bit)\n",
        std::env::consts::ARCH,
        usize::BITS
    );
    println!("| N | CountWindow<N> | Breaker<CountWindow<N>, &MockClock> | SharedBreaker<CountWindow<N>, &MockClock> |");
    println!("|---:|---:|---:|---:|");
    count_row!(1, 8, 16, 20, 32, 64, 100, 128, 256, 1000);
    println!("\n| B | TimeWindow<B> | Breaker<TimeWindow<B>, &MockClock> | SharedBreaker<TimeWindow<B>, &MockClock> |");
    println!("|---:|---:|---:|---:|");
    time_row!(1, 4, 10, 30, 60);
    println!(
        "\nStdClock: {} bytes; the std handle `CircuitBreaker`: {} bytes (an Arc) pointing at \
         a StdSharedBreaker<CountWindow<100>> of {} bytes (plus the Arc's 16 and the name's heap string).",
        size_of::<StdClock>(),
        size_of::<CircuitBreaker>(),
        size_of::<StdSharedBreaker>(),
    );

    println!("\n## Heap held per breaker, nobody subscribed\n");
    println!("| case | bytes after construction | bytes after its first call |");
    println!("|---|---:|---:|");
    held(
        "tripline std handle",
        || std_handle(rate_config()),
        |h| sink(h.call(|| protected(0))),
    );
    held("failsafe, consecutive", failsafe_consecutive, |f| {
        sink(f.call(|| protected(0)))
    });
    held("recloser", recloser_rate, |r| sink(r.call(|| protected(0))));

    println!("\n## Heap allocations per closed-state successful call ({CALLS} calls)\n");
    println!("| case | allocations/call | bytes/call |");
    println!("|---|---:|---:|");
    let mut b = core_count(consecutive_config());
    allocations("tripline &mut core, consecutive", |i| {
        sink(b.call(|| protected(i)))
    });
    let mut b = core_time(failsafe_like_config());
    allocations("tripline &mut core, time window", |i| {
        sink(b.call(|| protected(i)))
    });
    let h = std_handle(rate_config());
    allocations("tripline std handle", |i| sink(h.call(|| protected(i))));
    let mut s = bare();
    allocations("tower: bare service_fn", |i| sink(drive(&mut s, i)));
    let mut s = tripline_tower(consecutive_config());
    allocations("tower: tripline CircuitBreakerLayer", |i| {
        sink(drive(&mut s, i))
    });
    let mut s = resilience_tower_consecutive();
    allocations("tower: tower-resilience, consecutive", |i| {
        sink(drive(&mut s, i))
    });
    let mut s = resilience_tower_rate();
    allocations("tower: tower-resilience, rate", |i| sink(drive(&mut s, i)));
    let f = failsafe_consecutive();
    allocations("failsafe, consecutive", |i| sink(f.call(|| protected(i))));
    let f = failsafe_default();
    allocations("failsafe, default policy", |i| {
        sink(f.call(|| protected(i)))
    });
    let r = recloser_rate();
    allocations("recloser", |i| sink(r.call(|| protected(i))));
}

/// Bytes a breaker holds on the heap once made, and once it has made its
/// first call (a std breaker's per-thread tally slot is made then).
fn held<B>(name: &str, make: impl FnOnce() -> B, call: impl FnOnce(&B)) {
    let region = Region::new(GLOBAL);
    let breaker = make();
    let made = region.change();
    call(&breaker);
    let called = region.change();
    let net = |s: stats_alloc::Stats| s.bytes_allocated as i64 - s.bytes_deallocated as i64;
    println!("| {name} | {} | {} |", net(made), net(called));
    drop(breaker);
}

/// Keeps a result alive for the optimiser without using it.
fn sink<T>(value: T) {
    black_box(value);
}
