//! [`Hub`]: where a std breaker's events go — the user's observers, `tracing`,
//! and with `tokio` a `watch` of the state and a `broadcast` of events.

use std::fmt;
use std::sync::Arc;

use tripline_core::{Event, Observer, State};

/// A boxed event callback, added with
/// [`CircuitBreakerBuilder::on_event`](crate::CircuitBreakerBuilder::on_event).
pub type EventFn = Box<dyn Fn(&Event) + Send + Sync>;

/// The observer inside every [`CircuitBreaker`](crate::CircuitBreaker).
///
/// It runs after the breaker's lock is released, in event order, on the
/// thread that made the call; a callback may call back into the breaker.
pub struct Hub {
    name: Arc<str>,
    callbacks: Vec<EventFn>,
    #[cfg(feature = "tokio")]
    state: tokio::sync::watch::Sender<State>,
    #[cfg(feature = "tokio")]
    events: tokio::sync::broadcast::Sender<Event>,
}

/// How many events a slow `broadcast` subscriber may fall behind before it
/// sees `Lagged`.
#[cfg(feature = "tokio")]
pub(crate) const EVENT_BUFFER: usize = 64;

impl Hub {
    #[cfg_attr(not(feature = "tokio"), allow(unused_variables))]
    pub(crate) fn new(name: Arc<str>, initial: State, callbacks: Vec<EventFn>) -> Self {
        Hub {
            name,
            callbacks,
            #[cfg(feature = "tokio")]
            state: tokio::sync::watch::Sender::new(initial),
            #[cfg(feature = "tokio")]
            events: tokio::sync::broadcast::Sender::new(EVENT_BUFFER),
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
        self.events.subscribe()
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
    fn on_event(&self, event: &Event) {
        #[cfg(feature = "tracing")]
        self.trace(event);
        #[cfg(feature = "tokio")]
        {
            if let Event::StateChanged { to, .. } = *event {
                self.state.send_replace(to);
            }
            if self.events.receiver_count() > 0 {
                let _ = self.events.send(*event);
            }
        }
        for callback in &self.callbacks {
            callback(event);
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
