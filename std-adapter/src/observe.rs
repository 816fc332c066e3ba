//! [`Hub`]: where a std breaker's events go — the user's observers, `tracing`,
//! and with `tokio` a `watch` of the state and a `broadcast` of events.

use std::fmt;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Arc;
#[cfg(feature = "tokio")]
use std::sync::OnceLock;

use tripline_core::{Event, Interest, Observer, State};

/// A boxed event callback, added with
/// [`CircuitBreakerBuilder::on_event`](crate::CircuitBreakerBuilder::on_event).
pub type EventFn = Box<dyn Fn(&Event) + Send + Sync>;

/// The observer inside every [`CircuitBreaker`](crate::CircuitBreaker).
///
/// It runs after the breaker's lock is released, in event order, on the
/// thread delivering the breaker's events; a callback may call back into the
/// breaker. A callback that panics does not keep the other sinks (the state
/// `watch`, subscribers, other callbacks) from any event of the batch: the
/// panic resumes once all have been served.
///
/// It asks the breaker only for the events someone wants: state changes for
/// the `watch` and `tracing`, rejections when `tracing` logs at debug level,
/// and everything once a callback of [`on_event`](crate::CircuitBreakerBuilder::on_event)
/// exists or someone has called [`subscribe`](crate::CircuitBreaker::subscribe).
/// The `broadcast` channel behind `subscribe` is made on the first call.
pub struct Hub {
    name: Arc<str>,
    callbacks: Vec<(Interest, EventFn)>,
    /// What the callbacks and the watch want.
    wanted: Interest,
    #[cfg(feature = "tokio")]
    state: tokio::sync::watch::Sender<State>,
    #[cfg(feature = "tokio")]
    events: OnceLock<tokio::sync::broadcast::Sender<Event>>,
}

/// How many events a slow `broadcast` subscriber may fall behind before it
/// sees `Lagged`.
#[cfg(feature = "tokio")]
pub(crate) const EVENT_BUFFER: usize = 64;

impl Hub {
    #[cfg_attr(not(feature = "tokio"), allow(unused_variables))]
    pub(crate) fn new(name: Arc<str>, initial: State, callbacks: Vec<(Interest, EventFn)>) -> Self {
        let wanted = callbacks
            .iter()
            .fold(Interest::CHANGES, |all, (interest, _)| all.with(*interest));
        Hub {
            name,
            callbacks,
            wanted,
            #[cfg(feature = "tokio")]
            state: tokio::sync::watch::Sender::new(initial),
            #[cfg(feature = "tokio")]
            events: OnceLock::new(),
        }
    }

    /// The breaker's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The state as of the last state change (see
    /// [`CircuitBreaker::watch_state`](crate::CircuitBreaker::watch_state)).
    #[cfg(feature = "tokio")]
    #[must_use]
    pub fn watch_state(&self) -> tokio::sync::watch::Receiver<State> {
        self.state.subscribe()
    }

    /// Every event from now on (see
    /// [`CircuitBreaker::subscribe`](crate::CircuitBreaker::subscribe)).
    #[cfg(feature = "tokio")]
    #[must_use]
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.events
            .get_or_init(|| tokio::sync::broadcast::Sender::new(EVENT_BUFFER))
            .subscribe()
    }

    /// Sends one event to every sink, each behind `catch_unwind`; returns the
    /// first panic, if any.
    fn serve(&self, event: &Event) -> Option<Box<dyn std::any::Any + Send>> {
        #[cfg(feature = "tracing")]
        self.trace(event);
        #[cfg(feature = "tokio")]
        {
            if let Event::StateChanged { to, .. } = *event {
                self.state.send_replace(to);
            }
            if let Some(events) = self.events.get() {
                if events.receiver_count() > 0 {
                    let _ = events.send(*event);
                }
            }
        }
        let mut first = None;
        for (interest, callback) in &self.callbacks {
            if interest.intersects(event.kind()) {
                if let Err(panic) = catch_unwind(AssertUnwindSafe(|| callback(event))) {
                    first.get_or_insert(panic);
                }
            }
        }
        first
    }

    #[cfg(feature = "tracing")]
    fn trace(&self, event: &Event) {
        match *event {
            Event::StateChanged {
                from,
                to,
                reason,
                at,
            } => {
                let closing = to == State::Closed;
                let (from, to, at_us) = (from.as_str(), to.as_str(), at.as_micros());
                if closing {
                    tracing::info!(breaker = %self.name, from, to, ?reason, at_us, "circuit breaker state changed");
                } else {
                    tracing::warn!(breaker = %self.name, from, to, ?reason, at_us, "circuit breaker state changed");
                }
            }
            Event::Rejected(r) => {
                tracing::debug!(
                    breaker = %self.name,
                    reason = ?r.reason(),
                    retry_after_us = r.retry_after_micros(),
                    "call rejected by circuit breaker"
                );
            }
            _ => {}
        }
    }
}

impl Observer for Hub {
    fn interest(&self) -> Interest {
        let wanted = self.wanted;
        #[cfg(feature = "tracing")]
        let wanted = if tracing::enabled!(tracing::Level::DEBUG) {
            wanted.with(Interest::REJECTED)
        } else {
            wanted
        };
        #[cfg(feature = "tokio")]
        let wanted = if self.events.get().is_some() {
            Interest::ALL
        } else {
            wanted
        };
        wanted
    }

    fn on_event(&self, event: &Event) {
        if let Some(panic) = self.serve(event) {
            resume_unwind(panic);
        }
    }
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("name", &self.name)
            .field("callbacks", &self.callbacks.len())
            .finish_non_exhaustive()
    }
}
