//! A live dashboard of a [`Registry`] (`dashboard` feature): one
//! self-contained HTML page, updated over server-sent events.
//!
//! [`router`] serves two routes, to mount at a path of the service's choice
//! (`Router::nest("/breakers", dashboard::router(registry))`):
//!
//! - `/`: the page. No CDN, no build step, no framework: inline CSS and
//!   a few lines of plain JavaScript, so it works offline. It shows every
//!   breaker's state, failure and slow-call rates, calls per second,
//!   rejections and time until half-open, and a log of the state changes
//!   it has seen.
//! - `/events`: `text/event-stream`. On connecting, one message per breaker
//!   with its metrics; then one whenever that breaker emits events (the
//!   events queued meanwhile are folded into one message, with every state
//!   change among them). The server never polls: each stream waits on its
//!   breaker's event `broadcast`.
//!
//! Each message's `data` is one JSON object: `name`, `state` (`closed`,
//! `open`, `half_open`, `forced_open`, `disabled`, `metrics_only`),
//! `permitted`, `rejected`, `successes`, `failures`, `slow`,
//! `failure_rate` and `slow_rate` (permille, or `null` below the minimum
//! calls), `in_flight`, `retry_after_ms` (or `null`), `time_in_state_ms`,
//! and `transitions`, the `[from, to]` pairs since the previous message.
//!
//! The breakers are those of the registry when the page connects; a
//! reload shows breakers created since. While a page is open each of its
//! breakers has one more `broadcast` subscriber, so each of their events is
//! also sent to it (about 180 instructions and a lock per call, see
//! `BENCHMARKS.md`); with no page open, nothing is.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::State as Extract;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use futures_util::stream::{self, BoxStream, Stream, StreamExt};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::broadcast::Receiver;
use tripline_core::{Clock, Event, State, Window};

use crate::reading::{read, slow_calls, state_label};
use crate::{CircuitBreaker, Registry};

/// The page, with its CSS and JavaScript inline.
const PAGE: &str = include_str!("dashboard.html");

/// The dashboard of `registry`: the page at `/`, its event stream at `/events`.
/// It nests into a router of any state `S` (its own state is already set).
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use std::sync::Arc;
/// use tripline::{dashboard, Config, Registry};
///
/// let registry = Arc::new(Registry::new());
/// registry.get_or_create("payments", Config::DEFAULT);
/// let app: axum::Router = axum::Router::new().nest("/breakers", dashboard::router(registry));
/// # drop(app);
/// ```
pub fn router<W, C, S>(registry: Arc<Registry<W, C>>) -> Router<S>
where
    W: Window + Send + 'static,
    C: Clock + Send + Sync + 'static,
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/events", get(events::<W, C>))
        .with_state(registry)
}

async fn events<W, C>(
    Extract(registry): Extract<Arc<Registry<W, C>>>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>>
where
    W: Window + Send + 'static,
    C: Clock + Send + Sync + 'static,
{
    let streams: Vec<_> = registry
        .names()
        .iter()
        .filter_map(|name| registry.get(name))
        .map(updates)
        .collect();
    Sse::new(stream::select_all(streams)).keep_alive(KeepAlive::default())
}

/// One breaker's messages: its metrics now, then after each batch of events.
fn updates<W, C>(breaker: CircuitBreaker<W, C>) -> BoxStream<'static, Result<SseEvent, Infallible>>
where
    W: Window + Send + 'static,
    C: Clock + Send + Sync + 'static,
{
    // Subscribed before the first reading, so no change falls in between.
    let events = subscribe(&breaker);
    let first = message(&breaker, &[]);
    let rest = stream::unfold((breaker, events), |(breaker, mut events)| async move {
        let mut transitions = Vec::new();
        match events.recv().await {
            Ok(e) => note(&e, &mut transitions),
            Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => return None,
        }
        loop {
            match events.try_recv() {
                Ok(e) => note(&e, &mut transitions),
                Err(TryRecvError::Lagged(_)) => {}
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        let update = message(&breaker, &transitions);
        Some((update, (breaker, events)))
    });
    stream::once(async move { first })
        .chain(rest)
        .map(Ok)
        .boxed()
}

/// The one place the dashboard subscribes to a breaker's events.
fn subscribe<W: Window, C: Clock>(breaker: &CircuitBreaker<W, C>) -> Receiver<Event> {
    breaker.subscribe()
}

fn note(event: &Event, transitions: &mut Vec<(State, State)>) {
    if let Event::StateChanged { from, to, .. } = *event {
        transitions.push((from, to));
    }
}

/// The JSON message for `breaker`.
fn message<W: Window, C: Clock>(
    breaker: &CircuitBreaker<W, C>,
    transitions: &[(State, State)],
) -> SseEvent {
    let reading = read(breaker);
    let m = &reading.metrics;
    let mut json = String::with_capacity(320);
    json.push_str("{\"name\":");
    push_json_string(&mut json, breaker.name());
    let _ = write!(
        json,
        ",\"state\":\"{}\",\"permitted\":{},\"rejected\":{},\"successes\":{},\"failures\":{},\"slow\":{},\"failure_rate\":{},\"slow_rate\":{},\"in_flight\":{},\"retry_after_ms\":{},\"time_in_state_ms\":{},\"transitions\":[",
        state_label(m.state),
        m.permitted,
        m.rejected,
        m.successes,
        m.failures,
        slow_calls(m),
        Nullable(m.failure_rate_permille.map(u64::from)),
        Nullable(m.slow_call_rate_permille.map(u64::from)),
        m.in_flight(),
        Nullable(reading.retry_after.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))),
        m.time_in_state_us / 1000,
    );
    for (i, (from, to)) in transitions.iter().enumerate() {
        let comma = if i == 0 { "" } else { "," };
        let _ = write!(
            json,
            "{comma}[\"{}\",\"{}\"]",
            state_label(*from),
            state_label(*to)
        );
    }
    json.push_str("]}");
    SseEvent::default().data(json)
}

/// A number, or JSON `null`.
struct Nullable(Option<u64>);

impl std::fmt::Display for Nullable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(n) => write!(f, "{n}"),
            None => f.write_str("null"),
        }
    }
}

/// `s` as a JSON string literal.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::push_json_string;

    #[test]
    fn names_are_escaped_as_json_strings() {
        let mut out = String::new();
        push_json_string(&mut out, "a\"b\\c\nd<é>");
        assert_eq!(out, r#""a\"b\\c\u000ad<é>""#);
    }
}
