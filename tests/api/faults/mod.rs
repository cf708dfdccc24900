//! Database faults under load: Postgres refusing connections, hanging on new ones, and
//! black-holing open ones, while writers and readers keep going. Every answer comes
//! within two seconds (a 2xx, or a 503 in the envelope), liveness stays up, readiness
//! follows the database, the service recovers on its own, and no write acknowledged
//! with a 2xx is lost: retried with their `Idempotency-Key`, the writes that failed are
//! done exactly once.
//!
//! `database.rs` runs the outages, with the traffic of `traffic.rs`; `upstreams.rs` has
//! the JWKS endpoint hanging and storage failing; `terminated.rs` Postgres ending the
//! service's connections itself. (Readiness alone, and the 503 of a
//! catalog read, are in `health.rs`; other upstream faults of the JWKS endpoint,
//! Fireworks and storage in `auth`, `identify` and `media`.)

mod database;
mod terminated;
mod traffic;
mod upstreams;

use std::time::Duration;

/// The longest any answer may take while something it needs is down.
const BOUND: Duration = Duration::from_secs(2);
