//! tripline against failsafe, recloser, tower-resilience and seatbelt, side
//! by side in one criterion run, then a summary table of ratios (peer / tripline) read
//! back from criterion's own estimates.
//!
//! Single-thread groups are timed in the calling thread's CPU time, so that
//! time spent descheduled on a shared machine is not counted; the 2-, 4- and
//! 8-thread groups are timed in wall-clock time (a thread waiting for a
//! contended lock is part of the cost).
//!
//! `cargo bench --bench compare` from `benches/`; see `BENCHMARKS.md`.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use cpu_time::ThreadTime;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, Throughput};
use failsafe::CircuitBreaker as _;
use tripline_benches::{
    bare, consecutive_config, core_count, core_open_mock, core_shared, core_time, drive,
    failsafe_consecutive, failsafe_default, failsafe_like_config, protected, rate_config,
    recloser_rate, resilience_tower_consecutive, resilience_tower_rate, seatbelt_call,
    seatbelt_rate, seatbelt_tower_rate, seatbelt_trip, std_handle, trip_service, tripline_tower,
    CONSECUTIVE,
};
use tripline_core::MockClock;

fn main() {
    let out = output_dir();
    let mut cpu = Criterion::default()
        .with_measurement(ThreadCpu)
        .output_directory(&out)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    let mut wall = Criterion::default()
        .output_directory(&out)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();

    closed_one_thread(&mut cpu);
    closed_two_threads(&mut wall);
    closed_many_threads(&mut wall, 4);
    closed_many_threads(&mut wall, 8);
    open(&mut cpu);
    tower(&mut cpu);

    cpu.final_summary();
    wall.final_summary();
    summary(&out);
}

/// The calling thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), in ns.
struct ThreadCpu;

impl Measurement for ThreadCpu {
    type Intermediate = ThreadTime;
    type Value = Duration;

    fn start(&self) -> ThreadTime {
        ThreadTime::now()
    }
    fn end(&self, start: ThreadTime) -> Duration {
        start.elapsed()
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuNanos
    }
}

/// Prints CPU time in ns, whatever the magnitude (every figure here is small).
struct CpuNanos;

impl ValueFormatter for CpuNanos {
    fn scale_values(&self, _typical: f64, _values: &mut [f64]) -> &'static str {
        "ns (cpu)"
    }
    fn scale_throughputs(
        &self,
        _typical: f64,
        _t: &Throughput,
        _values: &mut [f64],
    ) -> &'static str {
        "ns (cpu)"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

/// Where criterion writes: `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`,
/// else `target/criterion` under the current directory.
fn output_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| "target".into(), PathBuf::from);
    target.join("criterion")
}

// ----- closed state, one thread ------------------------------------------------

fn closed_one_thread(c: &mut Criterion<ThreadCpu>) {
    let mut g = c.benchmark_group("closed_1t");

    g.bench_function("baseline", |b| b.iter(|| protected(black_box(1))));

    let mut core = core_count(consecutive_config());
    g.bench_function("tripline_core_consecutive", |b| {
        b.iter(|| core.call(|| protected(black_box(1))))
    });
    let mut core = core_count(rate_config());
    g.bench_function("tripline_core_rate", |b| {
        b.iter(|| core.call(|| protected(black_box(1))))
    });
    let mut core = core_time(failsafe_like_config());
    g.bench_function("tripline_core_timewindow", |b| {
        b.iter(|| core.call(|| protected(black_box(1))))
    });

    let shared = core_shared(consecutive_config());
    g.bench_function("tripline_core_shared_consecutive", |b| {
        b.iter(|| shared.call(|| protected(black_box(1))))
    });
    let shared = core_shared(rate_config());
    g.bench_function("tripline_core_shared_rate", |b| {
        b.iter(|| shared.call(|| protected(black_box(1))))
    });

    let handle = std_handle(consecutive_config());
    g.bench_function("tripline_std_consecutive", |b| {
        b.iter(|| handle.call(|| protected(black_box(1))))
    });
    let handle = std_handle(rate_config());
    g.bench_function("tripline_std_rate", |b| {
        b.iter(|| handle.call(|| protected(black_box(1))))
    });

    let fs = failsafe_consecutive();
    g.bench_function("failsafe_consecutive", |b| {
        b.iter(|| fs.call(|| protected(black_box(1))))
    });
    let fs = failsafe_default();
    g.bench_function("failsafe_default", |b| {
        b.iter(|| fs.call(|| protected(black_box(1))))
    });
    let rc = recloser_rate();
    g.bench_function("recloser_rate", |b| {
        b.iter(|| rc.call(|| protected(black_box(1))))
    });
    let sb = seatbelt_rate();
    g.bench_function("seatbelt_rate", |b| {
        b.iter(|| seatbelt_call(&sb, black_box(1)))
    });
    g.finish();
}

// ----- closed state, 2, 4 and 8 threads sharing one breaker -----------------

/// Two threads, each with its own clone of `shared`, each making `iters`
/// calls at once; the slower thread's time. Criterion divides by `iters`, so
/// the figure is the time per call as one thread sees it while the other
/// thread hammers the same breaker.
fn two_threads<T: Clone + Send>(
    iters: u64,
    shared: &T,
    call: impl Fn(&mut T, u64) + Sync,
) -> Duration {
    threads(2, iters, shared, call)
}

/// As [`two_threads`], with `n` threads (more than the machine's cores
/// means they also take turns on a core: that is in the figure too).
fn threads<T: Clone + Send>(
    n: usize,
    iters: u64,
    shared: &T,
    call: impl Fn(&mut T, u64) + Sync,
) -> Duration {
    let start = Barrier::new(n);
    thread::scope(|s| {
        let workers: Vec<_> = (0..n)
            .map(|_| {
                let mut mine = shared.clone();
                let (start, call) = (&start, &call);
                s.spawn(move || {
                    start.wait();
                    let t = Instant::now();
                    for i in 0..iters {
                        call(&mut mine, i);
                    }
                    t.elapsed()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_default())
            .max()
            .unwrap_or_default()
    })
}

fn closed_two_threads(c: &mut Criterion<WallTime>) {
    let mut g = c.benchmark_group("closed_2t");

    g.bench_function("baseline", |b| {
        b.iter_custom(|n| two_threads(n, &(), |(), i| sink(protected(black_box(i)))))
    });
    let handle = std_handle(consecutive_config());
    g.bench_function("tripline_std_consecutive", |b| {
        b.iter_custom(|n| two_threads(n, &handle, |h, i| sink(h.call(|| protected(i)))))
    });
    let handle = std_handle(rate_config());
    g.bench_function("tripline_std_rate", |b| {
        b.iter_custom(|n| two_threads(n, &handle, |h, i| sink(h.call(|| protected(i)))))
    });
    let fs = failsafe_consecutive();
    g.bench_function("failsafe_consecutive", |b| {
        b.iter_custom(|n| two_threads(n, &fs, |f, i| sink(f.call(|| protected(i)))))
    });
    let fs = failsafe_default();
    g.bench_function("failsafe_default", |b| {
        b.iter_custom(|n| two_threads(n, &fs, |f, i| sink(f.call(|| protected(i)))))
    });
    let rc = Arc::new(recloser_rate());
    g.bench_function("recloser_rate", |b| {
        b.iter_custom(|n| two_threads(n, &rc, |r, i| sink(r.call(|| protected(i)))))
    });
    let svc = tripline_tower(rate_config());
    g.bench_function("tower_tripline_rate", |b| {
        b.iter_custom(|n| two_threads(n, &svc, |s, i| sink(drive(s, i))))
    });
    let svc = resilience_tower_rate();
    g.bench_function("tower_resilience_rate", |b| {
        b.iter_custom(|n| two_threads(n, &svc, |s, i| sink(drive(s, i))))
    });
    let shared = Arc::new(core_shared(consecutive_config()));
    g.bench_function("tripline_core_shared_consecutive", |b| {
        b.iter_custom(|n| two_threads(n, &shared, |c, i| sink(c.call(|| protected(i)))))
    });
    let shared = Arc::new(core_shared(rate_config()));
    g.bench_function("tripline_core_shared_rate", |b| {
        b.iter_custom(|n| two_threads(n, &shared, |c, i| sink(c.call(|| protected(i)))))
    });
    let sb = seatbelt_rate();
    g.bench_function("seatbelt_rate", |b| {
        b.iter_custom(|n| two_threads(n, &sb, |s, i| sink(seatbelt_call(s, i))))
    });
    let svc = seatbelt_tower_rate();
    g.bench_function("tower_seatbelt_rate", |b| {
        b.iter_custom(|n| two_threads(n, &svc, |s, i| sink(drive(s, i))))
    });
    g.finish();
}

/// `t` threads sharing one breaker (`closed_4t`, `closed_8t`): tripline's
/// std handle and shared core, and every peer that is `Sync`.
fn closed_many_threads(c: &mut Criterion<WallTime>, t: usize) {
    let mut g = c.benchmark_group(format!("closed_{t}t"));

    g.bench_function("baseline", |b| {
        b.iter_custom(|n| threads(t, n, &(), |(), i| sink(protected(black_box(i)))))
    });
    let handle = std_handle(consecutive_config());
    g.bench_function("tripline_std_consecutive", |b| {
        b.iter_custom(|n| threads(t, n, &handle, |h, i| sink(h.call(|| protected(i)))))
    });
    let handle = std_handle(rate_config());
    g.bench_function("tripline_std_rate", |b| {
        b.iter_custom(|n| threads(t, n, &handle, |h, i| sink(h.call(|| protected(i)))))
    });
    let shared = Arc::new(core_shared(consecutive_config()));
    g.bench_function("tripline_core_shared_consecutive", |b| {
        b.iter_custom(|n| threads(t, n, &shared, |c, i| sink(c.call(|| protected(i)))))
    });
    let shared = Arc::new(core_shared(rate_config()));
    g.bench_function("tripline_core_shared_rate", |b| {
        b.iter_custom(|n| threads(t, n, &shared, |c, i| sink(c.call(|| protected(i)))))
    });
    let fs = failsafe_consecutive();
    g.bench_function("failsafe_consecutive", |b| {
        b.iter_custom(|n| threads(t, n, &fs, |f, i| sink(f.call(|| protected(i)))))
    });
    let fs = failsafe_default();
    g.bench_function("failsafe_default", |b| {
        b.iter_custom(|n| threads(t, n, &fs, |f, i| sink(f.call(|| protected(i)))))
    });
    let rc = Arc::new(recloser_rate());
    g.bench_function("recloser_rate", |b| {
        b.iter_custom(|n| threads(t, n, &rc, |r, i| sink(r.call(|| protected(i)))))
    });
    let sb = seatbelt_rate();
    g.bench_function("seatbelt_rate", |b| {
        b.iter_custom(|n| threads(t, n, &sb, |s, i| sink(seatbelt_call(s, i))))
    });
    g.finish();
}

// ----- open state: a rejected call ------------------------------------------

fn open(c: &mut Criterion<ThreadCpu>) {
    let mut g = c.benchmark_group("open");
    let fail = || protected(black_box(u64::MAX));

    let clock = MockClock::new();
    let mut core = core_open_mock(&clock);
    assert!(core.call(|| protected(1)).is_err(), "tripline core is open");
    g.bench_function("tripline_core_mock", |b| {
        b.iter(|| core.call(|| protected(black_box(1))))
    });

    let handle = std_handle(consecutive_config());
    for _ in 0..CONSECUTIVE {
        let _ = handle.call(fail);
    }
    assert!(
        handle.call(|| protected(1)).is_err(),
        "tripline handle is open"
    );
    g.bench_function("tripline_std", |b| {
        b.iter(|| handle.call(|| protected(black_box(1))))
    });

    let fs = failsafe_consecutive();
    for _ in 0..CONSECUTIVE {
        let _ = fs.call(fail);
    }
    assert!(fs.call(|| protected(1)).is_err(), "failsafe is open");
    g.bench_function("failsafe_consecutive", |b| {
        b.iter(|| fs.call(|| protected(black_box(1))))
    });

    let rc = recloser_rate();
    for _ in 0..2 * tripline_benches::RATE_WINDOW {
        let _ = rc.call(fail);
    }
    assert!(rc.call(|| protected(1)).is_err(), "recloser is open");
    g.bench_function("recloser_rate", |b| {
        b.iter(|| rc.call(|| protected(black_box(1))))
    });

    let shared = core_shared(consecutive_config());
    for _ in 0..CONSECUTIVE {
        let _ = shared.call(fail);
    }
    assert!(
        shared.call(|| protected(1)).is_err(),
        "tripline shared core is open"
    );
    g.bench_function("tripline_core_shared", |b| {
        b.iter(|| shared.call(|| protected(black_box(1))))
    });

    let sb = seatbelt_rate();
    seatbelt_trip(&sb);
    assert!(seatbelt_call(&sb, 1).is_err(), "seatbelt is open");
    g.bench_function("seatbelt_rate", |b| {
        b.iter(|| seatbelt_call(&sb, black_box(1)))
    });

    let mut svc = tripline_tower(consecutive_config());
    trip_service(&mut svc);
    assert!(drive(&mut svc, 1).is_err(), "tripline layer is open");
    g.bench_function("tower_tripline", |b| {
        b.iter(|| drive(&mut svc, black_box(1)))
    });

    let mut svc = resilience_tower_consecutive();
    trip_service(&mut svc);
    assert!(drive(&mut svc, 1).is_err(), "tower-resilience is open");
    g.bench_function("tower_resilience", |b| {
        b.iter(|| drive(&mut svc, black_box(1)))
    });

    let mut svc = seatbelt_tower_rate();
    trip_service(&mut svc);
    assert!(drive(&mut svc, 1).is_err(), "seatbelt layer is open");
    g.bench_function("tower_seatbelt", |b| {
        b.iter(|| drive(&mut svc, black_box(1)))
    });
    g.finish();
}

// ----- tower: the same service with and without a breaker ------------------

fn tower(c: &mut Criterion<ThreadCpu>) {
    let mut g = c.benchmark_group("tower");
    let mut svc = bare();
    g.bench_function("bare", |b| b.iter(|| drive(&mut svc, black_box(1))));
    let mut svc = tripline_tower(consecutive_config());
    g.bench_function("tripline_consecutive", |b| {
        b.iter(|| drive(&mut svc, black_box(1)))
    });
    let mut svc = tripline_tower(rate_config());
    g.bench_function("tripline_rate", |b| {
        b.iter(|| drive(&mut svc, black_box(1)))
    });
    let mut svc = resilience_tower_consecutive();
    g.bench_function("resilience_consecutive", |b| {
        b.iter(|| drive(&mut svc, black_box(1)))
    });
    let mut svc = resilience_tower_rate();
    g.bench_function("resilience_rate", |b| {
        b.iter(|| drive(&mut svc, black_box(1)))
    });
    let mut svc = seatbelt_tower_rate();
    g.bench_function("seatbelt_rate", |b| {
        b.iter(|| drive(&mut svc, black_box(1)))
    });
    g.finish();
}

// ----- the summary ------------------------------------------------------------

/// Criterion's median time per iteration, in ns, for `group/id`, if it ran.
fn median_ns(out: &Path, group: &str, id: &str) -> Option<f64> {
    let path = out.join(group).join(id).join("new").join("estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["median"]["point_estimate"].as_f64()
}

/// One row: `id`'s time and its ratio to `reference` (how many times slower).
fn row(out: &Path, group: &str, id: &str, reference: Option<f64>) {
    let Some(t) = median_ns(out, group, id) else {
        return;
    };
    match reference {
        Some(r) if r > 0.0 => println!("| {group} | {id} | {t:.2} | {:.2}x |", t / r),
        _ => println!("| {group} | {id} | {t:.2} | |"),
    }
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT met"
    }
}

fn summary(out: &Path) {
    let many: &[&str] = &[
        "baseline",
        "tripline_std_consecutive",
        "tripline_std_rate",
        "tripline_core_shared_consecutive",
        "tripline_core_shared_rate",
        "failsafe_consecutive",
        "failsafe_default",
        "recloser_rate",
        "seatbelt_rate",
    ];
    let groups: [(&str, &str, &[&str]); 6] = [
        (
            "closed_1t",
            "tripline_core_consecutive",
            &[
                "baseline",
                "tripline_core_consecutive",
                "tripline_core_rate",
                "tripline_core_timewindow",
                "tripline_core_shared_consecutive",
                "tripline_core_shared_rate",
                "tripline_std_consecutive",
                "tripline_std_rate",
                "failsafe_consecutive",
                "failsafe_default",
                "recloser_rate",
                "seatbelt_rate",
            ],
        ),
        (
            "closed_2t",
            "tripline_std_consecutive",
            &[
                "baseline",
                "tripline_std_consecutive",
                "tripline_std_rate",
                "failsafe_consecutive",
                "failsafe_default",
                "recloser_rate",
                "tower_tripline_rate",
                "tower_resilience_rate",
                "tripline_core_shared_consecutive",
                "tripline_core_shared_rate",
                "seatbelt_rate",
                "tower_seatbelt_rate",
            ],
        ),
        ("closed_4t", "tripline_std_consecutive", many),
        ("closed_8t", "tripline_std_consecutive", many),
        (
            "open",
            "tripline_core_mock",
            &[
                "tripline_core_mock",
                "tripline_std",
                "tripline_core_shared",
                "failsafe_consecutive",
                "recloser_rate",
                "seatbelt_rate",
                "tower_tripline",
                "tower_resilience",
                "tower_seatbelt",
            ],
        ),
        (
            "tower",
            "tripline_consecutive",
            &[
                "bare",
                "tripline_consecutive",
                "tripline_rate",
                "resilience_consecutive",
                "resilience_rate",
                "seatbelt_rate",
            ],
        ),
    ];

    println!(
        "\n## Summary: criterion's median per call (1 thread: CPU time, 2/4/8 threads: wall time); ratio = this / the group's first tripline bench\n"
    );
    println!("| group | bench | ns/call | ratio |");
    println!("|---|---|---:|---:|");
    for (group, reference, ids) in groups {
        let r = median_ns(out, group, reference);
        for id in ids {
            row(out, group, id, r);
        }
    }

    // Like for like: each tripline bench against the peers with the same thresholds.
    let pairs: [(&str, &str, &str); 26] = [
        (
            "closed_1t",
            "tripline_core_consecutive",
            "failsafe_consecutive",
        ),
        ("closed_1t", "tripline_core_rate", "recloser_rate"),
        ("closed_1t", "tripline_core_timewindow", "failsafe_default"),
        (
            "closed_1t",
            "tripline_std_consecutive",
            "failsafe_consecutive",
        ),
        ("closed_1t", "tripline_std_rate", "recloser_rate"),
        ("closed_1t", "tripline_core_rate", "seatbelt_rate"),
        ("closed_1t", "tripline_core_shared_rate", "seatbelt_rate"),
        ("closed_1t", "tripline_std_rate", "seatbelt_rate"),
        (
            "closed_2t",
            "tripline_std_consecutive",
            "failsafe_consecutive",
        ),
        ("closed_2t", "tripline_std_consecutive", "failsafe_default"),
        ("closed_2t", "tripline_std_rate", "recloser_rate"),
        ("closed_2t", "tower_tripline_rate", "tower_resilience_rate"),
        ("closed_2t", "tripline_std_rate", "seatbelt_rate"),
        ("closed_2t", "tower_tripline_rate", "tower_seatbelt_rate"),
        (
            "closed_4t",
            "tripline_std_consecutive",
            "failsafe_consecutive",
        ),
        ("closed_4t", "tripline_std_rate", "recloser_rate"),
        ("closed_4t", "tripline_std_rate", "seatbelt_rate"),
        (
            "closed_8t",
            "tripline_std_consecutive",
            "failsafe_consecutive",
        ),
        ("closed_8t", "tripline_std_rate", "recloser_rate"),
        ("closed_8t", "tripline_std_rate", "seatbelt_rate"),
        ("open", "tripline_core_mock", "failsafe_consecutive"),
        ("open", "tripline_core_mock", "recloser_rate"),
        ("open", "tower_tripline", "tower_resilience"),
        ("tower", "tripline_consecutive", "resilience_consecutive"),
        ("tower", "tripline_rate", "resilience_rate"),
        ("tower", "tripline_rate", "seatbelt_rate"),
    ];
    println!("\n## Peer / tripline (same thresholds; > 1 means tripline is faster)\n");
    println!("| group | tripline | ns | peer | ns | peer / tripline |");
    println!("|---|---|---:|---|---:|---:|");
    for (group, ours, peer) in pairs {
        if let (Some(a), Some(b)) = (median_ns(out, group, ours), median_ns(out, group, peer)) {
            println!(
                "| {group} | {ours} | {a:.2} | {peer} | {b:.2} | {:.2} |",
                b / a
            );
        }
    }

    let get = |g: &str, id: &str| median_ns(out, g, id);
    println!("\n## Targets (measured, not asserted)\n");
    let peers_1t = [
        "failsafe_consecutive",
        "failsafe_default",
        "recloser_rate",
        "seatbelt_rate",
    ];
    if let (Some(core), Some(base)) = (
        get("closed_1t", "tripline_core_consecutive"),
        get("closed_1t", "baseline"),
    ) {
        let over = core - base;
        println!(
            "- closed, &mut core: {over:.2} ns over the plain call (target <= 2 ns): {}",
            verdict(over <= 2.0)
        );
        if let Some(best) = peers_1t
            .iter()
            .filter_map(|p| get("closed_1t", p))
            .reduce(f64::min)
        {
            let x = best / core;
            println!(
                "- closed, &mut core: fastest peer / tripline = {x:.2} (target >= 7): {}",
                verdict(x >= 7.0)
            );
        }
    }
    let peers_2t = [
        "failsafe_consecutive",
        "failsafe_default",
        "recloser_rate",
        "tower_resilience_rate",
        "seatbelt_rate",
        "tower_seatbelt_rate",
    ];
    if let Some(ours) = get("closed_2t", "tripline_std_consecutive") {
        if let Some(best) = peers_2t
            .iter()
            .filter_map(|p| get("closed_2t", p))
            .reduce(f64::min)
        {
            let x = best / ours;
            println!("- closed, shared handle, 2 threads: best peer / tripline = {x:.2} (target >= 3): {}", verdict(x >= 3.0));
        }
    }
    if let Some(open) = get("open", "tripline_core_mock") {
        println!(
            "- open rejection, &mut core, mock clock: {open:.2} ns (target <= 5 ns): {}",
            verdict(open <= 5.0)
        );
    }
    if let (Some(layer), Some(bare)) = (get("tower", "tripline_consecutive"), get("tower", "bare"))
    {
        let over = layer - bare;
        println!(
            "- tower layer over the bare service: {over:.2} ns (target <= 10 ns): {}",
            verdict(over <= 10.0)
        );
    }
    println!("- allocations per call through the layer: see `cargo run --release --bin footprint`");
}

/// Keeps a result alive for the optimiser without using it.
fn sink<T>(value: T) {
    black_box(value);
}
