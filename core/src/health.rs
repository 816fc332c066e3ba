//! [`Health`]: how many breakers of a group are in each state.

use crate::State;

/// A count of breakers per state, for a dashboard or a readiness probe.
///
/// Registries (the firmware one in this crate, the std one in `tripline-std`)
/// build it from their breakers; anything else holding several breakers can
/// too, with [`add`](Health::add) or by collecting states.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::{Health, State};
///
/// let health: Health = [State::Closed, State::Open, State::Closed].into_iter().collect();
/// assert_eq!((health.closed, health.open), (2, 1));
/// assert_eq!(health.total(), 3);
/// assert!(!health.all_closed());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Health {
    /// Breakers in [`State::Closed`].
    pub closed: u32,
    /// Breakers in [`State::Open`].
    pub open: u32,
    /// Breakers in [`State::HalfOpen`].
    pub half_open: u32,
    /// Breakers in [`State::ForcedOpen`].
    pub forced_open: u32,
    /// Breakers in [`State::Disabled`].
    pub disabled: u32,
    /// Breakers in [`State::MetricsOnly`].
    pub metrics_only: u32,
}

impl Health {
    /// No breakers counted yet.
    pub const EMPTY: Health = Health {
        closed: 0,
        open: 0,
        half_open: 0,
        forced_open: 0,
        disabled: 0,
        metrics_only: 0,
    };

    /// Counts one more breaker in `state`.
    pub const fn add(&mut self, state: State) {
        let slot = match state {
            State::Closed => &mut self.closed,
            State::Open => &mut self.open,
            State::HalfOpen => &mut self.half_open,
            State::ForcedOpen => &mut self.forced_open,
            State::Disabled => &mut self.disabled,
            State::MetricsOnly => &mut self.metrics_only,
        };
        *slot = slot.saturating_add(1);
    }

    /// How many breakers were counted.
    #[must_use]
    pub const fn total(&self) -> u32 {
        self.closed
            .saturating_add(self.open)
            .saturating_add(self.half_open)
            .saturating_add(self.forced_open)
            .saturating_add(self.disabled)
            .saturating_add(self.metrics_only)
    }

    /// Breakers that reject calls right now (open or forced open).
    #[must_use]
    pub const fn rejecting(&self) -> u32 {
        self.open.saturating_add(self.forced_open)
    }

    /// Whether every breaker is closed (an empty group is).
    #[must_use]
    pub const fn all_closed(&self) -> bool {
        self.closed == self.total()
    }
}

impl FromIterator<State> for Health {
    fn from_iter<I: IntoIterator<Item = State>>(states: I) -> Self {
        let mut health = Health::EMPTY;
        for state in states {
            health.add(state);
        }
        health
    }
}
