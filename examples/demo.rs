//! A real outage, on loopback, in about fifteen seconds: `cargo run --example demo`.
//!
//! An axum backend on 127.0.0.1 goes through four phases: healthy, hanging
//! (it answers only after a delay far longer than the client's timeout),
//! failing with 503, and recovering. Two hyper clients send it the same
//! requests on the same schedule, ten a second, each behind a tower timeout;
//! one of them also has a `CircuitBreakerLayer` in front. The demo prints a
//! live timeline (state changes as they happen, outcomes and latencies every
//! half second), then a table of the time callers spent waiting on the dead
//! backend with and without the breaker, and draws the whole run as an SVG
//! chart in `demo-output/timeline.svg`.
//!
//! The classic "30 s timeouts pile up" outage, scaled down: the client
//! timeout is 1 s. Every number printed is measured by the demo. Nothing to
//! install; it needs only a free loopback port and stops by itself.

use std::error::Error;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::http::{HeaderMap, Request, Response, StatusCode};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use plotters::prelude::*;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::{BoxError, ServiceBuilder, ServiceExt};
use tripline::{CallError, Config, Event, Outcome, Reason, State};
use tripline_std::{CircuitBreaker, CircuitBreakerLayer, DefaultWindow, TokioClock};

/// One request per client every `INTERVAL`.
const INTERVAL: Duration = Duration::from_millis(100);
/// The tower timeout inside both clients (a real service would use ~30 s).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long the hanging backend sits on a request before answering.
const HANG: Duration = Duration::from_secs(10);
/// How often the live timeline prints a line.
const REPORT_EVERY: u32 = 5;
/// The backend's script: each phase lasts until the time given.
const SCRIPT: [(Phase, Duration); 4] = [
    (Phase::Healthy, Duration::from_secs(2)),
    (Phase::Hanging, Duration::from_secs(8)),
    (Phase::Failing, Duration::from_secs(11)),
    (Phase::Recovering, Duration::from_secs(15)),
];
/// Where the chart goes, relative to the working directory.
const CHART: &str = "demo-output/timeline.svg";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Healthy,
    Hanging,
    Failing,
    Recovering,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Healthy => "healthy",
            Phase::Hanging => "hanging",
            Phase::Failing => "failing (503)",
            Phase::Recovering => "recovering",
        }
    }

    /// The phase at `t` since the start, and the span it covers.
    fn at(t: Duration) -> (Phase, Duration, Duration) {
        let mut from = Duration::ZERO;
        for (phase, until) in SCRIPT {
            if t < until {
                return (phase, from, until);
            }
            from = until;
        }
        (Phase::Recovering, from, t)
    }

    fn is_outage(self) -> bool {
        matches!(self, Phase::Hanging | Phase::Failing)
    }
}

/// Which of the two clients sent a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Plain,
    Guarded,
}

impl Side {
    const BOTH: [Side; 2] = [Side::Plain, Side::Guarded];

    fn index(self) -> usize {
        match self {
            Side::Plain => 0,
            Side::Guarded => 1,
        }
    }

    fn header(self) -> &'static str {
        match self {
            Side::Plain => "plain",
            Side::Guarded => "guarded",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Side::Plain => "without breaker",
            Side::Guarded => "with breaker",
        }
    }
}

/// How one request ended, as its caller saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Ok,
    ServerError,
    Timeout,
    Transport,
    Rejected,
}

impl End {
    const ALL: [End; 5] = [
        End::Ok,
        End::ServerError,
        End::Timeout,
        End::Transport,
        End::Rejected,
    ];

    fn name(self) -> &'static str {
        match self {
            End::Ok => "ok",
            End::ServerError => "5xx",
            End::Timeout => "timeout",
            End::Transport => "refused",
            End::Rejected => "rejected",
        }
    }

    fn color(self) -> RGBColor {
        match self {
            End::Ok => RGBColor(46, 139, 87),
            End::ServerError => RGBColor(230, 126, 34),
            End::Timeout => RGBColor(192, 57, 43),
            End::Transport => RGBColor(142, 68, 173),
            End::Rejected => RGBColor(41, 128, 185),
        }
    }

    fn from_transport(e: &BoxError) -> End {
        if e.is::<tower::timeout::error::Elapsed>() {
            End::Timeout
        } else {
            End::Transport
        }
    }
}

/// One finished request.
#[derive(Clone, Copy, Debug)]
struct Record {
    side: Side,
    sent: Duration,
    done: Duration,
    end: End,
}

impl Record {
    fn latency(&self) -> Duration {
        self.done.saturating_sub(self.sent)
    }
}

/// Everything the run measured, shared by the request tasks.
struct Run {
    start: Instant,
    records: Mutex<Vec<Record>>,
    in_flight: [AtomicU32; 2],
    /// Requests that reached the backend, per client (counted by the backend).
    hits: [AtomicU32; 2],
    /// The breaker's state changes: when (since the start) and into what.
    transitions: Mutex<Vec<(Duration, State)>>,
}

impl Run {
    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    fn finish(&self, side: Side, sent: Duration, end: End) {
        let done = self.elapsed();
        lock(&self.records).push(Record {
            side,
            sent,
            done,
            end,
        });
        self.in_flight[side.index()].fetch_sub(1, Ordering::SeqCst);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The backend: follows `SCRIPT` by the time each request arrives.
async fn backend(run: Arc<Run>) -> std::io::Result<std::net::SocketAddr> {
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move |headers: HeaderMap| {
            let run = Arc::clone(&run);
            async move {
                let side = match headers.get("x-client").map(|v| v.as_bytes()) {
                    Some(b"guarded") => Side::Guarded,
                    _ => Side::Plain,
                };
                run.hits[side.index()].fetch_add(1, Ordering::SeqCst);
                match Phase::at(run.elapsed()).0 {
                    Phase::Healthy | Phase::Recovering => StatusCode::OK,
                    Phase::Hanging => {
                        tokio::time::sleep(HANG).await;
                        StatusCode::OK
                    }
                    Phase::Failing => StatusCode::SERVICE_UNAVAILABLE,
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// 5xx and transport errors (timeouts included) are the backend's failures.
fn by_status<B>(result: &Result<Response<B>, BoxError>) -> Outcome {
    match result {
        Ok(resp) if resp.status().is_server_error() => Outcome::Failure,
        Ok(_) => Outcome::Success,
        Err(_) => Outcome::Failure,
    }
}

/// Reads the body, so the latency covers the whole response.
async fn end_of<B>(resp: Response<B>) -> End
where
    B: BodyExt,
{
    let status = resp.status();
    if resp.into_body().collect().await.is_err() {
        return End::Transport;
    }
    if status.is_server_error() {
        End::ServerError
    } else {
        End::Ok
    }
}

fn why(reason: Reason) -> String {
    match reason {
        Reason::Tripped(rule) => format!("tripped: {}", rule.as_str()),
        Reason::OpenTimeElapsed => "open time over, probing".to_owned(),
        Reason::ProbeFailed => "the probe failed".to_owned(),
        Reason::ProbesSucceeded => "the probe succeeded".to_owned(),
        other => format!("{other:?}"),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let run = Arc::new(Run {
        start: Instant::now(),
        records: Mutex::new(Vec::new()),
        in_flight: [AtomicU32::new(0), AtomicU32::new(0)],
        hits: [AtomicU32::new(0), AtomicU32::new(0)],
        transitions: Mutex::new(vec![(Duration::ZERO, State::Closed)]),
    });
    // The breaker's clock starts with the run, so event times are run times.
    let clock = TokioClock::new();
    let addr = backend(Arc::clone(&run)).await?;

    let config = Config::builder()
        .consecutive_failures(3)
        .open_duration(Duration::from_millis(500))
        .exponential_backoff(2_000, Duration::from_secs(2))
        .build()?;
    let on_event = {
        let run = Arc::clone(&run);
        move |e: &Event| {
            if let Event::StateChanged {
                from,
                to,
                reason,
                at,
            } = e
            {
                let t = Duration::from_micros(at.as_micros());
                lock(&run.transitions).push((t, *to));
                println!(
                    "  >> {:>6.3} s  breaker {from} -> {to} ({})",
                    t.as_secs_f64(),
                    why(*reason)
                );
            }
        }
    };
    let breaker: CircuitBreaker<DefaultWindow, TokioClock> = CircuitBreaker::builder("backend")
        .config(config)
        .clock(clock)
        .on_event(on_event)
        .build();

    // Same stack on both sides: a tower timeout over hyper's client. The
    // guarded side adds the breaker outermost, so a timeout is a failure.
    let plain = ServiceBuilder::new()
        .timeout(CLIENT_TIMEOUT)
        .service(Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>());
    let guarded = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(breaker.clone()).classify(by_status))
        .timeout(CLIENT_TIMEOUT)
        .service(Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>());

    let schedule_end = SCRIPT[SCRIPT.len() - 1].1;
    println!(
        "tripline demo: backend on http://{addr}/, {} requests/s from each client, \
         client timeout {} ms",
        Duration::from_secs(1).as_micros() / INTERVAL.as_micros(),
        CLIENT_TIMEOUT.as_millis()
    );
    print!("script:");
    let mut from = Duration::ZERO;
    for (phase, until) in SCRIPT {
        print!(
            "  {} {:.0}-{:.0} s",
            phase.name(),
            from.as_secs_f64(),
            until.as_secs_f64()
        );
        from = until;
    }
    println!(
        "\n(the hanging backend answers after {} s)\n",
        HANG.as_secs()
    );
    println!(
        "{:>6}  {:<14}| {:<44}| {:<44}| state",
        "time",
        "backend",
        Side::Plain.title(),
        Side::Guarded.title()
    );

    let mut tasks = JoinSet::new();
    let mut reported = 0usize;
    let mut tick = 0u32;
    let mut sent = [0u32; 2];
    loop {
        tokio::time::sleep_until(run.start + INTERVAL * tick).await;
        let now = run.elapsed();
        let sending = INTERVAL * tick < schedule_end;
        let waiting: u32 = run.in_flight.iter().map(|n| n.load(Ordering::SeqCst)).sum();
        if tick > 0 && (tick.is_multiple_of(REPORT_EVERY) || (!sending && waiting == 0)) {
            let records = lock(&run.records);
            let fresh = &records[reported..];
            // The line covers the half second that just ended.
            let covered = now.saturating_sub(INTERVAL);
            let phase = if covered < schedule_end {
                Phase::at(covered).0.name()
            } else {
                "(draining)"
            };
            let state = breaker.state().as_str();
            println!(
                "{:>5.1}s  {:<14}| {:<44}| {:<44}| {state}",
                now.as_secs_f64(),
                phase,
                live(fresh, Side::Plain, &run),
                live(fresh, Side::Guarded, &run),
            );
            reported = records.len();
        }
        if sending {
            for side in Side::BOTH {
                let request = Request::get(format!("http://{addr}/"))
                    .header("x-client", side.header())
                    .body(Empty::<Bytes>::new())?;
                let run = Arc::clone(&run);
                run.in_flight[side.index()].fetch_add(1, Ordering::SeqCst);
                sent[side.index()] += 1;
                match side {
                    Side::Plain => {
                        let svc = plain.clone();
                        tasks.spawn(async move {
                            let at = run.elapsed();
                            let end = match svc.oneshot(request).await {
                                Ok(resp) => end_of(resp).await,
                                Err(e) => End::from_transport(&e),
                            };
                            run.finish(side, at, end);
                        });
                    }
                    Side::Guarded => {
                        let svc = guarded.clone();
                        tasks.spawn(async move {
                            let at = run.elapsed();
                            let end = match svc.oneshot(request).await {
                                Ok(resp) => end_of(resp).await,
                                Err(CallError::Rejected(_)) => End::Rejected,
                                Err(CallError::Inner(e)) => End::from_transport(&e),
                            };
                            run.finish(side, at, end);
                        });
                    }
                }
            }
        }
        if !sending && waiting == 0 {
            break;
        }
        tick += 1;
    }
    while tasks.join_next().await.is_some() {}
    let total = run.elapsed();

    let records = lock(&run.records).clone();
    let transitions = lock(&run.transitions).clone();
    let hits = [
        run.hits[0].load(Ordering::SeqCst),
        run.hits[1].load(Ordering::SeqCst),
    ];
    println!("\nran {:.1} s\n", total.as_secs_f64());
    print_table(&records, hits, sent);

    let m = breaker.metrics();
    println!(
        "\nbreaker metrics: {} admitted + {} rejected = {} requests sent; of the admitted: \
         {} successes, {} failures, {} stale (finished after the state they began in), \
         {} in flight; now {}",
        m.permitted,
        m.rejected,
        m.permitted + m.rejected,
        m.successes,
        m.failures,
        m.stale,
        m.in_flight(),
        m.state
    );

    let path = Path::new(CHART);
    draw_chart(path, &records, &transitions, total)?;
    let shown = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    println!("\nchart: {}", shown.display());
    Ok(())
}

/// One side's column of a live-timeline line: what finished since the last line.
fn live(fresh: &[Record], side: Side, run: &Run) -> String {
    let mine: Vec<&Record> = fresh.iter().filter(|r| r.side == side).collect();
    let mut parts = Vec::new();
    for end in End::ALL {
        let n = mine.iter().filter(|r| r.end == end).count();
        if n > 0 {
            parts.push(format!("{n} {}", end.name()));
        }
    }
    if let Some(max) = mine.iter().map(|r| r.latency()).max() {
        parts.push(format!("max {}", ms(max)));
    }
    let waiting = run.in_flight[side.index()].load(Ordering::SeqCst);
    if waiting > 0 {
        parts.push(format!("{waiting} waiting"));
    }
    if parts.is_empty() {
        "-".to_owned()
    } else {
        parts.join(", ")
    }
}

fn ms(d: Duration) -> String {
    let micros = d.as_micros();
    if micros < 1_000 {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{} ms", micros / 1_000)
    }
}

/// What one side saw in one slice of the run.
struct Tally {
    sent: usize,
    ok: usize,
    failed: usize,
    rejected: usize,
    waited: Duration,
    median: Duration,
    max: Duration,
}

fn tally<'a>(records: impl Iterator<Item = &'a Record>) -> Tally {
    let mut latencies = Vec::new();
    let (mut ok, mut failed, mut rejected) = (0, 0, 0);
    for r in records {
        latencies.push(r.latency());
        match r.end {
            End::Ok => ok += 1,
            End::Rejected => rejected += 1,
            End::ServerError | End::Timeout | End::Transport => failed += 1,
        }
    }
    latencies.sort();
    Tally {
        sent: latencies.len(),
        ok,
        failed,
        rejected,
        waited: latencies.iter().sum(),
        median: latencies
            .get(latencies.len() / 2)
            .copied()
            .unwrap_or_default(),
        max: latencies.last().copied().unwrap_or_default(),
    }
}

fn print_table(records: &[Record], hits: [u32; 2], sent: [u32; 2]) {
    println!(
        "time callers spent waiting on the backend (sum of request latencies; \
         requests grouped by when they were sent)\n"
    );
    println!(
        "{:<14} {:>5} | {:<41} | {}",
        "",
        "",
        Side::Plain.title(),
        Side::Guarded.title()
    );
    println!(
        "{:<14} {:>5} | {:>4} {:>6} {:>9} {:>9} {:>9} | {:>4} {:>6} {:>8} {:>9} {:>9} {:>9}",
        "phase",
        "sent",
        "ok",
        "failed",
        "waited",
        "median",
        "slowest",
        "ok",
        "failed",
        "rejected",
        "waited",
        "median",
        "slowest"
    );
    let row = |label: &str, pick: &dyn Fn(&Record) -> bool| {
        let p = tally(records.iter().filter(|r| r.side == Side::Plain && pick(r)));
        let g = tally(
            records
                .iter()
                .filter(|r| r.side == Side::Guarded && pick(r)),
        );
        println!(
            "{:<14} {:>5} | {:>4} {:>6} {:>9} {:>9} {:>9} | {:>4} {:>6} {:>8} {:>9} {:>9} {:>9}",
            label,
            p.sent.max(g.sent),
            p.ok,
            p.failed,
            secs(p.waited),
            ms(p.median),
            ms(p.max),
            g.ok,
            g.failed,
            g.rejected,
            secs(g.waited),
            ms(g.median),
            ms(g.max)
        );
        (p, g)
    };
    for (phase, _) in SCRIPT {
        row(phase.name(), &|r| Phase::at(r.sent).0 == phase);
    }
    let (p, g) = row("outage total", &|r| Phase::at(r.sent).0.is_outage());
    row("whole run", &|_| true);

    println!();
    if g.waited > Duration::ZERO {
        println!(
            "during the outage, callers waited {} without the breaker and {} with it \
             ({:.1}x less); {} of {} guarded requests failed fast, in a median {}",
            secs(p.waited),
            secs(g.waited),
            p.waited.as_secs_f64() / g.waited.as_secs_f64(),
            g.rejected,
            g.sent,
            ms(median_of(records, |r| {
                r.side == Side::Guarded && r.end == End::Rejected
            }))
        );
    }
    println!(
        "requests that reached the backend: {} of {} without the breaker, {} of {} with it",
        hits[Side::Plain.index()],
        sent[Side::Plain.index()],
        hits[Side::Guarded.index()],
        sent[Side::Guarded.index()]
    );
    let recovered_at = SCRIPT
        .iter()
        .find(|(phase, _)| *phase == Phase::Failing)
        .map(|(_, until)| *until)
        .unwrap_or_default();
    for side in Side::BOTH {
        let first = records
            .iter()
            .filter(|r| r.side == side && r.end == End::Ok && r.sent >= recovered_at)
            .map(|r| r.done)
            .min();
        if let Some(first) = first {
            println!(
                "first success after the backend recovered, {}: {} later",
                side.title(),
                ms(first - recovered_at)
            );
        }
    }
}

fn median_of(records: &[Record], pick: impl Fn(&Record) -> bool) -> Duration {
    let mut l: Vec<Duration> = records
        .iter()
        .filter(|r| pick(r))
        .map(Record::latency)
        .collect();
    l.sort();
    l.get(l.len() / 2).copied().unwrap_or_default()
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn state_color(state: State) -> RGBColor {
    match state {
        State::Closed => RGBColor(46, 139, 87),
        State::HalfOpen => RGBColor(241, 196, 15),
        _ => RGBColor(192, 57, 43),
    }
}

fn phase_color(phase: Phase) -> RGBColor {
    match phase {
        Phase::Healthy | Phase::Recovering => RGBColor(46, 139, 87),
        Phase::Hanging => RGBColor(127, 140, 141),
        Phase::Failing => RGBColor(230, 126, 34),
    }
}

/// The run as an SVG: backend phases and breaker states as bands, then each
/// side's requests by send time and latency, coloured by how they ended.
fn draw_chart(
    path: &Path,
    records: &[Record],
    transitions: &[(Duration, State)],
    total: Duration,
) -> Result<(), Box<dyn Error>> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let end = total.as_secs_f64();
    let root = SVGBackend::new(path, (1200, 860)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(
        "tripline demo: the same requests, without and with a circuit breaker",
        ("sans-serif", 26),
    )?;
    let (bands, rest) = root.split_vertically(150);
    let (upper, lower) = rest.split_vertically(330);

    // Bands: row 1 the backend's phase, row 0 the breaker's state.
    let mut chart = ChartBuilder::on(&bands)
        .margin(10)
        .x_label_area_size(25)
        .y_label_area_size(90)
        .build_cartesian_2d(0f64..end, 0f64..2f64)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_y_axis()
        .x_label_formatter(&|x| format!("{x:.0} s"))
        .draw()?;
    let mut from = 0f64;
    for (i, (phase, until)) in SCRIPT.into_iter().enumerate() {
        let until = until.as_secs_f64().min(end);
        chart.draw_series([Rectangle::new(
            [(from, 1.1), (until, 1.9)],
            phase_color(phase).mix(0.6).filled(),
        )])?;
        let label = if i == 0 {
            format!("backend: {}", phase.name())
        } else {
            phase.name().to_owned()
        };
        chart.draw_series([Text::new(label, (from + 0.1, 1.65), ("sans-serif", 18))])?;
        from = until;
    }
    for (i, (at, state)) in transitions.iter().enumerate() {
        let until = transitions
            .get(i + 1)
            .map_or(end, |(next, _)| next.as_secs_f64());
        let at = at.as_secs_f64();
        chart.draw_series([Rectangle::new(
            [(at, 0.1), (until, 0.9)],
            state_color(*state).mix(0.6).filled(),
        )])?;
        let label = if i == 0 {
            format!("breaker: {state}")
        } else {
            state.as_str().to_owned()
        };
        if until - at > 0.12 * label.len() as f64 {
            chart.draw_series([Text::new(label, (at + 0.05, 0.65), ("sans-serif", 16))])?;
        }
    }

    for (area, side) in [(&upper, Side::Plain), (&lower, Side::Guarded)] {
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!(
                    "{}: latency of each request (log scale) by the time it was sent",
                    side.title()
                ),
                ("sans-serif", 19),
            )
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(90)
            .build_cartesian_2d(0f64..end, (0.005f64..20_000f64).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("sent at (s)")
            .y_desc("latency (ms)")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y}"))
            .draw()?;
        if side == Side::Guarded {
            for (i, (at, state)) in transitions.iter().enumerate() {
                let until = transitions
                    .get(i + 1)
                    .map_or(end, |(next, _)| next.as_secs_f64());
                chart.draw_series([Rectangle::new(
                    [(at.as_secs_f64(), 0.005), (until, 20_000.0)],
                    state_color(*state).mix(0.08).filled(),
                )])?;
            }
        }
        let timeout_ms = CLIENT_TIMEOUT.as_secs_f64() * 1e3;
        chart
            .draw_series(LineSeries::new(
                [(0.0, timeout_ms), (end, timeout_ms)],
                BLACK.mix(0.4).stroke_width(1),
            ))?
            .label("client timeout")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLACK.mix(0.4)));
        for kind in End::ALL {
            let color = kind.color();
            let points: Vec<(f64, f64)> = records
                .iter()
                .filter(|r| r.side == side && r.end == kind)
                .map(|r| {
                    (
                        r.sent.as_secs_f64(),
                        (r.latency().as_secs_f64() * 1e3).max(0.005),
                    )
                })
                .collect();
            if points.is_empty() {
                continue;
            }
            chart
                .draw_series(
                    points
                        .into_iter()
                        .map(|p| Circle::new(p, 3, color.filled())),
                )?
                .label(kind.name())
                .legend(move |(x, y)| Circle::new((x + 8, y), 4, color.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()?;
    }
    root.present()?;
    Ok(())
}
