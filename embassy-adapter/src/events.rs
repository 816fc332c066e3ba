//! [`EventChannel`]: a breaker's events, published to monitoring tasks.

use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_sync::pubsub::{Error, PubSubChannel, Subscriber};
use tripline_core::{Event, Observer};

/// An [`Observer`] that publishes every [`Event`] to an embassy-sync
/// `PubSubChannel` holding the last `CAP` events for up to `SUBS`
/// subscribers. Bounded, no allocation, `const fn new` for statics.
///
/// Publishing never waits: when the channel is full the oldest event is
/// dropped, and a subscriber that had not read it gets
/// `WaitResult::Lagged(n)` (how many it missed) before the next event. A
/// slow monitoring task loses history; the breaker never blocks on it.
///
/// Events are published after the breaker's lock is released, from the
/// caller's context (a task or an interrupt handler), under the channel's
/// own `M` lock.
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_embassy::*; }
/// use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
/// use embassy_sync::pubsub::WaitResult;
/// use tripline::{Config, CountWindow, Event};
/// use tripline::{EmbassyBreaker, EventChannel};
///
/// static BUS: EmbassyBreaker<CountWindow<8>, CriticalSectionRawMutex,
///                            EventChannel<CriticalSectionRawMutex, 4, 1>> =
///     EmbassyBreaker::with_observer(Config::DEFAULT, CountWindow::new(), EventChannel::new());
///
/// let mut monitor = BUS.observer().subscriber().unwrap();
/// let _ = BUS.shared().call(|| Ok::<_, ()>(()));
/// assert!(matches!(monitor.try_next_message(), Some(WaitResult::Message(Event::Success { .. }))));
/// ```
pub struct EventChannel<M: RawMutex, const CAP: usize, const SUBS: usize> {
    channel: PubSubChannel<M, Event, CAP, SUBS, 0>,
}

impl<M: RawMutex, const CAP: usize, const SUBS: usize> EventChannel<M, CAP, SUBS> {
    /// An empty channel.
    #[must_use]
    pub const fn new() -> Self {
        EventChannel {
            channel: PubSubChannel::new(),
        }
    }

    /// A subscriber that receives every event published from now on.
    ///
    /// # Errors
    /// `MaximumSubscribersReached` if `SUBS` subscribers exist already.
    pub fn subscriber(&self) -> Result<Subscriber<'_, M, Event, CAP, SUBS, 0>, Error> {
        self.channel.subscriber()
    }

    /// The channel itself (dynamic subscribers, its length, clearing it).
    /// It has no publisher slots: only the breaker publishes.
    pub const fn channel(&self) -> &PubSubChannel<M, Event, CAP, SUBS, 0> {
        &self.channel
    }
}

impl<M: RawMutex, const CAP: usize, const SUBS: usize> Default for EventChannel<M, CAP, SUBS> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: RawMutex, const CAP: usize, const SUBS: usize> Observer for EventChannel<M, CAP, SUBS> {
    fn on_event(&self, event: &Event) {
        self.channel.immediate_publisher().publish_immediate(*event);
    }
}

impl<M: RawMutex, const CAP: usize, const SUBS: usize> core::fmt::Debug
    for EventChannel<M, CAP, SUBS>
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EventChannel")
            .field("capacity", &CAP)
            .field("subscribers", &SUBS)
            .finish_non_exhaustive()
    }
}
