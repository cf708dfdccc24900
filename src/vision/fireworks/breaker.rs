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
    /// One trial call is under way after the cooldown.
    half_open: bool,
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
                half_open: false,
            }),
        }
    }

    /// Whether calls are being refused right now (read only: the half-open trial is
    /// [`Breaker::allow`]'s to hand out).
    pub(super) fn is_open(&self) -> bool {
        let state = self.state.lock().expect("breaker lock");
        state.open_until.is_some_and(|until| Instant::now() < until)
    }

    pub(super) fn allow(&self) -> bool {
        let mut state = self.state.lock().expect("breaker lock");
        match state.open_until {
            Some(until) if Instant::now() < until => false,
            Some(_) => {
                // Half-open: let this one call through; a failure re-opens at once.
                state.open_until = None;
                state.half_open = true;
                state.consecutive_failures = self.settings.threshold.saturating_sub(1);
                tracing::info!(breaker = "half_open", "Fireworks circuit half-open");
                true
            }
            None => true,
        }
    }

    /// Each transition is logged once, with `breaker` = `open`, `half_open` or `closed`
    /// (the `breaker-transitions` log-based metric counts them).
    pub(super) fn record(&self, ok: bool) {
        let mut state = self.state.lock().expect("breaker lock");
        if ok {
            if state.half_open || state.open_until.is_some() {
                tracing::info!(breaker = "closed", "Fireworks circuit closed");
            }
            state.consecutive_failures = 0;
            state.open_until = None;
            state.half_open = false;
        } else {
            state.consecutive_failures += 1;
            if state.consecutive_failures >= self.settings.threshold {
                let was_open = state.open_until.is_some();
                state.open_until = Some(Instant::now() + self.settings.cooldown);
                state.half_open = false;
                if !was_open {
                    tracing::warn!(
                        breaker = "open",
                        cooldown_secs = self.settings.cooldown.as_secs(),
                        "Fireworks circuit opened"
                    );
                }
            }
        }
    }
}
