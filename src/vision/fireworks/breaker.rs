//! The circuit breaker: answers at once while Fireworks keeps failing.

use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct BreakerSettings {
    pub threshold: u32,
    pub cooldown: Duration,
}

struct BreakerState {
    consecutive_failures: u32,
    open_until: Option<Instant>,
}

/// Opens after `threshold` failed calls in a row; after `cooldown`, one call may try.
pub(super) struct Breaker {
    settings: BreakerSettings,
    state: Mutex<BreakerState>,
}

impl Breaker {
    pub(super) fn new(settings: BreakerSettings) -> Self {
        Breaker {
            settings,
            state: Mutex::new(BreakerState {
                consecutive_failures: 0,
                open_until: None,
            }),
        }
    }

    pub(super) fn allow(&self) -> bool {
        let mut state = self.state.lock().expect("breaker lock");
        match state.open_until {
            Some(until) if Instant::now() < until => false,
            Some(_) => {
                // Half-open: let this one call through; a failure re-opens at once.
                state.open_until = None;
                state.consecutive_failures = self.settings.threshold.saturating_sub(1);
                true
            }
            None => true,
        }
    }

    pub(super) fn record(&self, ok: bool) {
        let mut state = self.state.lock().expect("breaker lock");
        if ok {
            state.consecutive_failures = 0;
            state.open_until = None;
        } else {
            state.consecutive_failures += 1;
            if state.consecutive_failures >= self.settings.threshold {
                state.open_until = Some(Instant::now() + self.settings.cooldown);
                tracing::warn!(
                    cooldown_secs = self.settings.cooldown.as_secs(),
                    "Fireworks circuit opened"
                );
            }
        }
    }
}
